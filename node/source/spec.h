// Reading the JSON of a source spec or a config connection, with errors that name the field.
// Internal to node/source.
#ifndef HANSE_NODE_SOURCE_SPEC_H_
#define HANSE_NODE_SOURCE_SPEC_H_

#include <initializer_list>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace hanse::node::source::spec_internal {

// Every key of `j` is one of `allowed`; otherwise the unknown one is named, after `what`.
absl::Status CheckKeys(const nlohmann::json& j, std::initializer_list<const char*> allowed,
                       absl::string_view what);
// The non-empty string at `key` ("" when it is absent and not required).
absl::StatusOr<std::string> StringField(const nlohmann::json& j, const char* key,
                                        absl::string_view what, bool required = true);

}  // namespace hanse::node::source::spec_internal

#endif  // HANSE_NODE_SOURCE_SPEC_H_
