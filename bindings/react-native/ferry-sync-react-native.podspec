# The iOS side of ferry-sync-react-native: CocoaPods compiles Ferry's C++
# (core, platform, the C API, the async layer) with the module's own sources
# into the app. SQLite is iOS's own libsqlite3; zlib is iOS's libz; there is
# no libcurl: the JavaScript side carries every request (host transport).
#
# CocoaPods takes only files inside the package, so this works from the
# packed package, where `npm pack` (pack.sh) has copied Ferry's sources into
# ferry/ and nlohmann/json into third_party/.
require "json"

package = JSON.parse(File.read(File.join(__dir__, "package.json")))

Pod::Spec.new do |s|
  s.name         = "ferry-sync-react-native"
  s.version      = package["version"]
  s.summary      = package["description"]
  s.homepage     = "https://github.com/ferry-sync/ferry"
  s.license      = package["license"]
  s.authors      = "Ferry"
  s.platforms    = { :ios => min_ios_version_supported }
  s.source       = { :git => "https://github.com/ferry-sync/ferry.git", :tag => "v#{s.version}" }

  s.source_files = [
    "cpp/**/*.{h,cc}",
    "ios/**/*.{h,mm}",
    "ferry/core/include/**/*.h",
    "ferry/core/src/**/*.{h,cc}",
    "ferry/platform/include/**/*.h",
    "ferry/platform/src/**/*.{h,cc}",
    "ferry/bindings/c/include/**/*.h",
    "ferry/bindings/c/src/**/*.cc",
    "ferry/bindings/async/include/**/*.h",
    "ferry/bindings/async/src/**/*.cc",
  ]
  # The backends an iOS build does not use (CMake chooses them elsewhere).
  s.exclude_files = [
    "ferry/platform/src/transport_curl.cc",
    "ferry/platform/src/store_lock_none.cc",
  ]
  s.private_header_files = "ferry/**/*.h"
  s.libraries = "sqlite3", "z"
  s.pod_target_xcconfig = {
    "CLANG_CXX_LANGUAGE_STANDARD" => "c++20",
    "HEADER_SEARCH_PATHS" => [
      "\"$(PODS_TARGET_SRCROOT)/cpp\"",
      "\"$(PODS_TARGET_SRCROOT)/ferry/core/include\"",
      "\"$(PODS_TARGET_SRCROOT)/ferry/core/src\"",
      "\"$(PODS_TARGET_SRCROOT)/ferry/platform/include\"",
      "\"$(PODS_TARGET_SRCROOT)/ferry/platform/src\"",
      "\"$(PODS_TARGET_SRCROOT)/ferry/bindings/c/include\"",
      "\"$(PODS_TARGET_SRCROOT)/ferry/bindings/async/include\"",
      "\"$(PODS_TARGET_SRCROOT)/third_party\"",
    ].join(" "),
  }

  # React Native's helper: JSI, ReactCommon (TurboModule), codegen.
  install_modules_dependencies(s)
end
