// Partition and heal with real node processes: every node advertises a proxy the test controls,
// so cutting a proxy partitions that node from all others. Documents published on each side
// while cut off reach everyone once the network heals, and nothing is lost.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "tests/support/federation_fixture.h"
#include "tests/support/tcp_proxy.h"

namespace hanse {
namespace {

using ::hanse::testing::TcpProxy;

// Every federation call crosses two proxies: waits get more time than the fixture's default.
constexpr absl::Duration kConverge = absl::Seconds(40);

class FederationPartitionTest : public testing::FederationTest {
 protected:
  // A node listening on a fixed loopback port, advertising its proxy's address, and sending its
  // own calls through its egress proxy.
  void Init(const std::string& name, const std::string& country) {
    auto port = testing::FreeLoopbackPort();
    ASSERT_TRUE(port.ok()) << port.status();
    auto proxy = TcpProxy::Start(*port);
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    auto egress = TcpProxy::StartConnect();
    ASSERT_TRUE(egress.ok()) << egress.status();
    InitNode(name,
             {.country = country,
              .port = *port,
              .config = {{"endpoint", (*proxy)->address()}},
              .env = {{"grpc_proxy", "http://" + (*egress)->address()}, {"no_grpc_proxy", ""}}});
    proxies_[name] = std::move(*proxy);
    egress_[name] = std::move(*egress);
  }

  std::map<std::string, std::unique_ptr<TcpProxy>> proxies_;  // ingress, in the member card
  std::map<std::string, std::unique_ptr<TcpProxy>> egress_;   // the node's outgoing calls
};

TEST_F(FederationPartitionTest, PublishOnEverySideHealAndConverge) {
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  for (const auto& n : names) Init(n, "DE");
  TrustAll(names);
  for (const auto& n : names) StartNode(n);

  Publish("a", "before", "Tides before the storm", "tides");
  for (const auto& n : names) ASSERT_TRUE(WaitForHits(n, "storm", 1, kConverge)) << n;

  // Cut c and d off, both ways: three sides, {a, b}, {c} and {d}.
  for (const auto* n : {"c", "d"}) {
    proxies_[n]->Cut();
    egress_[n]->Cut();
  }
  Publish("a", "north", "Tides north gauge", "tides");
  Publish("b", "south", "Tides south gauge", "tides");
  Publish("c", "east", "Tides east gauge", "tides");
  Publish("d", "west", "Tides west gauge", "tides");
  // a and b still replicate with each other.
  EXPECT_TRUE(WaitForHits("a", "gauge", 2, kConverge));
  EXPECT_TRUE(WaitForHits("b", "gauge", 2, kConverge));
  // Several gossip intervals later, nothing has crossed the cut.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(Hits("c", "gauge"), 1u);
  EXPECT_EQ(Hits("d", "gauge"), 1u);
  EXPECT_EQ(Hits("a", "east"), 0u);

  // A node restarted during the partition keeps what it had.
  EXPECT_EQ(RestartNode("d", SIGKILL), -SIGKILL);
  EXPECT_EQ(Hits("d", "gauge"), 1u);

  for (const auto* n : {"c", "d"}) {
    proxies_[n]->Heal();
    egress_[n]->Heal();
  }
  for (const auto& n : names) {
    EXPECT_TRUE(WaitForHits(n, "gauge", 4, kConverge)) << n << " did not converge after healing";
    EXPECT_EQ(Hits(n, "storm"), 1u) << n;
  }
}

}  // namespace
}  // namespace hanse
