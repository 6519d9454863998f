// --pre-js for the wasm test executables run under Node: Emscripten's getenv()
// sees only its own ENV object, so copy the FERRY_* variables (seed counts
// for the simulation) from the real process environment before main runs.
Module['preRun'] = Module['preRun'] || [];
Module['preRun'].push(function () {
  for (var name in process.env) {
    if (name.indexOf('FERRY_') === 0) ENV[name] = process.env[name];
  }
});
