#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/status.h"
#include "catalog/catalog.h"
#include "catalog/dcat.h"
#include "catalog/query.h"
#include "node/publishing/publishing.h"
#include "node/rpc/admin_handlers.h"
#include "trust/did_key.h"
#include "trust/jws.h"

namespace hanse::node {

absl::Status MembershipAdmin::Join(const hanse::v1::JoinFederationRequest& req,
                                   hanse::v1::JoinFederationResponse* resp) {
  absl::Time now = node_->clock->Now();
  HANSE_ASSIGN_OR_RETURN(Charter charter, ParseCharter(req.charter(), now, true));
  HANSE_RETURN_IF_ERROR(node_->membership->Join(charter));
  if (!req.bootstrap().empty()) {
    HANSE_RETURN_IF_ERROR(ParseHostPort(req.bootstrap()).status(), "--bootstrap");
    // The bootstrap node may itself still be catching up on the newest records: ask again
    // briefly before reporting that this node is not (yet) a member.
    for (int attempt = 0; attempt < 5; ++attempt) {
      HANSE_RETURN_IF_ERROR(node_->gossip->FetchMembership(req.bootstrap()));
      if (node_->membership->state().members.count(node_->home->identity.did)) break;
      absl::SleepFor(absl::Milliseconds(300));
    }
  }
  node_->gossip->SyncSoon();
  MembershipState state = node_->membership->state();
  resp->set_federation_id(charter.id);
  resp->set_name(charter.name);
  resp->set_members(static_cast<uint32_t>(state.members.size()));
  resp->set_member(state.members.count(node_->home->identity.did) > 0);
  log::Info("joined federation", {{"federation", charter.id},
                                  {"name", charter.name},
                                  {"members", std::to_string(state.members.size())}});
  return absl::OkStatus();
}

absl::Status MembershipAdmin::Propose(const hanse::v1::ProposeMemberRequest& req,
                                      hanse::v1::MemberActionResponse* resp) {
  absl::Time now = node_->clock->Now();
  HANSE_ASSIGN_OR_RETURN(MemberCard card, VerifyCard(req.card_jws(), now));
  return Sign(MembershipAction::kAdmit, card.did, req.card_jws(), "", resp);
}

absl::Status MembershipAdmin::Endorse(const hanse::v1::EndorseMemberRequest& req,
                                      hanse::v1::MemberActionResponse* resp) {
  MembershipState state = node_->membership->state();
  auto it = state.pending_cards.find(req.did());
  if (it == state.pending_cards.end()) {
    if (state.members.count(req.did())) {
      return absl::AlreadyExistsError(absl::StrCat(req.did(), " is already a member"));
    }
    return absl::NotFoundError(absl::StrCat("no pending proposal for ", req.did(),
                                            " (a member proposes it with `hanse member propose`)"));
  }
  // Endorse exactly the card that was proposed.
  std::string card_jws;
  for (const auto& record : node_->membership->records()) {
    auto e = VerifyEndorsement(record, *node_->membership->charter(), node_->clock->Now());
    if (e.ok() && e->action == MembershipAction::kAdmit && e->subject == req.did()) {
      card_jws = e->subject_card;
      break;
    }
  }
  return Sign(MembershipAction::kAdmit, req.did(), card_jws, "", resp);
}

absl::Status MembershipAdmin::Revoke(const hanse::v1::RevokeMemberRequest& req,
                                     hanse::v1::MemberActionResponse* resp) {
  if (req.reason().empty()) return absl::InvalidArgumentError("--reason is required");
  if (!node_->membership->state().members.count(req.did())) {
    return absl::NotFoundError(absl::StrCat(req.did(), " is not a current member"));
  }
  return Sign(MembershipAction::kRevoke, req.did(), "", req.reason(), resp);
}

absl::Status MembershipAdmin::List(hanse::v1::ListMembersResponse* resp) {
  auto charter = node_->membership->charter();
  if (!charter) {
    return absl::FailedPreconditionError(
        "this node has not joined a federation (`hanse federation join`)");
  }
  MembershipState s = node_->membership->state();
  resp->set_federation_id(charter->id);
  resp->set_name(charter->name);
  resp->set_admission_threshold(charter->admission_threshold);
  resp->set_revocation_threshold(charter->revocation_threshold);
  std::map<std::string, std::vector<const catalog::EquivocationEvidence*>> equivocated;
  HANSE_ASSIGN_OR_RETURN(auto evidence, node_->catalog->Evidence());
  for (const auto& e : evidence) equivocated[e.issuer].push_back(&e);
  auto add = [&](auto* list, const MemberCard& card, const std::set<std::string>& signers) {
    auto* m = list->Add();
    ToProto(card, m->mutable_peer());
    for (const auto& d : signers) m->add_signers(d);
    if (auto it = equivocated.find(card.did); it != equivocated.end()) {
      for (const auto* e : it->second) {
        m->add_equivocated_at(e->sequence);
        ToProto(*e, m->add_evidence());
      }
    }
  };
  for (const auto& [did, card] : s.members) {
    auto it = s.admitted_by.find(did);
    add(resp->mutable_members(), card,
        it == s.admitted_by.end() ? std::set<std::string>{} : it->second);
  }
  for (const auto& [did, voters] : s.pending_admit) {
    add(resp->mutable_pending_admissions(), s.pending_cards[did], voters);
  }
  for (const auto& [did, voters] : s.revoked) {
    add(resp->mutable_revoked(), MemberCard{did, "", "", "", "", absl::UnixEpoch()}, voters);
  }
  for (const auto& [did, voters] : s.pending_revoke) {
    add(resp->mutable_pending_revocations(), s.members[did], voters);
  }
  for (const auto& [did, when] : s.left) {
    add(resp->mutable_left(), MemberCard{did, "", "", "", "", absl::UnixEpoch()}, {});
    resp->mutable_left()->rbegin()->set_left_at(
        absl::FormatTime(absl::RFC3339_sec, when, absl::UTCTimeZone()));
  }
  return absl::OkStatus();
}

absl::Status MembershipAdmin::Leave(const hanse::v1::LeaveFederationRequest& req,
                                    hanse::v1::MemberActionResponse* resp) {
  auto charter = node_->membership->charter();
  if (!charter) {
    return absl::FailedPreconditionError(
        "this node has not joined a federation (`hanse federation join`)");
  }
  const std::string& self = node_->home->identity.did;
  MembershipState before = node_->membership->state();
  if (before.left.count(self)) {
    return absl::FailedPreconditionError("this node has already left the federation");
  }
  if (!before.members.count(self)) {
    return absl::FailedPreconditionError("this node is not a current member");
  }
  if (req.reason().empty()) return absl::InvalidArgumentError("--reason is required");
  absl::Time now = node_->clock->Now();
  HANSE_ASSIGN_OR_RETURN(std::string jws,
                         SignEndorsement(*charter, MembershipAction::kLeave, self, "", req.reason(),
                                         node_->home->identity.participant_key, now));
  HANSE_RETURN_IF_ERROR(node_->membership->AddRecord(jws, now).status());
  // Offered with every membership call; those members answer while they still trust us, and
  // tell the rest by gossip.
  int told = 0, others = 0;
  for (const auto& [did, card] : before.members) {
    if (did == self) continue;
    ++others;
    if (node_->gossip->engine().FetchMembership(card).ok()) ++told;
  }
  resp->set_message(absl::StrCat("left federation ", charter->name, ": ", told, " of ", others,
                                 " members told at once, the rest learn it by gossip"));
  log::Warn(
      "this node left the federation",
      {{"federation", charter->id}, {"reason", req.reason()}, {"told", std::to_string(told)}});
  return absl::OkStatus();
}

absl::Status MembershipAdmin::Sign(MembershipAction action, const std::string& subject,
                                   const std::string& card_jws, const std::string& reason,
                                   hanse::v1::MemberActionResponse* resp) {
  auto charter = node_->membership->charter();
  if (!charter) {
    return absl::FailedPreconditionError(
        "this node has not joined a federation (`hanse federation join`)");
  }
  MembershipState before = node_->membership->state();
  if (!before.members.count(node_->home->identity.did)) {
    return absl::PermissionDeniedError("only current members can endorse or revoke");
  }
  if (before.revoked.count(subject)) {
    return absl::FailedPreconditionError(absl::StrCat(subject, " was revoked, permanently"));
  }
  absl::Time now = node_->clock->Now();
  HANSE_ASSIGN_OR_RETURN(std::string jws,
                         SignEndorsement(*charter, action, subject, card_jws, reason,
                                         node_->home->identity.participant_key, now));
  HANSE_ASSIGN_OR_RETURN(bool added, node_->membership->AddRecord(jws, now));
  if (added) {
    node_->gossip->PushRecordSoon(jws);
  } else {
    node_->gossip->SyncSoon();
  }
  MembershipState after = node_->membership->state();
  bool admit = action == MembershipAction::kAdmit;
  int needed = admit ? charter->admission_threshold : charter->revocation_threshold;
  size_t have =
      admit ? (after.members.count(subject) ? needed : after.pending_admit[subject].size())
            : (after.revoked.count(subject) ? needed : after.pending_revoke[subject].size());
  std::string outcome = admit ? (after.members.count(subject) ? "admitted" : "pending")
                              : (after.revoked.count(subject) ? "revoked" : "pending");
  resp->set_message(absl::StrCat(admit ? "admission of " : "revocation of ", subject, ": ", outcome,
                                 " (", have, " of ", needed, " signatures)"));
  log::Info(admit ? "admission endorsed" : "revocation vote",
            {{"subject", subject}, {"outcome", outcome}});
  return absl::OkStatus();
}

}  // namespace hanse::node
