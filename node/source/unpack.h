// The consumer's side of a tree stream (tree.h): unpacks a received tar into a new directory,
// accepting only what a Hanse provider sends (regular files under safe relative paths, in
// manifest order), and checks the manifest it rebuilds against the signed root digest.
#ifndef HANSE_NODE_SOURCE_UNPACK_H_
#define HANSE_NODE_SOURCE_UNPACK_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace hanse::node::source {

// Unpacks `tar_path` into `out_dir`, which must not exist yet (it is created 0700, files 0600).
// Anything else than the described tree (another entry type, a path that escapes, more files,
// another root digest) removes what was unpacked and fails.
absl::Status UnpackTree(const std::string& tar_path, const std::string& out_dir,
                        const std::string& root_digest, std::uint64_t file_count);

}  // namespace hanse::node::source

#endif  // HANSE_NODE_SOURCE_UNPACK_H_
