// Self-descriptions: W3C VC 2.0 credentials secured as compact JWS (VC-JOSE, typ vc+jwt).
// Three kinds today (participant, dataset, certification) plus the signed tombstone that
// unpublishes a dataset or revokes a certification.
// Field rules are documented in docs/catalogue.md; every violation names the field.
#ifndef HANSE_CATALOG_DOCUMENT_H_
#define HANSE_CATALOG_DOCUMENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "trust/keys.h"

namespace hanse::catalog {

inline constexpr absl::string_view kVcType = "vc+jwt";
// Documents of 1-4 KB are normal; the limit leaves room for long descriptions and policies.
inline constexpr size_t kMaxDocumentBytes = 32 * 1024;
// How far a signer's clock may run ahead of ours (validFrom) or behind (validUntil).
inline constexpr absl::Duration kMaxClockSkew = absl::Minutes(5);

// Stored as one byte per kind (catalog.cc); new kinds go at the end.
enum class DocumentKind { kParticipant, kDataset, kTombstone, kCertification };
absl::string_view DocumentKindName(DocumentKind kind);

struct ParticipantFacts {
  std::string legal_name;
  std::string registration_number;
  std::string country;                     // ISO 3166-1 alpha-2, country of legal seat
  std::vector<std::string> jurisdictions;  // ISO 3166-1 alpha-2 or "EU"
  std::vector<std::string> endpoints;      // HOST:PORT
};

struct DatasetFacts {
  std::string title;
  std::string description;
  std::vector<std::string> keywords;
  std::vector<std::string> themes;
  std::string publisher;
  std::string license;  // IRI or SPDX id
  std::string media_type;
  std::uint64_t byte_size = 0;
  std::string sha256;               // lower-case hex of the content
  std::string language;             // BCP 47, e.g. "en", "fr"
  std::string hosting_location;     // ISO 3166-1 alpha-2
  std::string personal_data_class;  // none | pseudonymised | personal | special-category
  std::string issued;               // YYYY-MM-DD
  std::string modified;             // YYYY-MM-DD (optional)
  std::string policy_json;          // the ODRL offer, JSON-LD object (serialised)
  // The distribution's kind: "file" (a single file; not written, the default), or "directory"
  // (a tree: byte_size and sha256 are those of its tar stream, file_count and root_digest,
  // the SHA-256 of its manifest, say what it holds). docs/data-sources.md.
  std::string distribution_kind = "file";
  std::uint64_t file_count = 0;
  std::string root_digest;
  // A live distribution (an API, a database query) changes between transfers: byte_size is 0,
  // sha256 identifies its definition (not its bytes), and each use's receipt records the digest
  // of exactly what was sent.
  bool live = false;
};

// A certification one member attests for another (a qualification body attesting a hosting
// qualification, say). Unlike the other kinds, credentialSubject.id is the holder, not the
// document id: the credential is about the holder.
struct CertificationFacts {
  std::string subject;        // the holder's did:key DID (credentialSubject.id); not the issuer
  std::string certification;  // the name, [a-z0-9-]{1,64}, e.g. "health-data-hosting"
};

// A self-description, signed or about to be.
struct Document {
  DocumentKind kind = DocumentKind::kDataset;
  // participant: the DID; dataset: ISSUER_DID + "/datasets/" + NAME; certification:
  // CertificationId(ISSUER_DID, subject, certification); tombstone: a dataset or certification id.
  std::string id;
  std::string issuer;
  std::uint64_t sequence = 0;
  absl::Time valid_from = absl::InfinitePast();
  absl::Time valid_until = absl::InfiniteFuture();  // InfiniteFuture: no end
  ParticipantFacts participant;                     // kind == kParticipant
  DatasetFacts dataset;                             // kind == kDataset
  CertificationFacts certification;                 // kind == kCertification
};

// A document whose signature and fields were checked.
struct VerifiedDocument {
  Document doc;
  std::string jws;
  std::string hash;  // SHA-256 of the compact JWS (raw bytes): "seen these bytes before"
  // SHA-256 of the signed statement (the payload). Two signatures over one statement (ECDSA
  // signs with a fresh nonce; s and n-s both verify) are the same document, not equivocation.
  std::string payload_hash;
};

// Checks field rules. Errors are InvalidArgument naming the field ("credentialSubject.title").
absl::Status ValidateDocument(const Document& doc);

// Renders the VC JSON payload (stable member order).
std::string DocumentPayload(const Document& doc);

// Validates, renders and signs with the issuer's participant key (its DID must be doc.issuer).
absl::StatusOr<std::string> SignDocument(const Document& doc, const trust::PrivateKey& key);

// Parses a VC payload (no signature check). Errors name the field.
absl::StatusOr<Document> ParseDocumentPayload(absl::string_view payload);

// Verifies a compact JWS self-description: size limit, JOSE rules (key from the kid's DID),
// typ vc+jwt, kid's DID == issuer, fields, validity window at `now` with bounded skew.
absl::StatusOr<VerifiedDocument> VerifyDocument(absl::string_view jws, absl::Time now);

// The dataset id for a name under an issuer, and the check that an id belongs to its issuer.
std::string DatasetId(absl::string_view issuer, absl::string_view name);
absl::Status CheckIdBelongsToIssuer(const Document& doc);

// The id of the certification `certification` that `issuer` attests for `subject`:
//   ISSUER_DID + "/certifications/" + CERTIFICATION + "-" + HEX
// with HEX the first 32 lower-case hex digits (128 bits) of SHA-256(SUBJECT_DID). Deterministic,
// so re-issuing to the same holder is a new version (higher sequence) of the same id, and the
// id can only ever belong to its issuer. A certification's id must be exactly this.
std::string CertificationId(absl::string_view issuer, absl::string_view subject,
                            absl::string_view certification);
// True for a certification name: 1-64 of a-z, 0-9 and '-'.
bool IsCertificationName(absl::string_view name);

// An unsigned participant self-description of `did` (its own issuer), valid from `valid_from`
// (whole seconds).
Document ParticipantDocument(absl::string_view did, const ParticipantFacts& facts,
                             std::uint64_t sequence, absl::Time valid_from);
// An unsigned certification credential; valid_until InfiniteFuture means no expiry.
Document CertificationDocument(absl::string_view issuer, absl::string_view subject,
                               absl::string_view certification, std::uint64_t sequence,
                               absl::Time valid_from,
                               absl::Time valid_until = absl::InfiniteFuture());
// An unsigned tombstone for a dataset id (unpublish) or a certification id (revoke).
Document TombstoneDocument(absl::string_view issuer, absl::string_view id, std::uint64_t sequence,
                           absl::Time valid_from);

// Days since 1970-01-01 for YYYY-MM-DD.
absl::StatusOr<std::int64_t> DayNumber(absl::string_view date);

}  // namespace hanse::catalog

#endif  // HANSE_CATALOG_DOCUMENT_H_
