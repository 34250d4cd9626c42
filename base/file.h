// File helpers: whole-file reads with a size bound, atomic private writes, mode checks.
#ifndef HANSE_BASE_FILE_H_
#define HANSE_BASE_FILE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hanse {

inline constexpr std::uint64_t kDefaultMaxFileBytes = 16 << 20;

// Reads a whole file. Files larger than `max_bytes` are refused (ResourceExhausted).
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     std::uint64_t max_bytes = kDefaultMaxFileBytes);

// Writes `contents` to `path` through a temporary file, fsync and rename, with `mode`.
// With `exclusive`, fails with AlreadyExists if `path` exists.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view contents, mode_t mode,
                             bool exclusive = false);

// fsyncs the directory that holds `path`, so that a rename or a new file in it survives a
// power loss.
absl::Status SyncParentDirectory(const std::string& path);

// Refuses files readable or writable by group or others (for private keys).
absl::Status CheckPrivateMode(const std::string& path);

bool PathExists(const std::string& path);

// Creates a directory with `mode`; fails if it exists.
absl::Status MakeDirectory(const std::string& path, mode_t mode);

// Absolute form of a path (no symlink resolution needed for our use).
std::string AbsolutePath(const std::string& path);

// Total size in bytes of the regular files below `dir`.
std::uint64_t DirectorySize(const std::string& dir);

// Turns errno into a status naming `what` (e.g. the path).
absl::Status ErrnoStatus(int err, absl::string_view what);

}  // namespace hanse

#endif  // HANSE_BASE_FILE_H_
