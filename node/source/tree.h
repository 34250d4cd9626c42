// A tree of files (a directory, an S3 prefix) as one stream: a deterministic POSIX tar (ustar
// headers, a pax record where a path or size does not fit), entries in manifest order, owner 0,
// mode 0644, time 0, then the two zero blocks. Every header follows from the manifest alone,
// so a publish hashes the stream and every file in one read, and a transfer resumes at any
// byte: the offset of each entry is known without reading the ones before it. The consumer
// unpacks it with libarchive. The manifest (path, size, SHA-256 per file) stays with the
// provider; its digest (the root digest) is in the signed self-description.
#ifndef HANSE_NODE_SOURCE_TREE_H_
#define HANSE_NODE_SOURCE_TREE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "node/source/source.h"

namespace hanse::trust {
class Sha256Stream;
}

namespace hanse::node::source {

// At most this many files in one tree: the manifest is kept in the provider's store.
inline constexpr std::uint64_t kMaxTreeFiles = 200'000;
inline constexpr size_t kMaxTreePathBytes = 1024;

struct TreeEntry {
  std::string path;  // relative, '/'-separated, no "." or ".." segments
  std::uint64_t size = 0;
  std::string sha256;  // hex
  // What tells a changed source without reading it: a file's mtime (ns), an object's ETag.
  std::string version;
};

// Why a relative path cannot be in a tree, or OK.
absl::Status CheckTreePath(absl::string_view path);

// The header bytes (pax record included) that precede `entry`'s data in the stream.
std::string TarHeader(const TreeEntry& entry);
// The length of the whole stream of `entries`.
std::uint64_t TreeStreamSize(const std::vector<TreeEntry>& entries);

// "SHA256 SIZE PATH\n" per entry; its SHA-256 is the root digest.
std::string ManifestText(const std::vector<TreeEntry>& entries);
nlohmann::json ManifestJson(const std::vector<TreeEntry>& entries);
absl::StatusOr<std::vector<TreeEntry>> ParseManifest(const nlohmann::json& manifest);

// Describes a tree in one read: feed each entry (in order) and its bytes.
class TreeHasher {
 public:
  TreeHasher();
  ~TreeHasher();
  void Begin(const TreeEntry& entry);
  void Update(absl::string_view data);
  // Ends the current entry; it must have received exactly its size. Returns its SHA-256.
  absl::StatusOr<std::string> End();
  // The stream's description (kind as given); `entries` are the finished ones, with digests.
  Description Finish(std::string kind);
  const std::vector<TreeEntry>& entries() const { return entries_; }

 private:
  std::unique_ptr<trust::Sha256Stream> stream_;
  std::unique_ptr<trust::Sha256Stream> file_;
  std::vector<TreeEntry> entries_;
  std::uint64_t got_ = 0;
  std::uint64_t stream_bytes_ = 0;
};

// Opens one entry's bytes at an offset within it (the entry's own change check included).
using EntryOpener =
    std::function<absl::StatusOr<std::unique_ptr<Reader>>(const TreeEntry&, std::uint64_t)>;

// The stream of `entries` from `offset`, opening each entry's data through `open`.
absl::StatusOr<std::unique_ptr<Reader>> OpenTreeStream(std::vector<TreeEntry> entries,
                                                       EntryOpener open, std::uint64_t offset);

}  // namespace hanse::node::source

#endif  // HANSE_NODE_SOURCE_TREE_H_
