// The web console's files, embedded in the binary at build time (console/embed.cmake
// generates the definition from the files under console/).
//
// Thread-safety: constant data.
#ifndef LIFEBOAT_CORE_SRC_API_CONSOLE_ASSETS_H_
#define LIFEBOAT_CORE_SRC_API_CONSOLE_ASSETS_H_

#include <span>
#include <string_view>

namespace lifeboat::core::api {

struct ConsoleAsset {
  std::string_view name;          // file name under console/, e.g. "app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8", ...
  std::string_view body;
};

// Every embedded file, in the order CMake listed them. Views into static storage.
std::span<const ConsoleAsset> ConsoleAssets();

}  // namespace lifeboat::core::api

#endif  // LIFEBOAT_CORE_SRC_API_CONSOLE_ASSETS_H_
