#include "base/version.h"

#include <string>

#include "hanse_commit.h"

namespace hanse {

const char* BuildCommit() { return HANSE_COMMIT; }

const char* VersionLine() {
  static const std::string* line =
      new std::string(std::string(kVersion) + " (commit " + HANSE_COMMIT + ")");
  return line->c_str();
}

}  // namespace hanse
