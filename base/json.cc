#include "base/json.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hanse {
namespace {

using Json = nlohmann::json;

// Error text quotes input: keep it short and printable.
std::string Quote(absl::string_view text) {
  constexpr size_t kMax = 80;
  std::string out = absl::CHexEscape(text.substr(0, kMax));
  if (text.size() > kMax) out += "...";
  return out;
}

// Builds the DOM from SAX events so that no exception is thrown and the limits hold while
// reading.
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
          absl::StrCat("not valid JSON: duplicate key \"", Quote(k), "\""));
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
    status_ = absl::InvalidArgumentError(absl::StrCat("not valid JSON: ", Quote(what)));
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
          absl::StrCat("JSON nests deeper than ", max_depth_, " levels"));
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

}  // namespace

absl::StatusOr<Json> ParseJson(absl::string_view text, int max_depth) {
  DomBuilder builder(max_depth);
  const bool ok = Json::sax_parse(text.begin(), text.end(), &builder);
  if (!builder.status().ok()) return builder.status();
  if (!ok) return absl::InvalidArgumentError("not valid JSON");
  return std::move(builder.root());
}

absl::StatusOr<Json> ParseJsonObject(absl::string_view text, absl::string_view what,
                                     int max_depth) {
  absl::StatusOr<Json> j = ParseJson(text, max_depth);
  if (!j.ok())
    return absl::Status(j.status().code(), absl::StrCat(what, ": ", j.status().message()));
  if (!j->is_object()) return absl::InvalidArgumentError(absl::StrCat(what, ": not a JSON object"));
  return j;
}

}  // namespace hanse
