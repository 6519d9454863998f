# nlohmann/json for the Android build: the single header copied into the
# package (third_party/nlohmann, from Debian's nlohmann-json3-dev, MIT).
if(NOT TARGET nlohmann_json::nlohmann_json)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${CMAKE_CURRENT_LIST_DIR}/../../third_party")
endif()
