// A real node killed (SIGKILL) at random points while publishers run, round after round: every
// dataset whose publish was acknowledged is whole after the restart (the document, its content
// record, the sequence ledger ahead of the store), and no content record exists without its
// document. HANSE_CRASH_ROUNDS sets the number of rounds (default 100; `make crashtest` runs
// more).
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/file.h"
#include "catalog/catalog.h"
#include "catalog/store.h"
#include "node/contract/keys.h"
#include "node/identity/sequence_ledger.h"
#include "node/publishing/publishing.h"
#include "node/rpc/admin_client.h"
#include "tests/support/process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace hanse {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::NodeProcess;
using ::hanse::testing::RunHanse;

int Rounds() {
  const char* env = std::getenv("HANSE_CRASH_ROUNDS");
  return env != nullptr ? std::max(1, std::atoi(env)) : 100;
}

TEST(PublishingCrashTest, EveryAcknowledgedDatasetIsWholeAfterAKillAtARandomPoint) {
  testing::TempDir tmp;
  const std::string home = tmp.Sub("a");
  auto init = RunHanse(
      {"init", "--home", home, "--name", "Org a", "--country", "FR", "--listen", "127.0.0.1:0"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ASSERT_THAT(WriteFileAtomic(home + "/data/shared.csv", "a,b\n1,2\n", 0644), IsOk());

  std::mt19937 rng(20261201);
  std::map<std::string, std::uint64_t> acknowledged;
  int next_name = 0, killed_mid_publish = 0;
  const int rounds = Rounds();
  for (int round = 0; round < rounds; ++round) {
    NodeProcess node(home, tmp.Sub(absl::StrCat("node-", round % 2, ".log")));
    auto started = node.Start();
    ASSERT_TRUE(started.ok()) << "round " << round << ": " << started.status() << "\n"
                              << node.Log();
    // Two publishers; the kill lands at a random point of their stream of publishes.
    std::mutex mu;
    std::atomic<int> in_flight{0};
    std::vector<std::thread> publishers;
    for (int p = 0; p < 2; ++p) {
      publishers.emplace_back([&, p] {
        auto client = node::AdminClient::Connect(home);
        if (!client.ok()) return;
        while (true) {
          std::string name;
          {
            std::lock_guard lock(mu);
            name = absl::StrCat("d", next_name++, "-", p);
          }
          std::string json = absl::StrCat(R"({"name": ")", name, R"(", "title": "Crash )", name,
                                          R"(", "license": "CC-BY-4.0", "media_type": "text/csv",
              "language": "en", "content": "shared.csv",
              "policy": {"@type": "Offer", "permission": [{"action": "use"}]}})");
          ++in_flight;
          auto r = client->PublishDataset(json);
          --in_flight;
          if (!r.ok()) return;  // the node is gone
          std::lock_guard lock(mu);
          acknowledged[r->id()] = r->sequence();
        }
      });
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(1, 60)(rng)));
    if (in_flight.load() > 0) ++killed_mid_publish;
    node.Stop(SIGKILL);
    for (auto& t : publishers) t.join();

    // The node is dead and the store unlocked: read what survived, as the next start will.
    auto store = catalog::OpenRocksStore(home + "/store", {});
    ASSERT_TRUE(store.ok()) << "round " << round << ": " << store.status();
    SimulatedClock clock(absl::Now());
    auto catalog = catalog::Catalog::Open(store->get(), &clock);
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    for (const auto& [id, sequence] : acknowledged) {
      auto doc = (*catalog)->Get(id);
      ASSERT_TRUE(doc.ok()) << "round " << round << ": acknowledged " << id << " is lost";
      ASSERT_EQ(doc->sequence, sequence) << id;
      auto content = (*store)->Get(catalog::Family::kContracts, contract::ContentKey(id));
      ASSERT_TRUE(content.ok() && content->has_value())
          << "round " << round << ": " << id << " has no content record";
    }
    std::vector<std::string> orphans;
    ASSERT_THAT((*store)->Scan(catalog::Family::kContracts, "content|",
                               [&](absl::string_view key, absl::string_view) {
                                 std::string id(key.substr(8));
                                 if (!(*catalog)->Get(id).ok()) orphans.push_back(id);
                                 return true;
                               }),
                IsOk());
    EXPECT_TRUE(orphans.empty()) << "content records without a document: " << orphans.front();
    // The ledger is never behind the store: what is stored was recorded first.
    auto ledger = node::FileSequenceLedger::Open(home + "/sequences.json");
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    auto heads = (*catalog)->Heads();
    ASSERT_TRUE(heads.ok());
    for (const auto& [issuer, head] : *heads) {
      if ((*ledger)->Highest(issuer) > 0) {
        EXPECT_GE((*ledger)->Highest(issuer), head) << issuer;
      }
    }
    catalog->reset();
    ASSERT_THAT((*store)->Close(), IsOk());
  }
  // The rounds did test something: publishes were acknowledged and kills hit publishes. (How
  // many are acknowledged in the 1-60 ms windows depends on the machine: under the sanitizers
  // about 0.7 per round.)
  EXPECT_GT(acknowledged.size(), static_cast<size_t>(rounds / 4));
  EXPECT_GT(killed_mid_publish, rounds / 4);
  RecordProperty("acknowledged", static_cast<int>(acknowledged.size()));
  RecordProperty("killed_mid_publish", killed_mid_publish);
}

}  // namespace
}  // namespace hanse
