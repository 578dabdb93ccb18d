// A directory tree's content for tests that compare a restore with its source:
// path -> file bytes, "dir" for directories, "-> target" for symbolic links.
#ifndef LIFEBOAT_TESTS_CORE_ENGINE_TREE_CAPTURE_H_
#define LIFEBOAT_TESTS_CORE_ENGINE_TREE_CAPTURE_H_

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

namespace lifeboat::testing {

inline std::map<std::string, std::string> CaptureTree(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> out;
  if (!fs::exists(root)) return out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = fs::relative(it->path(), root).generic_string();
    if (it->is_symlink()) {
      out[rel] = "-> " + fs::read_symlink(it->path()).string();
    } else if (it->is_directory()) {
      out[rel] = "dir";
    } else {
      std::ifstream in(it->path(), std::ios::binary);
      out[rel] = std::string(std::istreambuf_iterator<char>(in), {});
    }
  }
  return out;
}

}  // namespace lifeboat::testing

#endif  // LIFEBOAT_TESTS_CORE_ENGINE_TREE_CAPTURE_H_
