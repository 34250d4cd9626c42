// The node home: the directory that holds one node's identity, configuration and store.
//
//   DIR/config.json          configuration (docs/operations.md)
//   DIR/participant.key      participant key, PKCS#8 PEM, mode 0600 (the root of identity)
//   DIR/participant-ca.pem   the participant's CA certificate (self-signed, DID as URI SAN)
//   DIR/node.key             node TLS key, PKCS#8 PEM, mode 0600
//   DIR/node.pem             node TLS certificate issued by the participant key
//   DIR/store/               RocksDB store
//   DIR/sequences.json       the highest sequence this node has signed (node/sequence_ledger.h)
//   DIR/data/                dataset content
//   DIR/admin.sock           admin gRPC socket while the node runs (mode 0600)
#ifndef HANSE_NODE_IDENTITY_HOME_H_
#define HANSE_NODE_IDENTITY_HOME_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/identity/config.h"
#include "trust/keys.h"

namespace hanse::node {

struct HomePaths {
  explicit HomePaths(std::string dir);
  std::string dir;
  std::string config;
  std::string participant_key;
  std::string participant_ca;
  std::string node_key;
  std::string node_cert;
  std::string store;
  std::string sequences;
  std::string data;
  std::string admin_socket;
};

struct Identity {
  trust::PrivateKey participant_key;
  std::string did;
  std::string ca_pem;
  std::string node_key_pem;
  std::string node_cert_pem;
  // Where the node's TLS key and certificate live. TLS reads them from there and picks up a
  // renewal without a restart; empty for an identity held only in memory (tests).
  std::string node_key_path;
  std::string node_cert_path;
  absl::Time node_cert_not_after = absl::InfinitePast();
  // Why the node certificate cannot serve as it is (expired, or it certifies another key than
  // node.key, as after an interrupted renewal); empty when it can. The node renews it at start;
  // offline commands do not need it.
  std::string node_cert_problem;
};

struct Home {
  HomePaths paths;
  Config config;
  Identity identity;
};

struct InitOptions {
  std::string dir;
  std::string legal_name;
  std::string country;
  std::string registration_number;
  std::vector<std::string> jurisdictions;
  std::string listen = "127.0.0.1:7400";
  // The address peers dial (config "endpoint"); empty = the listen address, which must then be
  // dialable (not 0.0.0.0 or ::).
  std::string endpoint;
  // The ops HTTP endpoint (config "ops_listen": /livez, /readyz, /metrics); empty = off.
  std::string ops_listen;
  std::string key_type = "p256";
  // Lifetime of the participant CA certificate. Its end is the end of the identity's cards: the
  // participant key is not rotated (docs/security.md).
  int ca_validity_days = 3650;
};

// Creates a new home; refuses to touch an existing directory. Returns the DID.
absl::StatusOr<std::string> InitHome(const InitOptions& options, absl::Time now);

// Loads and checks a home (config, keys and their modes, certificates); does not open the store.
// An expired node certificate, or one for another key, is not an error: it is reported in
// identity.node_cert_problem (the participant key can issue a new one).
absl::StatusOr<Home> LoadHome(const std::string& dir, absl::Time now);

// Issues a new node key and certificate from the participant key (validity from the config) and
// writes them (node.key, then node.pem, each atomically). Returns the new certificate's
// notAfter. A running node picks the files up for new handshakes within seconds; calls in
// flight keep their connection. Does not change `home`.
absl::StatusOr<absl::Time> RenewNodeCertificate(const Home& home, absl::Time now);

// Whether the node certificate is due for renewal at `now`: it has a problem, or it expires
// within the config's node_cert_renew_days.
bool NodeCertificateDue(absl::Time not_after, absl::string_view problem, const Config& config,
                        absl::Time now);

// The notAfter of the node certificate on disk, and whether it certifies the key on disk (a
// running node checks this to notice a renewal made by `hanse cert renew`).
struct NodeCertificateFiles {
  absl::Time not_after;
  bool key_matches = false;
};
absl::StatusOr<NodeCertificateFiles> ReadNodeCertificateFiles(const HomePaths& paths);

}  // namespace hanse::node

#endif  // HANSE_NODE_IDENTITY_HOME_H_
