#include "trust/jws.h"

#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/status.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/internal.h"

namespace hanse::trust {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxTypLength = 256;
// Header members that would let a token name its own key or certificate. We
// only trust the key derived from the did:key kid, so their presence signals
// a confused or hostile producer.
constexpr absl::string_view kForbiddenHeaders[] = {"jwk", "x5c", "x5u", "jku"};
// JSON nesting we accept inside the header (values of unknown members).
constexpr int kMaxHeaderDepth = 8;

struct Parts {
  absl::string_view header_b64;
  absl::string_view payload_b64;
  absl::string_view signature_b64;
};

absl::StatusOr<Parts> SplitToken(absl::string_view token, size_t max_bytes) {
  if (token.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWS is ", token.size(), " bytes, limit is ", max_bytes));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("compact JWS must have 3 dot-separated parts, got ", parts.size()));
  }
  return Parts{parts[0], parts[1], parts[2]};
}

// Parses the protected header, rejecting duplicate top-level members: two
// "alg" or "kid" values could be read differently by another implementation.
absl::StatusOr<Json> ParseHeader(absl::string_view header_b64) {
  HANSE_ASSIGN_OR_RETURN(std::string text, Base64UrlDecode(header_b64), "JWS header");
  std::set<std::string> seen;
  bool duplicate = false;
  bool too_deep = false;
  Json::parser_callback_t callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > kMaxHeaderDepth) too_deep = true;
    if (event == Json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      if (!seen.insert(parsed.get<std::string>()).second) duplicate = true;
    }
    return true;
  };
  Json header = Json::parse(text, callback, /*allow_exceptions=*/false);
  if (header.is_discarded()) return absl::InvalidArgumentError("JWS header is not valid JSON");
  if (!header.is_object()) return absl::InvalidArgumentError("JWS header is not a JSON object");
  if (duplicate) return absl::InvalidArgumentError("JWS header has duplicate members");
  if (too_deep) return absl::InvalidArgumentError("JWS header is nested too deeply");
  return header;
}

// Optional string member; absent is "", present but not a string is an error.
absl::StatusOr<std::string> StringMember(const Json& header, const char* name) {
  auto it = header.find(name);
  if (it == header.end()) return std::string();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("JWS header \"", name, "\" is not a string"));
  }
  return it->get<std::string>();
}

absl::Status CheckAlg(const Json& header) {
  auto it = header.find("alg");
  if (it == header.end()) return absl::InvalidArgumentError("JWS header has no \"alg\"");
  if (!it->is_string()) return absl::InvalidArgumentError("JWS \"alg\" is not a string");
  const std::string alg = it->get<std::string>();
  if (alg == "ES256" || alg == "EdDSA") return absl::OkStatus();
  if (alg.empty() || absl::EqualsIgnoreCase(alg, "none")) {
    return absl::InvalidArgumentError("unsigned JWS (alg \"none\") is not accepted");
  }
  if (absl::StartsWith(alg, "HS")) {
    return absl::InvalidArgumentError(
        absl::StrCat("symmetric JWS alg \"", alg, "\" is not accepted"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported JWS alg \"", alg, "\" (only ES256 and EdDSA)"));
}

absl::Status CheckForbiddenHeaders(const Json& header) {
  for (absl::string_view name : kForbiddenHeaders) {
    if (header.contains(std::string(name))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "JWS header \"", name, "\" is not accepted (the key comes from the did:key kid)"));
    }
  }
  if (header.contains("crit")) {
    return absl::InvalidArgumentError(
        "JWS header \"crit\" is not accepted (no extensions are understood)");
  }
  return absl::OkStatus();
}

bool IsPrintableAscii(absl::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Shared by VerifyCompact and DecodeUnverified: everything except signature,
// alg and typ policy.
struct Decoded {
  Json header;
  VerifiedJws fields;
};

absl::StatusOr<Decoded> Decode(const Parts& parts) {
  Decoded out;
  HANSE_ASSIGN_OR_RETURN(out.header, ParseHeader(parts.header_b64));
  HANSE_ASSIGN_OR_RETURN(out.fields.kid, StringMember(out.header, "kid"));
  HANSE_ASSIGN_OR_RETURN(out.fields.typ, StringMember(out.header, "typ"));
  HANSE_ASSIGN_OR_RETURN(out.fields.payload, Base64UrlDecode(parts.payload_b64), "JWS payload");
  return out;
}

// Protocol steps check the same token more than once (an agreement when it arrives, when it
// is countersigned and when it is finalized): the digests of tokens whose signature verified
// are kept, process-wide, so a repeat costs a SHA-256 instead of a signature check. Only
// verified tokens enter; a changed byte is another digest. Bounded: when full it starts again.
class VerifiedTokens {
 public:
  bool Contains(const std::string& digest) {
    std::lock_guard lock(mu_);
    return digests_.count(digest) > 0;
  }
  void Add(std::string digest) {
    std::lock_guard lock(mu_);
    if (digests_.size() >= kMaxEntries) digests_.clear();
    digests_.insert(std::move(digest));
  }

 private:
  static constexpr size_t kMaxEntries = 16384;
  std::mutex mu_;
  std::unordered_set<std::string> digests_;
};

VerifiedTokens& Verified() {
  static auto* tokens = new VerifiedTokens();  // never destroyed: used until exit
  return *tokens;
}

}  // namespace

absl::StatusOr<std::string> SignCompact(const PrivateKey& key, absl::string_view kid,
                                        absl::string_view typ, absl::string_view payload) {
  if (kid.find('#') == absl::string_view::npos) {
    return absl::InvalidArgumentError("JWS kid must be a did:key DID URL (\"did:key:z...#z...\")");
  }
  HANSE_ASSIGN_OR_RETURN(PublicKey kid_key, DecodeDidKey(kid), "JWS kid");
  if (!(kid_key == key.Public())) {
    return absl::InvalidArgumentError("JWS kid does not name the signing key");
  }
  // Printable ASCII keeps the JSON serializer from ever meeting invalid UTF-8.
  if (typ.size() > kMaxTypLength || !IsPrintableAscii(typ)) {
    return absl::InvalidArgumentError("JWS typ must be printable ASCII, at most 256 characters");
  }
  Json header = Json::object();
  header["alg"] = std::string(JoseAlg(key.type()));
  header["kid"] = std::string(kid);
  if (!typ.empty()) header["typ"] = std::string(typ);
  const std::string signing_input =
      absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(payload));
  HANSE_ASSIGN_OR_RETURN(std::string signature, key.SignJose(signing_input));
  return absl::StrCat(signing_input, ".", Base64UrlEncode(signature));
}

absl::StatusOr<VerifiedJws> VerifyCompact(absl::string_view token,
                                          const JwsVerifyOptions& options) {
  HANSE_ASSIGN_OR_RETURN(Parts parts, SplitToken(token, options.max_bytes));
  HANSE_ASSIGN_OR_RETURN(Decoded decoded, Decode(parts));
  const Json& header = decoded.header;
  VerifiedJws& result = decoded.fields;

  HANSE_RETURN_IF_ERROR(CheckAlg(header));
  HANSE_RETURN_IF_ERROR(CheckForbiddenHeaders(header));
  if (!header.contains("kid")) return absl::InvalidArgumentError("JWS header has no \"kid\"");
  if (result.kid.find('#') == std::string::npos) {
    return absl::InvalidArgumentError("JWS kid is not a did:key DID URL (missing \"#\" fragment)");
  }
  HANSE_ASSIGN_OR_RETURN(PublicKey key, DecodeDidKey(result.kid), "JWS kid");
  // DecodeDidKey validated the whole DID URL.
  result.signer_did = result.kid.substr(0, result.kid.find('#'));
  const std::string alg = header.find("alg")->get<std::string>();
  if (alg != JoseAlg(key.type())) {
    return absl::InvalidArgumentError(absl::StrCat("JWS alg ", alg, " does not match the ",
                                                   KeyTypeName(key.type()), " key of the kid"));
  }
  if (!options.expected_typ.empty() && result.typ != options.expected_typ) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWS typ \"", result.typ, "\" is not \"", options.expected_typ, "\""));
  }

  absl::StatusOr<std::string> signature = Base64UrlDecode(parts.signature_b64);
  if (!signature.ok()) return Annotate(signature.status(), "JWS signature");
  const size_t signing_input_len = parts.header_b64.size() + 1 + parts.payload_b64.size();
  std::string digest = Sha256(token);
  if (!Verified().Contains(digest)) {
    HANSE_RETURN_IF_ERROR(key.VerifyJose(token.substr(0, signing_input_len), *signature), "JWS");
    Verified().Add(std::move(digest));
  }
  return std::move(result);
}

absl::StatusOr<VerifiedJws> DecodeUnverified(absl::string_view token) {
  HANSE_ASSIGN_OR_RETURN(Parts parts, SplitToken(token, kMaxJwsBytes));
  HANSE_ASSIGN_OR_RETURN(Decoded decoded, Decode(parts));
  absl::StatusOr<std::string> did = DidFromDidUrl(decoded.fields.kid);
  if (did.ok()) decoded.fields.signer_did = *std::move(did);
  return std::move(decoded.fields);
}

}  // namespace hanse::trust
