// Federation without an operator, with real nodes: a charter signed by three founders,
// k-of-n admission, replication to every member, and revocation at threshold.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/file.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace hanse {
namespace {

using ::hanse::testing::CommandResult;
using ::hanse::testing::IsOk;
using ::hanse::testing::NodeProcess;
using ::hanse::testing::RunHanse;
using ::testing::HasSubstr;

class FederationMembershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* n : {"a", "b", "c", "d", "e"}) {
      CommandResult r = RunHanse({"init", "--home", tmp_.Sub(n), "--name", absl::StrCat("Org ", n),
                                  "--country", "FR", "--listen", "127.0.0.1:0"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      did_[n] = r.out.substr(0, r.out.find('\n'));
      auto text = ReadFile(tmp_.Sub(absl::StrCat(n, "/config.json")));
      auto j = nlohmann::json::parse(*text);
      j["gossip_interval_ms"] = 200;
      ASSERT_THAT(WriteFileAtomic(tmp_.Sub(absl::StrCat(n, "/config.json")), j.dump(), 0644),
                  IsOk());
      node_[n] = std::make_unique<NodeProcess>(tmp_.Sub(n), tmp_.Sub(absl::StrCat(n, ".log")));
      auto listen = node_[n]->Start();
      ASSERT_TRUE(listen.ok()) << listen.status();
      listen_[n] = *listen;
      ASSERT_EQ(RunHanse({"card", "--home", tmp_.Sub(n), "--out", Card(n)}).exit_code, 0);
    }
  }
  std::string Card(const std::string& n) { return tmp_.Sub(n + ".card"); }
  CommandResult Hanse(const std::string& n, std::vector<std::string> args) {
    args.insert(args.begin() + 2, {"--home", tmp_.Sub(n)});
    return RunHanse(args);
  }
  nlohmann::json Members(const std::string& n) {
    CommandResult r = Hanse(n, {"member", "list", "--json"});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_discarded() ? nlohmann::json::object() : j;
  }
  bool IsMember(const nlohmann::json& list, const std::string& did) {
    if (!list.contains("members")) return false;
    for (const auto& m : list["members"]) {
      if (m["did"] == did) return true;
    }
    return false;
  }
  template <typename Pred>
  bool Eventually(Pred pred) {
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }
  size_t Hits(const std::string& n, const std::string& query) {
    CommandResult r = RunHanse({"search", "--home", tmp_.Sub(n), query, "--json"});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_discarded() ? 999 : j["hits"].size();
  }

  testing::TempDir tmp_;
  std::map<std::string, std::string> did_, listen_;
  std::map<std::string, std::unique_ptr<NodeProcess>> node_;
};

TEST_F(FederationMembershipTest, FoundAdmitReplicateRevoke) {
  std::string charter = tmp_.Sub("charter.json");
  CommandResult r = RunHanse({"federation", "draft", "--name", "Health EU", "--admission-threshold",
                              "2", "--revocation-threshold", "2", "--founder", Card("a"),
                              "--founder", Card("b"), "--founder", Card("c")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_THAT(WriteFileAtomic(charter, r.out, 0644), IsOk());

  // Not every founder has signed: joining is refused.
  ASSERT_EQ(Hanse("a", {"federation", "sign", charter, "--out", charter}).exit_code, 0);
  r = Hanse("a", {"federation", "join", charter});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("has not signed yet"));
  // A non-founder cannot sign.
  r = Hanse("d", {"federation", "sign", charter});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("not a founder"));
  ASSERT_EQ(Hanse("b", {"federation", "sign", charter, "--out", charter}).exit_code, 0);
  ASSERT_EQ(Hanse("c", {"federation", "sign", charter, "--out", charter}).exit_code, 0);
  for (const char* n : {"a", "b", "c"}) {
    r = Hanse(n, {"federation", "join", charter});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("3 members"));
  }

  // d is proposed by a: one endorsement is not enough at threshold 2.
  r = Hanse("a", {"member", "propose", Card("d")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("pending (1 of 2"));
  EXPECT_TRUE(Eventually([&] {
    auto m = Members("b");
    return m.contains("pending_admissions") && m["pending_admissions"].size() == 1;
  }));
  EXPECT_FALSE(IsMember(Members("b"), did_["d"]));
  // A non-member cannot endorse.
  r = Hanse("e", {"member", "endorse", did_["d"]});
  EXPECT_EQ(r.exit_code, 1);
  // b endorses: d is admitted everywhere.
  r = Hanse("b", {"member", "endorse", did_["d"]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("admitted"));
  for (const char* n : {"a", "b", "c"}) {
    EXPECT_TRUE(Eventually([&] { return IsMember(Members(n), did_["d"]); })) << n;
  }
  // d joins through any member and checks the records itself.
  r = Hanse("d", {"federation", "join", charter, "--bootstrap", listen_["c"]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Eventually([&] { return IsMember(Members("d"), did_["d"]); }))
      << r.out << node_["d"]->Log();

  // Publish on d, find it on every member.
  ASSERT_THAT(WriteFileAtomic(tmp_.Sub("d/data/g.csv"), "x\n", 0644), IsOk());
  ASSERT_THAT(WriteFileAtomic(tmp_.Sub("g.json"), R"({"name": "g", "title": "Glacier melt",
      "license": "CC-BY-4.0", "media_type": "text/csv", "language": "en", "content": "g.csv",
      "policy": {"@type": "Offer", "permission": [{"action": "use"}]}})",
                              0644),
              IsOk());
  ASSERT_EQ(Hanse("d", {"dataset", "publish", tmp_.Sub("g.json")}).exit_code, 0);
  for (const char* n : {"a", "b", "c", "d"}) {
    EXPECT_TRUE(Eventually([&] { return Hits(n, "glacier") == 1; })) << n;
  }
  // A live query asks every member now; each answer is verified by the asker.
  r = Hanse("a", {"search", "glacier", "--live", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto live = nlohmann::json::parse(r.out);
  EXPECT_EQ(live["answered"].size(), 3u) << r.out;
  EXPECT_EQ(live["failed"].size(), 0u) << r.out;
  EXPECT_EQ(live["hits"].size(), 1u) << r.out;

  // e, never admitted, is refused.
  r = Hanse("e", {"peer", "ping", listen_["a"]});
  EXPECT_NE(r.exit_code, 0);

  // Revocation: one vote is not enough; at two, d is out everywhere.
  r = Hanse("a", {"member", "revoke", did_["d"], "--reason", "left the consortium"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("pending (1 of 2"));
  EXPECT_EQ(Hanse("d", {"peer", "ping", did_["a"]}).exit_code, 0);
  r = Hanse("c", {"member", "revoke", did_["d"], "--reason", "agreed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* n : {"a", "b", "c"}) {
    EXPECT_TRUE(Eventually([&] { return !IsMember(Members(n), did_["d"]); })) << n;
    // Its datasets stop being current.
    EXPECT_TRUE(Eventually([&] { return Hits(n, "glacier") == 0; })) << n;
  }
  // Its calls fail.
  EXPECT_NE(Hanse("d", {"peer", "ping", did_["a"]}).exit_code, 0);
  // Revocation is permanent: it cannot be proposed again.
  r = Hanse("a", {"member", "propose", Card("d")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("permanently"));

  // A member that is down is reported as not answering a live query.
  EXPECT_EQ(node_["b"]->Stop(SIGTERM), 0);
  r = Hanse("a", {"search", "glacier", "--live", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  live = nlohmann::json::parse(r.out);
  EXPECT_EQ(live["answered"].size(), 1u) << r.out;
  ASSERT_EQ(live["failed"].size(), 1u) << r.out;
  EXPECT_THAT(live["failed"][0].get<std::string>(), HasSubstr(did_["b"]));
}

}  // namespace
}  // namespace hanse
