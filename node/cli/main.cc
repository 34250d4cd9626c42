// The `hanse` command: node setup, the daemon, and the operator's tools.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
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
#include "base/log.h"
#include "base/status.h"
#include "catalog/document.h"
#include "catalog/store.h"
#include "nlohmann/json.hpp"
#include "node/cli/admin_client.h"
#include "node/cli/contract_commands.h"
#include "node/daemon/node.h"
#include "node/daemon/version.h"
#include "node/federation/membership.h"
#include "node/federation/peers.h"
#include "node/identity/card.h"
#include "node/identity/home.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "policy/request.h"

namespace hanse::node {
namespace {

constexpr const char* kInitHelp =
    R"(Create a node home: a participant key (the root of this member's identity) and its
did:key DID, a separate node TLS key with an X.509 certificate issued by the participant
key (DID as URI SAN; clientAuth and serverAuth), config.json, and an empty RocksDB store.
Key files are written with mode 0600. An existing directory is never touched.)";

constexpr const char* kRunHelp =
    R"(Run the node in the foreground: the federation gRPC server (mutual TLS; callers must
present a certificate issued by a trusted peer's participant key) and the admin gRPC server
on DIR/admin.sock (mode 0600). SIGTERM or SIGINT stops it gracefully: no new calls, calls in
flight get shutdown_grace_seconds, the store is closed, exit code 0.)";

void PrintError(const absl::Status& status) {
  std::fprintf(stderr, "hanse: error: %s\n", std::string(status.message()).c_str());
}

std::string PeerRow(const hanse::v1::Peer& p) {
  return absl::StrFormat("%-60s %-22s %-2s %s", p.did(), p.endpoint(), p.country(), p.legal_name());
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
      peers.push_back({{"did", p.did()},
                       {"endpoint", p.endpoint()},
                       {"legal_name", p.legal_name()},
                       {"country", p.country()}});
    }
    nlohmann::json j = {{"did", s.did()},
                        {"listen", s.listen()},
                        {"legal_name", s.legal_name()},
                        {"country", s.country()},
                        {"peers", peers},
                        {"uptime_seconds", s.uptime_seconds()},
                        {"store_bytes", s.store_bytes()},
                        {"version", s.version()},
                        {"equivocators", std::vector<std::string>(s.equivocators().begin(),
                                                                  s.equivocators().end())},
                        {"own_sequence_held", s.own_sequence_held()},
                        {"own_sequence_signed", s.own_sequence_signed()}};
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
  for (const auto& did : s.equivocators()) std::printf("  %s\n", did.c_str());
  return absl::OkStatus();
}

nlohmann::json SummaryJson(const hanse::v1::DatasetSummary& d) {
  return {{"id", d.id()},
          {"title", d.title()},
          {"publisher", d.publisher()},
          {"issuer", d.issuer()},
          {"sequence", d.sequence()},
          {"issued", d.issued()},
          {"themes", std::vector<std::string>(d.themes().begin(), d.themes().end())},
          {"keywords", std::vector<std::string>(d.keywords().begin(), d.keywords().end())},
          {"media_type", d.media_type()},
          {"byte_size", d.byte_size()},
          {"language", d.language()},
          {"license", d.license()},
          {"hosting_location", d.hosting_location()}};
}

// Shortens to at most n bytes without cutting a UTF-8 sequence.
std::string Clip(absl::string_view s, size_t n) {
  if (s.size() <= n) return std::string(s);
  size_t cut = n - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(s.substr(0, cut), "...");
}

absl::Status CmdDatasetPublish(const std::string& home_dir, const std::string& file, bool json) {
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(file, 1 << 20));
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.PublishDataset(text), file);
  if (json) {
    std::printf("%s\n",
                nlohmann::json(
                    {{"id", resp.id()}, {"sequence", resp.sequence()}, {"outcome", resp.outcome()}})
                    .dump(2)
                    .c_str());
  } else {
    std::printf("%s\n", resp.id().c_str());
  }
  return absl::OkStatus();
}

absl::Status CmdDatasetList(const std::string& home_dir, bool mine, int limit, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  hanse::v1::ListDatasetsRequest req;
  req.set_mine(mine);
  req.set_limit(static_cast<uint32_t>(limit));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.ListDatasets(req));
  if (json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& d : resp.datasets()) arr.push_back(SummaryJson(d));
    std::printf("%s\n", arr.dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("%-40s %-10s %-4s %s\n", "TITLE", "ISSUED", "SEQ", "ID");
  for (const auto& d : resp.datasets()) {
    std::printf("%-40s %-10s %-4llu %s\n", Clip(d.title(), 40).c_str(), d.issued().c_str(),
                static_cast<unsigned long long>(d.sequence()), d.id().c_str());
  }
  if (!resp.next_after().empty()) std::printf("(more: raise --limit)\n");
  return absl::OkStatus();
}

absl::Status CmdDatasetShow(const std::string& home_dir, const std::string& id, bool jws) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.GetDocument(id));
  if (jws) {
    std::printf("%s\n", resp.jws().c_str());
  } else {
    auto j = nlohmann::json::parse(resp.payload_json(), nullptr, false);
    std::printf("%s\n", j.dump(2).c_str());
  }
  return absl::OkStatus();
}

absl::Status CmdDatasetUnpublish(const std::string& home_dir, const std::string& id) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.UnpublishDataset(id));
  std::printf("unpublished %s (tombstone sequence %llu)\n", id.c_str(),
              static_cast<unsigned long long>(resp.sequence()));
  return absl::OkStatus();
}

absl::Status CmdSearch(const std::string& home_dir, const std::vector<std::string>& words,
                       int limit, const std::string& cursor, bool live, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  hanse::v1::SearchRequest req;
  req.set_query(absl::StrJoin(words, " "));
  req.set_limit(static_cast<uint32_t>(limit));
  req.set_cursor(cursor);
  req.set_live(live);
  HANSE_ASSIGN_OR_RETURN(auto resp, client.Search(req));
  if (json) {
    nlohmann::json hits = nlohmann::json::array();
    for (const auto& h : resp.hits()) {
      auto j = SummaryJson(h.dataset());
      j["score"] = h.score();
      hits.push_back(j);
    }
    nlohmann::json out = {{"hits", hits},
                          {"next_cursor", resp.next_cursor()},
                          {"total_estimate", resp.total_estimate()}};
    if (live) {
      out["answered"] = std::vector<std::string>(resp.answered().begin(), resp.answered().end());
      out["failed"] = std::vector<std::string>(resp.failed().begin(), resp.failed().end());
    }
    std::printf("%s\n", out.dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("%-6s %-40s %-28s %-10s %s\n", "SCORE", "TITLE", "PUBLISHER", "ISSUED", "ID");
  for (const auto& h : resp.hits()) {
    const auto& d = h.dataset();
    std::printf("%-6.2f %-40s %-28s %-10s %s\n", h.score(), Clip(d.title(), 40).c_str(),
                Clip(d.publisher(), 28).c_str(), d.issued().c_str(), d.id().c_str());
  }
  if (live) {
    std::printf("live: %d member(s) answered, %d did not\n", resp.answered_size(),
                resp.failed_size());
    for (const auto& f : resp.failed()) std::printf("  no answer: %s\n", f.c_str());
  }
  std::printf("%d shown, about %llu match%s\n", resp.hits_size(),
              static_cast<unsigned long long>(resp.total_estimate()),
              resp.next_cursor().empty()
                  ? ""
                  : absl::StrCat("; next page: --cursor ", resp.next_cursor()).c_str());
  return absl::OkStatus();
}

absl::Status CmdCatalogExport(const std::string& home_dir, const std::string& format) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  return client.ExportCatalog(
      format, [](const std::string& data) { std::fwrite(data.data(), 1, data.size(), stdout); });
}

// Offline: needs no node. Each non-empty line of FILE is one compact JWS.
absl::Status CmdDocumentVerify(const std::string& file, bool json) {
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(file, 256u << 20));
  absl::Time now = Clock::Real().Now();
  int bad = 0, total = 0;
  nlohmann::json results = nlohmann::json::array();
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    line = absl::StripAsciiWhitespace(line);
    ++total;
    auto v = catalog::VerifyDocument(line, now);
    if (v.ok()) {
      const auto& d = v->doc;
      if (json) {
        results.push_back({{"valid", true},
                           {"kind", catalog::DocumentKindName(d.kind)},
                           {"id", d.id},
                           {"issuer", d.issuer},
                           {"sequence", d.sequence}});
      } else {
        std::printf("valid   %-11s seq %-4llu %s\n",
                    std::string(catalog::DocumentKindName(d.kind)).c_str(),
                    static_cast<unsigned long long>(d.sequence), d.id.c_str());
      }
    } else {
      ++bad;
      if (json) {
        results.push_back(
            {{"valid", false}, {"line", total}, {"reason", std::string(v.status().message())}});
      } else {
        std::printf("INVALID line %d: %s\n", total, std::string(v.status().message()).c_str());
      }
    }
  }
  if (json) std::printf("%s\n", results.dump(2).c_str());
  if (total == 0) return absl::InvalidArgumentError(absl::StrCat(file, ": no document found"));
  if (bad > 0) {
    return absl::InvalidArgumentError(absl::StrCat(bad, " of ", total, " documents failed"));
  }
  return absl::OkStatus();
}

absl::Status CmdFederationDraft(const std::string& name, int k, int r,
                                const std::vector<std::string>& founders) {
  HANSE_ASSIGN_OR_RETURN(std::string file, DraftCharter(name, k, r, founders, Clock::Real().Now()));
  std::fwrite(file.data(), 1, file.size(), stdout);
  return absl::OkStatus();
}

absl::Status CmdFederationSign(const std::string& home_dir, const std::string& charter_file,
                               const std::string& out) {
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(charter_file, 4 << 20));
  absl::Time now = Clock::Real().Now();
  HANSE_ASSIGN_OR_RETURN(Home home, LoadHome(home_dir, now));
  HANSE_ASSIGN_OR_RETURN(std::string signed_file,
                         SignCharter(text, home.identity.participant_key, now), charter_file);
  HANSE_ASSIGN_OR_RETURN(Charter c, ParseCharter(signed_file, now, false));
  std::fprintf(stderr, "signed as %s: %zu of %zu founders have signed\n", home.identity.did.c_str(),
               c.signatures.size(), c.founders.size());
  if (out.empty()) {
    std::fwrite(signed_file.data(), 1, signed_file.size(), stdout);
    return absl::OkStatus();
  }
  return WriteFileAtomic(out, signed_file, 0644);
}

absl::Status CmdFederationJoin(const std::string& home_dir, const std::string& charter_file,
                               const std::string& bootstrap) {
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(charter_file, 4 << 20));
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.JoinFederation(text, bootstrap), charter_file);
  std::printf("joined federation \"%s\" (id %s): %u members; this node is %s\n",
              resp.name().c_str(), resp.federation_id().c_str(), resp.members(),
              resp.member() ? "a member" : "not (yet) a member");
  return absl::OkStatus();
}

absl::Status CmdMemberPropose(const std::string& home_dir, const std::string& card_file) {
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(card_file, 256 * 1024));
  HANSE_ASSIGN_OR_RETURN(auto parsed, ParseCardFile(text, Clock::Real().Now()), card_file);
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(std::string msg, client.ProposeMember(parsed.first));
  std::printf("%s\n", msg.c_str());
  return absl::OkStatus();
}

absl::Status CmdMemberEndorse(const std::string& home_dir, const std::string& did) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(std::string msg, client.EndorseMember(did));
  std::printf("%s\n", msg.c_str());
  return absl::OkStatus();
}

absl::Status CmdMemberRevoke(const std::string& home_dir, const std::string& did,
                             const std::string& reason) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(std::string msg, client.RevokeMember(did, reason));
  std::printf("%s\n", msg.c_str());
  return absl::OkStatus();
}

absl::Status CmdMemberList(const std::string& home_dir, bool pending_only, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.ListMembers());
  auto to_json = [](const auto& list) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& m : list) {
      arr.push_back(
          {{"did", m.peer().did()},
           {"legal_name", m.peer().legal_name()},
           {"country", m.peer().country()},
           {"endpoint", m.peer().endpoint()},
           {"signers", std::vector<std::string>(m.signers().begin(), m.signers().end())}});
    }
    return arr;
  };
  if (json) {
    nlohmann::json j = {{"federation_id", resp.federation_id()},
                        {"name", resp.name()},
                        {"admission_threshold", resp.admission_threshold()},
                        {"revocation_threshold", resp.revocation_threshold()},
                        {"members", to_json(resp.members())},
                        {"pending_admissions", to_json(resp.pending_admissions())},
                        {"revoked", to_json(resp.revoked())},
                        {"pending_revocations", to_json(resp.pending_revocations())}};
    std::printf("%s\n", j.dump(2).c_str());
    return absl::OkStatus();
  }
  auto print = [](const char* title, const auto& list, const char* signers_label) {
    std::printf("%s (%d)\n", title, list.size());
    for (const auto& m : list) {
      std::printf("  %s  %s %s\n", m.peer().did().c_str(), m.peer().country().c_str(),
                  m.peer().legal_name().c_str());
      if (m.signers_size() > 0) {
        std::printf("      %s %s\n", signers_label, absl::StrJoin(m.signers(), ", ").c_str());
      }
    }
  };
  std::printf("Federation \"%s\" (%s), admission %u-of-n, revocation %u-of-n\n",
              resp.name().c_str(), resp.federation_id().substr(0, 16).c_str(),
              resp.admission_threshold(), resp.revocation_threshold());
  if (!pending_only) print("Members", resp.members(), "admitted by");
  print("Pending admissions", resp.pending_admissions(), "endorsed by");
  print("Pending revocations", resp.pending_revocations(), "votes:");
  if (!pending_only) print("Revoked", resp.revoked(), "revoked by");
  return absl::OkStatus();
}

// Exit codes: 0 permit, 1 deny, 2 unreadable or malformed input.
int CmdPolicyCheck(const std::string& policy_file, const std::string& request_file, bool json) {
  auto policy_text = ReadFile(policy_file, 1 << 20);
  auto request_text = ReadFile(request_file, 1 << 20);
  if (!policy_text.ok() || !request_text.ok()) {
    PrintError(!policy_text.ok() ? policy_text.status() : request_text.status());
    return 2;
  }
  auto parsed = policy::ParsePolicy(*policy_text);
  if (!parsed.ok()) {
    PrintError(Annotate(parsed.status(), policy_file));
    return 2;
  }
  auto request = policy::ParseRequest(*request_text, Clock::Real().Now());
  if (!request.ok()) {
    PrintError(Annotate(request.status(), request_file));
    return 2;
  }
  policy::Decision decision = policy::Evaluate(*parsed, *request);
  std::string out = policy::CheckCommandOutput(decision, json);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return decision.permit ? 0 : 1;
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

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "hanse: a federated data-space node. Each member organisation runs one node;\n"
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
  init->add_option("--home", init_options.dir, "Directory to create (must not exist)")->required();
  init->add_option("--name", init_options.legal_name, "Legal name of the member organisation")
      ->required();
  init->add_option("--country", init_options.country,
                   "Country of legal seat, ISO 3166-1 alpha-2 (e.g. FR)")
      ->required();
  init->add_option("--listen", init_options.listen,
                   "Federation address HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  init->add_option("--registration-number", init_options.registration_number,
                   "Company or public-body registration number (in the self-description)");
  init->add_option("--jurisdiction", init_options.jurisdictions,
                   "A jurisdiction whose law applies to the member (ISO code or EU; repeat; "
                   "default: the country)");
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

  auto* dataset = app.add_subcommand("dataset", "Publish and manage this node's datasets");
  dataset->require_subcommand(1);
  std::string file, id;
  int limit = 0;
  bool mine = false, show_jws = false;
  auto* ds_publish = dataset->add_subcommand(
      "publish", "Sign and publish a dataset description (docs/catalogue.md: the JSON format)");
  add_home(ds_publish);
  ds_publish->add_option("file", file, "Publish JSON file")->required();
  ds_publish->add_flag("--json", json, "JSON output");
  auto* ds_list = dataset->add_subcommand("list", "List datasets in the local catalogue");
  add_home(ds_list);
  ds_list->add_flag("--mine", mine, "Only this node's datasets");
  ds_list->add_option("--limit", limit, "At most N rows (default 100)");
  ds_list->add_flag("--json", json, "JSON output");
  auto* ds_show = dataset->add_subcommand("show", "Show one document (decoded, or --jws)");
  add_home(ds_show);
  ds_show->add_option("id", id, "Document id")->required();
  ds_show->add_flag("--jws", show_jws, "Print the signed compact JWS");
  auto* ds_unpublish = dataset->add_subcommand("unpublish", "Publish a signed tombstone");
  add_home(ds_unpublish);
  ds_unpublish->add_option("id", id, "Dataset id")->required();

  std::vector<std::string> query_words;
  std::string cursor;
  int search_limit = 10;
  auto* search = app.add_subcommand(
      "search", "Search the catalogue, e.g. 'air quality theme:environment country:FR'");
  add_home(search);
  search->add_option("query", query_words, "Query (docs/catalogue.md: syntax)");
  search->add_option("--limit", search_limit, "Hits per page (1-1000)")->capture_default_str();
  search->add_option("--cursor", cursor, "Continue from a previous page");
  search->add_flag("--json", json, "JSON output");
  bool live = false;
  search->add_flag("--live", live,
                   "Ask every member now (2 s deadline) instead of the local replica; reports "
                   "who answered");

  auto* catalog_cmd = app.add_subcommand("catalog", "The catalogue as a whole");
  catalog_cmd->require_subcommand(1);
  std::string format = "dcat";
  auto* export_cmd = catalog_cmd->add_subcommand(
      "export", "DCAT JSON-LD (a Dataspace Protocol catalog), or every signed document as JWS");
  add_home(export_cmd);
  export_cmd->add_option("--format", format, "dcat or jws")
      ->check(CLI::IsMember({"dcat", "jws"}))
      ->capture_default_str();

  auto* document = app.add_subcommand("document", "Signed documents");
  document->require_subcommand(1);
  auto* doc_verify = document->add_subcommand(
      "verify", "Verify signed documents offline (one compact JWS per line); says why one fails");
  doc_verify->add_option("file", file, "File with compact JWS documents")->required();
  doc_verify->add_flag("--json", json, "JSON output");

  auto* federation = app.add_subcommand("federation", "Found or join a federation (a charter)");
  federation->require_subcommand(1);
  std::string fed_name, charter_file, bootstrap, out_file;
  int k_admit = 0, k_revoke = 0;
  std::vector<std::string> founder_cards;
  auto* fed_draft = federation->add_subcommand(
      "draft", "Write an unsigned charter: name, thresholds, founders' cards (to stdout)");
  fed_draft->add_option("--name", fed_name, "Federation name")->required();
  fed_draft
      ->add_option("--admission-threshold", k_admit,
                   "Endorsements of distinct members needed to admit")
      ->required();
  fed_draft
      ->add_option("--revocation-threshold", k_revoke, "Votes of distinct members needed to revoke")
      ->required();
  fed_draft->add_option("--founder", founder_cards, "A founder's card file (repeat)")->required();
  auto* fed_sign = federation->add_subcommand(
      "sign", "Add this founder's signature to a charter (prints the signed charter)");
  add_home(fed_sign);
  fed_sign->add_option("charter", charter_file, "Charter file")->required();
  fed_sign->add_option("--out", out_file, "Write to FILE instead of stdout");
  auto* fed_join = federation->add_subcommand(
      "join", "Join the federation of a charter signed by every founder (the node must run)");
  add_home(fed_join);
  fed_join->add_option("charter", charter_file, "Charter file")->required();
  fed_join->add_option("--bootstrap", bootstrap,
                       "HOST:PORT of any member to fetch membership records from");

  auto* member = app.add_subcommand("member", "Admission and revocation of members");
  member->require_subcommand(1);
  std::string did, reason;
  auto* m_propose = member->add_subcommand("propose", "Propose an applicant (your endorsement)");
  add_home(m_propose);
  m_propose->add_option("card", file, "The applicant's card file")->required();
  auto* m_endorse = member->add_subcommand("endorse", "Endorse a pending applicant");
  add_home(m_endorse);
  m_endorse->add_option("did", did, "The applicant's DID")->required();
  auto* m_revoke = member->add_subcommand("revoke", "Vote to revoke a member (permanent at R)");
  add_home(m_revoke);
  m_revoke->add_option("did", did, "The member's DID")->required();
  m_revoke->add_option("--reason", reason, "Why (recorded in the signed vote)")->required();
  auto* m_list = member->add_subcommand("list", "Members, who endorsed whom, pending, revoked");
  add_home(m_list);
  m_list->add_flag("--json", json, "JSON output");
  auto* m_pending = member->add_subcommand("pending", "Pending admissions and revocations");
  add_home(m_pending);
  m_pending->add_flag("--json", json, "JSON output");

  auto* policy_cmd = app.add_subcommand("policy", "Usage policies (ODRL)");
  policy_cmd->require_subcommand(1);
  std::string policy_file, request_file;
  auto* policy_check = policy_cmd->add_subcommand(
      "check",
      "Evaluate a policy against a request offline and print the decision with its "
      "trace (exit 0 permit, 1 deny, 2 bad input)");
  policy_check->add_option("--policy", policy_file, "ODRL policy (JSON-LD)")->required();
  policy_check->add_option("--request", request_file, "Request (docs/policies.md)")->required();
  policy_check->add_flag("--json", json, "JSON output");

  auto contract_commands = AddContractCommands(app, &home, add_home);

  auto* status = app.add_subcommand("status", "Show a running node's DID, address, peers, uptime");
  add_home(status);
  status->add_flag("--json", json, "JSON output");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (*policy_check) return CmdPolicyCheck(policy_file, request_file, json);
  if (auto code = RunContractCommands(*contract_commands)) return *code;

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
  } else if (*ds_publish) {
    result = CmdDatasetPublish(home, file, json);
  } else if (*ds_list) {
    result = CmdDatasetList(home, mine, limit, json);
  } else if (*ds_show) {
    result = CmdDatasetShow(home, id, show_jws);
  } else if (*ds_unpublish) {
    result = CmdDatasetUnpublish(home, id);
  } else if (*search) {
    result = CmdSearch(home, query_words, search_limit, cursor, live, json);
  } else if (*export_cmd) {
    result = CmdCatalogExport(home, format);
  } else if (*doc_verify) {
    result = CmdDocumentVerify(file, json);
  } else if (*fed_draft) {
    result = CmdFederationDraft(fed_name, k_admit, k_revoke, founder_cards);
  } else if (*fed_sign) {
    result = CmdFederationSign(home, charter_file, out_file);
  } else if (*fed_join) {
    result = CmdFederationJoin(home, charter_file, bootstrap);
  } else if (*m_propose) {
    result = CmdMemberPropose(home, file);
  } else if (*m_endorse) {
    result = CmdMemberEndorse(home, did);
  } else if (*m_revoke) {
    result = CmdMemberRevoke(home, did, reason);
  } else if (*m_list) {
    result = CmdMemberList(home, false, json);
  } else if (*m_pending) {
    result = CmdMemberList(home, true, json);
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
