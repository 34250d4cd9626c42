// Federation without an operator, with real nodes: a charter signed by three founders,
// k-of-n admission, replication to every member, and revocation at threshold.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "nlohmann/json.hpp"
#include "tests/support/federation_fixture.h"
#include "tests/support/process.h"

namespace hanse {
namespace {

using ::hanse::testing::CommandResult;
using ::testing::HasSubstr;

class FederationMembershipTest : public testing::FederationTest {
 protected:
  void SetUp() override {
    Parallel({"a", "b", "c", "d", "e"}, [this](const std::string& n) {
      ASSERT_NO_FATAL_FAILURE(InitNode(n));
      ASSERT_NO_FATAL_FAILURE(StartNode(n));
      WriteCard(n);
    });
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
};

TEST_F(FederationMembershipTest, FoundAdmitReplicateRevoke) {
  ASSERT_NO_FATAL_FAILURE(DraftCharter("Health EU", {"a", "b", "c"}, 2, 2));
  const std::string charter = Charter();

  // Not every founder has signed: joining is refused.
  ASSERT_EQ(SignCharter("a").exit_code, 0);
  CommandResult r = Hanse("a", {"federation", "join", charter});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("has not signed yet"));
  // A non-founder cannot sign.
  r = Hanse("d", {"federation", "sign", charter});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("not a founder"));
  ASSERT_EQ(SignCharter("b").exit_code, 0);
  ASSERT_EQ(SignCharter("c").exit_code, 0);
  for (const char* n : {"a", "b", "c"}) {
    r = Hanse(n, {"federation", "join", charter});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("3 members"));
  }

  // d is proposed by a: one endorsement is not enough at threshold 2.
  r = Hanse("a", {"member", "propose", Card("d")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("pending (1 of 2"));
  EXPECT_TRUE(WaitUntil([&] {
    auto m = Members("b");
    return m.contains("pending_admissions") && m["pending_admissions"].size() == 1;
  }));
  EXPECT_FALSE(IsMember(Members("b"), Did("d")));
  // A non-member cannot endorse.
  r = Hanse("e", {"member", "endorse", Did("d")});
  EXPECT_EQ(r.exit_code, 1);
  // b endorses: d is admitted everywhere.
  r = Hanse("b", {"member", "endorse", Did("d")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("admitted"));
  for (const char* n : {"a", "b", "c"}) {
    EXPECT_TRUE(WaitUntil([&] { return IsMember(Members(n), Did("d")); })) << n;
  }
  // d joins through any member and checks the records itself.
  r = Hanse("d", {"federation", "join", charter, "--bootstrap", Listen("c")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(WaitUntil([&] { return IsMember(Members("d"), Did("d")); })) << r.out << Log("d");

  // Publish on d, find it on every member.
  ASSERT_THAT(Publish("d", "g", "Glacier melt", "climate"), HasSubstr("/datasets/g"));
  for (const char* n : {"a", "b", "c", "d"}) {
    EXPECT_TRUE(WaitForHits(n, "glacier", 1)) << n;
  }
  // A live query asks every member now; each answer is verified by the asker.
  r = Hanse("a", {"search", "glacier", "--live", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto live = nlohmann::json::parse(r.out);
  EXPECT_EQ(live["answered"].size(), 3u) << r.out;
  EXPECT_EQ(live["failed"].size(), 0u) << r.out;
  EXPECT_EQ(live["hits"].size(), 1u) << r.out;

  // e, never admitted, is refused.
  r = Hanse("e", {"peer", "ping", Listen("a")});
  EXPECT_NE(r.exit_code, 0);

  // Revocation: one vote is not enough; at two, d is out everywhere.
  r = Hanse("a", {"member", "revoke", Did("d"), "--reason", "left the consortium"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("pending (1 of 2"));
  EXPECT_EQ(Hanse("d", {"peer", "ping", Did("a")}).exit_code, 0);
  r = Hanse("c", {"member", "revoke", Did("d"), "--reason", "agreed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* n : {"a", "b", "c"}) {
    EXPECT_TRUE(WaitUntil([&] { return !IsMember(Members(n), Did("d")); })) << n;
    // Its datasets stop being current.
    EXPECT_TRUE(WaitForHits(n, "glacier", 0)) << n;
  }
  // Its calls fail.
  EXPECT_NE(Hanse("d", {"peer", "ping", Did("a")}).exit_code, 0);
  // Revocation is permanent: it cannot be proposed again.
  r = Hanse("a", {"member", "propose", Card("d")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("permanently"));

  // A member that is down is reported as not answering a live query.
  EXPECT_EQ(StopNode("b"), 0);
  r = Hanse("a", {"search", "glacier", "--live", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  live = nlohmann::json::parse(r.out);
  EXPECT_EQ(live["answered"].size(), 1u) << r.out;
  ASSERT_EQ(live["failed"].size(), 1u) << r.out;
  EXPECT_THAT(live["failed"][0].get<std::string>(), HasSubstr(Did("b")));
}

}  // namespace
}  // namespace hanse
