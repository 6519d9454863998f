# WebAssembly build with Debian's `emscripten` package (emcc 3.1.6), not emsdk.
#
# Debian installs Emscripten under /usr/share/emscripten; its CMake platform file
# does the real work. We only add what Debian's packaging needs:
# - NODE_PATH so emcc's JS optimizer finds acorn (package node-acorn);
# - header-only libraries through a private include dir holding a symlink to just
#   that library, because adding /usr/include would pull glibc headers into a
#   wasm build.
set(FERRY_EMSCRIPTEN_ROOT "/usr/share/emscripten" CACHE PATH "Emscripten install root")
set(ENV{NODE_PATH} "/usr/share/nodejs")
include("${FERRY_EMSCRIPTEN_ROOT}/cmake/Modules/Platform/Emscripten.cmake" OPTIONAL
        RESULT_VARIABLE _ferry_emscripten_platform)
if(NOT _ferry_emscripten_platform)
  message(FATAL_ERROR "Debian's emscripten package is not installed (apt-get install emscripten node-acorn)")
endif()
set(CMAKE_C_COMPILER "/usr/bin/emcc")
set(CMAKE_CXX_COMPILER "/usr/bin/em++")
set(CMAKE_CROSSCOMPILING_EMULATOR "/usr/bin/node")
# Native wasm exception handling: fast, supported by Node 20 and Chromium.
# Plain -fexceptions would emulate exceptions in JS and is slow.
set(CMAKE_CXX_FLAGS_INIT "-fwasm-exceptions")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-fwasm-exceptions")
