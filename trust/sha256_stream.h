// Incremental SHA-256, for content hashed as it is read or received (publishing, transfers).
#ifndef HANSE_TRUST_SHA256_STREAM_H_
#define HANSE_TRUST_SHA256_STREAM_H_

#include <string>

#include "absl/strings/string_view.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace hanse::trust {

class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(absl::string_view data);
  // The digest of everything so far, lower-case hex. Ends the stream.
  std::string HexDigest();

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace hanse::trust

#endif  // HANSE_TRUST_SHA256_STREAM_H_
