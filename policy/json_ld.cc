#include "policy/json_ld.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "policy/values.h"

namespace hanse::policy::internal {
namespace {

// Builds the DOM from SAX events so that no exception is thrown and the limits are enforced
// while reading.
class DomBuilder final : public nlohmann::json_sax<Json> {
 public:
  explicit DomBuilder(int max_depth) : max_depth_(max_depth) {}

  bool null() override { return Put(Json(nullptr)) != nullptr; }
  bool boolean(bool v) override { return Put(Json(v)) != nullptr; }
  bool number_integer(number_integer_t v) override { return Put(Json(v)) != nullptr; }
  bool number_unsigned(number_unsigned_t v) override { return Put(Json(v)) != nullptr; }
  bool number_float(number_float_t v, const string_t&) override { return Put(Json(v)) != nullptr; }
  bool string(string_t& v) override { return Put(Json(std::move(v))) != nullptr; }
  bool binary(binary_t&) override {
    status_ = absl::InvalidArgumentError("not valid JSON: binary value");
    return false;
  }
  bool start_object(std::size_t) override { return Open(Json::object()); }
  bool key(string_t& k) override {
    if (stack_.back()->contains(k)) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat("not valid JSON: duplicate key \"", Printable(k), "\""));
      return false;
    }
    key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return Open(Json::array()); }
  bool end_array() override {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    absl::string_view what = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at line 1, ..."
    if (const size_t end = what.find("] "); absl::StartsWith(what, "[") && end != what.npos) {
      what.remove_prefix(end + 2);
    }
    status_ = absl::InvalidArgumentError(absl::StrCat("not valid JSON: ", Printable(what)));
    return false;
  }

  absl::Status status() const { return status_; }
  Json& root() { return root_; }

 private:
  Json* Put(Json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json* top = stack_.back();
    if (top->is_array()) {
      top->push_back(std::move(v));
      return &top->back();
    }
    auto [it, inserted] = top->get_ref<Json::object_t&>().emplace(key_, std::move(v));
    return &it->second;
  }
  bool Open(Json container) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      status_ = absl::ResourceExhaustedError(
          absl::StrCat("JSON nested deeper than ", max_depth_, " levels"));
      return false;
    }
    Json* p = Put(std::move(container));
    stack_.push_back(p);
    return true;
  }

  const int max_depth_;
  Json root_;
  std::vector<Json*> stack_;
  std::string key_;
  absl::Status status_;
};

struct Prefix {
  absl::string_view name;
  absl::string_view ns;
};
constexpr Prefix kBuiltinPrefixes[] = {
    {"odrl", kOdrlNs}, {"hanse", kHanseNs}, {"dpv", kDpvNs}, {"xsd", kXsdNs}, {"rdf", kRdfNs}};

// Bare terms that name Hanse extensions rather than ODRL terms.
constexpr absl::string_view kHanseTerms[] = {"jurisdiction", "certification", "issuer"};

}  // namespace

absl::StatusOr<Json> ParseJson(absl::string_view text, int max_depth) {
  DomBuilder builder(max_depth);
  const bool ok = Json::sax_parse(text.begin(), text.end(), &builder);
  if (!ok || !builder.status().ok()) {
    if (!builder.status().ok()) return builder.status();
    return absl::InvalidArgumentError("not valid JSON");
  }
  return std::move(builder.root());
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
