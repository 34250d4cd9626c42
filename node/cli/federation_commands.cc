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
#include "base/version.h"
#include "catalog/document.h"
#include "catalog/store.h"
#include "nlohmann/json.hpp"
#include "node/cli/commands.h"
#include "node/cli/contract_commands.h"
#include "node/daemon/node.h"
#include "node/federation/membership.h"
#include "node/federation/peers.h"
#include "node/identity/card.h"
#include "node/identity/home.h"
#include "node/rpc/admin_client.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "policy/request.h"

namespace hanse::node {

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
                               const std::string& bootstrap, bool json) {
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(charter_file, 4 << 20));
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.JoinFederation(text, bootstrap), charter_file);
  PrintResult(json, MessageJson(resp),
              absl::StrFormat("joined federation \"%s\" (id %s): %u members; this node is %s",
                              resp.name(), resp.federation_id(), resp.members(),
                              resp.member() ? "a member" : "not (yet) a member"));
  return absl::OkStatus();
}

absl::Status CmdMemberPropose(const std::string& home_dir, const std::string& card_file,
                              bool json) {
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(card_file, 256 * 1024));
  HANSE_ASSIGN_OR_RETURN(auto parsed, ParseCardFile(text, Clock::Real().Now()), card_file);
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(std::string msg, client.ProposeMember(parsed.first));
  PrintResult(json, {{"message", msg}}, msg);
  return absl::OkStatus();
}

absl::Status CmdMemberEndorse(const std::string& home_dir, const std::string& did, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(std::string msg, client.EndorseMember(did));
  PrintResult(json, {{"message", msg}}, msg);
  return absl::OkStatus();
}

absl::Status CmdMemberRevoke(const std::string& home_dir, const std::string& did,
                             const std::string& reason, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(std::string msg, client.RevokeMember(did, reason));
  PrintResult(json, {{"message", msg}}, msg);
  return absl::OkStatus();
}

absl::Status CmdMemberList(const std::string& home_dir, bool pending_only, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.ListMembers());
  if (json) {
    // Each member's card fields sit beside its signers (the peer is not nested).
    nlohmann::json j = MessageJson(resp);
    for (const char* list :
         {"members", "pending_admissions", "revoked", "pending_revocations", "left"}) {
      for (auto& m : j[list]) {
        nlohmann::json peer = std::move(m["peer"]);
        m.erase("peer");
        m.update(peer);
      }
    }
    std::printf("%s\n", j.dump(2).c_str());
    return absl::OkStatus();
  }
  auto print = [](const char* title, const auto& list, const char* signers_label) {
    std::printf("%s (%d)\n", title, list.size());
    for (const auto& m : list) {
      std::printf("  %s  %s %s%s%s\n", m.peer().did().c_str(), m.peer().country().c_str(),
                  m.peer().legal_name().c_str(), m.peer().endpoint().empty() ? "" : "  at ",
                  m.peer().endpoint().c_str());
      if (m.signers_size() > 0) {
        std::printf("      %s %s\n", signers_label, absl::StrJoin(m.signers(), ", ").c_str());
      }
      if (m.equivocated_at_size() > 0) {
        std::printf(
            "      EQUIVOCATED: signed two different documents at sequence %s "
            "(evidence held; its documents at that sequence are refused)\n",
            absl::StrJoin(m.equivocated_at(), ", ").c_str());
        for (const auto& e : m.evidence()) {
          std::printf("        evidence %s: sequence %llu, %s and %s\n", e.id().c_str(),
                      static_cast<unsigned long long>(e.sequence()), e.first_document().c_str(),
                      e.second_document().c_str());
        }
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
  if (!pending_only && resp.left_size() > 0) {
    std::printf("Left (%d)\n", resp.left_size());
    for (const auto& m : resp.left()) {
      std::printf("  %s  left %s\n", m.peer().did().c_str(), m.left_at().c_str());
    }
  }
  return absl::OkStatus();
}

absl::Status CmdFederationLeave(const std::string& home_dir, const std::string& reason, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(std::string msg, client.LeaveFederation(reason));
  PrintResult(json, {{"message", msg}}, msg);
  return absl::OkStatus();
}

}  // namespace hanse::node
