// From what a steward writes in a publish file ("content" and "root", or "source") and the
// node's config to a Source, and the record the provider keeps to open it again at fetch time
// (docs/data-sources.md).
#ifndef HANSE_NODE_SOURCE_FACTORY_H_
#define HANSE_NODE_SOURCE_FACTORY_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "node/source/source.h"

namespace hanse::node::source {

// What the config says about sources.
struct Context {
  std::string data_dir;                                   // DIR/data: the root named "data"
  std::map<std::string, std::string> data_roots;          // config data_roots
  nlohmann::json connections = nlohmann::json::object();  // config sources
};

// The spec of a publish file's source: {"root", "path"} for local content (the kind, file or
// directory, is settled when it is described), or the "source" object as given. Unknown keys
// and kinds are refused, naming them.
absl::StatusOr<nlohmann::json> SpecFromPublish(const nlohmann::json& publish);

// The source a spec (or a stored record: the spec plus "kind" and "found") names.
absl::StatusOr<std::unique_ptr<Source>> MakeSource(const Context& ctx, const nlohmann::json& spec);

// Describes the source of `spec` and returns the record to keep: the spec, its kind and what
// describing it found (never a secret).
struct Described {
  Description description;
  nlohmann::json record;
};
absl::StatusOr<Described> DescribeSpec(const Context& ctx, const nlohmann::json& spec,
                                       const Progress& progress);

// A stored record; records written before distributions existed are a bare path under data/.
absl::StatusOr<nlohmann::json> ParseRecord(const std::string& stored);

}  // namespace hanse::node::source

#endif  // HANSE_NODE_SOURCE_FACTORY_H_
