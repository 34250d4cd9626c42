#include "trust/encoding.h"

#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace hanse::trust {
namespace {

constexpr absl::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr absl::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr size_t kMaxBase58Chars = 256;

// Reverse lookup table: -1 for characters outside the alphabet.
constexpr std::array<int8_t, 256> MakeReverse(absl::string_view alphabet) {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}

constexpr std::array<int8_t, 256> kBase64UrlReverse = MakeReverse(kBase64UrlAlphabet);
constexpr std::array<int8_t, 256> kBase58Reverse = MakeReverse(kBase58Alphabet);

}  // namespace

std::string Base64UrlEncode(absl::string_view bytes) {
  // Abseil's web-safe alphabet without padding is exactly RFC 7515's base64url.
  return absl::WebSafeBase64Escape(bytes);
}

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text) {
  if (text.size() % 4 == 1) {
    return absl::InvalidArgumentError(absl::StrCat("base64url: impossible length ", text.size()));
  }
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '=') {
      return absl::InvalidArgumentError("base64url: padding is not allowed");
    }
    const int8_t v = kBase64UrlReverse[c];
    if (v < 0) {
      return absl::InvalidArgumentError(absl::StrCat("base64url: invalid character at offset ", i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero, otherwise several encodings would decode to
  // the same bytes.
  if ((acc & ((1u << bits) - 1)) != 0) {
    return absl::InvalidArgumentError("base64url: non-zero trailing bits");
  }
  return out;
}

std::string Base58BtcEncode(absl::string_view bytes) {
  size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;
  // Base-58 digits, least significant first. log(256)/log(58) < 1.37.
  std::vector<uint8_t> digits;
  digits.reserve((bytes.size() - zeros) * 138 / 100 + 1);
  for (size_t i = zeros; i < bytes.size(); ++i) {
    uint32_t carry = static_cast<uint8_t>(bytes[i]);
    for (auto& d : digits) {
      carry += static_cast<uint32_t>(d) << 8;
      d = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out(zeros, '1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(kBase58Alphabet[*it]);
  return out;
}

absl::StatusOr<std::string> Base58BtcDecode(absl::string_view text) {
  if (text.size() > kMaxBase58Chars) {
    return absl::InvalidArgumentError(
        absl::StrCat("base58btc: input longer than ", kMaxBase58Chars, " characters"));
  }
  size_t ones = 0;
  while (ones < text.size() && text[ones] == '1') ++ones;
  // Bytes, least significant first.
  std::vector<uint8_t> bytes;
  bytes.reserve(text.size());
  for (size_t i = ones; i < text.size(); ++i) {
    const int8_t v = kBase58Reverse[static_cast<unsigned char>(text[i])];
    if (v < 0) {
      return absl::InvalidArgumentError(absl::StrCat("base58btc: invalid character at offset ", i));
    }
    uint32_t carry = static_cast<uint8_t>(v);
    for (auto& b : bytes) {
      carry += static_cast<uint32_t>(b) * 58;
      b = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push_back(static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  std::string out(ones, '\0');
  for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) out.push_back(static_cast<char>(*it));
  return out;
}

std::string Sha256(absl::string_view data) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  // One-shot SHA256() is not deprecated in OpenSSL 3 and cannot fail.
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

std::string HexEncode(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

}  // namespace hanse::trust
