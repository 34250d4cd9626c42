// The catalogue's search query language: parsed once into a Query that the search index runs.
//
//   air quality theme:environment country:FR issued>=2024-01-01 sort:-issued
//
// Syntax (docs/query-syntax.md has the user-facing version):
// - Items are separated by ASCII whitespace.
// - A bare word is split into terms by the indexing tokenizer (catalog/tokenizer.h): lower-cased,
//   split on punctuation, terms shorter than 2 bytes dropped. Terms are OR-ed and ranked by BM25
//   over title, description and keywords, as Lucene does by default: a document needs only one of
//   the terms, and documents with more (and rarer) terms rank higher. Repeated terms count once.
// - A "quoted phrase" contributes its words as terms exactly as if they were unquoted: there is no
//   phrase or proximity matching. Quotes only matter for filter values.
// - field:value filters, field one of publisher, theme, keyword, licence (or license), mediatype,
//   language, country, hosting (field names are case-insensitive). Values match exactly after
//   case folding (catalog/tokenizer.h NormalizeFilterValue); `keyword:` matches a whole keyword.
//   A value is a run of non-space characters or a "quoted string" (\" and \\ escape a quote and a
//   backslash). Several values for the same field are OR-ed; different fields are AND-ed.
// - issued:DATE, issued>=DATE, issued>DATE, issued<=DATE, issued<DATE with DATE = YYYY-MM-DD (UTC
//   calendar days). Several comparisons are AND-ed (they narrow one inclusive range).
// - sort:relevance (the default when there are terms), sort:issued (oldest first), sort:-issued
//   (newest first; the default without terms, and what sort:relevance means without terms).
// - Only filters: every matching document, newest first. Empty query: every document.
// - A word that starts with letters and a colon (`http://x`) is read as a field: quote it.
//   There is no negation; `-word` is the same as `word`.
// Errors are InvalidArgument with the column (1-based, in characters) and a caret line, e.g.
//   unknown field "colour" at column 13
//     air quality colour:red
//                 ^
// Limits (ResourceExhausted): the query is at most 1024 bytes, has at most 32 distinct terms and
// at most 64 filter values (issued comparisons included).
#ifndef HANSE_CATALOG_QUERY_H_
#define HANSE_CATALOG_QUERY_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hanse::catalog {

inline constexpr size_t kMaxQueryBytes = 1024;
inline constexpr size_t kMaxQueryTerms = 32;
inline constexpr size_t kMaxQueryFilterValues = 64;

// The canonical filter field names, as used as keys of Query::filters.
inline constexpr absl::string_view kFilterFields[] = {
    "publisher", "theme", "keyword", "licence", "mediatype", "language", "country", "hosting"};

struct Query {
  // Distinct terms in the order they first appear; already tokenized.
  std::vector<std::string> terms;
  // Canonical field name -> normalised values (NormalizeFilterValue), OR-ed within a field.
  std::map<std::string, std::vector<std::string>> filters;
  // Inclusive bounds, days since 1970-01-01. min > max is valid and matches nothing.
  std::optional<int64_t> issued_min_day, issued_max_day;
  enum class Sort { kRelevance, kIssuedAsc, kIssuedDesc };
  Sort sort = Sort::kIssuedDesc;
};

absl::StatusOr<Query> ParseQuery(absl::string_view text);

// Days since 1970-01-01 for a YYYY-MM-DD date, or nullopt if it is not exactly that form or not a
// real calendar date.
std::optional<int64_t> ParseDay(absl::string_view text);

}  // namespace hanse::catalog

#endif  // HANSE_CATALOG_QUERY_H_
