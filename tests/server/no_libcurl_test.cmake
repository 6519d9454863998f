# Fails when ferry-server loads libcurl: the server has one HTTP stack,
# Beast's, for its own requests too (issue 12). ldd lists every shared object
# the loader brings in, so a library that pulls libcurl in is caught as well.
#   cmake -DSERVER=path/to/ferry-server -P no_libcurl_test.cmake
execute_process(COMMAND ldd ${SERVER} OUTPUT_VARIABLE libraries RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "ldd ${SERVER} failed (${result})")
endif()
if(libraries MATCHES "libcurl")
  message(FATAL_ERROR "ferry-server links libcurl:\n${libraries}")
endif()
message(STATUS "ferry-server does not link libcurl")
