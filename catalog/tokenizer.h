// Splits catalogue text into index terms, and normalises exact-match filter values. Indexing and
// querying both go through here, so a query word matches exactly what indexing produced.
#ifndef HANSE_CATALOG_TOKENIZER_H_
#define HANSE_CATALOG_TOKENIZER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace hanse::catalog {

// Tokens shorter than this are dropped: single letters carry no meaning worth a posting list.
inline constexpr size_t kMinTokenBytes = 2;
// Longer tokens are dropped (not truncated): they are hashes, URLs or garbage, and truncating
// them would make unrelated strings collide.
inline constexpr size_t kMaxTokenBytes = 64;
// Bounds the work and the index size one hostile field can cause.
inline constexpr size_t kMaxTokensPerField = 10000;
// Filter values longer than this are cut (the same way on both sides, so they still match).
inline constexpr size_t kMaxFilterValueBytes = 256;

// Appends the tokens of `text` to `out`, at most `max_tokens` of them (tokens already in `out`
// do not count). Rules:
// - ASCII letters and digits are word characters; every other ASCII byte separates words.
// - ASCII is lower-cased; Latin-1 supplement letters (U+00C0..U+00DE) are folded to their
//   lower-case forms (U+00E0..U+00FE). U+00D7 and U+00F7 (multiplication and division signs)
//   and the U+0080..U+00BF block (controls, NBSP, punctuation, symbols) separate words, except
//   the letters U+00AA, U+00B5 and U+00BA.
// - Every other non-ASCII byte is a word character and is kept unchanged: no other case
//   folding, no Unicode normalisation, no stemming. Invalid UTF-8 is kept as bytes.
// - Tokens shorter than kMinTokenBytes or longer than kMaxTokenBytes bytes are dropped.
void Tokenize(absl::string_view text, std::vector<std::string>* out,
              size_t max_tokens = kMaxTokensPerField);
std::vector<std::string> Tokenize(absl::string_view text);

// Lower-cases ASCII and Latin-1 letters as Tokenize does, without splitting.
std::string FoldCase(absl::string_view text);

// The form in which filter values (publisher, theme, country, ...) are indexed and queried:
// case-folded, control characters removed, leading and trailing ASCII whitespace trimmed, cut
// to kMaxFilterValueBytes. May return an empty string (such values are not indexed).
std::string NormalizeFilterValue(absl::string_view value);

}  // namespace hanse::catalog

#endif  // HANSE_CATALOG_TOKENIZER_H_
