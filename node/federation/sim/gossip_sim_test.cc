// The gossip protocol at scale and under faults, in one process: the real GossipEngine and
// Catalog (every document verified before it is stored) over the simulator's transport.
#include "node/federation/sim/gossip_sim.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "trust/encoding.h"

namespace hanse::node::sim {
namespace {

using ::hanse::testing::IsOk;

std::unique_ptr<Simulation> MakeSim(int nodes, int push_fanout = 0, std::uint64_t seed = 7) {
  SimOptions o;
  o.nodes = nodes;
  o.gossip.push_fanout = push_fanout;
  o.seed = seed;
  auto sim = Simulation::Create(o);
  EXPECT_TRUE(sim.ok()) << sim.status();
  return std::move(sim).value();
}

TEST(GossipSimTest, OneUpdateReachesEveryLiveNodeWithCrashedNodes) {
  auto sim = MakeSim(64, /*push_fanout=*/2);
  for (int i = 0; i < 64; i += 5) sim->Crash(i);  // 13 of 64 down
  HANSE_ASSERT_OK_AND_ASSIGN(catalog::StoredDocument doc, sim->Publish(1, "tides"));
  int rounds = sim->RunUntilHeld(doc.id, doc.sequence, 40);
  ASSERT_GT(rounds, 0) << "did not converge in 40 rounds";
  // Epidemic spread: about log(N) rounds, nowhere near N.
  EXPECT_LE(rounds, 3 * static_cast<int>(std::log2(64)));
  // Crashed nodes hold nothing; restarted, they catch up.
  EXPECT_FALSE(sim->catalog(0).GetAny(doc.id).value().has_value());
  for (int i = 0; i < 64; i += 5) sim->Restart(i);
  ASSERT_GT(sim->RunUntilHeld(doc.id, doc.sequence, 60), 0);
}

TEST(GossipSimTest, EachNodeReceivesTheDocumentAboutOnce) {
  auto sim = MakeSim(32, /*push_fanout=*/2);
  HANSE_ASSERT_OK_AND_ASSIGN(catalog::StoredDocument doc, sim->Publish(3, "rivers"));
  sim->ResetTraffic();
  ASSERT_GT(sim->RunUntilHeld(doc.id, doc.sequence, 40), 0);
  // Digests first, payload only for what is missing: 31 receivers, one copy each.
  EXPECT_EQ(sim->traffic().payload_documents, 31u);
}

// At rest, an anti-entropy round is one summary per peer called, whatever the federation's size
// and the catalogue's: no heads, no records, no documents.
TEST(GossipSimTest, AnIdleRoundIsOneSummaryPerPeerAtAnySize) {
  std::vector<double> bytes_per_node_round;
  for (int n : {16, 128}) {
    auto sim = MakeSim(n);
    for (int i = 0; i < n; i += 3) {
      ASSERT_THAT(sim->Publish(i, "rest").status(), IsOk());
    }
    ASSERT_GT(sim->RunUntilConverged(60), 0) << n;
    for (int r = 0; r < 3; ++r) sim->Round();  // pushes and grafts settle
    sim->ResetTraffic();
    constexpr int kRounds = 10;
    for (int r = 0; r < kRounds; ++r) sim->Round();
    const Traffic& t = sim->traffic();
    EXPECT_EQ(t.calls, t.summary_calls) << n << " nodes: more than summaries at rest";
    EXPECT_EQ(t.payload_documents, 0u) << n;
    bytes_per_node_round.push_back(static_cast<double>(t.bytes) / n / kRounds);
  }
  // The same cost per node at 16 and at 128 members (the roots are fixed-size hashes).
  EXPECT_NEAR(bytes_per_node_round[0], bytes_per_node_round[1], 0.2 * bytes_per_node_round[0]);
}

// A fresh document travels the push tree: once the duplicate links are pruned, each member
// receives it about once and passes it on about once, and it arrives without anti-entropy.
TEST(GossipSimTest, ThePushTreeSendsAboutOncePerNodePerUpdate) {
  constexpr int kNodes = 64;
  auto sim = MakeSim(kNodes);
  std::mt19937 rng(3);
  auto publish_round = [&](const std::string& name) -> int {
    int at = std::uniform_int_distribution<int>(0, kNodes - 1)(rng);
    auto doc = sim->Publish(at, name);
    EXPECT_THAT(doc.status(), IsOk());
    return sim->RunUntilHeld(doc->id, doc->sequence, 20);
  };
  for (int u = 0; u < 30; ++u) ASSERT_GT(publish_round(absl::StrCat("warm-", u)), 0);
  sim->ResetTraffic();
  constexpr int kUpdates = 20;
  int one_round = 0;
  for (int u = 0; u < kUpdates; ++u) {
    int rounds = publish_round(absl::StrCat("tree-", u));
    ASSERT_GT(rounds, 0);
    one_round += rounds == 1 ? 1 : 0;
  }
  double sends_per_node = static_cast<double>(sim->traffic().push_calls) / kNodes / kUpdates;
  std::printf("push tree: %.2f push calls per node per update, %d of %d updates in one round\n",
              sends_per_node, one_round, kUpdates);
  EXPECT_LE(sends_per_node, 1.3);
  EXPECT_GE(one_round, kUpdates / 2);
  // Every node received each document once or close to it.
  EXPECT_LE(sim->traffic().payload_documents, static_cast<std::uint64_t>(kUpdates * kNodes * 1.3));
}

// Each node calls and is called by a bounded set of members (its view, and the views it is in),
// not by every member.
TEST(GossipSimTest, PeersContactedStayBoundedAsTheFederationGrows) {
  std::vector<size_t> contacted;
  for (int n : {32, 256}) {
    auto sim = MakeSim(n);
    ASSERT_THAT(sim->Publish(0, "view").status(), IsOk());
    ASSERT_GT(sim->RunUntilConverged(60), 0);
    sim->ResetTraffic();
    for (int r = 0; r < 8; ++r) sim->Round();  // one rotation period
    contacted.push_back(sim->MaxPeersContacted());
  }
  std::printf("peers contacted in 8 rounds: %zu at 32 nodes, %zu at 256\n", contacted[0],
              contacted[1]);
  EXPECT_LE(contacted[1], 32u);
  EXPECT_LE(contacted[1], contacted[0] + 8);
}

// A member that stops answering loses its eager links at the first push that fails, and in a
// federation larger than the view it is swapped out of a view at the first exchange that fails
// (not only at a rotation), so it stops taking one of the round's picks.
TEST(GossipSimTest, AMemberThatDoesNotAnswerLeavesTheViewsAndTheEagerLinks) {
  constexpr int kNodes = 128;
  auto sim = MakeSim(kNodes);
  ASSERT_THAT(sim->Publish(1, "before").status(), IsOk());
  ASSERT_GT(sim->RunUntilConverged(60), 0);
  constexpr int kDead = 0;
  const std::string dead = sim->did(kDead);
  auto count = [&](auto set_of) {
    int n = 0;
    for (int i = 1; i < kNodes; ++i) {
      auto set = set_of(sim->engine(i));
      n += std::find(set.begin(), set.end(), dead) != set.end() ? 1 : 0;
    }
    return n;
  };
  auto views = [](GossipEngine& e) { return e.view(); };
  auto eager = [](GossipEngine& e) { return e.eager(); };
  const int views_before = count(views), eager_before = count(eager);
  ASSERT_GE(views_before, 4);
  ASSERT_GE(eager_before, 2);
  sim->Crash(kDead);
  for (int u = 0; u < 3; ++u) {
    HANSE_ASSERT_OK_AND_ASSIGN(auto doc, sim->Publish(1 + u * 40, absl::StrCat("after-", u)));
    ASSERT_GT(sim->RunUntilHeld(doc.id, doc.sequence, 30), 0);
  }
  for (int r = 0; r < 16; ++r) sim->Round();
  std::uint64_t dropped = 0, replaced = 0, failed = 0;
  for (int i = 1; i < kNodes; ++i) {
    GossipStats st = sim->engine(i).stats();
    dropped += st.links_dropped;
    replaced += st.view_replaced;
    auto peers = sim->engine(i).peer_stats();
    if (auto it = peers.find(dead); it != peers.end()) failed += it->second.exchanges_failed;
  }
  std::printf(
      "dead member: in %d views and %d eager sets before, %d and %d after "
      "(%llu links dropped, %llu view swaps, %llu failed exchanges)\n",
      views_before, eager_before, count(views), count(eager),
      static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(replaced),
      static_cast<unsigned long long>(failed));
  EXPECT_EQ(count(eager), 0);
  EXPECT_LE(count(views), 1);
  EXPECT_GT(replaced, 0u);
  EXPECT_GT(failed, 0u);
}

// Per member: exchanges and their results, bytes both ways, when a call last worked, and how
// far this node was behind when they compared.
TEST(GossipSimTest, PerPeerFiguresShowExchangesBytesAndHowFarBehind) {
  auto sim = MakeSim(3);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    HANSE_ASSERT_OK_AND_ASSIGN(std::string jws, sim->Sign(0, absl::StrCat("d", seq), seq, "t"));
    ASSERT_THAT(sim->catalog(0).Ingest(jws).status(), IsOk());
  }
  ASSERT_THAT(sim->engine(1).SyncWith(sim->card(0)), IsOk());
  PeerGossip p = sim->engine(1).peer_stats().at(sim->did(0));
  EXPECT_EQ(p.behind_documents, 3u);
  EXPECT_EQ(p.exchanges_ok, 1u);
  EXPECT_GT(p.bytes_sent, 0u);
  EXPECT_GT(p.bytes_received, p.bytes_sent) << "three documents came back";
  EXPECT_EQ(p.last_success, sim->clock().Now());
  // Now equal: the next exchange ends at the summary, nothing behind.
  ASSERT_THAT(sim->engine(1).SyncWith(sim->card(0)), IsOk());
  p = sim->engine(1).peer_stats().at(sim->did(0));
  EXPECT_EQ(p.behind_documents, 0u);
  EXPECT_EQ(p.exchanges_ok, 2u);
  sim->Crash(0);
  sim->clock().Advance(absl::Seconds(5));
  EXPECT_FALSE(sim->engine(1).SyncWith(sim->card(0)).ok());
  p = sim->engine(1).peer_stats().at(sim->did(0));
  EXPECT_EQ(p.exchanges_failed, 1u);
  EXPECT_EQ(p.last_seen - p.last_success, absl::Seconds(5)) << "the lag the metric shows";
}

TEST(GossipSimTest, PartitionedSidesConvergeAfterHealingAndLoseNothing) {
  auto sim = MakeSim(12);
  std::vector<int> side(12);
  for (int i = 0; i < 12; ++i) side[i] = i < 6 ? 0 : 1;
  sim->Partition(side);
  std::vector<catalog::StoredDocument> published;
  for (int i = 0; i < 12; ++i) {
    for (int k = 0; k < 3; ++k) {
      HANSE_ASSERT_OK_AND_ASSIGN(auto d, sim->Publish(i, absl::StrCat("set-", k)));
      published.push_back(d);
    }
  }
  for (int r = 0; r < 10; ++r) sim->Round();
  // Each side has its own documents and none of the other side's.
  EXPECT_EQ(sim->Holding(published.front().id, 1), 6);
  EXPECT_EQ(sim->Holding(published.back().id, 1), 6);
  EXPECT_FALSE(sim->Converged());

  sim->Heal();
  ASSERT_GT(sim->RunUntilConverged(40), 0);
  for (const auto& d : published) EXPECT_EQ(sim->Holding(d.id, d.sequence), 12) << d.id;
}

// A push that overtakes anti-entropy (a later document arrives first) leaves a hole the heads
// no longer show: the receiver notes it and pulls the rest at its next sync.
TEST(GossipSimTest, APushPastTheNextSequenceHeldStillBringsTheOnesBefore) {
  auto sim = MakeSim(3);
  sim->Partition({0, 0, 1});
  HANSE_ASSERT_OK_AND_ASSIGN(auto first, sim->Publish(0, "first"));
  HANSE_ASSERT_OK_AND_ASSIGN(auto second, sim->Publish(0, "second"));
  ASSERT_EQ(sim->RunUntilHeld(second.id, second.sequence, 5), -1) << "node 2 is cut off";
  sim->Heal();
  // Node 2 gets only the later document, by push, before any anti-entropy round.
  ASSERT_THAT(sim->DeliverPush(0, 2, {second.jws}), IsOk());
  EXPECT_EQ(sim->Holding(first.id, first.sequence), 2);
  EXPECT_GT(sim->RunUntilHeld(first.id, first.sequence, 20), 0);
  EXPECT_EQ(sim->Holding(first.id, first.sequence), 3);
}

// Two receivers with the same hole: syncing with each other settles nothing, so the hole stays
// noted until a sync with the issuer fills it.
TEST(GossipSimTest, AHoleSharedByTwoPeersIsFilledFromTheIssuer) {
  auto sim = MakeSim(3);
  sim->Partition({0, 1, 1});
  HANSE_ASSERT_OK_AND_ASSIGN(auto first, sim->Publish(0, "first"));
  HANSE_ASSERT_OK_AND_ASSIGN(auto second, sim->Publish(0, "second"));
  sim->Heal();
  ASSERT_THAT(sim->DeliverPush(0, 1, {second.jws}), IsOk());
  ASSERT_THAT(sim->DeliverPush(0, 2, {second.jws}), IsOk());
  // Nodes 1 and 2 first compare notes with each other: both lack `first`.
  ASSERT_THAT(sim->engine(1).SyncWith(sim->card(2)), IsOk());
  ASSERT_THAT(sim->engine(2).SyncWith(sim->card(1)), IsOk());
  EXPECT_EQ(sim->Holding(first.id, first.sequence), 1);
  EXPECT_GT(sim->RunUntilHeld(first.id, first.sequence, 20), 0);
}

TEST(GossipSimTest, NewerVersionsWinEverywhere) {
  auto sim = MakeSim(8);
  HANSE_ASSERT_OK_AND_ASSIGN(auto v1, sim->Publish(2, "ports"));
  ASSERT_GT(sim->RunUntilHeld(v1.id, v1.sequence, 20), 0);
  HANSE_ASSERT_OK_AND_ASSIGN(auto v2, sim->Publish(2, "ports"));
  ASSERT_GT(v2.sequence, v1.sequence);
  ASSERT_GT(sim->RunUntilHeld(v2.id, v2.sequence, 20), 0);
  for (int i = 0; i < 8; ++i) {
    HANSE_ASSERT_OK_AND_ASSIGN(auto held, sim->catalog(i).Get(v2.id));
    EXPECT_EQ(held.jws, v2.jws);
  }
}

TEST(GossipSimTest, EquivocationEvidenceReachesEveryNode) {
  auto sim = MakeSim(10);
  // Node 0 signs two different documents at sequence 1 and shows each to a different peer.
  HANSE_ASSERT_OK_AND_ASSIGN(std::string a, sim->Sign(0, "a", 1, "One story"));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string b, sim->Sign(0, "b", 1, "Another story"));
  ASSERT_THAT(sim->DeliverPush(0, 1, {a}), IsOk());
  ASSERT_THAT(sim->DeliverPush(0, 2, {b}), IsOk());
  sim->Crash(0);  // the equivocator goes quiet; the evidence must travel without it
  int rounds = 0;
  auto all_flagged = [&] {
    for (int i = 1; i < 10; ++i) {
      if (!sim->catalog(i).IsFlagged(sim->did(0))) return false;
    }
    return true;
  };
  while (!all_flagged() && rounds < 40) {
    sim->Round();
    ++rounds;
  }
  ASSERT_TRUE(all_flagged()) << "evidence did not spread in 40 rounds";
  for (int i = 1; i < 10; ++i) {
    HANSE_ASSERT_OK_AND_ASSIGN(auto evidence, sim->catalog(i).Evidence(sim->did(0)));
    ASSERT_EQ(evidence.size(), 1u) << "node " << i;
    EXPECT_FALSE(evidence[0].first_jws.empty());
    EXPECT_FALSE(evidence[0].second_jws.empty());
    std::set<std::string> pair = {evidence[0].first_jws, evidence[0].second_jws};
    EXPECT_EQ(pair, (std::set<std::string>{a, b})) << "node " << i;
  }
}

TEST(GossipSimTest, APeerSendingForgeriesLosesStandingAndHonestGossipGoesOn) {
  auto sim = MakeSim(6);
  HANSE_ASSERT_OK_AND_ASSIGN(std::string good, sim->Sign(3, "x", 1, "Genuine"));
  // Tampered: one payload character changed, signature kept.
  std::string tampered = good;
  size_t dot = tampered.find('.');
  tampered[dot + 10] = tampered[dot + 10] == 'A' ? 'B' : 'A';
  // Forged: node 3 signs a document that claims node 5 as issuer (its id and issuer).
  std::vector<std::string> bad = {tampered, "not.a.jws", good.substr(0, good.size() - 4)};
  ASSERT_THAT(sim->DeliverPush(3, 4, bad), IsOk());
  EXPECT_LT(sim->engine(4).standing().at(sim->did(3)), 0);
  EXPECT_EQ(sim->engine(4).stats().documents_rejected, 3u);
  EXPECT_EQ(sim->catalog(4).document_count(), 0u);

  HANSE_ASSERT_OK_AND_ASSIGN(auto doc, sim->Publish(5, "honest"));
  ASSERT_GT(sim->RunUntilHeld(doc.id, doc.sequence, 20), 0);
}

TEST(GossipSimTest, LargeBacklogsTravelInBoundedBatches) {
  SimOptions o;
  o.nodes = 3;
  o.gossip.max_batch_documents = 16;
  HANSE_ASSERT_OK_AND_ASSIGN(auto sim, Simulation::Create(o));
  sim->Crash(1);
  sim->Crash(2);
  for (int k = 0; k < 100; ++k) ASSERT_THAT(sim->Publish(0, absl::StrCat("d", k)).status(), IsOk());
  sim->engine(0).PushPending();  // the eager push finds nobody: anti-entropy must do it all
  sim->Restart(1);
  sim->Restart(2);
  ASSERT_GT(sim->RunUntilConverged(20), 0);
  EXPECT_EQ(sim->catalog(1).document_count(), 100u);
  EXPECT_EQ(sim->catalog(2).document_count(), 100u);
}

}  // namespace
}  // namespace hanse::node::sim
