/**
 * @fileoverview Names Closure must keep in the wasm's JS glue: the parts of
 * Emscripten's FS and MEMFS that web/src (storage.ts, store_indexeddb.ts)
 * uses from outside the glue, as typed in web/src/ferry_wasm.d.mts. Closure
 * renames every property it is not told of; the glue's own code and ours
 * must agree on these.
 * @externs
 */

/** @type {!Object} */
var FerryFsExterns;
FerryFsExterns.mkdir;
FerryFsExterns.mkdirTree;
FerryFsExterns.mount;
FerryFsExterns.unmount;
FerryFsExterns.rmdir;
FerryFsExterns.readdir;
FerryFsExterns.unlink;
FerryFsExterns.writeFile;
FerryFsExterns.chmod;
FerryFsExterns.utime;
FerryFsExterns.isDir;
FerryFsExterns.isFile;
FerryFsExterns.analyzePath;
FerryFsExterns.lookupPath;
FerryFsExterns.filesystems;
FerryFsExterns.MEMFS;
FerryFsExterns.NODEFS;
// FS.mount's options and FS.writeFile's.
FerryFsExterns.root;
FerryFsExterns.canOwn;
// What analyzePath and lookupPath answer, and a MEMFS node.
FerryFsExterns.exists;
FerryFsExterns.node;
FerryFsExterns.mode;
FerryFsExterns.timestamp;
FerryFsExterns.usedBytes;
FerryFsExterns.contents;
