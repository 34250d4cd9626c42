// The node's configuration file (config.json in the node home). Format documented in
// docs/operations.md; unknown keys are rejected so that typos never pass silently.
#ifndef HANSE_NODE_IDENTITY_CONFIG_H_
#define HANSE_NODE_IDENTITY_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hanse::node {

inline constexpr int kHomeFormatVersion = 1;

struct HostPort {
  std::string host;
  int port = 0;
  std::string ToString() const;
};

// Parses "HOST:PORT" or "[V6]:PORT"; port 0 asks the kernel for a free port.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text);

// An address other nodes can dial: a concrete host (not 0.0.0.0, ::) and a port other than 0.
// `what` names the setting in the error ("--endpoint", "endpoint in config.json").
absl::Status CheckDialable(const HostPort& hp, absl::string_view what);
// 0.0.0.0, ::, [::] and friends: "every interface", an address to listen on, never to dial.
bool IsUnspecifiedHost(absl::string_view host);

// ISO 3166-1 alpha-2, upper case ("FR", "DE").
absl::Status ValidateCountry(absl::string_view cc);

struct Config {
  int format_version = kHomeFormatVersion;
  std::string legal_name;
  std::string country;
  std::string registration_number;
  // Jurisdictions whose law applies to the member (ISO 3166-1 alpha-2, or "EU").
  std::vector<std::string> jurisdictions;
  std::string listen = "127.0.0.1:7400";
  // The address peers use to reach this node; empty means the bound listen address.
  std::string endpoint;
  std::string key_type = "p256";
  std::string log_format = "text";
  std::string log_level = "info";
  int shutdown_grace_seconds = 10;
  // Limits on the federation server (RELIABILITY.md 15, 16).
  int max_message_bytes = 4 << 20;
  int max_concurrent_streams = 100;
  // Catalogue replication (docs/operations.md).
  int gossip_interval_ms = 2000;
  int gossip_fanout = 2;
  // 0: fresh documents and membership records travel the push tree; N > 0: the publisher pushes
  // to N random members and anti-entropy does the rest.
  int gossip_push_fanout = 0;
  // The partial view: members this node gossips with, whatever the federation's size (0: all).
  int gossip_view_size = 8;
  // A fetch whose provider sends nothing for this long is abandoned (resumable).
  int fetch_idle_timeout_seconds = 30;
  // A live source (an API, a query) sending more than this in one transfer is cut off (MiB; 0
  // = no cap): its length is not known ahead, and an endless one would fill the consumer's disk.
  int live_transfer_max_mb = 65536;
  // The node TLS certificate: its lifetime when (re)issued, and how long before its end the
  // node renews it (a warning is logged daily from 60 days before, or from this, if larger).
  int node_cert_validity_days = 365;
  int node_cert_renew_days = 30;
  // The node refuses writes to its store while its disk has less free space than this (MiB; 0
  // = no check), with an error that says so, instead of letting the store meet a full disk.
  int store_min_free_mb = 64;
  // Every this many hours (and 10 s after the start) the node reads its whole store and checks
  // every table file's checksums; a damaged file stops its writes and its readiness, named in
  // status and the log. 0 = never.
  int store_scrub_hours = 24;
  // HOST:PORT of the plain-HTTP operations endpoint (/livez, /readyz, /metrics); empty = off.
  // It serves no data and takes no commands; bind it where only the monitoring can reach it.
  std::string ops_listen;
  // The unix socket where holders of an access token (`hanse access grant`) reach the node, each
  // call checked against the token's role; empty = HOME/access.sock. The socket is open to every
  // local user (mode 0666): put it where those users can reach it (e.g. /run/hanse/access.sock)
  // when the home is private.
  std::string access_socket;
  // Directories datasets may be published from besides DIR/data, by name (docs/data-sources.md):
  // {"pacs": "/srv/pacs"}. Absolute paths; a dataset names its root with "root".
  std::map<std::string, std::string> data_roots;
  // Named connections to S3-compatible storage, HTTP upstreams and PostgreSQL, as the JSON
  // object given ({"s3": {...}, "http": {...}, "postgresql": {...}}; empty when none). Checked
  // by node/source when a dataset uses one; secrets are never in it, only where to find them.
  std::string sources_json;
};

// Parses config JSON. Errors name `source` (the file) and the offending key.
absl::StatusOr<Config> ParseConfig(absl::string_view json_text, absl::string_view source);
std::string SerializeConfig(const Config& config);

}  // namespace hanse::node

#endif  // HANSE_NODE_IDENTITY_CONFIG_H_
