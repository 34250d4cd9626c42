// What the node/source tests share: reading a whole stream, an independent SHA-256 (OpenSSL's
// one-shot EVP, not the trust::Sha256Stream under test) and bytes that differ at every offset.
#ifndef HANSE_NODE_SOURCE_TEST_UTIL_H_
#define HANSE_NODE_SOURCE_TEST_UTIL_H_

#include <openssl/evp.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "node/source/source.h"

namespace hanse::node::source::testing {

inline absl::StatusOr<std::string> ReadAll(Reader& r, size_t chunk = 64 << 10) {
  std::string out;
  std::string buf(chunk, '\0');
  while (true) {
    auto n = r.Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

inline std::string IndependentSha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

// Bytes that differ at every offset (a resumed read at the wrong place shows).
inline std::string Pattern(size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

}  // namespace hanse::node::source::testing

#endif  // HANSE_NODE_SOURCE_TEST_UTIL_H_
