// Partition and heal with real node processes: every node advertises a proxy the test controls,
// so cutting a proxy partitions that node from all others. Documents published on each side
// while cut off reach everyone once the network heals, and nothing is lost.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/file.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/temp_dir.h"

namespace hanse {
namespace {

using ::hanse::testing::CommandResult;
using ::hanse::testing::IsOk;
using ::hanse::testing::NodeProcess;
using ::hanse::testing::RunHanse;
using ::hanse::testing::TcpProxy;

class FederationPartitionTest : public ::testing::Test {
 protected:
  // A node listening on a fixed loopback port, advertising its proxy's address.
  void Init(const std::string& name, const std::string& country) {
    auto port = testing::FreeLoopbackPort();
    ASSERT_TRUE(port.ok()) << port.status();
    auto proxy = TcpProxy::Start(*port);
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    auto egress = TcpProxy::StartConnect();
    ASSERT_TRUE(egress.ok()) << egress.status();
    egress_[name] = std::move(*egress);
    CommandResult r =
        RunHanse({"init", "--home", tmp_.Sub(name), "--name", "Org " + name, "--country", country,
                  "--listen", absl::StrCat("127.0.0.1:", *port)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto text = ReadFile(tmp_.Sub(name + "/config.json"));
    ASSERT_TRUE(text.ok());
    auto j = nlohmann::json::parse(*text);
    j["gossip_interval_ms"] = 200;
    j["endpoint"] = (*proxy)->address();
    ASSERT_THAT(WriteFileAtomic(tmp_.Sub(name + "/config.json"), j.dump(), 0644), IsOk());
    proxies_[name] = std::move(*proxy);
  }
  void Run(const std::string& name) {
    nodes_[name] = std::make_unique<NodeProcess>(tmp_.Sub(name), tmp_.Sub(name + ".log"));
    nodes_[name]->SetEnv("grpc_proxy", "http://" + egress_[name]->address());
    nodes_[name]->SetEnv("no_grpc_proxy", "");
    auto listen = nodes_[name]->Start();
    ASSERT_TRUE(listen.ok()) << listen.status();
  }
  void TrustAll() {
    for (const auto& [n, p] : proxies_) {
      ASSERT_EQ(RunHanse({"card", "--home", tmp_.Sub(n), "--out", tmp_.Sub(n + ".card")}).exit_code,
                0);
    }
    for (const auto& [a, pa] : proxies_) {
      for (const auto& [b, pb] : proxies_) {
        if (a == b) continue;
        CommandResult r = RunHanse({"peer", "add", "--home", tmp_.Sub(a), tmp_.Sub(b + ".card")});
        ASSERT_EQ(r.exit_code, 0) << r.err;
      }
    }
  }
  std::string Publish(const std::string& node, const std::string& name, const std::string& title) {
    EXPECT_THAT(WriteFileAtomic(tmp_.Sub(node + "/data/" + name + ".csv"), "a,b\n1,2\n", 0644),
                IsOk());
    std::string json = absl::StrCat(
        R"({"name": ")", name, R"(", "title": ")", title, R"(", "themes": ["tides"],
        "license": "CC-BY-4.0", "media_type": "text/csv", "language": "en",
        "issued": "2024-05-01", "content": ")",
        name, R"(.csv", "policy": {"@type": "Offer", "permission": [{"action": "use"}]}})");
    std::string file = tmp_.Sub(node + "-" + name + ".json");
    EXPECT_THAT(WriteFileAtomic(file, json, 0644), IsOk());
    CommandResult r = RunHanse({"dataset", "publish", "--home", tmp_.Sub(node), file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }
  size_t Hits(const std::string& node, const std::string& query) {
    CommandResult r = RunHanse({"search", "--home", tmp_.Sub(node), query, "--json"});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_discarded() ? 0 : j["hits"].size();
  }
  bool WaitForHits(const std::string& node, const std::string& query, size_t count,
                   absl::Duration timeout = absl::Seconds(40)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (Hits(node, query) == count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  testing::TempDir tmp_;
  std::map<std::string, std::unique_ptr<TcpProxy>> proxies_;  // ingress, in the member card
  std::map<std::string, std::unique_ptr<TcpProxy>> egress_;   // the node's outgoing calls
  std::map<std::string, std::unique_ptr<NodeProcess>> nodes_;
};

TEST_F(FederationPartitionTest, PublishOnEverySideHealAndConverge) {
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  for (const auto& n : names) Init(n, "DE");
  TrustAll();
  for (const auto& n : names) Run(n);

  Publish("a", "before", "Tides before the storm");
  for (const auto& n : names) ASSERT_TRUE(WaitForHits(n, "storm", 1)) << n;

  // Cut c and d off, both ways: three sides, {a, b}, {c} and {d}.
  for (const auto* n : {"c", "d"}) {
    proxies_[n]->Cut();
    egress_[n]->Cut();
  }
  Publish("a", "north", "Tides north gauge");
  Publish("b", "south", "Tides south gauge");
  Publish("c", "east", "Tides east gauge");
  Publish("d", "west", "Tides west gauge");
  // a and b still replicate with each other.
  EXPECT_TRUE(WaitForHits("a", "gauge", 2));
  EXPECT_TRUE(WaitForHits("b", "gauge", 2));
  // Several gossip intervals later, nothing has crossed the cut.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(Hits("c", "gauge"), 1u);
  EXPECT_EQ(Hits("d", "gauge"), 1u);
  EXPECT_EQ(Hits("a", "east"), 0u);

  // A node restarted during the partition keeps what it had.
  EXPECT_EQ(nodes_["d"]->Stop(SIGKILL), -SIGKILL);
  Run("d");
  EXPECT_EQ(Hits("d", "gauge"), 1u);

  for (const auto* n : {"c", "d"}) {
    proxies_[n]->Heal();
    egress_[n]->Heal();
  }
  for (const auto& n : names) {
    EXPECT_TRUE(WaitForHits(n, "gauge", 4)) << n << " did not converge after healing";
    EXPECT_EQ(Hits(n, "storm"), 1u) << n;
  }
}

}  // namespace
}  // namespace hanse
