// The JavaScript side of the web runtime (--js-library). C++ calls these to
// reach the host: Module.ferryHost, installed by the ferry-sync TypeScript
// wrapper, performs fetches (with the auth token, which C++ never sees),
// timers, event delivery and persistence (FS.syncfs group commits).
mergeInto(LibraryManager.library, {
  ferry_js_fetch: function (client, requestId, method, target, body, timeoutMs, refresh) {
    Module['ferryHost'].fetch(client, requestId, UTF8ToString(method), UTF8ToString(target),
                              UTF8ToString(body), timeoutMs, refresh !== 0);
  },
  ferry_js_abort: function (client, requestId) {
    Module['ferryHost'].abort(client, requestId);
  },
  ferry_js_set_timer: function (client, delayMs) {
    Module['ferryHost'].setTimer(client, delayMs);
  },
  ferry_js_emit: function (client, eventJson) {
    Module['ferryHost'].emit(client, UTF8ToString(eventJson));
  },
  ferry_js_persist: function (client) {
    Module['ferryHost'].persist(client);
  },
  // A custom conflict resolver, called synchronously from inside the engine.
  // Returns a malloc'd UTF-8 JSON string the caller frees.
  ferry_js_resolve__deps: ['malloc'],
  ferry_js_resolve: function (client, inputJson) {
    var out = Module['ferryHost'].resolve(client, UTF8ToString(inputJson));
    var size = lengthBytesUTF8(out) + 1;
    var pointer = _malloc(size);
    stringToUTF8(out, pointer, size);
    return pointer;
  },
  ferry_js_now: function () {
    return Date.now();
  },
});
