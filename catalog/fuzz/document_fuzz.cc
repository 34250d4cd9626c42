// Fuzz target for self-descriptions: no input may crash VerifyDocument or ParseDocumentPayload,
// errors carry only the documented codes, and whatever is accepted satisfies the field rules.
// The input is used three ways: as a compact JWS (VerifyDocument at a fixed time), as a VC payload
// (ParseDocumentPayload), and, when it decodes as a JWS without verification, its payload is
// parsed too (so that mutations of signed seeds reach the payload parser).
// Built as a libFuzzer target with clang, and with HANSE_FUZZ_REPLAY_MAIN as a plain program that
// replays a corpus directory (a ctest test).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "catalog/document.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "document_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

// Every document accepted by the parser must satisfy the field rules.
void CheckParsed(const hanse::catalog::Document& doc) {
  using namespace hanse::catalog;  // NOLINT: a fuzz entry point, not library code
  Check(ValidateDocument(doc).ok(), "a parsed document passes ValidateDocument");
  Check(CheckIdBelongsToIssuer(doc).ok(), "a parsed document's id belongs to its issuer");
  Check(doc.sequence >= 1, "sequence >= 1");
  Check(doc.valid_from != absl::InfinitePast(), "validFrom present");
  Check(doc.valid_until > doc.valid_from, "validUntil after validFrom");
}

void CheckParseError(const absl::Status& s) {
  Check(s.code() == absl::StatusCode::kInvalidArgument, "ParseDocumentPayload error code");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hanse::catalog;  // NOLINT: a fuzz entry point, not library code
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  // A fixed "now" so that replays are deterministic: 2024-06-01T00:00:00Z.
  const absl::Time now =
      absl::FromCivil(absl::CivilSecond(2024, 6, 1, 0, 0, 0), absl::UTCTimeZone());

  absl::StatusOr<VerifiedDocument> v = VerifyDocument(text, now);
  if (v.ok()) {
    Check(size <= kMaxDocumentBytes, "size limit");
    CheckParsed(v->doc);
    Check(v->jws == text, "jws kept verbatim");
    Check(v->hash == hanse::trust::Sha256(text), "hash is SHA-256 of the JWS");
    Check(v->doc.valid_from - kMaxClockSkew <= now, "validFrom window");
    Check(v->doc.valid_until == absl::InfiniteFuture() || v->doc.valid_until + kMaxClockSkew >= now,
          "validUntil window");
    absl::StatusOr<hanse::trust::VerifiedJws> jws = hanse::trust::DecodeUnverified(text);
    Check(jws.ok(), "a verified document decodes");
    Check(jws->signer_did == v->doc.issuer, "kid's DID is the issuer");
  } else {
    const absl::StatusCode code = v.status().code();
    Check(code == absl::StatusCode::kInvalidArgument ||
              code == absl::StatusCode::kUnauthenticated ||
              code == absl::StatusCode::kFailedPrecondition ||
              code == absl::StatusCode::kResourceExhausted,
          "VerifyDocument error code");
    Check(code != absl::StatusCode::kResourceExhausted || size > kMaxDocumentBytes,
          "ResourceExhausted only for oversize input");
  }

  absl::StatusOr<Document> doc = ParseDocumentPayload(text);
  if (doc.ok()) {
    CheckParsed(*doc);
  } else {
    CheckParseError(doc.status());
  }

  absl::StatusOr<hanse::trust::VerifiedJws> decoded = hanse::trust::DecodeUnverified(text);
  if (decoded.ok()) {
    absl::StatusOr<Document> inner = ParseDocumentPayload(decoded->payload);
    if (inner.ok()) {
      CheckParsed(*inner);
    } else {
      CheckParseError(inner.status());
    }
  }
  return 0;
}
