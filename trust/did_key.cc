#include "trust/did_key.h"

#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status.h"
#include "trust/encoding.h"
#include "trust/internal.h"

namespace hanse::trust {
namespace {

constexpr absl::string_view kDidKeyPrefix = "did:key:";
constexpr char kBase58BtcMultibase = 'z';
// Unsigned-varint multicodec prefixes.
constexpr absl::string_view kEd25519PubCodec = "\xed\x01";  // 0xed
constexpr absl::string_view kP256PubCodec = "\x80\x24";     // 0x1200
constexpr size_t kEd25519KeyBytes = 32;
constexpr size_t kP256CompressedBytes = 33;

constexpr absl::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

absl::string_view CodecFor(KeyType type) {
  return type == KeyType::kP256 ? kP256PubCodec : kEd25519PubCodec;
}

// Splits "did:key:zX" or "did:key:zX#zX" into the DID, after validating the
// syntax and that any fragment is exactly the method-specific id.
absl::StatusOr<absl::string_view> SplitDid(absl::string_view did_or_url) {
  if (did_or_url.size() > kMaxDidKeyLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("did:key longer than ", kMaxDidKeyLength, " characters"));
  }
  if (!absl::StartsWith(did_or_url, kDidKeyPrefix)) {
    return absl::InvalidArgumentError("not a did:key (must start with \"did:key:\")");
  }
  absl::string_view did = did_or_url;
  const size_t hash = did_or_url.find('#');
  if (hash != absl::string_view::npos) {
    did = did_or_url.substr(0, hash);
    const absl::string_view fragment = did_or_url.substr(hash + 1);
    if (fragment != did.substr(kDidKeyPrefix.size())) {
      return absl::InvalidArgumentError("did:key URL fragment must equal the method-specific id");
    }
  }
  const absl::string_view id = did.substr(kDidKeyPrefix.size());
  if (id.empty() || id[0] != kBase58BtcMultibase) {
    return absl::InvalidArgumentError(
        "did:key method-specific id must be base58btc multibase (start with 'z')");
  }
  if (id.size() == 1 || id.find_first_not_of(kBase58Alphabet, 1) != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "did:key method-specific id contains characters outside base58btc "
        "(paths, queries and parameters are not supported)");
  }
  return did;
}

}  // namespace

std::string EncodeDidKey(const PublicKey& key) {
  return absl::StrCat(kDidKeyPrefix, std::string(1, kBase58BtcMultibase),
                      Base58BtcEncode(absl::StrCat(CodecFor(key.type()), key.Raw())));
}

namespace {

// Decoding a P-256 did:key costs more than checking a signature with it (the point is
// decompressed and validated), and every JWS names its signer's: the keys of the DIDs seen
// last are kept, process-wide. Bounded: when full it starts again, so a flood of new DIDs
// costs what decoding costs, no more.
class DidKeyCache {
 public:
  std::optional<PublicKey> Find(absl::string_view did) {
    std::shared_lock lock(mu_);
    auto it = keys_.find(std::string_view(did.data(), did.size()));
    if (it == keys_.end()) return std::nullopt;
    return it->second;
  }
  void Add(absl::string_view did, const PublicKey& key) {
    std::unique_lock lock(mu_);
    if (keys_.size() >= kMaxEntries) keys_.clear();
    keys_.emplace(std::string(did), key);
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  static constexpr size_t kMaxEntries = 4096;
  std::shared_mutex mu_;
  std::unordered_map<std::string, PublicKey, Hash, std::equal_to<>> keys_;
};

DidKeyCache& Cache() {
  static auto* cache = new DidKeyCache();  // never destroyed: used until exit
  return *cache;
}

}  // namespace

absl::StatusOr<PublicKey> DecodeDidKey(absl::string_view did_or_url) {
  HANSE_ASSIGN_OR_RETURN(absl::string_view did, SplitDid(did_or_url));
  if (std::optional<PublicKey> cached = Cache().Find(did)) return *std::move(cached);
  HANSE_ASSIGN_OR_RETURN(std::string bytes, Base58BtcDecode(did.substr(kDidKeyPrefix.size() + 1)),
                         "did:key");
  KeyType type;
  absl::string_view raw = bytes;
  if (absl::StartsWith(raw, kEd25519PubCodec)) {
    type = KeyType::kEd25519;
    raw.remove_prefix(kEd25519PubCodec.size());
    if (raw.size() != kEd25519KeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("did:key Ed25519 key must be 32 bytes, got ", raw.size()));
    }
  } else if (absl::StartsWith(raw, kP256PubCodec)) {
    type = KeyType::kP256;
    raw.remove_prefix(kP256PubCodec.size());
    if (raw.size() != kP256CompressedBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "did:key P-256 key must be a 33-byte compressed point, got ", raw.size(), " bytes"));
    }
  } else {
    return absl::InvalidArgumentError(
        "did:key multicodec is not ed25519-pub or p256-pub (unsupported key type)");
  }
  HANSE_ASSIGN_OR_RETURN(PublicKey key, PublicKey::FromRaw(type, raw), "did:key");
  // DIDs are compared as strings everywhere (trust store, SANs, kids), so only
  // the one canonical spelling of a key is accepted.
  if (EncodeDidKey(key) != did) {
    return absl::InvalidArgumentError("did:key is not canonically encoded");
  }
  Cache().Add(did, key);
  return key;
}

std::string DidKeyVerificationMethod(absl::string_view did) {
  const size_t colon = did.rfind(':');
  const absl::string_view id = colon == absl::string_view::npos ? did : did.substr(colon + 1);
  return absl::StrCat(did, "#", id);
}

absl::StatusOr<std::string> DidFromDidUrl(absl::string_view did_url) {
  HANSE_ASSIGN_OR_RETURN(absl::string_view did, SplitDid(did_url));
  HANSE_RETURN_IF_ERROR(DecodeDidKey(did).status());
  return std::string(did);
}

bool IsDidKey(absl::string_view s) {
  if (s.size() > kMaxDidKeyLength || !absl::StartsWith(s, kDidKeyPrefix)) return false;
  const absl::string_view id = s.substr(kDidKeyPrefix.size());
  return id.size() > 1 && id[0] == kBase58BtcMultibase &&
         id.find_first_not_of(kBase58Alphabet, 1) == absl::string_view::npos;
}

}  // namespace hanse::trust
