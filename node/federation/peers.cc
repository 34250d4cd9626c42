#include "node/federation/peers.h"

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"

namespace hanse::node {

absl::Status PeerRegistry::Load(absl::Time now) {
  std::map<std::string, std::pair<std::string, MemberCard>, std::less<>> loaded;
  absl::Status scan =
      store_->Scan(catalog::Family::kPeers, "", [&](absl::string_view did, absl::string_view jws) {
        auto card = VerifyCard(jws, now);
        if (!card.ok()) {
          // A card that no longer verifies (expired CA) is not trusted; say so, keep going.
          log::Warn("stored peer card no longer verifies; not trusted",
                    {{"did", std::string(did)}, {"reason", std::string(card.status().message())}});
          return true;
        }
        loaded.emplace(std::string(did), std::make_pair(std::string(jws), *std::move(card)));
        return true;
      });
  HANSE_RETURN_IF_ERROR(scan, "loading peers");
  std::lock_guard lock(mu_);
  peers_ = std::move(loaded);
  return absl::OkStatus();
}

absl::StatusOr<bool> AddPeerToStore(catalog::Store& store, const std::string& jws,
                                    const MemberCard& card) {
  HANSE_ASSIGN_OR_RETURN(auto existing, store.Get(catalog::Family::kPeers, card.did));
  if (existing && *existing == jws) return false;
  catalog::WriteBatch batch;
  batch.Put(catalog::Family::kPeers, card.did, jws);
  HANSE_RETURN_IF_ERROR(store.Write(batch, /*sync=*/true));
  return true;
}

absl::StatusOr<bool> PeerRegistry::Add(const std::string& jws, const MemberCard& card) {
  if (card.did == self_.did) {
    return absl::InvalidArgumentError("that is this node's own card");
  }
  std::lock_guard lock(mu_);
  auto it = peers_.find(card.did);
  if (it != peers_.end() && card.issued < it->second.second.issued) {
    return absl::FailedPreconditionError(
        absl::StrCat("a newer card for ", card.did, " is already trusted (this one is older)"));
  }
  HANSE_ASSIGN_OR_RETURN(bool added, AddPeerToStore(*store_, jws, card));
  peers_[card.did] = {jws, card};
  return added;
}

void PeerRegistry::SetMembers(std::map<std::string, MemberCard> members,
                              std::set<std::string> revoked) {
  std::lock_guard lock(mu_);
  federated_ = true;
  members_.clear();
  for (auto& [did, card] : members) {
    if (did != self_.did) members_.emplace(did, std::move(card));
  }
  revoked_.clear();
  for (auto& did : revoked) revoked_.insert(did);
}

bool PeerRegistry::IsRevoked(absl::string_view did) const {
  std::lock_guard lock(mu_);
  return revoked_.count(did) > 0;
}

std::optional<MemberCard> PeerRegistry::Find(absl::string_view did) const {
  std::lock_guard lock(mu_);
  if (revoked_.count(did)) return std::nullopt;
  if (did == self_.did) return self_;
  if (federated_) {
    auto m = members_.find(did);
    if (m == members_.end()) return std::nullopt;
    return m->second;
  }
  auto it = peers_.find(did);
  if (it == peers_.end()) return std::nullopt;
  return it->second.second;
}

absl::StatusOr<std::string> PeerRegistry::CaFor(absl::string_view did) const {
  auto card = Find(did);
  if (!card) return absl::NotFoundError(absl::StrCat(did, " is not a trusted peer"));
  return card->ca_pem;
}

std::vector<MemberCard> PeerRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<MemberCard> out;
  if (federated_) {
    for (const auto& [did, card] : members_) out.push_back(card);
    return out;
  }
  out.reserve(peers_.size());
  for (const auto& [did, entry] : peers_) out.push_back(entry.second);
  return out;
}

}  // namespace hanse::node
