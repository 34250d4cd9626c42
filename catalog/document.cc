// Self-descriptions (~650 lines): every field rule of every document kind in one place, so the
// rules a peer's document is checked by and the ones a signer applies cannot drift apart.
#include "catalog/document.h"

#include <cctype>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "base/json.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::catalog {
namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

constexpr absl::string_view kCredentialsContext = "https://www.w3.org/ns/credentials/v2";
constexpr absl::string_view kHanseContext = "https://w3id.org/hanse/v1";
constexpr absl::string_view kDatasetsPath = "/datasets/";
constexpr absl::string_view kCertificationsPath = "/certifications/";
// Hex digits of SHA-256(subject) in a certification id: 128 bits, so that two holders never
// share an id by accident.
constexpr size_t kCertificationHashHex = 32;
constexpr int kMaxJsonDepth = 32;
constexpr std::uint64_t kMaxSequence = (std::uint64_t{1} << 53) - 1;  // exact in JSON numbers

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("field \"", field, "\": ", problem));
}

// Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF): a document must sign
// exactly the text it was given, never a repaired copy.
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

absl::Status CheckText(absl::string_view field, absl::string_view v, size_t min, size_t max) {
  if (!IsValidUtf8(v)) return FieldError(field, "is not valid UTF-8");
  if (v.size() < min) return FieldError(field, min == 1 ? "missing or empty" : "too short");
  if (v.size() > max) return FieldError(field, absl::StrCat("longer than ", max, " bytes"));
  for (unsigned char c : v) {
    if (c < 0x20 && c != '\n' && c != '\t') return FieldError(field, "contains control characters");
  }
  return absl::OkStatus();
}

absl::Status CheckList(absl::string_view field, const std::vector<std::string>& items,
                       size_t max_items, size_t max_len) {
  if (items.size() > max_items) {
    return FieldError(field, absl::StrCat("more than ", max_items, " entries"));
  }
  for (size_t i = 0; i < items.size(); ++i) {
    HANSE_RETURN_IF_ERROR(CheckText(absl::StrCat(field, "[", i, "]"), items[i], 1, max_len));
  }
  return absl::OkStatus();
}

bool IsCountry(absl::string_view v) {
  return v.size() == 2 && absl::ascii_isupper(v[0]) && absl::ascii_isupper(v[1]);
}

absl::Status CheckCountry(absl::string_view field, absl::string_view v) {
  if (!IsCountry(v)) {
    return FieldError(field,
                      absl::StrCat("\"", v, "\" is not an ISO 3166-1 alpha-2 code (e.g. FR)"));
  }
  return absl::OkStatus();
}

bool IsName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return name != "." && name != "..";
}

// NAME "-" HEX: the last segment of a certification id (see CertificationId).
bool IsCertificationIdName(absl::string_view name) {
  size_t dash = name.rfind('-');
  if (dash == absl::string_view::npos) return false;
  absl::string_view hash = name.substr(dash + 1);
  return IsCertificationName(name.substr(0, dash)) && hash.size() == kCertificationHashHex &&
         hash.find_first_not_of("0123456789abcdef") == absl::string_view::npos;
}

// The issuer-owned path after ISSUER_DID, or nullopt if `id` is not under `issuer` + `path`.
std::optional<absl::string_view> NameUnder(absl::string_view id, absl::string_view issuer,
                                           absl::string_view path) {
  if (!absl::StartsWith(id, issuer) || !absl::StartsWith(id.substr(issuer.size()), path)) {
    return std::nullopt;
  }
  return id.substr(issuer.size() + path.size());
}

bool IsMediaType(absl::string_view v) {
  size_t slash = v.find('/');
  if (slash == absl::string_view::npos || slash == 0 || slash + 1 >= v.size()) return false;
  if (v.size() > 127) return false;
  for (char c : v) {
    if (!absl::ascii_isalnum(c) && !absl::StrContains("/!#$&-^_.+", c)) return false;
  }
  return v.find('/', slash + 1) == absl::string_view::npos;
}

bool IsLanguage(absl::string_view v) {
  // BCP 47 primary language (2-3 letters) with an optional region or script subtag.
  if (v.size() < 2 || v.size() > 8) return false;
  size_t i = 0;
  while (i < v.size() && absl::ascii_islower(v[i])) ++i;
  if (i < 2 || i > 3) return false;
  if (i == v.size()) return true;
  if (v[i] != '-') return false;
  absl::string_view sub = v.substr(i + 1);
  if (sub.size() < 2 || sub.size() > 4) return false;
  for (char c : sub) {
    if (!absl::ascii_isalnum(c)) return false;
  }
  return true;
}

constexpr absl::string_view kPersonalDataClasses[] = {"none", "pseudonymised", "personal",
                                                      "special-category"};

absl::Status CheckPolicy(absl::string_view policy_json) {
  constexpr absl::string_view kField = "credentialSubject.policy";
  Json p = ParseJson(policy_json).value_or(Json());
  if (p.is_discarded() || !p.is_object()) return FieldError(kField, "must be a JSON object");
  auto type_it = p.find("@type");
  if (type_it == p.end()) type_it = p.find("type");
  if (type_it == p.end() || !type_it->is_string()) {
    return FieldError(kField, "needs an ODRL policy type (\"@type\": \"Offer\" or \"Set\")");
  }
  std::string type = type_it->get<std::string>();
  static constexpr absl::string_view kTypes[] = {"Offer",
                                                 "Set",
                                                 "odrl:Offer",
                                                 "odrl:Set",
                                                 "http://www.w3.org/ns/odrl/2/Offer",
                                                 "http://www.w3.org/ns/odrl/2/Set"};
  bool known = false;
  for (auto t : kTypes) known = known || type == t;
  if (!known)
    return FieldError(kField, absl::StrCat("policy type \"", type, "\" is not Offer or Set"));
  bool has_rule = false;
  for (const char* rule : {"permission", "prohibition", "obligation", "odrl:permission",
                           "odrl:prohibition", "odrl:obligation"}) {
    auto it = p.find(rule);
    if (it == p.end()) continue;
    if (!it->is_array() && !it->is_object()) {
      return FieldError(kField, absl::StrCat("\"", rule, "\" must be an array of rules"));
    }
    has_rule = true;
  }
  if (!has_rule) return FieldError(kField, "has no permission, prohibition or obligation");
  return absl::OkStatus();
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// Typed accessors that name the field on error.
absl::StatusOr<std::string> GetString(const Json& j, const char* key, absl::string_view path,
                                      bool required = true) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return FieldError(absl::StrCat(path, key), "missing");
    return std::string();
  }
  if (!it->is_string()) return FieldError(absl::StrCat(path, key), "must be a string");
  return it->get<std::string>();
}

absl::StatusOr<std::vector<std::string>> GetStrings(const Json& j, const char* key,
                                                    absl::string_view path) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_array()) return FieldError(absl::StrCat(path, key), "must be an array of strings");
  if (it->size() > 256) return FieldError(absl::StrCat(path, key), "too many entries");
  for (const auto& v : *it) {
    if (!v.is_string()) return FieldError(absl::StrCat(path, key), "must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

absl::Status CheckKeys(const Json& j, absl::string_view path,
                       std::initializer_list<const char*> known) {
  for (const auto& [key, value] : j.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) return FieldError(absl::StrCat(path, key), "unknown field");
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> GetTime(const Json& j, const char* key, bool required) {
  HANSE_ASSIGN_OR_RETURN(std::string text, GetString(j, key, "", required));
  if (text.empty()) return required ? absl::InfinitePast() : absl::InfiniteFuture();
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    return FieldError(key, absl::StrCat("\"", text, "\" is not an RFC 3339 date-time"));
  }
  return t;
}

}  // namespace

absl::string_view DocumentKindName(DocumentKind kind) {
  switch (kind) {
    case DocumentKind::kParticipant:
      return "participant";
    case DocumentKind::kDataset:
      return "dataset";
    case DocumentKind::kTombstone:
      return "tombstone";
    case DocumentKind::kCertification:
      return "certification";
  }
  return "?";
}

absl::StatusOr<std::int64_t> DayNumber(absl::string_view date) {
  absl::CivilDay day;
  bool shape = date.size() == 10 && date[4] == '-' && date[7] == '-';
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) shape = shape && absl::ascii_isdigit(date[i]);
  if (!shape || !absl::ParseCivilTime(date, &day) ||
      absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day()) != date) {
    return absl::InvalidArgumentError(absl::StrCat("\"", date, "\" is not a date (YYYY-MM-DD)"));
  }
  return day - absl::CivilDay(1970, 1, 1);
}

std::string DatasetId(absl::string_view issuer, absl::string_view name) {
  return absl::StrCat(issuer, kDatasetsPath, name);
}

bool IsCertificationName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') return false;
  }
  return true;
}

std::string CertificationId(absl::string_view issuer, absl::string_view subject,
                            absl::string_view certification) {
  return absl::StrCat(issuer, kCertificationsPath, certification, "-",
                      trust::HexEncode(trust::Sha256(subject)).substr(0, kCertificationHashHex));
}

Document ParticipantDocument(absl::string_view did, const ParticipantFacts& facts,
                             std::uint64_t sequence, absl::Time valid_from) {
  Document d;
  d.kind = DocumentKind::kParticipant;
  d.id = std::string(did);
  d.issuer = std::string(did);
  d.sequence = sequence;
  d.valid_from = absl::FromUnixSeconds(absl::ToUnixSeconds(valid_from));
  d.participant = facts;
  return d;
}

Document CertificationDocument(absl::string_view issuer, absl::string_view subject,
                               absl::string_view certification, std::uint64_t sequence,
                               absl::Time valid_from, absl::Time valid_until) {
  Document d;
  d.kind = DocumentKind::kCertification;
  d.issuer = std::string(issuer);
  d.id = CertificationId(issuer, subject, certification);
  d.sequence = sequence;
  d.valid_from = valid_from;
  d.valid_until = valid_until;
  d.certification.subject = std::string(subject);
  d.certification.certification = std::string(certification);
  return d;
}

Document TombstoneDocument(absl::string_view issuer, absl::string_view id, std::uint64_t sequence,
                           absl::Time valid_from) {
  Document d;
  d.kind = DocumentKind::kTombstone;
  d.issuer = std::string(issuer);
  d.id = std::string(id);
  d.sequence = sequence;
  d.valid_from = valid_from;
  return d;
}

absl::Status CheckIdBelongsToIssuer(const Document& doc) {
  if (doc.kind == DocumentKind::kParticipant) {
    if (doc.id != doc.issuer) return FieldError("id", "a participant description's id is its DID");
    return absl::OkStatus();
  }
  // Only the issuer's own DID prefixes its ids, so no member can squat or tombstone another's.
  std::optional<absl::string_view> dataset = NameUnder(doc.id, doc.issuer, kDatasetsPath);
  std::optional<absl::string_view> certification =
      NameUnder(doc.id, doc.issuer, kCertificationsPath);
  const bool dataset_id = dataset.has_value() && IsName(*dataset);
  const bool certification_id = certification.has_value() && IsCertificationIdName(*certification);
  const std::string got = absl::StrCat("; got \"", doc.id.substr(0, 200), "\"");
  switch (doc.kind) {
    case DocumentKind::kCertification:
      if (certification_id) return absl::OkStatus();
      return FieldError("id", absl::StrCat("a certification id is ISSUER_DID/certifications/"
                                           "NAME-HASH (NAME the certification, HASH 32 hex "
                                           "digits of SHA-256 of the subject's DID)",
                                           got));
    case DocumentKind::kTombstone:
      if (dataset_id || certification_id) return absl::OkStatus();
      return FieldError("id", absl::StrCat("a tombstone's id is one of its issuer's dataset "
                                           "(ISSUER_DID/datasets/NAME) or certification "
                                           "(ISSUER_DID/certifications/NAME-HASH) ids",
                                           got));
    default:
      if (dataset_id) return absl::OkStatus();
      return FieldError("id", absl::StrCat("a dataset id is ISSUER_DID/datasets/NAME with NAME of "
                                           "1-64 letters, digits, '-', '_' or '.'",
                                           got));
  }
}

absl::Status ValidateDocument(const Document& doc) {
  if (!trust::IsDidKey(doc.issuer)) return FieldError("issuer", "must be a did:key DID");
  HANSE_RETURN_IF_ERROR(CheckIdBelongsToIssuer(doc));
  if (doc.sequence < 1 || doc.sequence > kMaxSequence) {
    return FieldError("sequence", "must be an integer from 1 to 2^53-1");
  }
  if (doc.valid_from == absl::InfinitePast()) return FieldError("validFrom", "missing");
  if (doc.valid_until <= doc.valid_from) {
    return FieldError("validUntil", "must be after validFrom");
  }
  if (doc.kind == DocumentKind::kParticipant) {
    const ParticipantFacts& p = doc.participant;
    constexpr absl::string_view s = "credentialSubject.";
    HANSE_RETURN_IF_ERROR(CheckText(absl::StrCat(s, "legalName"), p.legal_name, 1, 256));
    HANSE_RETURN_IF_ERROR(
        CheckText(absl::StrCat(s, "registrationNumber"), p.registration_number, 0, 128));
    HANSE_RETURN_IF_ERROR(CheckCountry(absl::StrCat(s, "countryOfLegalSeat"), p.country));
    HANSE_RETURN_IF_ERROR(CheckList(absl::StrCat(s, "jurisdictions"), p.jurisdictions, 32, 2));
    for (size_t i = 0; i < p.jurisdictions.size(); ++i) {
      if (p.jurisdictions[i] != "EU") {
        HANSE_RETURN_IF_ERROR(
            CheckCountry(absl::StrCat(s, "jurisdictions[", i, "]"), p.jurisdictions[i]));
      }
    }
    HANSE_RETURN_IF_ERROR(CheckList(absl::StrCat(s, "endpoints"), p.endpoints, 8, 256));
  } else if (doc.kind == DocumentKind::kDataset) {
    const DatasetFacts& d = doc.dataset;
    constexpr absl::string_view s = "credentialSubject.";
    HANSE_RETURN_IF_ERROR(CheckText(absl::StrCat(s, "title"), d.title, 1, 200));
    HANSE_RETURN_IF_ERROR(CheckText(absl::StrCat(s, "description"), d.description, 0, 4000));
    HANSE_RETURN_IF_ERROR(CheckList(absl::StrCat(s, "keywords"), d.keywords, 32, 64));
    HANSE_RETURN_IF_ERROR(CheckList(absl::StrCat(s, "themes"), d.themes, 16, 128));
    HANSE_RETURN_IF_ERROR(CheckText(absl::StrCat(s, "publisher"), d.publisher, 1, 200));
    HANSE_RETURN_IF_ERROR(CheckText(absl::StrCat(s, "license"), d.license, 1, 256));
    if (!IsMediaType(d.media_type)) {
      return FieldError(absl::StrCat(s, "mediaType"), "must be a media type like text/csv");
    }
    auto is_digest = [](const std::string& h) {
      return h.size() == 64 && h.find_first_not_of("0123456789abcdef") == std::string::npos;
    };
    if (!is_digest(d.sha256)) {
      return FieldError(absl::StrCat(s, "sha256"), "must be 64 lower-case hex digits");
    }
    if (d.distribution_kind == "directory") {
      // 200,000: node/source's kMaxTreeFiles, what any node publishes or unpacks.
      if (d.file_count == 0 || d.file_count > 200'000) {
        return FieldError(absl::StrCat(s, "distribution.files"), "must be 1-200000");
      }
      if (!is_digest(d.root_digest)) {
        return FieldError(absl::StrCat(s, "distribution.rootDigest"),
                          "must be 64 lower-case hex digits");
      }
      if (d.live) {
        return FieldError(absl::StrCat(s, "distribution.live"), "a directory is never live");
      }
    } else if (d.distribution_kind != "file" || d.file_count != 0 || !d.root_digest.empty()) {
      return FieldError(absl::StrCat(s, "distribution.kind"), "must be file or directory");
    }
    if (d.live && d.byte_size != 0) {
      return FieldError(absl::StrCat(s, "byteSize"), "must be 0 for a live distribution");
    }
    if (!IsLanguage(d.language)) {
      return FieldError(absl::StrCat(s, "language"), "must be a BCP 47 tag like en or pt-BR");
    }
    HANSE_RETURN_IF_ERROR(CheckCountry(absl::StrCat(s, "hostingLocation"), d.hosting_location));
    bool known_class = false;
    for (auto c : kPersonalDataClasses) known_class = known_class || d.personal_data_class == c;
    if (!known_class) {
      return FieldError(absl::StrCat(s, "personalDataClass"),
                        "must be none, pseudonymised, personal or special-category");
    }
    HANSE_ASSIGN_OR_RETURN(std::int64_t issued, DayNumber(d.issued),
                           absl::StrCat("field \"", s, "issued\""));
    if (!d.modified.empty()) {
      HANSE_ASSIGN_OR_RETURN(std::int64_t modified, DayNumber(d.modified),
                             absl::StrCat("field \"", s, "modified\""));
      if (modified < issued) return FieldError(absl::StrCat(s, "modified"), "is before issued");
    }
    HANSE_RETURN_IF_ERROR(CheckPolicy(d.policy_json));
  } else if (doc.kind == DocumentKind::kCertification) {
    const CertificationFacts& c = doc.certification;
    constexpr absl::string_view kSubject = "credentialSubject.id";
    if (!trust::IsDidKey(c.subject) || !trust::DecodeDidKey(c.subject).ok()) {
      return FieldError(kSubject, "must be the holder's did:key DID");
    }
    if (c.subject == doc.issuer) {
      return FieldError(kSubject, "is the issuer: a member cannot certify itself");
    }
    if (!IsCertificationName(c.certification)) {
      return FieldError("credentialSubject.certification",
                        "must be a name of 1-64 characters a-z, 0-9 or '-'");
    }
    std::string want = CertificationId(doc.issuer, c.subject, c.certification);
    if (doc.id != want) {
      return FieldError("id",
                        absl::StrCat("must be ", want, " for this subject and certification"));
    }
  }
  return absl::OkStatus();
}

std::string DocumentPayload(const Document& doc) {
  OJson j;
  j["@context"] = {std::string(kCredentialsContext), std::string(kHanseContext)};
  const char* type = doc.kind == DocumentKind::kParticipant     ? "HanseParticipant"
                     : doc.kind == DocumentKind::kDataset       ? "HanseDataset"
                     : doc.kind == DocumentKind::kCertification ? "HanseCertification"
                                                                : "HanseTombstone";
  j["type"] = {"VerifiableCredential", type};
  j["id"] = doc.id;
  j["issuer"] = doc.issuer;
  j["validFrom"] = Rfc3339(doc.valid_from);
  if (doc.valid_until != absl::InfiniteFuture()) j["validUntil"] = Rfc3339(doc.valid_until);
  j["sequence"] = doc.sequence;
  OJson s;
  // A certification is a claim about its holder; every other kind describes the document itself.
  s["id"] = doc.kind == DocumentKind::kCertification ? doc.certification.subject : doc.id;
  if (doc.kind == DocumentKind::kParticipant) {
    const auto& p = doc.participant;
    s["legalName"] = p.legal_name;
    if (!p.registration_number.empty()) s["registrationNumber"] = p.registration_number;
    s["countryOfLegalSeat"] = p.country;
    s["jurisdictions"] = p.jurisdictions;
    s["endpoints"] = p.endpoints;
  } else if (doc.kind == DocumentKind::kDataset) {
    const auto& d = doc.dataset;
    s["title"] = d.title;
    s["description"] = d.description;
    s["keywords"] = d.keywords;
    s["themes"] = d.themes;
    s["publisher"] = d.publisher;
    s["license"] = d.license;
    s["mediaType"] = d.media_type;
    s["byteSize"] = d.byte_size;
    s["sha256"] = d.sha256;
    if (d.distribution_kind != "file") {
      s["distribution"] = {
          {"kind", d.distribution_kind}, {"files", d.file_count}, {"rootDigest", d.root_digest}};
    } else if (d.live) {
      s["distribution"] = {{"kind", "file"}, {"live", true}};
    }
    s["language"] = d.language;
    s["hostingLocation"] = d.hosting_location;
    s["personalDataClass"] = d.personal_data_class;
    s["issued"] = d.issued;
    if (!d.modified.empty()) s["modified"] = d.modified;
    s["policy"] = OJson::parse(d.policy_json, nullptr, false);
  } else if (doc.kind == DocumentKind::kCertification) {
    s["certification"] = doc.certification.certification;
  } else {
    s["unpublished"] = true;
  }
  j["credentialSubject"] = std::move(s);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<std::string> SignDocument(const Document& doc, const trust::PrivateKey& key) {
  HANSE_RETURN_IF_ERROR(ValidateDocument(doc));
  if (trust::EncodeDidKey(key.Public()) != doc.issuer) {
    return absl::InvalidArgumentError("the signing key is not the issuer's");
  }
  HANSE_ASSIGN_OR_RETURN(
      std::string jws, trust::SignCompact(key, trust::DidKeyVerificationMethod(doc.issuer), kVcType,
                                          DocumentPayload(doc)));
  if (jws.size() > kMaxDocumentBytes) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("the signed document is %d bytes, more than the limit of %d", jws.size(),
                        kMaxDocumentBytes));
  }
  return jws;
}

absl::StatusOr<Document> ParseDocumentPayload(absl::string_view payload) {
  if (payload.size() > kMaxDocumentBytes) {
    return absl::ResourceExhaustedError("payload larger than the document limit");
  }
  // Nesting is bounded while reading, before a recursive printer sees the value. A peer's bad
  // document is invalid input whatever the reason (InvalidArgument, which costs it standing).
  absl::StatusOr<Json> parsed = ParseJson(payload, kMaxJsonDepth);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("payload: ", parsed.status().message()));
  }
  if (!parsed->is_object()) return absl::InvalidArgumentError("payload is not a JSON object");
  Json j = *std::move(parsed);
  HANSE_RETURN_IF_ERROR(CheckKeys(j, "",
                                  {"@context", "type", "id", "issuer", "validFrom", "validUntil",
                                   "sequence", "credentialSubject"}));
  auto ctx = j.find("@context");
  if (ctx == j.end() || !ctx->is_array() || ctx->empty() ||
      (*ctx)[0] != std::string(kCredentialsContext)) {
    return FieldError("@context",
                      absl::StrCat("must be an array starting with ", kCredentialsContext));
  }
  Document doc;
  auto types = j.find("type");
  if (types == j.end() || !types->is_array() || types->size() != 2 ||
      (*types)[0] != "VerifiableCredential" || !(*types)[1].is_string()) {
    return FieldError("type", "must be [\"VerifiableCredential\", KIND]");
  }
  std::string kind = (*types)[1].get<std::string>();
  if (kind == "HanseParticipant") {
    doc.kind = DocumentKind::kParticipant;
  } else if (kind == "HanseDataset") {
    doc.kind = DocumentKind::kDataset;
  } else if (kind == "HanseTombstone") {
    doc.kind = DocumentKind::kTombstone;
  } else if (kind == "HanseCertification") {
    doc.kind = DocumentKind::kCertification;
  } else {
    return FieldError("type", absl::StrCat("unknown kind \"", kind.substr(0, 64), "\""));
  }
  HANSE_ASSIGN_OR_RETURN(doc.id, GetString(j, "id", ""));
  HANSE_ASSIGN_OR_RETURN(doc.issuer, GetString(j, "issuer", ""));
  HANSE_ASSIGN_OR_RETURN(doc.valid_from, GetTime(j, "validFrom", true));
  HANSE_ASSIGN_OR_RETURN(doc.valid_until, GetTime(j, "validUntil", false));
  auto seq = j.find("sequence");
  if (seq == j.end() || !seq->is_number_unsigned()) {
    return FieldError("sequence", "must be a positive integer");
  }
  doc.sequence = seq->get<std::uint64_t>();
  auto subject_it = j.find("credentialSubject");
  if (subject_it == j.end() || !subject_it->is_object()) {
    return FieldError("credentialSubject", "must be an object");
  }
  const Json& s = *subject_it;
  constexpr absl::string_view p = "credentialSubject.";
  HANSE_ASSIGN_OR_RETURN(std::string subject_id, GetString(s, "id", p));
  if (doc.kind == DocumentKind::kCertification) {
    HANSE_RETURN_IF_ERROR(CheckKeys(s, p, {"id", "certification"}));
    doc.certification.subject = std::move(subject_id);
    HANSE_ASSIGN_OR_RETURN(doc.certification.certification, GetString(s, "certification", p));
  } else if (subject_id != doc.id) {
    return FieldError("credentialSubject.id", "must equal id");
  } else if (doc.kind == DocumentKind::kParticipant) {
    HANSE_RETURN_IF_ERROR(CheckKeys(s, p,
                                    {"id", "legalName", "registrationNumber", "countryOfLegalSeat",
                                     "jurisdictions", "endpoints"}));
    auto& f = doc.participant;
    HANSE_ASSIGN_OR_RETURN(f.legal_name, GetString(s, "legalName", p));
    HANSE_ASSIGN_OR_RETURN(f.registration_number, GetString(s, "registrationNumber", p, false));
    HANSE_ASSIGN_OR_RETURN(f.country, GetString(s, "countryOfLegalSeat", p));
    HANSE_ASSIGN_OR_RETURN(f.jurisdictions, GetStrings(s, "jurisdictions", p));
    HANSE_ASSIGN_OR_RETURN(f.endpoints, GetStrings(s, "endpoints", p));
  } else if (doc.kind == DocumentKind::kDataset) {
    HANSE_RETURN_IF_ERROR(
        CheckKeys(s, p,
                  {"id", "title", "description", "keywords", "themes", "publisher", "license",
                   "mediaType", "byteSize", "sha256", "language", "hostingLocation",
                   "personalDataClass", "issued", "modified", "policy", "distribution"}));
    auto& d = doc.dataset;
    HANSE_ASSIGN_OR_RETURN(d.title, GetString(s, "title", p));
    HANSE_ASSIGN_OR_RETURN(d.description, GetString(s, "description", p, false));
    HANSE_ASSIGN_OR_RETURN(d.keywords, GetStrings(s, "keywords", p));
    HANSE_ASSIGN_OR_RETURN(d.themes, GetStrings(s, "themes", p));
    HANSE_ASSIGN_OR_RETURN(d.publisher, GetString(s, "publisher", p));
    HANSE_ASSIGN_OR_RETURN(d.license, GetString(s, "license", p));
    HANSE_ASSIGN_OR_RETURN(d.media_type, GetString(s, "mediaType", p));
    auto size = s.find("byteSize");
    if (size == s.end() || !size->is_number_unsigned()) {
      return FieldError("credentialSubject.byteSize", "must be a non-negative integer");
    }
    d.byte_size = size->get<std::uint64_t>();
    HANSE_ASSIGN_OR_RETURN(d.sha256, GetString(s, "sha256", p));
    if (auto dist = s.find("distribution"); dist != s.end()) {
      const std::string q = absl::StrCat(p, "distribution.");
      if (!dist->is_object())
        return FieldError("credentialSubject.distribution", "must be an object");
      HANSE_RETURN_IF_ERROR(CheckKeys(*dist, q, {"kind", "files", "rootDigest", "live"}));
      HANSE_ASSIGN_OR_RETURN(d.distribution_kind, GetString(*dist, "kind", q));
      if (auto live = dist->find("live"); live != dist->end()) {
        if (!live->is_boolean()) {
          return FieldError("credentialSubject.distribution.live", "must be true or false");
        }
        d.live = live->get<bool>();
      }
      if (d.distribution_kind == "directory") {
        auto files = dist->find("files");
        if (files == dist->end() || !files->is_number_unsigned()) {
          return FieldError("credentialSubject.distribution.files", "must be a positive integer");
        }
        d.file_count = files->get<std::uint64_t>();
        HANSE_ASSIGN_OR_RETURN(d.root_digest, GetString(*dist, "rootDigest", q));
      } else if (dist->contains("files") || dist->contains("rootDigest")) {
        return FieldError("credentialSubject.distribution",
                          "files and rootDigest are for directories");
      }
    }
    HANSE_ASSIGN_OR_RETURN(d.language, GetString(s, "language", p));
    HANSE_ASSIGN_OR_RETURN(d.hosting_location, GetString(s, "hostingLocation", p));
    HANSE_ASSIGN_OR_RETURN(d.personal_data_class, GetString(s, "personalDataClass", p));
    HANSE_ASSIGN_OR_RETURN(d.issued, GetString(s, "issued", p));
    HANSE_ASSIGN_OR_RETURN(d.modified, GetString(s, "modified", p, false));
    auto policy = s.find("policy");
    if (policy == s.end()) return FieldError("credentialSubject.policy", "missing");
    d.policy_json = policy->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    HANSE_RETURN_IF_ERROR(CheckKeys(s, p, {"id", "unpublished"}));
    auto u = s.find("unpublished");
    if (u == s.end() || !u->is_boolean() || !u->get<bool>()) {
      return FieldError("credentialSubject.unpublished", "must be true");
    }
  }
  HANSE_RETURN_IF_ERROR(ValidateDocument(doc));
  return doc;
}

absl::StatusOr<VerifiedDocument> VerifyDocument(absl::string_view jws, absl::Time now) {
  if (jws.size() > kMaxDocumentBytes) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "document is %d bytes, more than the limit of %d", jws.size(), kMaxDocumentBytes));
  }
  HANSE_ASSIGN_OR_RETURN(trust::VerifiedJws v,
                         trust::VerifyCompact(jws, {.expected_typ = std::string(kVcType),
                                                    .max_bytes = kMaxDocumentBytes}));
  HANSE_ASSIGN_OR_RETURN(Document doc, ParseDocumentPayload(v.payload));
  if (doc.issuer != v.signer_did) {
    return absl::UnauthenticatedError(
        absl::StrCat("kid names ", v.signer_did, " but the issuer is ", doc.issuer));
  }
  if (doc.valid_from - kMaxClockSkew > now) {
    return absl::FailedPreconditionError(
        absl::StrCat("not yet valid: validFrom is ", Rfc3339(doc.valid_from)));
  }
  if (doc.valid_until != absl::InfiniteFuture() && doc.valid_until + kMaxClockSkew < now) {
    return absl::FailedPreconditionError(
        absl::StrCat("expired: validUntil was ", Rfc3339(doc.valid_until)));
  }
  std::string payload_hash = trust::Sha256(v.payload);
  return VerifiedDocument{std::move(doc), std::string(jws), trust::Sha256(jws),
                          std::move(payload_hash)};
}

}  // namespace hanse::catalog
