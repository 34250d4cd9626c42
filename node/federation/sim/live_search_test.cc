// Live search over catalogues in one process: the real LiveSearch and ServePeerSearch, with a
// PeerSearch that calls the other simulated nodes' catalogues directly.
#include "node/federation/live_search.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "node/federation/sim/gossip_sim.h"

namespace hanse::node {
namespace {

class MemoryPeerSearch final : public PeerSearch {
 public:
  explicit MemoryPeerSearch(sim::Simulation* sim) : sim_(sim) {}

  absl::StatusOr<hanse::v1::PeerSearchResponse> Search(
      const MemberCard& member, const hanse::v1::PeerSearchRequest& request) override {
    if (down_.count(member.did)) return absl::UnavailableError("connection refused");
    for (int i = 0; i < sim_->size(); ++i) {
      if (sim_->did(i) != member.did) continue;
      hanse::v1::PeerSearchResponse response;
      HANSE_RETURN_IF_ERROR(ServePeerSearch(sim_->catalog(i), request, &response));
      if (auto it = forged_.find(member.did); it != forged_.end()) {
        for (auto& h : *response.mutable_hits()) h.set_jws(it->second);
      }
      return response;
    }
    return absl::NotFoundError("no such member");
  }

  std::set<std::string> down_;
  std::map<std::string, std::string> forged_;  // member -> the JWS it sends for every hit

 private:
  sim::Simulation* sim_;
};

class LiveSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim::SimOptions options;
    options.nodes = 4;
    auto sim = sim::Simulation::Create(options);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = *std::move(sim);
    peers_ = std::make_unique<MemoryPeerSearch>(sim_.get());
    // Node i publishes i+1 datasets; nothing is gossiped, so only live search sees them all.
    for (int i = 0; i < sim_->size(); ++i) {
      for (int k = 0; k <= i; ++k) {
        ASSERT_TRUE(sim_->Publish(i, absl::StrCat("set", i, "-", k)).ok());
      }
    }
  }

  std::vector<MemberCard> Others() const {
    std::vector<MemberCard> out;
    for (int i = 1; i < sim_->size(); ++i) out.push_back(sim_->card(i));
    return out;
  }

  hanse::v1::SearchResponse Ask(const std::string& query, size_t limit) {
    hanse::v1::SearchResponse response;
    absl::Status s = LiveSearch(query, limit, Others(), sim_->catalog(0), *peers_,
                                sim_->clock().Now(), &response);
    EXPECT_TRUE(s.ok()) << s;
    return response;
  }

  std::unique_ptr<sim::Simulation> sim_;
  std::unique_ptr<MemoryPeerSearch> peers_;
};

TEST_F(LiveSearchTest, MergesEveryMembersHitsWithOurOwn) {
  auto r = Ask("simulation", 100);
  EXPECT_EQ(r.answered_size(), 3);
  EXPECT_EQ(r.failed_size(), 0);
  EXPECT_EQ(r.hits_size(), 1 + 2 + 3 + 4);
  std::set<std::string> issuers;
  for (const auto& h : r.hits()) issuers.insert(h.dataset().issuer());
  EXPECT_EQ(issuers.size(), 4u);
  for (int i = 1; i < r.hits_size(); ++i) {
    EXPECT_GE(r.hits(i - 1).score(), r.hits(i).score()) << "best first";
  }
}

TEST_F(LiveSearchTest, KeepsTheLimitAcrossMembers) {
  auto r = Ask("simulation", 3);
  EXPECT_EQ(r.hits_size(), 3);
  // Each member sends at most `limit` hits: 1 + 2 + 3 + 3 (the fourth node's fourth is not sent).
  EXPECT_EQ(r.total_estimate(), 9u);
}

TEST_F(LiveSearchTest, NamesMembersThatDidNotAnswerAndShowsTheRest) {
  peers_->down_.insert(sim_->did(3));
  auto r = Ask("simulation", 100);
  EXPECT_EQ(r.answered_size(), 2);
  ASSERT_EQ(r.failed_size(), 1);
  EXPECT_NE(r.failed(0).find(sim_->did(3)), std::string::npos);
  EXPECT_NE(r.failed(0).find("connection refused"), std::string::npos);
  EXPECT_EQ(r.hits_size(), 1 + 2 + 3);
}

TEST_F(LiveSearchTest, DropsHitsThatDoNotVerifyOrDoNotMatchTheirId) {
  // Member 2 answers with another member's signed document under its own ids, and member 3 with
  // a document whose signature is broken: neither is shown.
  auto stored = sim_->catalog(1).Search("simulation", 1, "");
  ASSERT_TRUE(stored.ok());
  auto other = sim_->catalog(1).Get(stored->hits.at(0).id);
  ASSERT_TRUE(other.ok());
  peers_->forged_[sim_->did(2)] = other->jws;
  std::string broken = other->jws;
  broken.back() = broken.back() == 'A' ? 'B' : 'A';
  peers_->forged_[sim_->did(3)] = broken;
  auto r = Ask("simulation", 100);
  EXPECT_EQ(r.answered_size(), 3);
  std::set<std::string> issuers;
  for (const auto& h : r.hits()) issuers.insert(h.dataset().issuer());
  EXPECT_EQ(issuers.count(sim_->did(2)), 0u);
  EXPECT_EQ(issuers.count(sim_->did(3)), 0u);
  EXPECT_EQ(r.hits_size(), 1 + 2);
}

TEST_F(LiveSearchTest, RefusesABadQueryBeforeAskingAnyone) {
  hanse::v1::SearchResponse response;
  peers_->down_.insert(sim_->did(1));
  absl::Status s = LiveSearch("title:(", 10, Others(), sim_->catalog(0), *peers_,
                              sim_->clock().Now(), &response);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(response.failed_size(), 0);
}

}  // namespace
}  // namespace hanse::node
