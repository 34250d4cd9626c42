// A private temporary directory per test, removed afterwards.
#ifndef HANSE_TESTS_SUPPORT_TEMP_DIR_H_
#define HANSE_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>

namespace hanse::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace hanse::testing

#endif  // HANSE_TESTS_SUPPORT_TEMP_DIR_H_
