#include "node/publishing/publishing.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "node/contract/keys.h"
#include "node/source/factory.h"
#include "policy/policy.h"
#include "trust/encoding.h"
#include "trust/jws.h"
#include "trust/sha256_stream.h"

namespace hanse::node {
namespace {

using Json = nlohmann::json;

absl::Status InputError(absl::string_view key, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("publish file: key \"", key, "\": ", problem));
}

absl::Status Str(const Json& j, const char* key, std::string* out, bool required) {
  auto it = j.find(key);
  if (it == j.end()) return required ? InputError(key, "missing") : absl::OkStatus();
  if (!it->is_string()) return InputError(key, "must be a string");
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status Strs(const Json& j, const char* key, std::vector<std::string>* out) {
  auto it = j.find(key);
  if (it == j.end()) return absl::OkStatus();
  if (!it->is_array()) return InputError(key, "must be an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return InputError(key, "must be an array of strings");
    out->push_back(v.get<std::string>());
  }
  return absl::OkStatus();
}

constexpr const char* kPublishKeys[] = {"name",
                                        "title",
                                        "description",
                                        "keywords",
                                        "themes",
                                        "publisher",
                                        "license",
                                        "media_type",
                                        "language",
                                        "hosting_location",
                                        "personal_data_class",
                                        "issued",
                                        "modified",
                                        "valid_until",
                                        "content",
                                        "root",
                                        "source",
                                        "policy"};

// Signs `doc` at the sequence the catalogue assigns (after the checks that need it).
catalog::SignAtSequence SignerFor(const Home& home, catalog::Document doc) {
  return
      [&home, doc = std::move(doc)](std::uint64_t sequence) mutable -> absl::StatusOr<std::string> {
        doc.sequence = sequence;
        HANSE_RETURN_IF_ERROR(catalog::ValidateDocument(doc));
        return catalog::SignDocument(doc, home.identity.participant_key);
      };
}

}  // namespace

catalog::ParticipantFacts ParticipantFactsOf(const Home& home, absl::string_view endpoint) {
  catalog::ParticipantFacts f;
  f.legal_name = home.config.legal_name;
  f.registration_number = home.config.registration_number;
  f.country = home.config.country;
  f.jurisdictions = home.config.jurisdictions;
  if (f.jurisdictions.empty()) f.jurisdictions.push_back(home.config.country);
  if (!endpoint.empty()) f.endpoints.emplace_back(endpoint);
  return f;
}

absl::StatusOr<bool> EnsureParticipantDescription(const Home& home,
                                                  const catalog::ParticipantFacts& facts,
                                                  catalog::Catalog& catalog, absl::Time now) {
  const std::string& did = home.identity.did;
  HANSE_ASSIGN_OR_RETURN(auto stored, catalog.GetAny(did));
  if (stored.has_value()) {
    HANSE_ASSIGN_OR_RETURN(catalog::Document current, catalog::DecodeDocument(*stored));
    const auto& c = current.participant;
    if (c.legal_name == facts.legal_name && c.registration_number == facts.registration_number &&
        c.country == facts.country && c.jurisdictions == facts.jurisdictions &&
        c.endpoints == facts.endpoints) {
      return false;
    }
  }
  HANSE_RETURN_IF_ERROR(
      catalog.SignAndIngest(did, SignerFor(home, catalog::ParticipantDocument(did, facts, 0, now)))
          .status(),
      "participant self-description");
  return true;
}

source::Context SourceContextOf(const Home& home) {
  source::Context ctx;
  ctx.data_dir = home.paths.data;
  ctx.data_roots = home.config.data_roots;
  if (!home.config.sources_json.empty()) {
    ctx.connections = Json::parse(home.config.sources_json, nullptr, false);
  }
  return ctx;
}

absl::StatusOr<catalog::IngestResult> PublishDataset(const Home& home, absl::string_view json,
                                                     catalog::Catalog& catalog, absl::Time now,
                                                     const source::Progress& progress) {
  HANSE_ASSIGN_OR_RETURN(Json j, ParseJsonObject(json, "publish file"));
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* k : kPublishKeys) known = known || key == k;
    if (!known) return InputError(key, "unknown key (see docs/catalogue.md)");
  }
  catalog::Document doc;
  doc.kind = catalog::DocumentKind::kDataset;
  doc.issuer = home.identity.did;
  std::string name, valid_until;
  catalog::DatasetFacts& d = doc.dataset;
  HANSE_RETURN_IF_ERROR(Str(j, "name", &name, true));
  HANSE_RETURN_IF_ERROR(Str(j, "title", &d.title, true));
  HANSE_RETURN_IF_ERROR(Str(j, "description", &d.description, false));
  HANSE_RETURN_IF_ERROR(Strs(j, "keywords", &d.keywords));
  HANSE_RETURN_IF_ERROR(Strs(j, "themes", &d.themes));
  d.publisher = home.config.legal_name;
  HANSE_RETURN_IF_ERROR(Str(j, "publisher", &d.publisher, false));
  HANSE_RETURN_IF_ERROR(Str(j, "license", &d.license, true));
  HANSE_RETURN_IF_ERROR(Str(j, "media_type", &d.media_type, true));
  HANSE_RETURN_IF_ERROR(Str(j, "language", &d.language, true));
  d.hosting_location = home.config.country;
  HANSE_RETURN_IF_ERROR(Str(j, "hosting_location", &d.hosting_location, false));
  d.personal_data_class = "none";
  HANSE_RETURN_IF_ERROR(Str(j, "personal_data_class", &d.personal_data_class, false));
  d.issued = absl::FormatTime("%Y-%m-%d", now, absl::UTCTimeZone());
  HANSE_RETURN_IF_ERROR(Str(j, "issued", &d.issued, false));
  HANSE_RETURN_IF_ERROR(Str(j, "modified", &d.modified, false));
  HANSE_RETURN_IF_ERROR(Str(j, "valid_until", &valid_until, false));
  auto policy = j.find("policy");
  if (policy == j.end()) return InputError("policy", "missing (an ODRL offer, see docs)");
  d.policy_json = policy->dump();

  doc.id = catalog::DatasetId(doc.issuer, name);
  HANSE_ASSIGN_OR_RETURN(Json spec, source::SpecFromPublish(j), "publish file");
  HANSE_ASSIGN_OR_RETURN(source::Described described,
                         source::DescribeSpec(SourceContextOf(home), spec, progress),
                         "publish file: content");
  const source::Description& found = described.description;
  d.byte_size = found.byte_size;
  d.sha256 = found.sha256;
  d.distribution_kind = found.kind == "directory" ? "directory" : "file";
  if (found.live) {
    // Nothing to hash ahead: the digest names the distribution's definition (what is asked of
    // which connection, and the shape it answered with), so that a changed definition is a
    // new version that needs a new agreement.
    d.live = true;
    d.byte_size = 0;
    d.sha256 = trust::HexEncode(trust::Sha256(described.record.dump()));
  }
  if (found.kind == "directory") {
    d.file_count = found.file_count;
    d.root_digest = found.root_digest;
  }
  doc.valid_from = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  if (!valid_until.empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, valid_until, &doc.valid_until, &err)) {
      return InputError("valid_until", "must be an RFC 3339 date-time");
    }
  }
  // The checks that do not need the sequence come first, outside the catalogue's writer lock.
  doc.sequence = 1;
  HANSE_RETURN_IF_ERROR(catalog::ValidateDocument(doc));
  // A policy that can never permit (malformed, or with terms this node does not understand)
  // is refused here, with the reason; documents from peers are only checked structurally,
  // and evaluation fails closed on what it does not know.
  HANSE_RETURN_IF_ERROR(policy::ValidatePolicyForPublishing(d.policy_json), "policy");
  // The document and where its content lives are one write: a crash cannot leave a published
  // dataset whose content is not on record.
  catalog::WriteBatch content_record;
  content_record.Put(catalog::Family::kContracts, contract::ContentKey(doc.id),
                     described.record.dump());
  // Described afresh: whatever the provider found wrong with the old source is settled.
  content_record.Delete(catalog::Family::kContracts, contract::RepublishKey(doc.id));
  const std::string issuer = doc.issuer;
  return catalog.SignAndIngest(issuer, SignerFor(home, std::move(doc)), content_record);
}

absl::StatusOr<std::map<std::string, std::string>> NeedingRepublication(catalog::Store& store) {
  std::map<std::string, std::string> out;
  HANSE_RETURN_IF_ERROR(store.Scan(
      catalog::Family::kContracts, contract::kRepublishPrefix,
      [&](absl::string_view key, absl::string_view value) {
        nlohmann::json j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
        std::string why = j.is_object() ? j.value("reason", std::string("the source changed"))
                                        : std::string("the source changed");
        if (j.is_object() && j.contains("since")) {
          absl::StrAppend(&why, " (since ", j.value("since", std::string()), ")");
        }
        out.emplace(std::string(key.substr(contract::kRepublishPrefix.size())), std::move(why));
        return true;
      }));
  return out;
}

absl::StatusOr<catalog::IngestResult> UnpublishDataset(const Home& home, absl::string_view id,
                                                       catalog::Catalog& catalog, absl::Time now) {
  HANSE_ASSIGN_OR_RETURN(catalog::StoredDocument current, catalog.Get(id));
  if (current.kind != catalog::DocumentKind::kDataset) {
    return absl::InvalidArgumentError(absl::StrCat(id, " is not a dataset"));
  }
  catalog::Document doc;
  doc.kind = catalog::DocumentKind::kTombstone;
  doc.issuer = home.identity.did;
  doc.id = std::string(id);
  HANSE_RETURN_IF_ERROR(catalog::CheckIdBelongsToIssuer(doc),
                        "only the publisher can unpublish a dataset");
  doc.valid_from = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  const std::string issuer = doc.issuer;
  catalog::WriteBatch settled;  // an unpublished dataset needs no republication
  settled.Delete(catalog::Family::kContracts, contract::RepublishKey(id));
  return catalog.SignAndIngest(issuer, SignerFor(home, std::move(doc)), settled);
}

}  // namespace hanse::node
