// The `hanse` command: node setup, the daemon, and the operator's tools.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/status.h"
#include "catalog/store.h"
#include "nlohmann/json.hpp"
#include "node/card.h"
#include "node/cli/admin_client.h"
#include "node/home.h"
#include "node/node.h"
#include "node/peers.h"
#include "node/version.h"

namespace hanse::node {
namespace {

constexpr const char* kInitHelp = R"(Create a node home: a participant key (the root of this member's identity) and its
did:key DID, a separate node TLS key with an X.509 certificate issued by the participant
key (DID as URI SAN; clientAuth and serverAuth), config.json, and an empty RocksDB store.
Key files are written with mode 0600. An existing directory is never touched.)";

constexpr const char* kRunHelp = R"(Run the node in the foreground: the federation gRPC server (mutual TLS; callers must
present a certificate issued by a trusted peer's participant key) and the admin gRPC server
on DIR/admin.sock (mode 0600). SIGTERM or SIGINT stops it gracefully: no new calls, calls in
flight get shutdown_grace_seconds, the store is closed, exit code 0.)";

void PrintError(const absl::Status& status) {
  std::fprintf(stderr, "hanse: error: %s\n", std::string(status.message()).c_str());
}

std::string PeerRow(const hanse::v1::Peer& p) {
  return absl::StrFormat("%-60s %-22s %-2s %s", p.did(), p.endpoint(), p.country(),
                         p.legal_name());
}

absl::Status CmdInit(const InitOptions& options) {
  HANSE_ASSIGN_OR_RETURN(std::string did, InitHome(options, Clock::Real().Now()));
  std::printf("%s\n", did.c_str());
  std::fprintf(stderr,
               "Created node home %s for \"%s\" (%s).\n"
               "Next: `hanse node run --home %s`, and share `hanse card --home %s` with peers.\n",
               AbsolutePath(options.dir).c_str(), options.legal_name.c_str(),
               options.country.c_str(), options.dir.c_str(), options.dir.c_str());
  return absl::OkStatus();
}

// The live card from a running node (with its bound endpoint), else one signed from the home.
absl::StatusOr<std::string> CurrentCard(const std::string& home_dir) {
  if (auto client = AdminClient::Connect(home_dir); client.ok()) return client->GetCard();
  absl::Time now = Clock::Real().Now();
  HANSE_ASSIGN_OR_RETURN(Home home, LoadHome(home_dir, now));
  std::string endpoint = home.config.endpoint.empty() ? home.config.listen : home.config.endpoint;
  HANSE_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(endpoint));
  if (hp.port == 0) {
    return absl::FailedPreconditionError(
        "the node listens on port 0, so its endpoint is known only while it runs: start it, "
        "or set \"endpoint\" in config.json");
  }
  MemberCard card{home.identity.did, home.config.legal_name, home.config.country, endpoint,
                  home.identity.ca_pem, now};
  return SignCard(card, home.identity.participant_key);
}

absl::Status CmdCard(const std::string& home_dir, const std::string& out) {
  HANSE_ASSIGN_OR_RETURN(std::string jws, CurrentCard(home_dir));
  HANSE_ASSIGN_OR_RETURN(MemberCard card, VerifyCard(jws, Clock::Real().Now()));
  std::string text = CardFileJson(jws, card);
  if (out.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return absl::OkStatus();
  }
  return WriteFileAtomic(out, text, 0644);
}

absl::Status CmdPeerAdd(const std::string& home_dir, const std::string& card_file) {
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(card_file, 256 * 1024));
  HANSE_ASSIGN_OR_RETURN(auto parsed, ParseCardFile(text, Clock::Real().Now()), card_file);
  auto& [jws, card] = parsed;
  bool added = false;
  if (auto client = AdminClient::Connect(home_dir); client.ok()) {
    HANSE_ASSIGN_OR_RETURN(auto resp, client->AddPeer(jws));
    added = resp.added();
  } else {
    HANSE_ASSIGN_OR_RETURN(Home home, LoadHome(home_dir, Clock::Real().Now()));
    if (card.did == home.identity.did) {
      return absl::InvalidArgumentError("that is this node's own card");
    }
    HANSE_ASSIGN_OR_RETURN(auto store, catalog::OpenRocksStore(home.paths.store, {}));
    HANSE_ASSIGN_OR_RETURN(added, AddPeerToStore(*store, jws, card));
    HANSE_RETURN_IF_ERROR(store->Close());
  }
  std::printf("%s %s (%s, %s) at %s\n", added ? "trusted" : "already trusted", card.did.c_str(),
              card.legal_name.c_str(), card.country.c_str(), card.endpoint.c_str());
  return absl::OkStatus();
}

absl::Status CmdPeerList(const std::string& home_dir, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.ListPeers());
  if (json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& p : resp.peers()) {
      arr.push_back({{"did", p.did()},
                     {"endpoint", p.endpoint()},
                     {"legal_name", p.legal_name()},
                     {"country", p.country()}});
    }
    std::printf("%s\n", arr.dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("%-60s %-22s %-2s %s\n", "DID", "ENDPOINT", "CC", "NAME");
  for (const auto& p : resp.peers()) std::printf("%s\n", PeerRow(p).c_str());
  return absl::OkStatus();
}

absl::Status CmdPeerPing(const std::string& home_dir, const std::string& target, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.PingPeer(target));
  double ms = static_cast<double>(resp.round_trip_micros()) / 1000.0;
  if (json) {
    nlohmann::json j = {{"did", resp.peer().did()},
                        {"legal_name", resp.peer().legal_name()},
                        {"country", resp.peer().country()},
                        {"endpoint", resp.endpoint()},
                        {"round_trip_ms", ms}};
    std::printf("%s\n", j.dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("%s (%s, %s) at %s: %.2f ms\n", resp.peer().did().c_str(),
              resp.peer().legal_name().c_str(), resp.peer().country().c_str(),
              resp.endpoint().c_str(), ms);
  return absl::OkStatus();
}

absl::Status CmdStatus(const std::string& home_dir, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto s, client.GetStatus());
  if (json) {
    nlohmann::json peers = nlohmann::json::array();
    for (const auto& p : s.peers()) {
      peers.push_back({{"did", p.did()}, {"endpoint", p.endpoint()},
                       {"legal_name", p.legal_name()}, {"country", p.country()}});
    }
    nlohmann::json j = {{"did", s.did()},
                        {"listen", s.listen()},
                        {"legal_name", s.legal_name()},
                        {"country", s.country()},
                        {"peers", peers},
                        {"uptime_seconds", s.uptime_seconds()},
                        {"store_bytes", s.store_bytes()},
                        {"version", s.version()}};
    std::printf("%s\n", j.dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("DID:      %s\nName:     %s (%s)\nListen:   %s\nUptime:   %s\nStore:    %llu "
              "bytes\nVersion:  %s\nPeers:    %d\n",
              s.did().c_str(), s.legal_name().c_str(), s.country().c_str(), s.listen().c_str(),
              absl::FormatDuration(absl::Seconds(s.uptime_seconds())).c_str(),
              static_cast<unsigned long long>(s.store_bytes()), s.version().c_str(),
              s.peers_size());
  for (const auto& p : s.peers()) std::printf("  %s\n", PeerRow(p).c_str());
  return absl::OkStatus();
}

absl::Status CmdNodeRun(const std::string& home_dir, const std::string& log_format,
                        const std::string& log_level) {
  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Logging follows the flag, else the config (read before anything logs).
  {
    std::string fmt = log_format, lvl = log_level;
    if (fmt.empty() || lvl.empty()) {
      if (auto home = LoadHome(home_dir, Clock::Real().Now()); home.ok()) {
        if (fmt.empty()) fmt = home->config.log_format;
        if (lvl.empty()) lvl = home->config.log_level;
      }
    }
    HANSE_ASSIGN_OR_RETURN(log::Format f, log::ParseFormat(fmt.empty() ? "text" : fmt),
                           "--log-format");
    HANSE_ASSIGN_OR_RETURN(log::Level l, log::ParseLevel(lvl.empty() ? "info" : lvl),
                           "--log-level");
    log::Init(f, l);
  }

  HANSE_ASSIGN_OR_RETURN(auto node, Node::Start(home_dir));
  int sig = 0;
  sigwait(&signals, &sig);
  log::Info("signal received", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  return node->Shutdown(node->shutdown_grace());
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"hanse: a federated data-space node. Each member organisation runs one node;\n"
               "nodes trust each other through signed member cards and talk over mutual TLS.",
               "hanse"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  app.fallthrough();

  std::string home;
  auto add_home = [&](CLI::App* cmd) {
    cmd->add_option("--home", home, "Node home directory")->required();
  };
  bool json = false;

  InitOptions init_options;
  auto* init = app.add_subcommand("init", "Create a node home with a new identity");
  init->footer(kInitHelp);
  init->add_option("--home", init_options.dir, "Directory to create (must not exist)")
      ->required();
  init->add_option("--name", init_options.legal_name, "Legal name of the member organisation")
      ->required();
  init->add_option("--country", init_options.country,
                   "Country of legal seat, ISO 3166-1 alpha-2 (e.g. FR)")
      ->required();
  init->add_option("--listen", init_options.listen,
                   "Federation address HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  init->add_option("--key-type", init_options.key_type, "Participant key type")
      ->check(CLI::IsMember({"p256", "ed25519"}))
      ->capture_default_str();

  std::string card_out;
  auto* card = app.add_subcommand("card", "Print this member's signed card (JSON) for peers");
  add_home(card);
  card->add_option("--out", card_out, "Write the card to FILE instead of stdout");

  auto* peer = app.add_subcommand("peer", "Manage and reach trusted peers");
  peer->require_subcommand(1);
  std::string card_file;
  auto* peer_add = peer->add_subcommand("add", "Trust a peer from its card (live if running)");
  add_home(peer_add);
  peer_add->add_option("card", card_file, "Card file from the peer's `hanse card`")->required();
  auto* peer_list = peer->add_subcommand("list", "List trusted peers (node must run)");
  add_home(peer_list);
  peer_list->add_flag("--json", json, "JSON output");
  std::string target;
  auto* peer_ping = peer->add_subcommand(
      "ping", "Call a peer over mutual TLS; print its DID and the round-trip time");
  add_home(peer_ping);
  peer_ping->add_option("target", target, "A trusted peer's DID, or HOST:PORT")->required();
  peer_ping->add_flag("--json", json, "JSON output");

  auto* node_cmd = app.add_subcommand("node", "Run the node");
  node_cmd->require_subcommand(1);
  std::string log_format, log_level;
  auto* run = node_cmd->add_subcommand("run", "Run the node in the foreground");
  run->footer(kRunHelp);
  add_home(run);
  run->add_option("--log-format", log_format, "text (default) or json lines")
      ->check(CLI::IsMember({"text", "json"}));
  run->add_option("--log-level", log_level, "debug, info (default), warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  auto* status = app.add_subcommand("status", "Show a running node's DID, address, peers, uptime");
  add_home(status);
  status->add_flag("--json", json, "JSON output");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  absl::Status result;
  if (*init) {
    result = CmdInit(init_options);
  } else if (*card) {
    result = CmdCard(home, card_out);
  } else if (*peer_add) {
    result = CmdPeerAdd(home, card_file);
  } else if (*peer_list) {
    result = CmdPeerList(home, json);
  } else if (*peer_ping) {
    result = CmdPeerPing(home, target, json);
  } else if (*run) {
    result = CmdNodeRun(home, log_format, log_level);
  } else if (*status) {
    result = CmdStatus(home, json);
  }
  if (!result.ok()) {
    PrintError(result);
    return 1;
  }
  return 0;
}

}  // namespace hanse::node

int main(int argc, char** argv) { return hanse::node::Main(argc, argv); }
