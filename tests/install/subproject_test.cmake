# The ctest subproject_build: configures tests/install/subproject (which adds
# Ferry with add_subdirectory and its defaults), builds its program and runs it.
#   cmake -DFERRY_SOURCE_DIR=... -DBUILD_DIR=... [-DTOOLCHAIN_FILE=...] -P subproject_test.cmake
foreach(variable FERRY_SOURCE_DIR BUILD_DIR)
  if(NOT ${variable})
    message(FATAL_ERROR "pass -D${variable}=...")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${result}): ${command}")
  endif()
endfunction()

set(configure ${CMAKE_COMMAND} -S ${FERRY_SOURCE_DIR}/tests/install/subproject -B ${BUILD_DIR}
    -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFERRY_SOURCE_DIR=${FERRY_SOURCE_DIR})
if(TOOLCHAIN_FILE)
  list(APPEND configure -DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN_FILE})
endif()
run(${configure})
run(${CMAKE_COMMAND} --build ${BUILD_DIR} --target ferry_consumer --parallel 2)
run(${BUILD_DIR}/ferry_consumer ${BUILD_DIR}/consumer.db)
