#include "node/identity/config.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/support/status_matchers.h"

namespace hanse::node {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr const char* kGood = R"({"format_version": 1, "legal_name": "Acme SA",
  "country": "FR", "listen": "127.0.0.1:7400"})";

TEST(ConfigTest, ParsesMinimalAndAppliesDefaults) {
  HANSE_ASSERT_OK_AND_ASSIGN(Config c, ParseConfig(kGood, "config.json"));
  EXPECT_EQ(c.legal_name, "Acme SA");
  EXPECT_EQ(c.country, "FR");
  EXPECT_EQ(c.key_type, "p256");
  EXPECT_EQ(c.log_format, "text");
  EXPECT_EQ(c.shutdown_grace_seconds, 10);
}

TEST(ConfigTest, RoundTrips) {
  Config c;
  c.legal_name = "Hôpital \"Nord\"";
  c.country = "BE";
  c.listen = "[::1]:0";
  c.key_type = "ed25519";
  HANSE_ASSERT_OK_AND_ASSIGN(Config back, ParseConfig(SerializeConfig(c), "x"));
  EXPECT_EQ(back.legal_name, c.legal_name);
  EXPECT_EQ(back.listen, c.listen);
  EXPECT_EQ(back.key_type, "ed25519");
}

TEST(ConfigTest, UnknownKeyIsNamedWithFile) {
  EXPECT_THAT(ParseConfig(R"({"format_version":1,"legal_name":"A","country":"FR","lisen":"x"})",
                          "/h/config.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("/h/config.json"), HasSubstr("\"lisen\""),
                             HasSubstr("unknown key"))));
}

TEST(ConfigTest, WrongTypeIsNamed) {
  EXPECT_THAT(
      ParseConfig(R"({"format_version":1,"legal_name":"A","country":"FR","listen":7400})", "c"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("\"listen\""), HasSubstr("string"))));
}

TEST(ConfigTest, BadValuesAreNamed) {
  EXPECT_THAT(ParseConfig(R"({"format_version":1,"legal_name":"A","country":"fr"})", "c"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"country\"")));
  EXPECT_THAT(ParseConfig(R"({"format_version":1,"legal_name":"A","country":"FR",
                              "listen":"host:99999"})",
                          "c"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"listen\"")));
  EXPECT_THAT(ParseConfig(R"({"format_version":1,"legal_name":"A","country":"FR",
                              "key_type":"rsa"})",
                          "c"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"key_type\"")));
  EXPECT_THAT(ParseConfig(R"({"format_version":1,"legal_name":"A","country":"FR",
                              "shutdown_grace_seconds":-1})",
                          "c"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shutdown_grace_seconds")));
  EXPECT_THAT(ParseConfig(R"({"format_version":1,"country":"FR"})", "c"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("legal_name")));
}

TEST(ConfigTest, EndpointMustBeDialable) {
  for (const char* endpoint : {"0.0.0.0:7400", "[::]:7400", "node1.example.org:0"}) {
    EXPECT_THAT(ParseConfig(absl::StrCat(R"({"format_version":1,"legal_name":"A","country":"FR",
                                          "endpoint":")",
                                         endpoint, "\"}"),
                            "c"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"endpoint\"")))
        << endpoint;
  }
  EXPECT_THAT(ParseConfig(R"({"format_version":1,"legal_name":"A","country":"FR",
                              "listen":"0.0.0.0:7400","endpoint":"node1.example.org:7400"})",
                          "c"),
              IsOk());
}

TEST(ConfigTest, OpsListenIsOffByDefaultAndChecked) {
  HANSE_ASSERT_OK_AND_ASSIGN(
      Config off, ParseConfig(R"({"format_version":1,"legal_name":"A","country":"FR"})", "c"));
  EXPECT_EQ(off.ops_listen, "");
  HANSE_ASSERT_OK_AND_ASSIGN(Config on, ParseConfig(R"({"format_version":1,"legal_name":"A",
                                 "country":"FR","ops_listen":"127.0.0.1:9464"})",
                                                    "c"));
  EXPECT_EQ(on.ops_listen, "127.0.0.1:9464");
  HANSE_ASSERT_OK_AND_ASSIGN(Config back, ParseConfig(SerializeConfig(on), "c"));
  EXPECT_EQ(back.ops_listen, "127.0.0.1:9464");
  EXPECT_THAT(ParseConfig(R"({"format_version":1,"legal_name":"A","country":"FR",
                              "ops_listen":"9464"})",
                          "c"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"ops_listen\"")));
}

TEST(ConfigTest, UnspecifiedHosts) {
  for (const char* host : {"0.0.0.0", "::", "0:0:0:0:0:0:0:0", "*"}) {
    EXPECT_TRUE(IsUnspecifiedHost(host)) << host;
  }
  for (const char* host : {"127.0.0.1", "::1", "10.0.0.2", "node1.example.org", "0.0.0.1"}) {
    EXPECT_FALSE(IsUnspecifiedHost(host)) << host;
  }
}

TEST(ConfigTest, OtherFormatVersionIsFailedPrecondition) {
  EXPECT_THAT(ParseConfig(R"({"format_version":2,"legal_name":"A","country":"FR"})", "c"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("format version 2")));
  EXPECT_THAT(ParseConfig(R"({"legal_name":"A","country":"FR"})", "c"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("format_version")));
}

TEST(ConfigTest, NotJsonOrNotObject) {
  EXPECT_THAT(ParseConfig("{", "c"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseConfig("[1]", "c"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(HostPortTest, Parses) {
  HANSE_ASSERT_OK_AND_ASSIGN(HostPort a, ParseHostPort("127.0.0.1:0"));
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 0);
  HANSE_ASSERT_OK_AND_ASSIGN(HostPort b, ParseHostPort("[::1]:7400"));
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.ToString(), "[::1]:7400");
  EXPECT_THAT(ParseHostPort("::1:7400"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseHostPort(":7400"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseHostPort("h:"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseHostPort("h:7x"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateCountry("DE"), IsOk());
}

}  // namespace
}  // namespace hanse::node
