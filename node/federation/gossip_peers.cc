// The part of the gossip engine that decides whom to talk to: the partial view (filled,
// rotated, a member that does not answer swapped out), the cards it keeps of its view and eager
// links, the anti-entropy rounds and the catch-up that pick from it, and what the engine knows
// of each member (standing, the per-member figures of the ops metrics).
#include <algorithm>
#include <thread>
#include <unordered_map>

#include "base/log.h"
#include "node/federation/gossip_engine.h"  // the class these members belong to

namespace hanse::node {
namespace {

// Federations up to this size re-read their members every round.
constexpr size_t kRereadPeersBelow = 64;
// Members kept in the per-peer table at most, and how long an idle one stays.
constexpr size_t kMaxPeerStats = 1024;
constexpr absl::Duration kPeerStatsIdle = absl::Hours(1);
// Rotation periods an unreachable member stays out of the view.
constexpr std::uint64_t kUnreachableRotations = 4;

}  // namespace

bool GossipEngine::IsUnreachable(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
}

std::map<std::string, PeerGossip> GossipEngine::peer_stats() const {
  std::lock_guard lock(mu_);
  return peer_stats_;
}

PeerGossip& GossipEngine::PeerEntry(const std::string& peer) {
  auto it = peer_stats_.find(peer);
  if (it != peer_stats_.end()) return it->second;
  if (peer_stats_.size() >= kMaxPeerStats) {
    // Full: the member heard from longest ago makes room (members only; bounded).
    auto oldest = std::min_element(
        peer_stats_.begin(), peer_stats_.end(),
        [](const auto& a, const auto& b) { return a.second.last_seen < b.second.last_seen; });
    peer_stats_.erase(oldest);
  }
  return peer_stats_[peer];
}

void GossipEngine::Account(const std::string& peer, const google::protobuf::MessageLite& sent,
                           const google::protobuf::MessageLite& received,
                           const absl::Status& result) {
  std::uint64_t out = sent.ByteSizeLong(), in = received.ByteSizeLong();
  absl::Time now = clock_->Now();
  std::lock_guard lock(mu_);
  stats_.bytes_sent += out;
  stats_.bytes_received += in;
  if (peer.empty()) return;
  PeerGossip& p = PeerEntry(peer);
  p.bytes_sent += out;
  p.bytes_received += in;
  p.last_seen = now;
  if (result.ok()) p.last_success = now;
}

void GossipEngine::Unreachable(const std::string& peer, bool from_view) {
  std::lock_guard lock(mu_);
  if (eager_.erase(peer) > 0) ++stats_.links_dropped;
  // A view of every member (a small federation) keeps them all; anti-entropy picks at random.
  if (!from_view || options_.view_size <= 0 ||
      members_seen_ <= static_cast<size_t>(options_.view_size)) {
    return;
  }
  auto it = std::find(view_.begin(), view_.end(), peer);
  if (it == view_.end()) return;
  view_.erase(it);
  ++stats_.view_replaced;
  unreachable_until_[peer] = round_ + kUnreachableRotations * static_cast<std::uint64_t>(std::max(
                                                                  options_.view_rotate_rounds, 1));
  peers_changed_ = true;  // the next round fills the view up again
}

std::map<std::string, int> GossipEngine::standing() const {
  std::lock_guard lock(mu_);
  return standing_;
}

std::vector<std::string> GossipEngine::view() const {
  std::lock_guard lock(mu_);
  return view_;
}

std::vector<std::string> GossipEngine::eager() const {
  std::lock_guard lock(mu_);
  return {eager_.begin(), eager_.end()};
}

void GossipEngine::PeersChanged() {
  std::lock_guard lock(mu_);
  peers_changed_ = true;
}

void GossipEngine::RefreshPeers() {
  bool rotate;
  {
    std::lock_guard lock(mu_);
    // Small federations re-read the members every round (cheap); large ones when told of a
    // change and once per rotation period, so a round costs O(view), not O(members), and the
    // engine keeps the cards of its view and eager links only.
    rotate = options_.view_rotate_rounds > 0 && round_ % options_.view_rotate_rounds == 0 &&
             rotated_round_ != round_;
    bool due = peers_changed_ || rotate || members_seen_ <= kRereadPeersBelow ||
               options_.view_rotate_rounds <= 0;
    if (!due) return;
    peers_changed_ = false;
    if (rotate) rotated_round_ = round_;
  }
  std::vector<MemberCard> all = peers_();
  std::unordered_map<std::string, const MemberCard*> by_did;
  by_did.reserve(all.size());
  for (const auto& c : all) by_did.emplace(c.did, &c);
  std::lock_guard lock(mu_);
  members_seen_ = all.size();
  // Members that left the federation leave the view and the eager links.
  std::erase_if(view_, [&](const std::string& did) { return !by_did.count(did); });
  std::erase_if(eager_, [&](const std::string& did) { return !by_did.count(did); });
  if (options_.view_size <= 0 || all.size() <= static_cast<size_t>(options_.view_size)) {
    view_.clear();
    for (const auto& p : all) view_.push_back(p.did);
  } else {
    if (rotate && view_.size() >= static_cast<size_t>(options_.view_size)) {
      // Swap out a member that is not an eager link when there is one: the push tree stays.
      std::vector<size_t> lazy;
      for (size_t i = 0; i < view_.size(); ++i) {
        if (!eager_.count(view_[i])) lazy.push_back(i);
      }
      size_t out = lazy.empty()
                       ? std::uniform_int_distribution<size_t>(0, view_.size() - 1)(rng_)
                       : lazy[std::uniform_int_distribution<size_t>(0, lazy.size() - 1)(rng_)];
      view_.erase(view_.begin() + static_cast<std::ptrdiff_t>(out));
    }
    std::erase_if(unreachable_until_, [&](const auto& u) { return u.second <= round_; });
    // Fill up with random members not in the view and not found unreachable lately (a few
    // draws; the view need not be full).
    for (int tries = 0; view_.size() < static_cast<size_t>(options_.view_size) && tries < 64;
         ++tries) {
      const MemberCard& c = all[std::uniform_int_distribution<size_t>(0, all.size() - 1)(rng_)];
      if (std::find(view_.begin(), view_.end(), c.did) == view_.end() &&
          !unreachable_until_.count(c.did)) {
        view_.push_back(c.did);
      }
    }
  }
  if (!eager_started_ && !view_.empty()) {
    eager_.insert(view_.begin(), view_.end());
    eager_started_ = true;
  }
  known_.clear();
  for (const auto& did : view_) known_[did] = *by_did[did];
  for (const auto& did : eager_) known_[did] = *by_did[did];
}

std::vector<MemberCard> GossipEngine::View() {
  RefreshPeers();
  std::lock_guard lock(mu_);
  std::vector<MemberCard> out;
  out.reserve(view_.size());
  for (const auto& did : view_) {
    auto it = known_.find(did);
    if (it != known_.end()) out.push_back(it->second);
  }
  return out;
}

std::vector<MemberCard> GossipEngine::Pick(int count, bool weighted) {
  std::vector<MemberCard> all = peers_();
  std::lock_guard lock(mu_);
  std::vector<MemberCard> eligible;
  for (auto& p : all) {
    int s = standing_[p.did];
    if (!weighted || s > kLowStanding || round_ % kLowStandingEvery == 0) {
      eligible.push_back(std::move(p));
    }
  }
  std::shuffle(eligible.begin(), eligible.end(), rng_);
  if (count > 0 && eligible.size() > static_cast<size_t>(count)) eligible.resize(count);
  return eligible;
}

void GossipEngine::AntiEntropyRound() {
  {
    std::lock_guard lock(mu_);
    ++round_;
    ++stats_.rounds;
    const absl::Time idle_since = clock_->Now() - kPeerStatsIdle;
    std::erase_if(peer_stats_, [&](const auto& p) { return p.second.last_seen < idle_since; });
  }
  std::vector<MemberCard> view = View();
  std::vector<MemberCard> picked;
  {
    std::lock_guard lock(mu_);
    for (auto& p : view) {
      int s = standing_[p.did];
      if (s > kLowStanding || round_ % kLowStandingEvery == 0) picked.push_back(std::move(p));
    }
    std::shuffle(picked.begin(), picked.end(), rng_);
  }
  if (picked.size() > static_cast<size_t>(std::max(options_.fanout, 1))) {
    picked.resize(std::max(options_.fanout, 1));
  }
  for (const auto& peer : picked) {
    absl::Status s = SyncWith(peer);
    if (s.ok()) continue;
    if (IsUnreachable(s)) Unreachable(peer.did, /*from_view=*/true);
    // An operator acts on a member that stays unreachable: said at most every few minutes per
    // member, with the failures since.
    std::uint64_t held_back = 0;
    if (failure_log_.Allow(peer.did, &held_back)) {
      log::Warn("gossip with a member failed",
                {{"peer", peer.did},
                 {"endpoint", peer.endpoint},
                 {"error", s.ToString()},
                 {"failures_since_last_line", std::to_string(held_back)}});
    }
  }
}

int GossipEngine::CatchUp(int max_peers) {
  std::vector<MemberCard> peers = Pick(max_peers, /*weighted=*/false);
  std::vector<absl::Status> results(peers.size());
  std::vector<std::thread> threads;
  threads.reserve(peers.size());
  for (size_t i = 0; i < peers.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = SyncWith(peers[i]); });
  }
  for (auto& t : threads) t.join();
  int answered = 0;
  for (size_t i = 0; i < peers.size(); ++i) {
    if (results[i].ok()) {
      ++answered;
    } else {
      log::Debug("catch-up sync failed",
                 {{"peer", peers[i].did}, {"error", results[i].ToString()}});
    }
  }
  return answered;
}

}  // namespace hanse::node
