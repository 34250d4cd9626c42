// Internal to the policy module: a bounded JSON reader and the small part of JSON-LD the policy
// and request parsers need (term and prefix expansion from an inline @context, key normalisation).
#ifndef HANSE_POLICY_JSON_LD_H_
#define HANSE_POLICY_JSON_LD_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace hanse::policy::internal {

using Json = nlohmann::json;

// Parses JSON without exceptions. Rejects duplicate keys in one object and nesting deeper than
// `max_depth` (ResourceExhausted); syntax errors are InvalidArgument "not valid JSON: ...".
absl::StatusOr<Json> ParseJson(absl::string_view text, int max_depth);

// Expands terms and compact IRIs the way the ODRL JSON-LD context does, plus the prefixes and
// terms an inline @context declares.
class Terms {
 public:
  Terms();
  // Reads a top-level @context value: strings (remote contexts, not fetched) are skipped; objects
  // contribute term and prefix definitions ("dpv": "https://w3id.org/dpv#",
  // "x": {"@id": "..."}). InvalidArgument for other shapes.
  absl::Status Load(const Json& context);

  // `vocab` = a vocabulary position (keys, @type, action, operator, leftOperand): a bare term is
  // an ODRL term, or a Hanse term for the Hanse extension names (jurisdiction, certification,
  // issuer). Elsewhere (values) a bare string stays a literal. "prefix:suffix" expands when the
  // prefix is declared (inline @context first, then odrl, hanse, dpv, xsd, rdf).
  std::string Expand(absl::string_view term, bool vocab) const;

 private:
  std::map<std::string, std::string, std::less<>> defined_;
};

// The short form used in paths, names and the trace: "use" for an ODRL IRI, "hanse:jurisdiction"
// for a Hanse IRI, "rdf:value" for rdf:value, otherwise the IRI unchanged.
std::string ShortName(absl::string_view iri);

// An object's properties with normalised keys (ShortName(Expand(key, vocab))); "type" and "uid"
// are the JSON-LD aliases of @type and @id.
struct Field {
  std::string key;
  std::string raw_key;
  const Json* value;
};
absl::StatusOr<std::vector<Field>> NormalizeObject(const Json& object, const Terms& terms,
                                                   absl::string_view path);
const Json* FindField(const std::vector<Field>& fields, absl::string_view key);

// "a.b" (or "b" when path is empty).
std::string JoinPath(absl::string_view path, absl::string_view key);

}  // namespace hanse::policy::internal

#endif  // HANSE_POLICY_JSON_LD_H_
