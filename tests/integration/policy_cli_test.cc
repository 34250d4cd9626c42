// `hanse policy check` on the health-data example shipped with the demo: permit with duties,
// and a denial whose trace names the failing constraint.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/process.h"

namespace hanse {
namespace {

using ::hanse::testing::CommandResult;
using ::hanse::testing::RunHanse;
using ::testing::HasSubstr;

const std::string kExamples = std::string(HANSE_SOURCE_DIR) + "/deploy/examples/";

// Not a policy command, but like them it needs no home: the version names its commit.
TEST(PolicyCliTest, VersionNamesTheCommit) {
  for (const char* arg : {"version", "--version"}) {
    CommandResult r = RunHanse({arg});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(
        r.out,
        ::testing::MatchesRegex(
            R"(hanse [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{12,40}(-dirty)?|unknown)\)\s*)"))
        << arg;
  }
}

// Usage errors: one line, exit code 2, never the help text with exit code 0.
TEST(PolicyCliTest, UsageErrorsSayWhatIsWrongAndExitTwo) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "a command is required"},
      {{"stauts"}, "unknown command \"stauts\""},
      {{"peer", "lsit"}, "unknown command \"lsit\""},
      {{"-home", "x"}, "unknown option \"-home\""},
      {{"status"}, "--home is required"},
  };
  for (const auto& [args, message] : cases) {
    CommandResult r = RunHanse(args);
    EXPECT_EQ(r.exit_code, 2) << message;
    EXPECT_THAT(r.err, HasSubstr("hanse: error: " + message));
    EXPECT_EQ(r.out, "") << message;
  }
  CommandResult help = RunHanse({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("Subcommands:"));
}

TEST(PolicyCliTest, PermitsTheEuHospitalWithDuties) {
  CommandResult r = RunHanse({"policy", "check", "--policy", kExamples + "health-policy.json",
                              "--request", kExamples + "request-eu-hospital.json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("decision: permit"));
  EXPECT_THAT(r.out, HasSubstr("delete"));
}

TEST(PolicyCliTest, DeniesTheUsSubsidiaryAndSaysWhy) {
  CommandResult r = RunHanse({"policy", "check", "--policy", kExamples + "health-policy.json",
                              "--request", kExamples + "request-us-subsidiary.json", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("jurisdiction"));
  EXPECT_THAT(r.out, HasSubstr("US not in EU"));
}

TEST(PolicyCliTest, MalformedInputIsExitTwo) {
  CommandResult r = RunHanse({"policy", "check", "--policy", kExamples + "missing.json",
                              "--request", kExamples + "request-eu-hospital.json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing.json"));
}

}  // namespace
}  // namespace hanse
