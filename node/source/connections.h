// The S3 and HTTP kinds of a publish file's "source", made from the config's named connection
// `conn` (`what` names it in errors) and the dataset's spec. Internal to node/source (the
// factory calls these).
#ifndef HANSE_NODE_SOURCE_CONNECTIONS_H_
#define HANSE_NODE_SOURCE_CONNECTIONS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "node/source/source.h"

namespace hanse::node::source {

// {"s3": NAME, "bucket": B, "key": K} (an object) or "prefix": "P/" (a tree of objects).
absl::StatusOr<std::unique_ptr<Source>> S3SourceFor(const nlohmann::json& conn,
                                                    const nlohmann::json& spec,
                                                    absl::string_view what);
// {"http": NAME, "path": "/export.csv", "live": false}.
absl::StatusOr<std::unique_ptr<Source>> HttpSourceFor(const nlohmann::json& conn,
                                                      const nlohmann::json& spec,
                                                      absl::string_view what);

}  // namespace hanse::node::source

#endif  // HANSE_NODE_SOURCE_CONNECTIONS_H_
