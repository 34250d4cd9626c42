#include "node/federation/membership.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::node {
namespace {

using Json = nlohmann::json;

constexpr absl::string_view kCharterKey = "federation|charter";
constexpr absl::string_view kRecordPrefix = "federation|record|";

const char* ActionName(MembershipAction action) {
  switch (action) {
    case MembershipAction::kAdmit:
      return "admit";
    case MembershipAction::kRevoke:
      return "revoke";
    case MembershipAction::kCard:
      return "card";
    case MembershipAction::kLeave:
      return "leave";
  }
  return "";
}

absl::Status CharterError(absl::string_view msg) {
  return absl::InvalidArgumentError(absl::StrCat("charter: ", msg));
}

std::string CanonicalPayload(absl::string_view name, int k, int r,
                             const std::vector<std::string>& cards, absl::string_view created) {
  // nlohmann::json keeps object keys sorted: the dump is canonical for this shape.
  Json j = {{"type", "HanseCharter"},   {"name", std::string(name)},
            {"admission_threshold", k}, {"revocation_threshold", r},
            {"founders", cards},        {"created", std::string(created)}};
  return j.dump();
}

}  // namespace

absl::StatusOr<std::string> DraftCharter(absl::string_view name, int k, int r,
                                         const std::vector<std::string>& founder_card_files,
                                         absl::Time now) {
  if (name.empty() || name.size() > 200) return CharterError("--name must be 1-200 bytes");
  if (founder_card_files.empty()) return CharterError("at least one --founder card is needed");
  std::vector<std::string> cards;
  std::set<std::string> dids;
  for (const auto& file : founder_card_files) {
    HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(file, 256 * 1024));
    HANSE_ASSIGN_OR_RETURN(auto parsed, ParseCardFile(text, now), file);
    if (!dids.insert(parsed.second.did).second) {
      return CharterError(absl::StrCat(parsed.second.did, " is listed twice"));
    }
    cards.push_back(parsed.first);
  }
  int n = static_cast<int>(cards.size());
  if (k < 1 || k > n) return CharterError(absl::StrCat("--admission-threshold must be 1-", n));
  if (r < 1 || r > n) return CharterError(absl::StrCat("--revocation-threshold must be 1-", n));
  Charter c;
  c.name = std::string(name);
  c.admission_threshold = k;
  c.revocation_threshold = r;
  c.founder_cards = cards;
  c.payload = CanonicalPayload(name, k, r, cards,
                               absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now, absl::UTCTimeZone()));
  return CharterFile(c);
}

std::string CharterFile(const Charter& c) {
  nlohmann::ordered_json sigs = nlohmann::ordered_json::array();
  for (const auto& [did, jws] : c.signatures) sigs.push_back({{"did", did}, {"jws", jws}});
  nlohmann::ordered_json j = {{"charter", Json::parse(c.payload)}, {"signatures", sigs}};
  return j.dump(2) + "\n";
}

absl::StatusOr<Charter> ParseCharter(absl::string_view file, absl::Time now,
                                     bool require_all_signatures) {
  absl::StatusOr<Json> parsed = ParseJson(file);
  Json j = parsed.ok() ? *std::move(parsed) : Json();
  if (!j.is_object() || !j.contains("charter") || !j["charter"].is_object()) {
    return CharterError(
        "not a charter file (expected {\"charter\": {...}, \"signatures\": [...]})");
  }
  const Json& p = j["charter"];
  Charter c;
  if (p.value("type", "") != "HanseCharter") return CharterError("type is not HanseCharter");
  if (!p.contains("name") || !p["name"].is_string()) return CharterError("name missing");
  if (!p.contains("admission_threshold") || !p["admission_threshold"].is_number_integer() ||
      !p.contains("revocation_threshold") || !p["revocation_threshold"].is_number_integer()) {
    return CharterError("thresholds missing");
  }
  if (!p.contains("founders") || !p["founders"].is_array() || p["founders"].empty()) {
    return CharterError("founders missing");
  }
  if (!p.contains("created") || !p["created"].is_string()) return CharterError("created missing");
  c.name = p["name"].get<std::string>();
  c.admission_threshold = p["admission_threshold"].get<int>();
  c.revocation_threshold = p["revocation_threshold"].get<int>();
  for (const auto& card : p["founders"]) {
    if (!card.is_string()) return CharterError("founders must be card JWS strings");
    HANSE_ASSIGN_OR_RETURN(MemberCard mc, VerifyCard(card.get<std::string>(), now),
                           "charter founder");
    c.founder_cards.push_back(card.get<std::string>());
    c.founders.push_back(std::move(mc));
  }
  int n = static_cast<int>(c.founders.size());
  if (c.admission_threshold < 1 || c.admission_threshold > n || c.revocation_threshold < 1 ||
      c.revocation_threshold > n) {
    return CharterError("thresholds must be between 1 and the number of founders");
  }
  c.payload = CanonicalPayload(c.name, c.admission_threshold, c.revocation_threshold,
                               c.founder_cards, p["created"].get<std::string>());
  if (Json::parse(c.payload) != p) return CharterError("has fields this version does not know");
  c.id = trust::HexEncode(trust::Sha256(c.payload));
  std::set<std::string> founder_dids;
  for (const auto& f : c.founders) founder_dids.insert(f.did);
  if (j.contains("signatures")) {
    if (!j["signatures"].is_array()) return CharterError("signatures must be an array");
    for (const auto& s : j["signatures"]) {
      if (!s.is_object() || !s.contains("jws") || !s["jws"].is_string()) {
        return CharterError("a signature entry has no jws");
      }
      HANSE_ASSIGN_OR_RETURN(
          trust::VerifiedJws v,
          trust::VerifyCompact(s["jws"].get<std::string>(),
                               {.expected_typ = std::string(kCharterSignatureType)}),
          "charter signature");
      if (v.payload != c.payload) return CharterError("a signature covers another charter");
      if (!founder_dids.count(v.signer_did)) {
        return CharterError(absl::StrCat("signed by ", v.signer_did, ", who is not a founder"));
      }
      c.signatures[v.signer_did] = s["jws"].get<std::string>();
    }
  }
  if (require_all_signatures) {
    for (const auto& did : founder_dids) {
      if (!c.signatures.count(did)) {
        return absl::FailedPreconditionError(
            absl::StrCat("charter: founder ", did, " has not signed yet (", c.signatures.size(),
                         " of ", founder_dids.size(), " signatures)"));
      }
    }
  }
  return c;
}

absl::StatusOr<std::string> SignCharter(absl::string_view file, const trust::PrivateKey& key,
                                        absl::Time now) {
  HANSE_ASSIGN_OR_RETURN(Charter c, ParseCharter(file, now, false));
  std::string did = trust::EncodeDidKey(key.Public());
  bool founder = false;
  for (const auto& f : c.founders) founder = founder || f.did == did;
  if (!founder) return CharterError(absl::StrCat(did, " is not a founder of this charter"));
  HANSE_ASSIGN_OR_RETURN(c.signatures[did],
                         trust::SignCompact(key, trust::DidKeyVerificationMethod(did),
                                            kCharterSignatureType, c.payload));
  return CharterFile(c);
}

absl::StatusOr<std::string> SignEndorsement(const Charter& charter, MembershipAction action,
                                            absl::string_view subject,
                                            absl::string_view subject_card,
                                            absl::string_view reason, const trust::PrivateKey& key,
                                            absl::Time now) {
  std::string did = trust::EncodeDidKey(key.Public());
  bool self_statement = action == MembershipAction::kCard || action == MembershipAction::kLeave;
  if (self_statement && subject != did) {
    return absl::InvalidArgumentError(
        "membership record: a card update or a departure is signed by the member itself");
  }
  nlohmann::ordered_json j = {
      {"federation", charter.id},
      {"action", ActionName(action)},
      {"subject", std::string(subject)},
      {"issued", absl::FormatTime(absl::RFC3339_full, now, absl::UTCTimeZone())}};
  if (action == MembershipAction::kAdmit || action == MembershipAction::kCard) {
    j["card"] = std::string(subject_card);
  }
  if (action == MembershipAction::kRevoke || action == MembershipAction::kLeave) {
    j["reason"] = std::string(reason.substr(0, 500));
  }
  return trust::SignCompact(key, trust::DidKeyVerificationMethod(did), kEndorsementType, j.dump());
}

absl::StatusOr<Endorsement> VerifyEndorsement(absl::string_view jws, const Charter& charter,
                                              absl::Time now) {
  HANSE_ASSIGN_OR_RETURN(trust::VerifiedJws v,
                         trust::VerifyCompact(jws, {.expected_typ = std::string(kEndorsementType)}),
                         "membership record");
  absl::StatusOr<Json> parsed = ParseJson(v.payload);
  if (!parsed.ok() || !parsed->is_object()) {
    return absl::InvalidArgumentError("membership record: payload is not an object");
  }
  const Json& j = *parsed;
  Endorsement e;
  e.signer = v.signer_did;
  e.jws = std::string(jws);
  auto text = [&](const char* key) -> std::string {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
  };
  e.federation = text("federation");
  if (e.federation != charter.id) {
    return absl::InvalidArgumentError("membership record: for another federation");
  }
  std::string action = text("action");
  e.subject = text("subject");
  if (!trust::IsDidKey(e.subject)) {
    return absl::InvalidArgumentError("membership record: subject is not a did:key");
  }
  std::string issued = j.contains("issued") && j["issued"].is_string() ? j["issued"] : "";
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, issued, &e.issued, &error)) {
    return absl::InvalidArgumentError("membership record: issued is not an RFC 3339 time");
  }
  if (action == "admit" || action == "card") {
    e.action = action == "admit" ? MembershipAction::kAdmit : MembershipAction::kCard;
    e.subject_card = j.contains("card") && j["card"].is_string() ? j["card"] : "";
    HANSE_ASSIGN_OR_RETURN(e.card, VerifyCard(e.subject_card, now), "membership record card");
    if (e.card.did != e.subject) {
      return absl::InvalidArgumentError("membership record: card is for another DID");
    }
  } else if (action == "revoke" || action == "leave") {
    e.action = action == "revoke" ? MembershipAction::kRevoke : MembershipAction::kLeave;
    e.reason = j.contains("reason") && j["reason"].is_string() ? j["reason"] : "";
  } else {
    return absl::InvalidArgumentError("membership record: unknown action");
  }
  if ((e.action == MembershipAction::kCard || e.action == MembershipAction::kLeave) &&
      e.signer != e.subject) {
    return absl::InvalidArgumentError(
        "membership record: a card update or a departure must be signed by the member itself");
  }
  return e;
}

MembershipState ComputeMembership(const Charter& charter, const std::vector<Endorsement>& records) {
  MembershipState s;
  for (const auto& f : charter.founders) s.members[f.did] = f;
  // Departures apply after the fixpoint: the votes a member cast count as they did while it was
  // a member, whatever the dates it puts on its records (a back-dated departure must not undo a
  // revocation or an admission it voted for). New records of a departed signer are refused on
  // arrival (Membership::AddRecord).
  std::map<std::string, absl::Time> left;
  for (const auto& e : records) {
    if (e.action != MembershipAction::kLeave) continue;
    auto [it, fresh] = left.emplace(e.subject, e.issued);
    if (!fresh && e.issued < it->second) it->second = e.issued;
  }
  // Group signatures per statement (action + subject); the card of the first admission seen
  // for a subject is the one admitted.
  std::map<std::string, std::set<std::string>> admit_votes, revoke_votes;
  std::map<std::string, MemberCard> cards;
  // The latest issued card update per member; on equal issue times the smaller JWS, so every
  // node picks the same card whatever order the records came in.
  std::map<std::string, std::pair<MemberCard, std::string>> updates;
  for (const auto& e : records) {
    if (e.action == MembershipAction::kLeave) continue;
    if (e.action == MembershipAction::kCard) {
      auto [u, fresh] = updates.emplace(e.subject, std::make_pair(e.card, e.subject_card));
      const MemberCard& held = u->second.first;
      if (!fresh && (e.card.issued > held.issued ||
                     (e.card.issued == held.issued && e.subject_card < u->second.second))) {
        u->second = {e.card, e.subject_card};
      }
      continue;
    }
    if (e.action == MembershipAction::kAdmit) {
      admit_votes[e.subject].insert(e.signer);
      // Verified with the record; the first admission seen is the card admitted.
      if (!cards.count(e.subject)) cards[e.subject] = e.card;
    } else {
      revoke_votes[e.subject].insert(e.signer);
    }
  }
  auto count_current = [&](const std::set<std::string>& voters) {
    std::set<std::string> out;
    for (const auto& v : voters) {
      if (s.members.count(v) && !s.revoked.count(v)) out.insert(v);
    }
    return out;
  };
  bool changed = true;
  while (changed) {
    changed = false;
    for (const auto& [subject, voters] : revoke_votes) {
      if (s.revoked.count(subject) || !s.members.count(subject)) continue;
      auto current = count_current(voters);
      if (static_cast<int>(current.size()) >= charter.revocation_threshold) {
        s.revoked[subject] = current;
        s.members.erase(subject);
        changed = true;
      }
    }
    for (const auto& [subject, voters] : admit_votes) {
      if (s.members.count(subject) || s.revoked.count(subject) || !cards.count(subject)) continue;
      auto current = count_current(voters);
      if (static_cast<int>(current.size()) >= charter.admission_threshold) {
        s.members[subject] = cards[subject];
        s.admitted_by[subject] = current;
        changed = true;
      }
    }
  }
  for (const auto& [subject, voters] : admit_votes) {
    if (s.members.count(subject) || s.revoked.count(subject) || !cards.count(subject)) continue;
    s.pending_admit[subject] = count_current(voters);
    s.pending_cards[subject] = cards[subject];
  }
  for (const auto& [subject, voters] : revoke_votes) {
    if (s.revoked.count(subject) || !s.members.count(subject)) continue;
    s.pending_revoke[subject] = count_current(voters);
  }
  for (const auto& [did, when] : left) {
    if (!s.members.count(did)) continue;
    s.members.erase(did);
    s.admitted_by.erase(did);
    s.pending_revoke.erase(did);
    s.left[did] = when;
  }
  for (const auto& [did, update] : updates) {
    auto it = s.members.find(did);
    if (it != s.members.end() && update.first.issued > it->second.issued) {
      it->second = update.first;
    }
  }
  return s;
}

absl::Status Membership::Load(absl::Time now) {
  HANSE_ASSIGN_OR_RETURN(auto raw, store_->Get(catalog::Family::kMeta, kCharterKey));
  if (!raw.has_value()) return absl::OkStatus();
  // Stored charters were fully verified on join; re-verify anyway (cards may have expired).
  HANSE_ASSIGN_OR_RETURN(Charter c, ParseCharter(*raw, now, true), "stored charter");
  std::vector<Endorsement> records;
  std::set<std::string> hashes;
  absl::Status inner = absl::OkStatus();
  HANSE_RETURN_IF_ERROR(store_->Scan(
      catalog::Family::kMeta, kRecordPrefix, [&](absl::string_view key, absl::string_view value) {
        auto e = VerifyEndorsement(value, c, now);
        if (e.ok()) {
          records.push_back(*std::move(e));
          hashes.insert(std::string(key.substr(kRecordPrefix.size())));
        }
        return true;
      }));
  {
    std::lock_guard lock(mu_);
    charter_ = std::move(c);
    records_ = std::move(records);
    record_hashes_ = std::move(hashes);
    record_raw_.clear();
    for (const auto& e : records_) record_raw_.push_back(trust::Sha256(e.jws));
  }
  Recompute();
  return absl::OkStatus();
}

bool Membership::joined() const {
  std::lock_guard lock(mu_);
  return charter_.has_value();
}

std::optional<Charter> Membership::charter() const {
  std::lock_guard lock(mu_);
  return charter_;
}

MembershipState Membership::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

std::vector<std::string> Membership::records() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& e : records_) out.push_back(e.jws);
  return out;
}

absl::Status Membership::Join(const Charter& charter) {
  {
    std::lock_guard lock(mu_);
    if (charter_ && charter_->id != charter.id) {
      return absl::FailedPreconditionError(absl::StrCat("this node already belongs to federation ",
                                                        charter_->name, " (", charter_->id, ")"));
    }
    catalog::WriteBatch batch;
    batch.Put(catalog::Family::kMeta, kCharterKey, CharterFile(charter));
    HANSE_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
    charter_ = charter;
  }
  Recompute();
  return absl::OkStatus();
}

absl::StatusOr<bool> Membership::AddRecord(absl::string_view jws, absl::Time now) {
  return AddRecords({std::string(jws)}, now).front();
}

std::vector<absl::StatusOr<bool>> Membership::AddRecords(const std::vector<std::string>& jws,
                                                         absl::Time now) {
  std::vector<absl::StatusOr<bool>> results(jws.size(), false);
  std::optional<Charter> c = charter();
  if (!c) {
    for (auto& r : results)
      r = absl::FailedPreconditionError("this node has not joined a federation");
    return results;
  }
  // The records new to this node (each once), verified.
  struct Candidate {
    size_t index;
    std::string hash;
    Endorsement e;
  };
  std::vector<Candidate> fresh;
  {
    std::set<std::string> seen;
    for (size_t i = 0; i < jws.size(); ++i) {
      std::string hash = trust::HexEncode(trust::Sha256(jws[i]));
      {
        std::lock_guard lock(mu_);
        if (record_hashes_.count(hash)) continue;
        if (records_.size() + fresh.size() >= kMaxMembershipRecords) {
          results[i] = absl::ResourceExhaustedError("membership record limit reached");
          continue;
        }
      }
      if (!seen.insert(hash).second) continue;
      auto e = VerifyEndorsement(jws[i], *c, now);
      if (!e.ok()) {
        results[i] = e.status();
        continue;
      }
      fresh.push_back({i, std::move(hash), *std::move(e)});
    }
  }
  if (fresh.empty()) return results;
  // Self-statements apply to members: current ones, or members the votes of this batch admit.
  MembershipState current = state();
  bool self_statements = false, votes = false;
  for (const auto& f : fresh) {
    bool self = f.e.action == MembershipAction::kCard || f.e.action == MembershipAction::kLeave;
    (self ? self_statements : votes) = true;
  }
  if (self_statements && votes) {
    std::lock_guard lock(mu_);
    std::vector<Endorsement> with_votes = records_;
    for (const auto& f : fresh) {
      if (f.e.action == MembershipAction::kAdmit || f.e.action == MembershipAction::kRevoke) {
        with_votes.push_back(f.e);
      }
    }
    current = ComputeMembership(*charter_, with_votes);
  }
  std::vector<Candidate*> accepted;
  for (auto& f : fresh) {
    if (current.left.count(f.e.signer)) {
      results[f.index] = absl::FailedPreconditionError(
          absl::StrCat("membership record: ", f.e.signer, " has left the federation"));
      continue;
    }
    bool self = f.e.action == MembershipAction::kCard || f.e.action == MembershipAction::kLeave;
    if (self && !current.members.count(f.e.signer)) {
      results[f.index] = absl::FailedPreconditionError(
          absl::StrCat("membership record: ", f.e.signer, " is not a current member"));
      continue;
    }
    accepted.push_back(&f);
  }
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    catalog::WriteBatch batch;
    std::vector<Candidate*> stored;
    for (Candidate* f : accepted) {
      if (!record_hashes_.insert(f->hash).second) continue;  // added meanwhile
      batch.Put(catalog::Family::kMeta, absl::StrCat(kRecordPrefix, f->hash), jws[f->index]);
      stored.push_back(f);
    }
    if (stored.empty()) return results;
    absl::Status s = store_->Write(batch, /*sync=*/true);
    for (Candidate* f : stored) {
      if (!s.ok()) {
        record_hashes_.erase(f->hash);
        results[f->index] = s;
        continue;
      }
      records_.push_back(std::move(f->e));
      record_raw_.push_back(trust::Sha256(jws[f->index]));
      results[f->index] = true;
      changed = true;
    }
  }
  if (changed) Recompute();
  return results;
}

std::string Membership::RecordsRoot() const {
  std::lock_guard lock(mu_);
  return records_root_;
}

std::vector<std::string> Membership::RecordHashes() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out = record_raw_;
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Membership::RecordsNotIn(const std::set<std::string>& held) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (size_t i = 0; i < records_.size(); ++i) {
    if (!held.count(record_raw_[i])) out.push_back(records_[i].jws);
  }
  return out;
}

std::vector<std::string> Membership::SelfStatements(size_t limit) const {
  std::lock_guard lock(mu_);
  // The card each current member holds, as signed in a card update, then departures.
  std::vector<std::string> out;
  std::map<std::string, const Endorsement*> latest_card;
  std::vector<const Endorsement*> departures;
  for (const auto& e : records_) {
    if (e.action == MembershipAction::kLeave && state_.left.count(e.subject)) {
      departures.push_back(&e);
    } else if (e.action == MembershipAction::kCard && state_.members.count(e.subject)) {
      const Endorsement*& best = latest_card[e.subject];
      if (best == nullptr || e.card.issued > best->card.issued ||
          (e.card.issued == best->card.issued && e.subject_card < best->subject_card)) {
        best = &e;
      }
    }
  }
  for (const auto& [did, e] : latest_card) {
    if (out.size() < limit) out.push_back(e->jws);
  }
  for (const Endorsement* e : departures) {
    if (out.size() < limit) out.push_back(e->jws);
  }
  return out;
}

void Membership::OnChange(std::function<void(const MembershipState&)> callback) {
  std::lock_guard lock(mu_);
  callbacks_.push_back(std::move(callback));
}

void Membership::Recompute() {
  MembershipState s;
  std::vector<std::function<void(const MembershipState&)>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (!charter_) return;
    state_ = ComputeMembership(*charter_, records_);
    std::string all;
    for (const auto& hex : record_hashes_) all += hex;
    records_root_ = trust::Sha256(all);
    s = state_;
    callbacks = callbacks_;
  }
  for (auto& cb : callbacks) cb(s);
}

}  // namespace hanse::node
