#include "catalog/query.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "catalog/tokenizer.h"

namespace hanse::catalog {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<Query> Parse() {
    if (text_.size() > kMaxQueryBytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("query is ", text_.size(), " bytes; the limit is ", kMaxQueryBytes));
    }
    bool sort_given = false;
    while (true) {
      while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
      if (pos_ >= text_.size()) break;
      const size_t start = pos_;
      if (text_[pos_] == '"') {
        std::string phrase;
        if (absl::Status s = ReadQuoted(&phrase); !s.ok()) return s;
        if (absl::Status s = AddTerms(phrase, start); !s.ok()) return s;
        continue;
      }
      size_t j = pos_;
      while (j < text_.size() &&
             (absl::ascii_isalpha(static_cast<unsigned char>(text_[j])) || text_[j] == '_')) {
        ++j;
      }
      const std::string name = absl::AsciiStrToLower(text_.substr(pos_, j - pos_));
      const bool has_name = j > pos_ && j < text_.size();
      if (has_name && text_[j] == ':') {
        if (name != "sort" && name != "issued" && !CanonicalField(name)) {
          return Error(start, absl::StrCat("unknown field \"", name, "\""));
        }
        pos_ = j + 1;
        const size_t value_start = pos_;
        std::string value;
        if (absl::Status s = ReadValue(name, &value); !s.ok()) return s;
        if (name == "sort") {
          if (sort_given) return Error(start, "sort is given twice");
          sort_given = true;
          if (value == "relevance") {
            query_.sort = Query::Sort::kRelevance;
          } else if (value == "issued") {
            query_.sort = Query::Sort::kIssuedAsc;
          } else if (value == "-issued") {
            query_.sort = Query::Sort::kIssuedDesc;
          } else {
            return Error(value_start, absl::StrCat("unknown sort order \"", value,
                                                   "\" (expected relevance, issued or -issued)"));
          }
        } else if (name == "issued") {
          if (absl::Status s = AddIssued("=", value, start, value_start); !s.ok()) return s;
        } else {
          std::optional<std::string> field = CanonicalField(name);
          std::string normalized = NormalizeFilterValue(value);
          if (normalized.empty()) {
            return Error(value_start, absl::StrCat("empty value for field \"", name, "\""));
          }
          if (absl::Status s = CountFilterValue(start); !s.ok()) return s;
          std::vector<std::string>& values = query_.filters[*field];
          if (std::find(values.begin(), values.end(), normalized) == values.end()) {
            values.push_back(std::move(normalized));
          }
        }
        continue;
      }
      if (has_name && (text_[j] == '<' || text_[j] == '>')) {
        if (name == "issued") {
          size_t op_len = (j + 1 < text_.size() && text_[j + 1] == '=') ? 2 : 1;
          std::string op(text_.substr(j, op_len));
          pos_ = j + op_len;
          const size_t value_start = pos_;
          std::string value;
          if (absl::Status s = ReadValue(name, &value); !s.ok()) return s;
          if (absl::Status s = AddIssued(op, value, start, value_start); !s.ok()) return s;
          continue;
        }
        if (CanonicalField(name) || name == "sort") {
          return Error(
              j, absl::StrCat("field \"", name, "\" takes no comparison (only issued does); use ",
                              name, ":value"));
        }
      }
      // A plain word: everything up to the next space, split like indexed text.
      size_t end = pos_;
      while (end < text_.size() && !IsSpace(text_[end])) ++end;
      absl::string_view word = text_.substr(pos_, end - pos_);
      pos_ = end;
      if (absl::Status s = AddTerms(word, start); !s.ok()) return s;
    }
    if (!sort_given) {
      query_.sort = query_.terms.empty() ? Query::Sort::kIssuedDesc : Query::Sort::kRelevance;
    } else if (query_.sort == Query::Sort::kRelevance && query_.terms.empty()) {
      // Nothing to rank by: every score would be zero.
      query_.sort = Query::Sort::kIssuedDesc;
    }
    return std::move(query_);
  }

 private:
  static std::optional<std::string> CanonicalField(const std::string& name) {
    if (name == "license") return std::string("licence");
    for (absl::string_view f : kFilterFields) {
      if (name == f) return std::string(f);
    }
    return std::nullopt;
  }

  // Reads a "quoted string" starting at pos_ (which is at the opening quote).
  absl::Status ReadQuoted(std::string* out) {
    const size_t open = pos_;
    ++pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\\' && pos_ + 1 < text_.size() &&
          (text_[pos_ + 1] == '"' || text_[pos_ + 1] == '\\')) {
        out->push_back(text_[pos_ + 1]);
        pos_ += 2;
        continue;
      }
      if (c == '"') {
        ++pos_;
        if (pos_ < text_.size() && !IsSpace(text_[pos_])) {
          return Error(pos_, "expected a space after the closing quote");
        }
        return absl::OkStatus();
      }
      out->push_back(c);
      ++pos_;
    }
    return Error(open, "unterminated quote");
  }

  // Reads a filter value starting at pos_: quoted, or up to the next space.
  absl::Status ReadValue(const std::string& name, std::string* out) {
    if (pos_ >= text_.size() || IsSpace(text_[pos_])) {
      return Error(pos_, absl::StrCat("missing value for \"", name, "\""));
    }
    if (text_[pos_] == '"') return ReadQuoted(out);
    size_t end = pos_;
    while (end < text_.size() && !IsSpace(text_[end])) ++end;
    const absl::string_view value = text_.substr(pos_, end - pos_);
    out->assign(value.data(), value.size());
    pos_ = end;
    return absl::OkStatus();
  }

  absl::Status AddIssued(absl::string_view op, const std::string& value, size_t start,
                         size_t value_start) {
    std::optional<int64_t> day = ParseDay(value);
    if (!day) {
      return Error(value_start, absl::StrCat("invalid date \"", value, "\" (expected YYYY-MM-DD)"));
    }
    if (absl::Status s = CountFilterValue(start); !s.ok()) return s;
    std::optional<int64_t> lo, hi;
    if (op == "=") {
      lo = hi = *day;
    } else if (op == ">=") {
      lo = *day;
    } else if (op == ">") {
      lo = *day + 1;
    } else if (op == "<=") {
      hi = *day;
    } else {  // "<"
      hi = *day - 1;
    }
    if (lo) query_.issued_min_day = std::max(query_.issued_min_day.value_or(*lo), *lo);
    if (hi) query_.issued_max_day = std::min(query_.issued_max_day.value_or(*hi), *hi);
    return absl::OkStatus();
  }

  absl::Status CountFilterValue(size_t start) {
    if (++filter_values_ > kMaxQueryFilterValues) {
      return Error(
          start, absl::StrCat("too many filter values (the limit is ", kMaxQueryFilterValues, ")"),
          absl::StatusCode::kResourceExhausted);
    }
    return absl::OkStatus();
  }

  absl::Status AddTerms(absl::string_view text, size_t start) {
    std::vector<std::string> tokens;
    Tokenize(text, &tokens);
    for (std::string& t : tokens) {
      if (!seen_terms_.insert(t).second) continue;
      if (query_.terms.size() >= kMaxQueryTerms) {
        return Error(start,
                     absl::StrCat("too many search terms (the limit is ", kMaxQueryTerms, ")"),
                     absl::StatusCode::kResourceExhausted);
      }
      query_.terms.push_back(std::move(t));
    }
    return absl::OkStatus();
  }

  // "<what> at column N", then the query and a caret under the column. Columns count characters
  // (UTF-8 code points), not bytes, so the caret lines up in a terminal.
  absl::Status Error(size_t byte_offset, absl::string_view what,
                     absl::StatusCode code = absl::StatusCode::kInvalidArgument) const {
    size_t column = 1;
    for (size_t i = 0; i < byte_offset && i < text_.size(); ++i) {
      if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
    }
    std::string echo(text_);
    for (char& c : echo) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    }
    return absl::Status(code, absl::StrCat(what, " at column ", column, "\n  ", echo, "\n  ",
                                           std::string(column - 1, ' '), "^"));
  }

  absl::string_view text_;
  size_t pos_ = 0;
  size_t filter_values_ = 0;
  std::set<std::string> seen_terms_;
  Query query_;
};

}  // namespace

std::optional<int64_t> ParseDay(absl::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto digits = [&](size_t from, size_t n) -> std::optional<int> {
    int v = 0;
    for (size_t i = from; i < from + n; ++i) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  std::optional<int> y = digits(0, 4), m = digits(5, 2), d = digits(8, 2);
  if (!y || !m || !d || *m < 1 || *m > 12 || *d < 1) return std::nullopt;
  absl::CivilDay day(*y, *m, *d);
  // CivilDay normalises out-of-range fields (Feb 30 -> Mar 2); a real date survives unchanged.
  if (day.month() != *m || day.day() != *d) return std::nullopt;
  return static_cast<int64_t>(day - absl::CivilDay(1970, 1, 1));
}

absl::StatusOr<Query> ParseQuery(absl::string_view text) { return Parser(text).Parse(); }

}  // namespace hanse::catalog
