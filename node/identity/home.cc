#include "node/identity/home.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/status.h"
#include "catalog/catalog.h"
#include "catalog/store.h"
#include "node/identity/sequence_ledger.h"
#include "trust/did_key.h"
#include "trust/x509.h"

namespace hanse::node {
namespace {

// Participant CAs live long (InitOptions::ca_validity_days); node certificates are rotated more
// often (no DID change).
const absl::Duration kNodeCertValidity = absl::Hours(24) * Config{}.node_cert_validity_days;
// Back-date certificates a little so peers with a slightly slow clock accept them.
constexpr absl::Duration kBackdate = absl::Minutes(5);

absl::Status CreateHomeContents(const InitOptions& o, const HomePaths& p, absl::Time now,
                                std::string* did_out) {
  HANSE_ASSIGN_OR_RETURN(trust::KeyType key_type, trust::ParseKeyType(o.key_type), "--key-type");
  HANSE_ASSIGN_OR_RETURN(auto participant, trust::PrivateKey::Generate(key_type));
  std::string did = trust::EncodeDidKey(participant.Public());
  HANSE_ASSIGN_OR_RETURN(auto node_key, trust::PrivateKey::Generate(trust::KeyType::kP256));
  HANSE_ASSIGN_OR_RETURN(std::string ca_pem,
                         trust::IssueParticipantCa(participant, did, o.legal_name, now - kBackdate,
                                                   absl::Hours(24) * o.ca_validity_days));
  HANSE_ASSIGN_OR_RETURN(std::string node_pem,
                         trust::IssueNodeCertificate(participant, ca_pem, node_key.Public(), did,
                                                     now - kBackdate, kNodeCertValidity));
  HANSE_RETURN_IF_ERROR(WriteFileAtomic(p.participant_key, participant.ToPem(), 0600, true));
  HANSE_RETURN_IF_ERROR(WriteFileAtomic(p.node_key, node_key.ToPem(), 0600, true));
  HANSE_RETURN_IF_ERROR(WriteFileAtomic(p.participant_ca, ca_pem, 0644, true));
  HANSE_RETURN_IF_ERROR(WriteFileAtomic(p.node_cert, node_pem, 0644, true));
  HANSE_RETURN_IF_ERROR(MakeDirectory(p.data, 0700));
  {
    HANSE_ASSIGN_OR_RETURN(auto store, catalog::OpenRocksStore(p.store, {.create_if_missing = true,
                                                                         .error_if_exists = true}));
    catalog::WriteBatch batch;
    batch.Put(catalog::Family::kMeta, "format_version", std::to_string(kHomeFormatVersion));
    batch.Put(catalog::Family::kMeta, "created", absl::FormatTime(now));
    HANSE_RETURN_IF_ERROR(store->Write(batch, /*sync=*/true));
    // The first participant self-description; the node re-signs it when facts change
    // (for example the bound endpoint when listening on port 0).
    SimulatedClock clock(now);
    HANSE_ASSIGN_OR_RETURN(auto ledger, FileSequenceLedger::Open(p.sequences));
    HANSE_ASSIGN_OR_RETURN(auto catalog, catalog::Catalog::Open(store.get(), &clock, ledger.get()));
    catalog::ParticipantFacts facts;
    facts.legal_name = o.legal_name;
    facts.registration_number = o.registration_number;
    facts.country = o.country;
    facts.jurisdictions = o.jurisdictions;
    if (facts.jurisdictions.empty()) facts.jurisdictions.push_back(o.country);
    HANSE_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(o.listen));
    if (!o.endpoint.empty()) {
      facts.endpoints.push_back(o.endpoint);
    } else if (hp.port != 0) {
      facts.endpoints.push_back(o.listen);
    }
    auto sign = [&](std::uint64_t sequence) {
      return catalog::SignDocument(catalog::ParticipantDocument(did, facts, sequence, now),
                                   participant);
    };
    HANSE_RETURN_IF_ERROR(catalog->SignAndIngest(did, sign).status(),
                          "participant self-description");
    catalog.reset();
    HANSE_RETURN_IF_ERROR(store->Close());
  }
  Config config;
  config.legal_name = o.legal_name;
  config.country = o.country;
  config.registration_number = o.registration_number;
  config.jurisdictions = o.jurisdictions;
  config.listen = o.listen;
  config.endpoint = o.endpoint;
  config.ops_listen = o.ops_listen;
  config.key_type = o.key_type;
  // The config is written last: a home without config.json is an unfinished init.
  HANSE_RETURN_IF_ERROR(WriteFileAtomic(p.config, SerializeConfig(config), 0644, true));
  *did_out = did;
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadKeyFile(const std::string& path) {
  HANSE_RETURN_IF_ERROR(CheckPrivateMode(path));
  return ReadFile(path, 64 * 1024);
}

}  // namespace

HomePaths::HomePaths(std::string d)
    : dir(std::move(d)),
      config(dir + "/config.json"),
      participant_key(dir + "/participant.key"),
      participant_ca(dir + "/participant-ca.pem"),
      node_key(dir + "/node.key"),
      node_cert(dir + "/node.pem"),
      store(dir + "/store"),
      sequences(dir + "/sequences.json"),
      data(dir + "/data"),
      admin_socket(dir + "/admin.sock") {}

absl::StatusOr<std::string> InitHome(const InitOptions& o, absl::Time now) {
  if (o.dir.empty()) return absl::InvalidArgumentError("--home is required");
  if (o.legal_name.empty()) return absl::InvalidArgumentError("--name must not be empty");
  if (o.legal_name.size() > 256) {
    return absl::InvalidArgumentError("--name is longer than 256 bytes");
  }
  HANSE_RETURN_IF_ERROR(ValidateCountry(o.country), "--country");
  HANSE_ASSIGN_OR_RETURN(HostPort listen, ParseHostPort(o.listen), "--listen");
  if (!o.endpoint.empty()) {
    HANSE_ASSIGN_OR_RETURN(HostPort endpoint, ParseHostPort(o.endpoint), "--endpoint");
    HANSE_RETURN_IF_ERROR(CheckDialable(endpoint, "--endpoint"));
  } else if (IsUnspecifiedHost(listen.host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen ", o.listen, " listens on every interface, but peers need an address they ",
        "can dial: add --endpoint HOST:", listen.port == 0 ? 7400 : listen.port,
        " with this host's name or address as the other members reach it"));
  }
  if (!o.ops_listen.empty()) {
    HANSE_RETURN_IF_ERROR(ParseHostPort(o.ops_listen).status(), "--ops-listen");
  }
  HANSE_RETURN_IF_ERROR(trust::ParseKeyType(o.key_type).status(), "--key-type");
  if (o.ca_validity_days < 30 || o.ca_validity_days > 36500) {
    return absl::InvalidArgumentError("--ca-validity-days must be 30-36500");
  }
  std::string dir = AbsolutePath(o.dir);
  if (PathExists(dir)) {
    return absl::AlreadyExistsError(
        absl::StrCat(dir,
                     " already exists; hanse init never touches an existing directory "
                     "(choose a new --home)"));
  }
  HANSE_RETURN_IF_ERROR(MakeDirectory(dir, 0700));
  HomePaths paths(dir);
  std::string did;
  absl::Status s = CreateHomeContents(o, paths, now, &did);
  if (!s.ok()) {
    // Only remove what this call created.
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return s;
  }
  return did;
}

absl::StatusOr<Home> LoadHome(const std::string& dir_in, absl::Time now) {
  if (dir_in.empty()) return absl::InvalidArgumentError("--home is required");
  std::string dir = AbsolutePath(dir_in);
  if (!PathExists(dir)) {
    return absl::NotFoundError(
        absl::StrCat("node home ", dir, " does not exist (create one with `hanse init`)"));
  }
  HomePaths paths(dir);
  if (!PathExists(paths.config)) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " is not a hanse node home (no config.json; create one with `hanse init`)"));
  }
  HANSE_ASSIGN_OR_RETURN(std::string config_text, ReadFile(paths.config, 1 << 20));
  HANSE_ASSIGN_OR_RETURN(Config config, ParseConfig(config_text, paths.config));

  HANSE_ASSIGN_OR_RETURN(std::string participant_pem, ReadKeyFile(paths.participant_key));
  HANSE_ASSIGN_OR_RETURN(auto participant, trust::PrivateKey::FromPem(participant_pem),
                         paths.participant_key);
  HANSE_ASSIGN_OR_RETURN(std::string node_key_pem, ReadKeyFile(paths.node_key));
  HANSE_ASSIGN_OR_RETURN(auto node_key, trust::PrivateKey::FromPem(node_key_pem), paths.node_key);
  HANSE_ASSIGN_OR_RETURN(std::string ca_pem, ReadFile(paths.participant_ca, 64 * 1024));
  HANSE_ASSIGN_OR_RETURN(std::string node_pem, ReadFile(paths.node_cert, 64 * 1024));

  std::string did = trust::EncodeDidKey(participant.Public());
  HANSE_ASSIGN_OR_RETURN(std::string ca_did, trust::CheckParticipantCa(ca_pem, now),
                         paths.participant_ca);
  if (ca_did != did) {
    return absl::FailedPreconditionError(
        absl::StrCat(paths.participant_ca, " names ", ca_did, " but participant.key is ", did));
  }
  HANSE_ASSIGN_OR_RETURN(auto cert_key, trust::CertificatePublicKey(node_pem), paths.node_cert);
  HANSE_ASSIGN_OR_RETURN(absl::Time not_after, trust::CertificateNotAfter(node_pem),
                         paths.node_cert);
  std::string problem;
  if (!(cert_key == node_key.Public())) {
    problem = absl::StrCat(paths.node_cert, " does not certify the key in ", paths.node_key);
  } else if (not_after < now) {
    problem = absl::StrCat(paths.node_cert, " expired at ", absl::FormatTime(not_after));
  }
  // Everything else about the certificate must hold (at a time inside its validity when it has
  // expired): a certificate of another DID or CA is not something to renew silently.
  auto verified = trust::VerifyNodeCertificate(
      node_pem,
      [&](absl::string_view d) -> absl::StatusOr<std::string> {
        if (d == did) return ca_pem;
        return absl::NotFoundError("not this node");
      },
      trust::CertUsage::kServer, std::min(now, not_after - absl::Seconds(1)));
  HANSE_RETURN_IF_ERROR(verified.status(), paths.node_cert);

  Identity identity{std::move(participant),  std::move(did),      std::move(ca_pem),
                    std::move(node_key_pem), std::move(node_pem), paths.node_key,
                    paths.node_cert,         not_after,           std::move(problem)};
  return Home{std::move(paths), std::move(config), std::move(identity)};
}

absl::StatusOr<absl::Time> RenewNodeCertificate(const Home& home, absl::Time now) {
  const Identity& id = home.identity;
  HANSE_ASSIGN_OR_RETURN(auto node_key, trust::PrivateKey::Generate(trust::KeyType::kP256));
  absl::Duration validity = absl::Hours(24) * home.config.node_cert_validity_days;
  HANSE_ASSIGN_OR_RETURN(std::string node_pem, trust::IssueNodeCertificate(
                                                   id.participant_key, id.ca_pem, node_key.Public(),
                                                   id.did, now - kBackdate, validity));
  // Key first: a crash between the two leaves a certificate for the old key, which the next
  // start sees (node_cert_problem) and renews; TLS keeps the old pair until both match.
  HANSE_RETURN_IF_ERROR(WriteFileAtomic(home.paths.node_key, node_key.ToPem(), 0600));
  HANSE_RETURN_IF_ERROR(WriteFileAtomic(home.paths.node_cert, node_pem, 0644));
  return now - kBackdate + validity;
}

bool NodeCertificateDue(absl::Time not_after, absl::string_view problem, const Config& config,
                        absl::Time now) {
  return !problem.empty() || not_after - now <= absl::Hours(24) * config.node_cert_renew_days;
}

absl::StatusOr<NodeCertificateFiles> ReadNodeCertificateFiles(const HomePaths& paths) {
  HANSE_ASSIGN_OR_RETURN(std::string key_pem, ReadKeyFile(paths.node_key));
  HANSE_ASSIGN_OR_RETURN(auto key, trust::PrivateKey::FromPem(key_pem), paths.node_key);
  HANSE_ASSIGN_OR_RETURN(std::string cert_pem, ReadFile(paths.node_cert, 64 * 1024));
  HANSE_ASSIGN_OR_RETURN(auto cert_key, trust::CertificatePublicKey(cert_pem), paths.node_cert);
  HANSE_ASSIGN_OR_RETURN(absl::Time not_after, trust::CertificateNotAfter(cert_pem),
                         paths.node_cert);
  return NodeCertificateFiles{not_after, cert_key == key.Public()};
}

}  // namespace hanse::node
