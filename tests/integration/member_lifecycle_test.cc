// A member's node over the years, with real node processes on loopback: its address changes
// (online behind a new address, and moved to another port), it is backed up while it publishes
// and restored on a fresh home, and it leaves the federation.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "node/rpc/admin_client.h"
#include "tests/support/federation_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/tcp_proxy.h"

namespace hanse {
namespace {

using ::hanse::testing::CommandResult;
using ::hanse::testing::IsOk;
using ::testing::HasSubstr;

class MemberLifecycleTest : public testing::FederationTest {
 protected:
  int Port() {
    auto port = testing::FreeLoopbackPort();
    EXPECT_TRUE(port.ok()) << port.status();
    return port.value_or(0);
  }

  nlohmann::json Members(const std::string& name) {
    CommandResult r = Hanse(name, {"member", "list", "--json"});
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
  }

  // The endpoint on the card that `name` holds for the member `did`.
  std::string EndpointAt(const std::string& name, const std::string& did) {
    const nlohmann::json members = Members(name);
    for (const auto& m : members["members"]) {
      if (m["did"] == did) return m["endpoint"];
    }
    return "";
  }

  absl::StatusOr<std::uint64_t> TryPublish(const std::string& name, const std::string& dataset) {
    EXPECT_THAT(WriteFileAtomic(Home(name) + "/data/shared.csv", "a,b\n1,2\n", 0644), IsOk());
    HANSE_ASSIGN_OR_RETURN(auto client, node::AdminClient::Connect(Home(name)));
    HANSE_ASSIGN_OR_RETURN(
        auto r, client.PublishDataset(absl::StrCat(
                    R"({"name": ")", dataset, R"(", "title": "Lifecycle )", dataset,
                    R"(", "license": "CC-BY-4.0", "media_type": "text/csv", "language": "en",
                    "content": "shared.csv",
                    "policy": {"@type": "Offer", "permission": [{"action": "use"}]}})")));
    EXPECT_EQ(r.outcome(), "stored") << dataset;
    return r.sequence();
  }

  std::uint64_t MustPublish(const std::string& name, const std::string& dataset) {
    auto r = TryPublish(name, dataset);
    EXPECT_THAT(r.status(), IsOk()) << dataset;
    return r.value_or(0);
  }

  void ExpectNoEquivocation(const std::string& name) {
    CommandResult st = Hanse(name, {"status", "--json"});
    ASSERT_EQ(st.exit_code, 0) << st.err;
    auto j = nlohmann::json::parse(st.out);
    EXPECT_TRUE(j["equivocators"].empty()) << name << ": " << st.out;
    EXPECT_TRUE(j["flagged_by"].empty()) << name << ": " << st.out;
  }
};

// The members dial a member at the address its latest signed card names: a card update made
// while it runs (as when its public address changes) and one made while it was down and moved
// to another port both reach members that never restart.
TEST_F(MemberLifecycleTest, EndpointChangeReachesEveryMemberAndCallsFollowIt) {
  const int a_port = Port();
  InitNode("a", {.port = a_port});
  InitNode("b", {.country = "DE", .port = Port()});
  InitNode("c", {.country = "NL", .port = Port()});
  Parallel({"a", "b", "c"}, [this](const std::string& n) { StartNode(n); });
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NO_FATAL_FAILURE(FoundFederation({"a", "b", "c"}));
  const std::string a = Did("a");

  // Online: from now on the members reach a through a new address.
  HANSE_ASSERT_OK_AND_ASSIGN(auto proxy, testing::TcpProxy::Start(a_port));
  CommandResult update = Hanse("a", {"card", "update", "--endpoint", proxy->address()});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  EXPECT_THAT(update.err, HasSubstr("sent to the members by gossip"));
  for (const std::string peer : {"b", "c"}) {
    EXPECT_TRUE(WaitUntil([&] { return EndpointAt(peer, a) == proxy->address(); }))
        << peer << " still dials " << EndpointAt(peer, a) << ": " << Members(peer).dump();
    EXPECT_EQ(Hanse(peer, {"peer", "ping", a}).exit_code, 0) << peer;
  }
  proxy->Cut();
  EXPECT_NE(Hanse("b", {"peer", "ping", a}).exit_code, 0)
      << "b reached a without the new address, so it did not dial it";
  proxy->Heal();

  // Offline: a moves to another port while it is down; b and c keep running.
  ASSERT_EQ(StopNode("a"), 0);
  const std::string moved = absl::StrCat("127.0.0.1:", Port());
  Configure("a", {{"listen", moved}});
  CommandResult offline = Hanse("a", {"card", "update", "--endpoint", moved});
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_THAT(offline.err, HasSubstr("when it starts"));
  StartNode("a");
  for (const std::string peer : {"b", "c"}) {
    EXPECT_TRUE(WaitUntil([&] { return EndpointAt(peer, a) == moved; }))
        << peer << " still dials " << EndpointAt(peer, a);
    EXPECT_EQ(Hanse(peer, {"peer", "ping", a}).exit_code, 0) << peer;
  }
  CommandResult card = Hanse("a", {"card"});
  ASSERT_EQ(card.exit_code, 0) << card.err;
  EXPECT_EQ(nlohmann::json::parse(card.out)["endpoint"], moved);
  // Documents flow both ways at the new address.
  Publish("a", "moved", "Published after the move", "lifecycle");
  Publish("c", "towards", "Published towards the moved member", "lifecycle");
  EXPECT_TRUE(WaitForHits("b", "published", 2));
  EXPECT_TRUE(WaitForHits("a", "published", 2));
}

// A backup taken while the node publishes restores on a fresh home with another address; the
// restored node learns how far it had signed from the members and continues past it. An older
// backup restored while every member is down signs nothing until a member answers.
TEST_F(MemberLifecycleTest, BackupWhilePublishingRestoresWithoutEquivocation) {
  const int b_port = Port();
  InitNode("a", {.port = Port()});
  InitNode("b", {.country = "DE", .port = b_port});
  Parallel({"a", "b"}, [this](const std::string& n) { StartNode(n); });
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NO_FATAL_FAILURE(FoundFederation({"a", "b"}));
  MustPublish("a", "first");

  // Searches list at most 10 hits: 5 datasets during the backup, 9 in all.
  std::atomic<int> published{0};
  std::thread publisher([&] {
    for (int i = 0; i < 5; ++i) {
      if (TryPublish("a", absl::StrCat("during", i)).ok()) ++published;
    }
  });
  CommandResult backup = Hanse("a", {"backup", "--out", Path("a.tar.zst")});
  publisher.join();
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_THAT(backup.err, HasSubstr("online, from the running node"));
  std::uint64_t last = MustPublish("a", "after");
  const size_t total = 2 + published;
  ASSERT_TRUE(WaitForHits("b", "lifecycle", total));
  ASSERT_EQ(StopNode("a"), 0);

  // A fresh home on another port: restored, told its new address, started.
  CommandResult restore = Hanse("a2", {"restore", Path("a.tar.zst")});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_THAT(restore.err, HasSubstr("asks the members how far it has signed"));
  const std::string a2 = absl::StrCat("127.0.0.1:", Port());
  Configure("a2", {{"listen", a2}});
  ASSERT_EQ(Hanse("a2", {"card", "update", "--endpoint", a2}).exit_code, 0);
  StartNode("a2");
  CommandResult st = Hanse("a2", {"status", "--json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(nlohmann::json::parse(st.out)["did"], Did("a")) << "the restore made another identity";
  std::uint64_t restored = MustPublish("a2", "restored");
  EXPECT_GT(restored, last) << "the restored node signed a sequence it had signed before";
  EXPECT_TRUE(WaitForHits("b", "lifecycle", total + 1));
  EXPECT_TRUE(WaitForHits("a2", "lifecycle", total + 1)) << "the lost datasets came back";
  ExpectNoEquivocation("b");
  ExpectNoEquivocation("a2");

  // The same backup again, now older still, with the only member down.
  ASSERT_EQ(StopNode("a2"), 0);
  ASSERT_EQ(StopNode("b"), 0);
  ASSERT_EQ(Hanse("a3", {"restore", Path("a.tar.zst")}).exit_code, 0);
  const std::string a3 = absl::StrCat("127.0.0.1:", Port());
  Configure("a3", {{"listen", a3}});
  ASSERT_EQ(Hanse("a3", {"card", "update", "--endpoint", a3}).exit_code, 0);
  StartNode("a3");
  auto refused = TryPublish("a3", "while-alone");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("cannot confirm how far"));
  StartNode("b");
  std::uint64_t resumed = MustPublish("a3", "resumed");
  EXPECT_GT(resumed, restored);
  EXPECT_TRUE(WaitForHits("b", "lifecycle", total + 2))
      << Hits("b", "lifecycle") << " of " << total + 2 << "\n"
      << Log("a3") << "\n=== b\n"
      << Log("b");
  ExpectNoEquivocation("b");
  ExpectNoEquivocation("a3");
}

// A member leaves by its own signed departure: every member sees it as left (not revoked), its
// datasets leave their catalogues, and its calls are refused from then on.
TEST_F(MemberLifecycleTest, LeavingIsSignedReplicatedAndNotARevocation) {
  for (const std::string n : {"a", "b", "c"}) InitNode(n, {.port = Port()});
  Parallel({"a", "b", "c"}, [this](const std::string& n) { StartNode(n); });
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NO_FATAL_FAILURE(FoundFederation({"a", "b", "c"}));
  const std::string c = Did("c");
  Publish("c", "parting", "Dataset of the parting member", "lifecycle");
  ASSERT_TRUE(WaitForHits("a", "parting", 1));

  CommandResult leave = Hanse("c", {"federation", "leave", "--reason", "organisation dissolved"});
  ASSERT_EQ(leave.exit_code, 0) << leave.err;
  // A member that already heard of the departure by gossip refuses the leaver's own call, so
  // 1 of 2 is a correct count too; every member knowing it is checked below.
  EXPECT_THAT(leave.out, ::testing::ContainsRegex("[12] of 2 members told at once"));
  for (const std::string n : {"a", "b", "c"}) {
    EXPECT_TRUE(WaitUntil([&] {
      auto m = Members(n);
      return m["left"].size() == 1 && m["left"][0]["did"] == c && m["members"].size() == 2;
    })) << n
        << ": " << Members(n).dump();
    EXPECT_TRUE(Members(n)["revoked"].empty()) << n;
  }
  EXPECT_TRUE(WaitForHits("a", "parting", 0)) << "the departed member's dataset stayed";
  EXPECT_NE(Hanse("c", {"peer", "ping", Did("a")}).exit_code, 0)
      << "a still accepts calls from a member that left";
  EXPECT_EQ(Hanse("a", {"peer", "ping", Did("b")}).exit_code, 0);
  CommandResult again = Hanse("c", {"federation", "leave", "--reason", "twice"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("already left"));
}

// 50 contract requests of a member, each started the moment its admission is visible on it,
// against an EU-only offer: the provider decides each on the facts the request carries, so none
// is denied for lack of them (whatever gossip has delivered by then).
TEST_F(MemberLifecycleTest, ANewMembersFirstRequestsAreDecidedOnItsFacts) {
  InitNode("hosp", {.country = "DE", .port = Port()});
  InitNode("lab", {.country = "FR", .port = Port()});
  InitNode("clinic", {.country = "NL", .port = Port()});
  Parallel({"hosp", "lab", "clinic"}, [this](const std::string& n) { StartNode(n); });
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NO_FATAL_FAILURE(FoundFederation({"hosp", "lab"}));
  const nlohmann::json eu_only = {
      {"@context", "http://www.w3.org/ns/odrl.jsonld"},
      {"@type", "Offer"},
      {"permission",
       {{{"action", "use"},
         {"constraint",
          {{{"leftOperand", "spatial"}, {"operator", "isPartOf"}, {"rightOperand", "EU"}},
           {{"leftOperand", "hanse:jurisdiction"},
            {"operator", "isPartOf"},
            {"rightOperand", "EU"}}}}}}}};
  const std::string dataset = Publish("hosp", "icu", "ICU vitals", "health", eu_only);

  WriteCard("clinic");
  CommandResult proposed = Hanse("lab", {"member", "propose", Card("clinic")});
  ASSERT_EQ(proposed.exit_code, 0) << proposed.err;
  ASSERT_TRUE(WaitUntil([&] { return !EndpointAt("hosp", Did("clinic")).empty(); }));
  CommandResult joined =
      Hanse("clinic", {"federation", "join", Charter(), "--bootstrap", Listen("hosp")});
  ASSERT_EQ(joined.exit_code, 0) << joined.err;
  // The moment the clinic holds the offer, 50 requests at once (10 in flight at a time).
  ASSERT_TRUE(WaitUntil([&] {
    return Hanse("clinic", {"dataset", "show", dataset}).exit_code == 0;
  }));
  std::atomic<int> agreed{0}, denied{0}, failed{0};
  std::mutex mu;
  std::string first_problem;
  std::vector<std::string> workers;
  for (int i = 0; i < 10; ++i) workers.push_back(absl::StrCat(i));
  Parallel(workers, [&](const std::string&) {
    for (int k = 0; k < 5; ++k) {
      CommandResult r = Hanse("clinic", {"contract", "request", dataset, "--purpose", "use"});
      if (r.exit_code == 0) {
        ++agreed;
        continue;
      }
      (r.out.find("TERMINATED") != std::string::npos ? denied : failed)++;
      std::lock_guard lock(mu);
      if (first_problem.empty()) first_problem = r.out + r.err;
    }
  });
  EXPECT_EQ(denied, 0) << first_problem;
  EXPECT_EQ(failed, 0) << first_problem;
  EXPECT_EQ(agreed, 50);
}

}  // namespace
}  // namespace hanse
