#include "catalog/tokenizer.h"

#include <cstdint>

#include "absl/strings/ascii.h"

namespace hanse::catalog {
namespace {

// What one step of the scanner found at a position.
struct Unit {
  enum Kind { kSeparator, kWord } kind;
  size_t length;   // bytes consumed from the input
  char folded[2];  // the bytes to emit for a word unit (length bytes long)
};

Unit Scan(absl::string_view text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) {
    if (absl::ascii_isalnum(c)) {
      return {Unit::kWord, 1, {static_cast<char>(absl::ascii_tolower(c)), 0}};
    }
    return {Unit::kSeparator, 1, {0, 0}};
  }
  if ((c == 0xC2 || c == 0xC3) && i + 1 < text.size()) {
    const auto d = static_cast<unsigned char>(text[i + 1]);
    if (d >= 0x80 && d <= 0xBF) {
      if (c == 0xC2) {
        // U+0080..U+00BF: C1 controls, NBSP, punctuation and symbols, except three letters.
        if (d == 0xAA || d == 0xB5 || d == 0xBA) return {Unit::kWord, 2, {text[i], text[i + 1]}};
        return {Unit::kSeparator, 2, {0, 0}};
      }
      if (d == 0x97 || d == 0xB7) return {Unit::kSeparator, 2, {0, 0}};  // × and ÷
      const unsigned char lower = (d <= 0x9E) ? static_cast<unsigned char>(d + 0x20) : d;
      return {Unit::kWord, 2, {text[i], static_cast<char>(lower)}};
    }
  }
  // Any other byte of a multi-byte sequence (or a stray byte) is kept as is.
  return {Unit::kWord, 1, {text[i], 0}};
}

}  // namespace

void Tokenize(absl::string_view text, std::vector<std::string>* out, size_t max_tokens) {
  size_t emitted = 0;
  std::string token;
  bool overlong = false;
  auto flush = [&] {
    if (!overlong && token.size() >= kMinTokenBytes) {
      out->push_back(token);
      ++emitted;
    }
    token.clear();
    overlong = false;
  };
  size_t i = 0;
  while (i < text.size() && emitted < max_tokens) {
    Unit u = Scan(text, i);
    i += u.length;
    if (u.kind == Unit::kSeparator) {
      flush();
      continue;
    }
    if (token.size() + u.length > kMaxTokenBytes) {
      // Keep scanning to the end of the word, but stop growing the buffer.
      overlong = true;
      continue;
    }
    token.append(u.folded, u.length);
  }
  if (emitted < max_tokens) flush();
}

std::vector<std::string> Tokenize(absl::string_view text) {
  std::vector<std::string> out;
  Tokenize(text, &out);
  return out;
}

std::string FoldCase(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(absl::ascii_tolower(c)));
    } else if (c == 0xC3 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      const auto d = static_cast<unsigned char>(text[i + 1]);
      out.push_back(text[i]);
      out.push_back(static_cast<char>((d >= 0x80 && d <= 0x9E && d != 0x97) ? d + 0x20 : d));
      ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string NormalizeFilterValue(absl::string_view value) {
  std::string cleaned;
  cleaned.reserve(value.size());
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) continue;  // also keeps NUL out of index keys
    cleaned.push_back(ch);
  }
  // Cut before trimming, so that normalising a normalised value changes nothing.
  std::string folded = FoldCase(absl::StripLeadingAsciiWhitespace(cleaned));
  if (folded.size() > kMaxFilterValueBytes) folded.resize(kMaxFilterValueBytes);
  folded.resize(absl::StripTrailingAsciiWhitespace(folded).size());
  return folded;
}

}  // namespace hanse::catalog
