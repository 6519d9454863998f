// The JavaScript side of the web runtime (--js-library). C++ calls these to
// reach the host: Module.ferryHost, installed by the ferry-sync TypeScript
// wrapper, fetches tokens (the app's getToken), performs fetches (headers
// built by the C++ EngineHost), timers, event delivery and persistence
// (group commits: web/src/persist.ts). The host's methods are quoted so
// that Closure, which renames the glue's properties, keeps their names.
mergeInto(LibraryManager.library, {
  ferry_js_need_token: function (client, requestId, refresh) {
    Module['ferryHost']['needToken'](client, requestId, refresh !== 0);
  },
  ferry_js_fetch: function (client, requestJson) {
    Module['ferryHost']['fetch'](client, JSON.parse(UTF8ToString(requestJson)));
  },
  ferry_js_sync_done: function (client, waiter, resultJson) {
    Module['ferryHost']['syncDone'](client, waiter, UTF8ToString(resultJson));
  },
  ferry_js_abort: function (client, requestId) {
    Module['ferryHost']['abort'](client, requestId);
  },
  ferry_js_set_timer: function (client, delayMs) {
    Module['ferryHost']['setTimer'](client, delayMs);
  },
  ferry_js_emit: function (client, eventJson) {
    Module['ferryHost']['emit'](client, UTF8ToString(eventJson));
  },
  ferry_js_log: function (client, level, message) {
    Module['ferryHost']['log'](client, level, UTF8ToString(message));
  },
  ferry_js_persist: function (client) {
    Module['ferryHost']['persist'](client);
  },
  // An answer handed to the engine: a malloc'd UTF-8 string the caller frees.
  $ferryMallocString__deps: ['malloc'],
  $ferryMallocString: function (text) {
    var size = lengthBytesUTF8(text) + 1;
    var pointer = _malloc(size);
    stringToUTF8(text, pointer, size);
    return pointer;
  },
  // A custom conflict resolver, called synchronously from inside the engine.
  ferry_js_resolve__deps: ['$ferryMallocString'],
  ferry_js_resolve: function (client, inputJson) {
    return ferryMallocString(Module['ferryHost']['resolve'](client, UTF8ToString(inputJson)));
  },
  // A hook (hook_forms.h), called synchronously from inside the engine.
  ferry_js_hook__deps: ['$ferryMallocString'],
  ferry_js_hook: function (client, point, inputJson) {
    return ferryMallocString(Module['ferryHost']['hook'](client, point, UTF8ToString(inputJson)));
  },
  ferry_js_monotonic_now: function () {
    return performance.now();
  },
  ferry_js_wall_now: function () {
    return Date.now();
  },
});
