// Files and directory trees on the provider's own disks: under DIR/data or a named data root
// (config data_roots). Paths are resolved with symlinks followed and must stay inside their
// root; a change since publishing (size or modification time) is refused before it is sent.
#ifndef HANSE_NODE_SOURCE_LOCAL_H_
#define HANSE_NODE_SOURCE_LOCAL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "node/source/source.h"

namespace hanse::node::source {

// The real path of `relative` inside `root`: symlinks followed, and the result (and `root`)
// must exist and stay inside the root. Errors name `relative`, never a path outside the root.
absl::StatusOr<std::string> ResolveInRoot(const std::string& root, absl::string_view relative);

// A regular file at `path` (already resolved). `found` is what Describe recorded (size,
// mtime_ns), empty before the first Describe.
std::unique_ptr<Source> MakeFileSource(std::string path, nlohmann::json found);

// Every regular file below `dir` (already resolved), as a tree stream (tree.h). Symlinks to
// files inside `root` are followed; anything else that is not a regular file or a directory
// is refused, as is a tree of more than kMaxTreeFiles files. `found` holds the manifest.
std::unique_ptr<Source> MakeDirectorySource(std::string root, std::string dir,
                                            nlohmann::json found);

}  // namespace hanse::node::source

#endif  // HANSE_NODE_SOURCE_LOCAL_H_
