# Ferry's own libraries for the Android build (included by ../CMakeLists.txt
# when React Native's autolinking adds this module to the app's native build).
#
# - Sources: FERRY_SOURCE_DIR, the copy of the repository's core/, platform/,
#   bindings/c and bindings/async that `npm pack` puts in the package
#   (scripts/pack.sh), or the repository itself when built from a checkout.
# - SQLite: Android's NDK has no public SQLite, so the amalgamation
#   (sqlite3.c, sqlite3.h from sqlite.org) is compiled in. The app's Gradle
#   build (android/ferry.gradle) passes its folder as
#   FERRY_SQLITE_AMALGAMATION_DIR.
# - No libcurl: the JavaScript side carries every request (host transport).
# - nlohmann/json: the copy in third_party/ (Debian's nlohmann-json3-dev
#   3.11, MIT), since the NDK has none.
if(EXISTS ${FERRY_REACT_NATIVE_DIR}/ferry/CMakeLists.txt)
  set(FERRY_SOURCE_DIR ${FERRY_REACT_NATIVE_DIR}/ferry CACHE PATH "Ferry's sources")
else()
  set(FERRY_SOURCE_DIR ${FERRY_REACT_NATIVE_DIR}/../.. CACHE PATH "Ferry's sources")
endif()
if(NOT FERRY_SQLITE_AMALGAMATION_DIR OR NOT EXISTS ${FERRY_SQLITE_AMALGAMATION_DIR}/sqlite3.c)
  message(FATAL_ERROR "FERRY_SQLITE_AMALGAMATION_DIR must name a folder with sqlite3.c and sqlite3.h "
                      "(apply ferry-sync-react-native/android/ferry.gradle in android/app/build.gradle)")
endif()

add_library(ferry_sqlite3 STATIC ${FERRY_SQLITE_AMALGAMATION_DIR}/sqlite3.c)
target_include_directories(ferry_sqlite3 SYSTEM PUBLIC ${FERRY_SQLITE_AMALGAMATION_DIR})
# What SqliteStore needs and no more: WAL in one process, no extensions.
target_compile_definitions(ferry_sqlite3 PRIVATE
  SQLITE_THREADSAFE=1 SQLITE_DQS=0 SQLITE_DEFAULT_MEMSTATUS=0 SQLITE_OMIT_LOAD_EXTENSION
  SQLITE_OMIT_DEPRECATED SQLITE_LIKE_DOESNT_MATCH_BLOBS)
set_target_properties(ferry_sqlite3 PROPERTIES POSITION_INDEPENDENT_CODE ON)
add_library(SQLite::SQLite3 ALIAS ferry_sqlite3)
# platform/'s find_package(SQLite3) takes these and, finding the target
# defined, does not define its own.
set(SQLite3_INCLUDE_DIR ${FERRY_SQLITE_AMALGAMATION_DIR} CACHE PATH "" FORCE)
set(SQLite3_LIBRARY ferry_sqlite3 CACHE STRING "" FORCE)

set(nlohmann_json_DIR ${FERRY_REACT_NATIVE_DIR}/android/nlohmann_json CACHE PATH "" FORCE)

set(FERRY_WITH_CURL OFF CACHE BOOL "" FORCE)
set(FERRY_BUILD_C_API ON CACHE BOOL "" FORCE)
foreach(part TESTS BENCH EXAMPLES SERVER NODE PYTHON REACT_NATIVE)
  set(FERRY_BUILD_${part} OFF CACHE BOOL "" FORCE)
endforeach()
add_subdirectory(${FERRY_SOURCE_DIR} ferry)
