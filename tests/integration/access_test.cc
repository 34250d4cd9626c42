// Scoped access with real node processes: tokens granted by role reach the node on its access
// socket, each call is checked against the role, refusals and actions are in the audit log with
// the caller's name, and a revoked token stops working on the running node.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "nlohmann/json.hpp"
#include "tests/support/federation_fixture.h"

namespace hanse {
namespace {

using ::hanse::testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::Not;

// Sets HANSE_TOKEN for the commands run in its scope (the CLI reads it; the tests here run
// their commands one after another).
class AsHolder {
 public:
  explicit AsHolder(const std::string& token) { ::setenv("HANSE_TOKEN", token.c_str(), 1); }
  ~AsHolder() { ::unsetenv("HANSE_TOKEN"); }
  AsHolder(const AsHolder&) = delete;
  AsHolder& operator=(const AsHolder&) = delete;
};

class AccessTest : public testing::FederationTest {
 protected:
  std::string Grant(const std::string& role, const std::string& name) {
    CommandResult r = Hanse("a", {"access", "grant", "--role", role, "--name", name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("shown only now"));
    std::string token = r.out;
    while (!token.empty() && token.back() == '\n') token.pop_back();
    EXPECT_EQ(token.rfind("hanse_", 0), 0u) << token;
    return token;
  }

  // Audit entries of `kind` about `method` on node a, read by the operator.
  std::vector<nlohmann::json> Calls(const std::string& kind, const std::string& method) {
    CommandResult r = Hanse("a", {"audit", "list", "--json", "--limit", "1000"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<nlohmann::json> out;
    for (const auto& e : nlohmann::json::parse(r.out, nullptr, false)) {
      if (e.value("kind", "") == kind && e.value("subject", "") == method) out.push_back(e);
    }
    return out;
  }
};

TEST_F(AccessTest, RolesAreCheckedPerCallRecordedAndRevocable) {
  InitNode("a");
  InitNode("b");
  Parallel({"a", "b"}, [this](const std::string& n) { StartNode(n); });
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NO_FATAL_FAILURE(FoundFederation({"a", "b"}));

  const std::string robot = Grant("consumer", "lab-robot");
  const std::string curator = Grant("steward", "curator");
  struct stat st;
  ASSERT_EQ(::stat((Home("a") + "/access.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((Home("a") + "/access.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u) << "any local user may knock; the token decides";
  CommandResult list = Hanse("a", {"access", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("\"lab-robot\""));
  EXPECT_THAT(list.out, Not(HasSubstr(robot))) << "tokens are stored hashed, never shown again";
  CommandResult again =
      Hanse("a", {"access", "grant", "--role", "consumer", "--name", "lab-robot"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("a grant named lab-robot exists")) << "names are unique";
  CommandResult bad_role = Hanse("a", {"access", "grant", "--role", "admin", "--name", "x"});
  EXPECT_NE(bad_role.exit_code, 0);
  EXPECT_THAT(bad_role.err, HasSubstr("one of consumer, steward, operator"));

  {
    AsHolder as(robot);
    EXPECT_EQ(Hanse("a", {"status"}).exit_code, 0);
    EXPECT_EQ(Hanse("a", {"search", "anything"}).exit_code, 0);
    // A token holder names no path the node writes to: the node's own key stays untouched.
    const auto key_before = ReadFile(Home("a") + "/participant.key");
    CommandResult fetch = Hanse("a", {"fetch", "urn:uuid:00000000-0000-4000-8000-000000000000",
                                      "--out", Home("a") + "/participant.key"});
    EXPECT_NE(fetch.exit_code, 0);
    EXPECT_EQ(ReadFile(Home("a") + "/participant.key").value_or("?"), key_before.value_or("!"));
    struct stat fetched;
    EXPECT_EQ(::stat((Home("a") + "/fetched/lab-robot").c_str(), &fetched), 0)
        << "a token holder's fetch goes to HOME/fetched/<grant>/";
    CommandResult propose = Hanse("a", {"federation", "leave", "--reason", "robot says so"});
    EXPECT_EQ(propose.exit_code, 1);
    EXPECT_THAT(propose.err, HasSubstr("lab-robot (consumer) may not call LeaveFederation: it "
                                       "needs the operator role"));
  }
  {
    AsHolder as(curator);
    CommandResult endorse = Hanse("a", {"member", "endorse", Did("b")});
    EXPECT_EQ(endorse.exit_code, 1);
    EXPECT_THAT(endorse.err, HasSubstr("curator (steward) may not call EndorseMember"));
    const std::string id = Publish("a", "ward", "Ward occupancy", "health");
    EXPECT_FALSE(id.empty());
    CommandResult revoke = Hanse("a", {"member", "revoke", Did("b"), "--reason", "x"});
    EXPECT_EQ(revoke.exit_code, 1);
    EXPECT_THAT(revoke.err, HasSubstr("it needs the operator role"));
  }
  {
    AsHolder as("hanse_not-a-token");
    CommandResult r = Hanse("a", {"status"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("the token is not valid"));
  }

  // Who did what, in the signed audit chain: the steward's publish, the consumer's refusal, and
  // the operator's own calls.
  auto published = Calls("admin.call", "PublishDataset");
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0]["details"]["caller"], "curator");
  EXPECT_EQ(published[0]["details"]["role"], "steward");
  EXPECT_EQ(published[0]["details"]["socket"], "access");
  auto refused = Calls("admin.refused", "LeaveFederation");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]["details"]["caller"], "lab-robot");
  auto joined = Calls("admin.call", "JoinFederation");
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0]["details"]["caller"], "operator");
  EXPECT_EQ(joined[0]["details"]["socket"], "admin");
  EXPECT_TRUE(Calls("admin.call", "GetStatus").empty()) << "reads are not recorded";

  // Revoked on the running node: the next call is refused.
  ASSERT_EQ(Hanse("a", {"access", "revoke", "curator"}).exit_code, 0);
  {
    AsHolder as(curator);
    CommandResult r = Hanse("a", {"status"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("not valid"));
  }
  EXPECT_EQ(Hanse("a", {"member", "list"}).exit_code, 0) << "the operator's socket is unaffected";
}

}  // namespace
}  // namespace hanse
