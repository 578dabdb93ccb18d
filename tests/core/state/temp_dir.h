// A fresh directory under $TEST_TMPDIR (or the system temp directory), removed with its
// contents when the object goes away.
#ifndef LIFEBOAT_TESTS_CORE_STATE_TEMP_DIR_H_
#define LIFEBOAT_TESTS_CORE_STATE_TEMP_DIR_H_

#include <stdlib.h>

#include <lifeboat_test/remove_tree.h>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace lifeboat::core::testing {

class TempDir {
 public:
  TempDir() {
    const char* env = std::getenv("TEST_TMPDIR");
    std::filesystem::path base = env != nullptr && *env != '\0'
                                     ? std::filesystem::path(env)
                                     : std::filesystem::temp_directory_path();
    std::string templ = (base / "lifeboat-state-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + templ);
    path_ = templ;
  }
  ~TempDir() { lifeboat::test::RemoveTestTree(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace lifeboat::core::testing

#endif  // LIFEBOAT_TESTS_CORE_STATE_TEMP_DIR_H_
