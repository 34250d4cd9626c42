#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/status.h"
#include "base/version.h"
#include "catalog/document.h"
#include "catalog/store.h"
#include "nlohmann/json.hpp"
#include "node/cli/commands.h"
#include "node/cli/contract_commands.h"
#include "node/daemon/node.h"
#include "node/federation/membership.h"
#include "node/federation/peers.h"
#include "node/identity/backup.h"
#include "node/identity/card.h"
#include "node/identity/home.h"
#include "node/rpc/admin_client.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "policy/request.h"

namespace hanse::node {

namespace {

// For --if-missing: whether `dir` already holds a complete home (then its DID is printed and the
// command has nothing to do). A directory that exists but does not load is an error: it is
// neither replaced nor silently accepted. An empty directory counts as missing.
absl::StatusOr<bool> HomeAlreadyThere(const std::string& dir, bool json) {
  std::error_code ec;
  if (!PathExists(dir) || std::filesystem::is_empty(dir, ec)) return false;
  auto home = LoadHome(dir, Clock::Real().Now());
  if (!home.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " exists but is not a complete node home (", home.status().message(),
        "); --if-missing leaves only a complete home alone: repair it or move it away"));
  }
  PrintResult(json, {{"did", home->identity.did}, {"home", AbsolutePath(dir)}, {"created", false}},
              home->identity.did);
  std::fprintf(stderr, "Node home %s exists already (%s); left as it is.\n",
               AbsolutePath(dir).c_str(), home->identity.did.c_str());
  return true;
}

}  // namespace

absl::Status CmdInit(const InitOptions& options, bool if_missing, bool json) {
  if (if_missing && !options.dir.empty()) {
    HANSE_ASSIGN_OR_RETURN(bool there, HomeAlreadyThere(options.dir, json));
    if (there) return absl::OkStatus();
    ::rmdir(options.dir.c_str());  // an empty directory (a fresh mount) counts as missing
  }
  HANSE_ASSIGN_OR_RETURN(std::string did, InitHome(options, Clock::Real().Now()));
  PrintResult(json, {{"did", did}, {"home", AbsolutePath(options.dir)}, {"created", true}}, did);
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
  MemberCard card{home.identity.did, home.config.legal_name, home.config.country,
                  endpoint,          home.identity.ca_pem,   now};
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

absl::Status CmdCertRenew(const std::string& home_dir, bool json) {
  absl::Time now = Clock::Real().Now();
  HANSE_ASSIGN_OR_RETURN(Home home, LoadHome(home_dir, now));
  HANSE_ASSIGN_OR_RETURN(absl::Time until, RenewNodeCertificate(home, now));
  const std::string valid_until = absl::FormatTime(absl::RFC3339_sec, until, absl::UTCTimeZone());
  PrintResult(json, {{"valid_until", valid_until}}, valid_until);
  std::fprintf(
      stderr, "New node key and certificate in %s and %s, valid until %s.%s\n",
      home.paths.node_key.c_str(), home.paths.node_cert.c_str(),
      absl::FormatTime(absl::RFC3339_sec, until, absl::UTCTimeZone()).c_str(),
      NodeIsRunning(home_dir) ? " The running node uses them for new connections within 5 s." : "");
  return absl::OkStatus();
}

absl::Status CmdCardUpdate(const std::string& home_dir, const std::string& endpoint) {
  HANSE_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(endpoint), "--endpoint");
  HANSE_RETURN_IF_ERROR(CheckDialable(hp, "--endpoint"));
  HANSE_ASSIGN_OR_RETURN(Home home, LoadHome(home_dir, Clock::Real().Now()));
  Config config = home.config;
  config.endpoint = hp.ToString();
  HANSE_RETURN_IF_ERROR(WriteFileAtomic(home.paths.config, SerializeConfig(config), 0600));
  if (auto client = AdminClient::Connect(home_dir); client.ok()) {
    HANSE_ASSIGN_OR_RETURN(std::string jws, client->UpdateCard(config.endpoint));
    std::fprintf(stderr,
                 "Card updated: endpoint %s, signed and sent to the members by gossip (they dial "
                 "it from their next call). config.json keeps it for the next start.\n",
                 config.endpoint.c_str());
  } else {
    std::fprintf(stderr,
                 "config.json now says endpoint %s. The node signs the card update and sends it "
                 "to the members when it starts.\n",
                 config.endpoint.c_str());
  }
  return absl::OkStatus();
}

absl::Status CmdBackup(const std::string& home_dir, const std::string& out) {
  absl::Time now = Clock::Real().Now();
  HANSE_ASSIGN_OR_RETURN(Home home, LoadHome(home_dir, now));
  if (out.empty()) return absl::InvalidArgumentError("--out is required");
  if (PathExists(out)) {
    return absl::AlreadyExistsError(absl::StrCat(out, " exists already: choose another --out"));
  }
  std::string checkpoint = absl::StrCat(home.paths.dir, "/.backup-", NewUuid().substr(0, 8));
  absl::StatusOr<std::string> sequences;
  bool online = false;
  if (auto client = AdminClient::Connect(home_dir); client.ok()) {
    online = true;
    sequences = client->Checkpoint(AbsolutePath(checkpoint));
  } else {
    auto store = catalog::OpenRocksStore(home.paths.store, {});
    if (!store.ok()) return store.status();
    sequences = CheckpointHome(home.paths, **store, checkpoint);
    HANSE_RETURN_IF_ERROR((*store)->Close());
  }
  absl::StatusOr<BackupSummary> summary =
      sequences.ok() ? WriteBackup(home.paths, home.identity.did, checkpoint, *sequences, out, now)
                     : absl::StatusOr<BackupSummary>(sequences.status());
  std::error_code ec;
  std::filesystem::remove_all(checkpoint, ec);
  if (!summary.ok()) return summary.status();
  std::fprintf(stderr,
               "Backup of %s written to %s (%s): %d files, %.1f MiB before compression. It holds "
               "the participant key: keep it as safe as the home.\n",
               home.identity.did.c_str(), out.c_str(),
               online ? "online, from the running node" : "the node was not running",
               summary->files, summary->bytes / 1048576.0);
  return absl::OkStatus();
}

absl::Status CmdRestore(const std::string& archive, const std::string& home_dir, bool if_missing,
                        bool json) {
  if (if_missing && !home_dir.empty()) {
    HANSE_ASSIGN_OR_RETURN(bool there, HomeAlreadyThere(home_dir, json));
    if (there) return absl::OkStatus();
  }
  HANSE_ASSIGN_OR_RETURN(BackupSummary summary, RestoreBackup(archive, home_dir));
  HANSE_ASSIGN_OR_RETURN(Home home, LoadHome(home_dir, Clock::Real().Now()),
                         "the restored home does not load");
  PrintResult(json,
              {{"did", home.identity.did},
               {"home", AbsolutePath(home_dir)},
               {"files", summary.files},
               {"backup_created", summary.created}},
              home.identity.did);
  std::fprintf(stderr,
               "Restored %s (backup of %s) into %s: %d files. At its first start the node asks "
               "the members how far it has signed and continues past that; it signs nothing "
               "until a member has answered. If this host has another address, set it first "
               "with `hanse card update --endpoint HOST:PORT`.\n",
               home.identity.did.c_str(), summary.created.c_str(), home_dir.c_str(), summary.files);
  return absl::OkStatus();
}

absl::Status CmdPeerAdd(const std::string& home_dir, const std::string& card_file, bool json) {
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
  PrintResult(json,
              {{"did", card.did},
               {"added", added},
               {"legal_name", card.legal_name},
               {"country", card.country},
               {"endpoint", card.endpoint}},
              absl::StrFormat("%s %s (%s, %s) at %s", added ? "trusted" : "already trusted",
                              card.did, card.legal_name, card.country, card.endpoint));
  return absl::OkStatus();
}

absl::Status CmdPeerList(const std::string& home_dir, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.ListPeers());
  if (json) {
    std::printf("%s\n", MessageJson(resp)["peers"].dump(2).c_str());
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
    nlohmann::json j = MessageJson(s);
    std::printf("%s\n", j.dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf(
      "DID:      %s\nName:     %s (%s)\nListen:   %s\nUptime:   %s\nStore:    %llu "
      "bytes\nVersion:  %s\nPeers:    %d\n",
      s.did().c_str(), s.legal_name().c_str(), s.country().c_str(), s.listen().c_str(),
      absl::FormatDuration(absl::Seconds(s.uptime_seconds())).c_str(),
      static_cast<unsigned long long>(s.store_bytes()), s.version().c_str(), s.peers_size());
  for (const auto& p : s.peers()) std::printf("  %s\n", PeerRow(p).c_str());
  std::printf("Disk:     %llu MiB free for the store\n",
              static_cast<unsigned long long>(s.store_free_bytes() >> 20));
  if (!s.store_scrub().empty()) std::printf("Scrub:    %s\n", s.store_scrub().c_str());
  if (!s.store_writes_refused().empty()) {
    std::printf("  WRITES REFUSED: %s\n", s.store_writes_refused().c_str());
  }
  if (s.needs_republication_size() > 0) {
    std::printf("Republish: %d dataset(s) whose source changed (hanse dataset list --mine):\n",
                s.needs_republication_size());
    for (const auto& id : s.needs_republication()) std::printf("  %s\n", id.c_str());
  }
  std::printf("TLS cert: valid until %s (renewed automatically before the end)\n",
              s.node_cert_not_after().c_str());
  std::printf("Sequence: %llu signed, %llu held\n",
              static_cast<unsigned long long>(s.own_sequence_signed()),
              static_cast<unsigned long long>(s.own_sequence_held()));
  if (s.own_sequence_held() < s.own_sequence_signed()) {
    std::printf(
        "  the store lost some of this node's own documents (damaged log or older backup); "
        "new ones continue past %llu, peers return what they hold\n",
        static_cast<unsigned long long>(s.own_sequence_signed()));
  }
  std::printf("Equivocators: %d\n", s.equivocators_size());
  for (const auto& did : s.equivocators()) {
    std::printf("  %s%s\n", did.c_str(), did == s.did() ? "  (this node)" : "");
    for (const auto& e : s.evidence()) {
      if (e.issuer() != did) continue;
      std::printf("    evidence %s: sequence %llu, %s and %s\n", e.id().c_str(),
                  static_cast<unsigned long long>(e.sequence()), e.first_document().c_str(),
                  e.second_document().c_str());
    }
  }
  if (s.flagged_by_size() > 0) {
    std::printf(
        "Flagged:  %d member(s) hold evidence that THIS node signed one sequence twice; they "
        "refuse its documents at that sequence and list it under Equivocators in their status "
        "(docs/operations.md, \"The node's own sequences\")\n",
        s.flagged_by_size());
    for (const auto& did : s.flagged_by()) std::printf("  %s\n", did.c_str());
  }
  return absl::OkStatus();
}

absl::Status CmdNodeRun(const std::string& home_dir, const std::string& log_format,
                        const std::string& log_level, bool sign_without_peers) {
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

  HANSE_ASSIGN_OR_RETURN(
      auto node,
      Node::Start(Node::Options{.home = home_dir, .sign_without_peers = sign_without_peers}));
  int sig = 0;
  sigwait(&signals, &sig);
  log::Info("signal received", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // A handler that never returns must not keep the process alive forever: after the grace
  // period and a margin, leave. Everything acknowledged was synced before it was acknowledged.
  absl::Duration grace = node->shutdown_grace();
  std::thread([grace] {
    absl::SleepFor(grace + absl::Seconds(10));
    log::Error(
        "calls still running after the shutdown grace period; exiting without a clean "
        "store close",
        {{"grace", absl::FormatDuration(grace)}});
    std::_Exit(2);
  }).detach();
  return node->Shutdown(grace);
}

}  // namespace hanse::node
