#include "node/audit/receipt.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "node/audit/internal.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::audit {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxIdBytes = 256;
constexpr std::uint64_t kMaxJsonInt = (std::uint64_t{1} << 53) - 1;  // exact in any JSON reader

absl::Status ReceiptError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("receipt field \"", field, "\": ", problem));
}

absl::Status ValidateReceipt(const Receipt& r) {
  auto id_ok = [](const std::string& s) {
    return !s.empty() && s.size() <= kMaxIdBytes && internal::IsPrintableUtf8(s);
  };
  if (!id_ok(r.agreement_id)) return ReceiptError("agreement", "must be 1 to 256 printable bytes");
  if (r.action.empty() || r.action.size() > 64 ||
      r.action.find_first_not_of("abcdefghijklmnopqrstuvwxyz.") != std::string::npos) {
    return ReceiptError("action", "must be 1 to 64 characters from [a-z.]");
  }
  if (r.use == 0 || r.use > kMaxJsonInt) return ReceiptError("use", "must be in 1..2^53-1");
  if (!id_ok(r.dataset_id)) return ReceiptError("dataset", "must be 1 to 256 printable bytes");
  if (!absl::StartsWith(r.content_digest, "sha256:") ||
      !internal::HexDecode(absl::string_view(r.content_digest).substr(7), 32, "digest").ok()) {
    return ReceiptError("digest", "must be \"sha256:\" and 64 lowercase hex digits");
  }
  if (r.bytes > kMaxJsonInt) return ReceiptError("bytes", "must be at most 2^53-1");
  if (!internal::TimeInRange(r.time)) return ReceiptError("time", "must be in 1970..9999");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReceiptPayload(const Receipt& r) {
  HANSE_RETURN_IF_ERROR(ValidateReceipt(r));
  return absl::StrCat(R"({"agreement":)", internal::JsonString(r.agreement_id), R"(,"action":)",
                      internal::JsonString(r.action), R"(,"use":)", r.use, R"(,"dataset":)",
                      internal::JsonString(r.dataset_id), R"(,"digest":)",
                      internal::JsonString(r.content_digest), R"(,"bytes":)", r.bytes,
                      R"(,"time":")", internal::FormatUtc(r.time), R"("})");
}

absl::StatusOr<Receipt> ParseReceiptPayload(absl::string_view payload) {
  HANSE_ASSIGN_OR_RETURN(Json j, internal::ParseBoundedJson(payload, "receipt payload"));
  if (!j.is_object() || j.size() != 7) {
    return absl::InvalidArgumentError("receipt payload: must be an object with exactly 7 fields");
  }
  constexpr absl::string_view kWhat = "receipt payload";
  Receipt r;
  HANSE_ASSIGN_OR_RETURN(r.agreement_id, internal::GetString(j, "agreement", kWhat));
  HANSE_ASSIGN_OR_RETURN(r.action, internal::GetString(j, "action", kWhat));
  HANSE_ASSIGN_OR_RETURN(r.use, internal::GetUint(j, "use", kWhat));
  HANSE_ASSIGN_OR_RETURN(r.dataset_id, internal::GetString(j, "dataset", kWhat));
  HANSE_ASSIGN_OR_RETURN(r.content_digest, internal::GetString(j, "digest", kWhat));
  HANSE_ASSIGN_OR_RETURN(r.bytes, internal::GetUint(j, "bytes", kWhat));
  HANSE_ASSIGN_OR_RETURN(std::string time, internal::GetString(j, "time", kWhat));
  HANSE_ASSIGN_OR_RETURN(r.time, internal::ParseUtc(time, "receipt payload field \"time\""));
  HANSE_ASSIGN_OR_RETURN(std::string again, ReceiptPayload(r), "receipt payload");
  if (again != payload) return absl::InvalidArgumentError("receipt payload: not in canonical form");
  return r;
}

absl::StatusOr<std::string> SignReceipt(const Receipt& receipt, const trust::PrivateKey& key) {
  HANSE_ASSIGN_OR_RETURN(std::string payload, ReceiptPayload(receipt));
  return trust::SignCompact(key, trust::DidKeyVerificationMethod(trust::EncodeDidKey(key.Public())),
                            kReceiptType, payload);
}

absl::StatusOr<Receipt> VerifyCoSignedReceipt(const CoSignedReceipt& receipt,
                                              const AgreementParties& agreement) {
  const trust::JwsVerifyOptions options{.expected_typ = std::string(kReceiptType)};
  HANSE_ASSIGN_OR_RETURN(trust::VerifiedJws provider,
                         trust::VerifyCompact(receipt.provider_jws, options),
                         "receipt provider signature");
  HANSE_ASSIGN_OR_RETURN(trust::VerifiedJws consumer,
                         trust::VerifyCompact(receipt.consumer_jws, options),
                         "receipt consumer signature");
  if (provider.signer_did != agreement.provider) {
    return absl::PermissionDeniedError(
        absl::StrCat("receipt provider signature: signed by ", provider.signer_did,
                     ", not by the agreement's provider ", agreement.provider));
  }
  if (consumer.signer_did != agreement.consumer) {
    return absl::PermissionDeniedError(
        absl::StrCat("receipt consumer signature: signed by ", consumer.signer_did,
                     ", not by the agreement's consumer ", agreement.consumer));
  }
  if (provider.payload != consumer.payload) {
    return absl::InvalidArgumentError("receipt: provider and consumer signed different payloads");
  }
  HANSE_ASSIGN_OR_RETURN(Receipt r, ParseReceiptPayload(provider.payload));
  if (r.agreement_id != agreement.id) {
    return absl::InvalidArgumentError(absl::StrCat("receipt: names agreement \"", r.agreement_id,
                                                   "\", not \"", agreement.id, "\""));
  }
  return r;
}

}  // namespace hanse::audit
