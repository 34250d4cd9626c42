// The release version and the commit it was built from, printed by `hanse --version` and
// reported in status and in the start-up log line.
#ifndef HANSE_BASE_VERSION_H_
#define HANSE_BASE_VERSION_H_

namespace hanse {

inline constexpr const char* kVersion = "0.1.0";
// `git describe` of the source tree at build time ("-dirty" with uncommitted changes), or
// "unknown" when built outside a git checkout.
const char* BuildCommit();
// "0.1.0 (commit 0123456789ab)".
const char* VersionLine();

}  // namespace hanse

#endif  // HANSE_BASE_VERSION_H_
