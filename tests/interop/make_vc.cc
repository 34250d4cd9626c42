// Signs Hanse dataset self-descriptions for the independent JOSE check (verify_jws.py): one with
// a fresh P-256 key (ES256), one with a fresh Ed25519 key (EdDSA). Prints one token per line:
//   JWS<TAB>JWK                 must verify
//   tampered<TAB>JWS<TAB>JWK    must NOT verify (payload changed, signature flipped, typ changed,
//                               or the JWK of another key)
// The JWK is built from the key itself through OpenSSL, not from the did:key, so the checker
// can compare the two.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "catalog/document.h"
#include "nlohmann/json.hpp"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"
#include "trust/keys.h"

namespace {

using hanse::catalog::Document;
using hanse::catalog::DocumentKind;
using hanse::trust::Base64UrlEncode;
using hanse::trust::KeyType;
using hanse::trust::PrivateKey;
using hanse::trust::PublicKey;

[[noreturn]] void Die(absl::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "make_vc: %s: %s\n", std::string(what).c_str(), status.ToString().c_str());
  std::exit(1);
}

template <typename T>
T OrDie(absl::StatusOr<T> v, absl::string_view what) {
  if (!v.ok()) Die(what, v.status());
  return *std::move(v);
}

std::string BnCoordinate(const PublicKey& key, const char* param) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key.evp(), param, &bn) != 1 || bn == nullptr) {
    Die("EVP_PKEY_get_bn_param", absl::InternalError(param));
  }
  std::string out(32, '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), 32) != 32) {
    BN_free(bn);
    Die("BN_bn2binpad", absl::InternalError(param));
  }
  BN_free(bn);
  return out;
}

// The public key as a JWK (RFC 7518 section 6.2 / RFC 8037).
std::string Jwk(const PublicKey& key) {
  nlohmann::json j;
  if (key.type() == KeyType::kP256) {
    // The uncompressed point, read from the EVP key (our Raw() form is compressed).
    j["kty"] = "EC";
    j["crv"] = "P-256";
    j["x"] = Base64UrlEncode(BnCoordinate(key, OSSL_PKEY_PARAM_EC_PUB_X));
    j["y"] = Base64UrlEncode(BnCoordinate(key, OSSL_PKEY_PARAM_EC_PUB_Y));
  } else {
    std::string raw(32, '\0');
    size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(key.evp(), reinterpret_cast<unsigned char*>(raw.data()),
                                    &len) != 1 ||
        len != 32) {
      Die("EVP_PKEY_get_raw_public_key", absl::InternalError("Ed25519"));
    }
    j["kty"] = "OKP";
    j["crv"] = "Ed25519";
    j["x"] = Base64UrlEncode(raw);
  }
  return j.dump();
}

Document DatasetOf(const PrivateKey& key, absl::string_view name) {
  Document d;
  d.kind = DocumentKind::kDataset;
  d.issuer = hanse::trust::EncodeDidKey(key.Public());
  d.id = hanse::catalog::DatasetId(d.issuer, name);
  d.sequence = 1;
  d.valid_from = absl::FromCivil(absl::CivilSecond(2024, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  auto& f = d.dataset;
  f.title = "Harbour air quality — Hafen Luftqualität";  // non-ASCII on purpose
  f.description = "Hourly NO2 and PM10 readings.\nTwo stations.";
  f.keywords = {"air quality", "NO2"};
  f.themes = {"environment"};
  f.publisher = "Hafenamt";
  f.license = "CC-BY-4.0";
  f.media_type = "text/csv";
  f.byte_size = 123456;
  f.sha256 = hanse::trust::HexEncode(hanse::trust::Sha256("content"));
  f.language = "de";
  f.hosting_location = "DE";
  f.personal_data_class = "none";
  f.issued = "2024-02-01";
  f.policy_json = R"({"@type":"Offer","permission":[{"action":"use"}]})";
  return d;
}

std::vector<std::string> Parts(absl::string_view jws) { return absl::StrSplit(jws, '.'); }

}  // namespace

int main() {
  std::vector<std::string> lines;
  std::vector<std::pair<std::string, std::string>> signed_tokens;  // (jws, jwk)
  for (KeyType type : {KeyType::kP256, KeyType::kEd25519}) {
    PrivateKey key = OrDie(PrivateKey::Generate(type), "generating a key");
    Document doc = DatasetOf(key, absl::StrCat("air-", hanse::trust::KeyTypeName(type)));
    std::string jws = OrDie(hanse::catalog::SignDocument(doc, key), "signing");
    // Our own verifier accepts it (sanity: the interop check is about the other side).
    OrDie(hanse::catalog::VerifyDocument(jws, absl::Now()), "verifying our own token");
    std::string jwk = Jwk(key.Public());
    lines.push_back(absl::StrCat(jws, "\t", jwk));
    signed_tokens.emplace_back(jws, jwk);

    std::vector<std::string> p = Parts(jws);
    // 1. Payload changed after signing.
    Document changed = doc;
    changed.dataset.title = "Harbour air quality (edited)";
    lines.push_back(absl::StrCat("tampered\t", p[0], ".",
                                 Base64UrlEncode(hanse::catalog::DocumentPayload(changed)), ".",
                                 p[2], "\t", jwk));
    // 2. One bit of the signature flipped.
    std::string sig = OrDie(hanse::trust::Base64UrlDecode(p[2]), "decoding the signature");
    sig[sig.size() / 2] ^= 0x01;
    lines.push_back(
        absl::StrCat("tampered\t", p[0], ".", p[1], ".", Base64UrlEncode(sig), "\t", jwk));
    // 3. Correctly signed, but typ is not vc+jwt.
    std::string jwt =
        OrDie(hanse::trust::SignCompact(key, hanse::trust::DidKeyVerificationMethod(doc.issuer),
                                        "JWT", hanse::catalog::DocumentPayload(doc)),
              "signing with typ JWT");
    lines.push_back(absl::StrCat("tampered\t", jwt, "\t", jwk));
  }
  // 4. A good token checked against the other key's JWK (and the other way round).
  lines.push_back(
      absl::StrCat("tampered\t", signed_tokens[0].first, "\t", signed_tokens[1].second));
  lines.push_back(
      absl::StrCat("tampered\t", signed_tokens[1].first, "\t", signed_tokens[0].second));
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  return 0;
}
