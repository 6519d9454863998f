/**
 * The store lock for Node (`storage: "node"`): one client per store directory.
 *
 * Two clients on one store hand out the same client id and sequence numbers,
 * and the server drops one's writes as duplicates of the other's. Natively
 * the journal store claims its directory with an OS lock; under Emscripten's
 * NODEFS there is none, and Node has no flock. So the claim is a file,
 * `<directory>/LOCK`, created exclusively (flag 'wx') and holding the pid:
 * - held by a live process, or by this one (a second client here), a second
 *   open fails with code 'busy';
 * - left by a process that died without closing, it is taken over, under a
 *   second exclusive file (`LOCK.takeover`) so two processes that both found
 *   it stale cannot both take it.
 * The file is removed on release (close) and when the process exits.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Builds the error a refused open throws (FerryError in the package). */
export type LockErrorFactory = (code: 'busy' | 'io', message: string) => Error;

/** Store directories this process holds: a second open here fails too. */
const held = new Map<string, string>(); // resolved directory -> lock file path
let exitHookInstalled = false;

/**
 * Claims `directory` for this client; the returned function releases it
 * (idempotent). Throws the factory's 'busy' error when another client, in
 * this process or another, holds the store.
 */
export function lockNodeStore(directory: string, error: LockErrorFactory): () => void {
  const resolved = path.resolve(directory);
  const lockFile = path.join(resolved, 'LOCK');
  fs.mkdirSync(resolved, { recursive: true });
  if (held.has(resolved)) throw busy(error, lockFile, process.pid);
  claim(lockFile, error);
  held.set(resolved, lockFile);
  installExitHook();
  return () => {
    if (held.get(resolved) !== lockFile) return;
    held.delete(resolved);
    removeIfOurs(lockFile);
  };
}

function claim(lockFile: string, error: LockErrorFactory): void {
  if (createExclusive(lockFile)) return;
  const holder = readPid(lockFile);
  if (holder !== undefined && holder !== process.pid && isAlive(holder)) throw busy(error, lockFile, holder);
  // No pid yet: its creator may be about to write it.
  if (holder === undefined && isRecent(lockFile)) throw busy(error, lockFile, undefined);
  // Stale: its holder died (or this pid was reused). Taken over under a
  // guard file, and only if it still names the holder read above; otherwise
  // another process took it over first.
  const guard = `${lockFile}.takeover`;
  if (!createExclusive(guard)) {
    const guardHolder = readPid(guard);
    if (guardHolder !== undefined && isAlive(guardHolder)) throw busy(error, lockFile, guardHolder);
    removeQuietly(guard); // a takeover that died half-way
    if (!createExclusive(guard)) throw busy(error, lockFile, readPid(guard));
  }
  try {
    if (readPid(lockFile) !== holder) throw busy(error, lockFile, readPid(lockFile));
    removeQuietly(lockFile);
    if (!createExclusive(lockFile)) throw busy(error, lockFile, readPid(lockFile));
  } finally {
    removeQuietly(guard);
  }
}

/** Creates `file` holding this pid; false if it exists. */
function createExclusive(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw cause;
  }
  try {
    fs.writeSync(fd, `${process.pid}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** The pid in a lock file; undefined when it is gone, empty or garbled. */
function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (cause) {
    // EPERM: it exists but belongs to someone else.
    return (cause as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isRecent(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs < 2_000;
  } catch {
    return false;
  }
}

function removeIfOurs(lockFile: string): void {
  if (readPid(lockFile) === process.pid) removeQuietly(lockFile);
}

function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone
  }
}

function busy(error: LockErrorFactory, lockFile: string, holder: number | undefined): Error {
  const by =
    holder === process.pid ? 'another client in this process' : holder !== undefined ? `another client (process ${holder})` : 'another client';
  return error(
    'busy',
    `store is in use by ${by}, lock file ${lockFile}: one store serves one client at a time; close the other first`,
  );
}

/** A process that exits without close() leaves no lock behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const lockFile of held.values()) removeIfOurs(lockFile);
    held.clear();
  });
}
