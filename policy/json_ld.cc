#include "policy/json_ld.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/json.h"
#include "policy/values.h"

namespace hanse::policy::internal {
namespace {

struct Prefix {
  absl::string_view name;
  absl::string_view ns;
};
constexpr Prefix kBuiltinPrefixes[] = {
    {"odrl", kOdrlNs}, {"hanse", kHanseNs}, {"dpv", kDpvNs}, {"xsd", kXsdNs}, {"rdf", kRdfNs}};

// Bare terms that name Hanse extensions rather than ODRL terms.
constexpr absl::string_view kHanseTerms[] = {"jurisdiction", "certification", "issuer",
                                             "timeOfDay",    "dayOfWeek",     "timeZone"};

}  // namespace

absl::StatusOr<Json> ParseJson(absl::string_view text, int max_depth) {
  return hanse::ParseJson(text, max_depth);
}

Terms::Terms() = default;

absl::Status Terms::Load(const Json& context) {
  if (context.is_string()) return absl::OkStatus();  // a remote context: not fetched
  if (context.is_array()) {
    for (const Json& c : context) {
      if (c.is_array()) return absl::InvalidArgumentError("@context: nested array");
      absl::Status s = Load(c);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (!context.is_object()) {
    return absl::InvalidArgumentError("@context: expected a string, an object or an array");
  }
  for (const auto& [key, value] : context.items()) {
    if (absl::StartsWith(key, "@")) continue;  // @vocab, @version, ...: not used
    if (value.is_string()) {
      defined_[key] = value.get<std::string>();
    } else if (value.is_object() && value.contains("@id") && value["@id"].is_string()) {
      defined_[key] = value["@id"].get<std::string>();
    }
  }
  return absl::OkStatus();
}

std::string Terms::Expand(absl::string_view term, bool vocab) const {
  if (absl::StartsWith(term, "@")) return std::string(term);
  if (vocab) {
    if (auto it = defined_.find(term); it != defined_.end()) {
      // A term defined as another compact IRI: expand its prefix (not further terms: no cycles).
      const std::string& target = it->second;
      if (target.find(':') == std::string::npos) return Expand(target, /*vocab=*/false);
      const size_t colon = target.find(':');
      const absl::string_view prefix = absl::string_view(target).substr(0, colon);
      for (const Prefix& p : kBuiltinPrefixes) {
        if (p.name == prefix &&
            !absl::StartsWith(absl::string_view(target).substr(colon + 1), "//")) {
          return absl::StrCat(p.ns, absl::string_view(target).substr(colon + 1));
        }
      }
      return target;
    }
  }
  const size_t colon = term.find(':');
  if (colon == absl::string_view::npos) {
    if (!vocab) return std::string(term);
    for (absl::string_view h : kHanseTerms) {
      if (term == h) return absl::StrCat(kHanseNs, term);
    }
    return absl::StrCat(kOdrlNs, term);
  }
  const absl::string_view prefix = term.substr(0, colon);
  const absl::string_view suffix = term.substr(colon + 1);
  if (absl::StartsWith(suffix, "//")) return std::string(term);  // an absolute IRI
  if (auto it = defined_.find(prefix); it != defined_.end()) {
    return absl::StrCat(it->second, suffix);
  }
  for (const Prefix& p : kBuiltinPrefixes) {
    if (p.name == prefix) return absl::StrCat(p.ns, suffix);
  }
  return std::string(term);
}

std::string ShortName(absl::string_view iri) {
  if (absl::StartsWith(iri, kOdrlNs)) return std::string(iri.substr(kOdrlNs.size()));
  if (absl::StartsWith(iri, kHanseNs)) return absl::StrCat("hanse:", iri.substr(kHanseNs.size()));
  if (absl::StartsWith(iri, kRdfNs)) return absl::StrCat("rdf:", iri.substr(kRdfNs.size()));
  return std::string(iri);
}

absl::StatusOr<std::vector<Field>> NormalizeObject(const Json& object, const Terms& terms,
                                                   absl::string_view path) {
  std::vector<Field> fields;
  for (const auto& [key, value] : object.items()) {
    std::string name;
    if (key == "type") {
      name = "@type";
    } else if (key == "uid") {
      name = "@id";
    } else {
      name = ShortName(terms.Expand(key, /*vocab=*/true));
      if (name == "uid") name = "@id";  // odrl:uid, spelt out
    }
    for (const Field& f : fields) {
      if (f.key == name) {
        return absl::InvalidArgumentError(absl::StrCat(
            path.empty() ? "policy" : path, ": property \"", Printable(name),
            "\" given twice (as \"", Printable(f.raw_key), "\" and \"", Printable(key), "\")"));
      }
    }
    fields.push_back(Field{std::move(name), key, &value});
  }
  return fields;
}

const Json* FindField(const std::vector<Field>& fields, absl::string_view key) {
  for (const Field& f : fields) {
    if (f.key == key) return f.value;
  }
  return nullptr;
}

std::string JoinPath(absl::string_view path, absl::string_view key) {
  if (path.empty()) return std::string(key);
  return absl::StrCat(path, ".", key);
}

}  // namespace hanse::policy::internal
