# Native build with Debian's Clang (used by the sanitizer and fuzzing presets).
set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
