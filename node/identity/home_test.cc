#include "node/identity/home.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/file.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "trust/did_key.h"
#include "trust/x509.h"

namespace hanse::node {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

InitOptions Options(const std::string& dir, const std::string& key_type = "p256") {
  InitOptions o;
  o.dir = dir;
  o.legal_name = "Acme SA";
  o.country = "FR";
  o.listen = "127.0.0.1:0";
  o.key_type = key_type;
  return o;
}

mode_t Mode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class HomeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HomeTest, InitCreatesAConsistentHome) {
  testing::TempDir tmp;
  absl::Time now = absl::Now();
  HANSE_ASSERT_OK_AND_ASSIGN(std::string did, InitHome(Options(tmp.Sub("h"), GetParam()), now));
  EXPECT_THAT(did, StartsWith(GetParam() == "p256" ? "did:key:zDn" : "did:key:z6Mk"));
  HomePaths p(tmp.Sub("h"));
  EXPECT_EQ(Mode(p.participant_key), 0600u);
  EXPECT_EQ(Mode(p.node_key), 0600u);
  EXPECT_EQ(Mode(p.dir), 0700u);
  EXPECT_TRUE(PathExists(p.store + "/CURRENT"));

  HANSE_ASSERT_OK_AND_ASSIGN(Home home, LoadHome(p.dir, now));
  EXPECT_EQ(home.identity.did, did);
  EXPECT_EQ(home.config.legal_name, "Acme SA");
  EXPECT_THAT(trust::CertificateDid(home.identity.node_cert_pem),
              hanse::testing::IsOkAndHolds(did));
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, HomeTest, ::testing::Values("p256", "ed25519"));

TEST(HomeInitTest, RefusesExistingDirectory) {
  testing::TempDir tmp;
  EXPECT_THAT(InitHome(Options(tmp.path()), absl::Now()),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("never touches")));
}

TEST(HomeInitTest, RejectsBadArguments) {
  testing::TempDir tmp;
  auto o = Options(tmp.Sub("h"));
  o.country = "France";
  EXPECT_THAT(InitHome(o, absl::Now()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--country")));
  EXPECT_FALSE(PathExists(tmp.Sub("h")));
  o = Options(tmp.Sub("h"), "rsa");
  EXPECT_THAT(InitHome(o, absl::Now()), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(HomeInitTest, EveryInterfaceNeedsAnEndpointPeersCanDial) {
  testing::TempDir tmp;
  auto o = Options(tmp.Sub("h"));
  o.listen = "0.0.0.0:7400";
  EXPECT_THAT(InitHome(o, absl::Now()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("add --endpoint HOST:7400")));
  EXPECT_FALSE(PathExists(tmp.Sub("h")));
  o.endpoint = "0.0.0.0:7400";
  EXPECT_THAT(InitHome(o, absl::Now()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--endpoint 0.0.0.0:7400")));
  o.endpoint = "node1.example.org:7400";
  EXPECT_THAT(InitHome(o, absl::Now()), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Home home, LoadHome(tmp.Sub("h"), absl::Now()));
  EXPECT_EQ(home.config.listen, "0.0.0.0:7400");
  EXPECT_EQ(home.config.endpoint, "node1.example.org:7400");
}

TEST(HomeInitTest, ParticipantCaLifetimeIsChosenAtInit) {
  testing::TempDir tmp;
  auto o = Options(tmp.Sub("h"));
  o.ca_validity_days = 10;
  EXPECT_THAT(InitHome(o, absl::Now()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--ca-validity-days")));
  EXPECT_FALSE(PathExists(tmp.Sub("h")));
  o.ca_validity_days = 400;
  const absl::Time now = absl::Now();
  ASSERT_THAT(InitHome(o, now), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(std::string ca, ReadFile(tmp.Sub("h/participant-ca.pem")));
  HANSE_ASSERT_OK_AND_ASSIGN(absl::Time end, trust::CertificateNotAfter(ca));
  EXPECT_LT(absl::AbsDuration(end - (now + absl::Hours(24 * 400))), absl::Minutes(10));
}

TEST(HomeCertTest, RenewalIsDueInTheWindowOrWithAProblem) {
  Config config;  // renew 30 days before the end
  absl::Time end = absl::FromUnixSeconds(2'000'000'000);
  EXPECT_FALSE(NodeCertificateDue(end, "", config, end - absl::Hours(24 * 31)));
  EXPECT_TRUE(NodeCertificateDue(end, "", config, end - absl::Hours(24 * 30)));
  EXPECT_TRUE(NodeCertificateDue(end, "", config, end + absl::Seconds(1)));
  EXPECT_TRUE(NodeCertificateDue(end, "node.pem does not certify node.key", config,
                                 end - absl::Hours(24 * 300)));
}

TEST(HomeCertTest, ExpiredOrMismatchedCertificateIsReportedAndRenewed) {
  testing::TempDir tmp;
  absl::Time now = absl::Now();
  HANSE_ASSERT_OK_AND_ASSIGN(std::string did, InitHome(Options(tmp.Sub("h")), now));
  HANSE_ASSERT_OK_AND_ASSIGN(Home home, LoadHome(tmp.Sub("h"), now));
  EXPECT_EQ(home.identity.node_cert_problem, "");
  EXPECT_GT(home.identity.node_cert_not_after, now + absl::Hours(24 * 364));

  // A year and a day later the node certificate has expired; the home still loads.
  absl::Time later = now + absl::Hours(24 * 366);
  HANSE_ASSERT_OK_AND_ASSIGN(Home old, LoadHome(tmp.Sub("h"), later));
  EXPECT_THAT(old.identity.node_cert_problem, HasSubstr("expired"));
  HANSE_ASSERT_OK_AND_ASSIGN(absl::Time until, RenewNodeCertificate(old, later));
  EXPECT_GT(until, later + absl::Hours(24 * 364));
  HANSE_ASSERT_OK_AND_ASSIGN(Home renewed, LoadHome(tmp.Sub("h"), later));
  EXPECT_EQ(renewed.identity.node_cert_problem, "");
  EXPECT_NE(renewed.identity.node_key_pem, old.identity.node_key_pem);

  // A renewal cut off between its two writes: the key is new, the certificate is not.
  HomePaths p(tmp.Sub("h"));
  ASSERT_THAT(WriteFileAtomic(p.node_key, home.identity.node_key_pem, 0600), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Home torn, LoadHome(tmp.Sub("h"), later));
  EXPECT_THAT(torn.identity.node_cert_problem, HasSubstr("does not certify"));
  HANSE_ASSERT_OK_AND_ASSIGN(auto files, ReadNodeCertificateFiles(p));
  EXPECT_FALSE(files.key_matches);
}

TEST(HomeLoadTest, MissingHome) {
  testing::TempDir tmp;
  EXPECT_THAT(LoadHome(tmp.Sub("none"), absl::Now()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("hanse init")));
  EXPECT_THAT(LoadHome(tmp.path(), absl::Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not a hanse node home")));
}

TEST(HomeLoadTest, WrongModeKeyIsRefused) {
  testing::TempDir tmp;
  ASSERT_THAT(InitHome(Options(tmp.Sub("h")), absl::Now()).status(), IsOk());
  HomePaths p(tmp.Sub("h"));
  ASSERT_EQ(::chmod(p.participant_key.c_str(), 0644), 0);
  EXPECT_THAT(LoadHome(p.dir, absl::Now()),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       ::testing::AllOf(HasSubstr("participant.key"), HasSubstr("chmod 600"))));
}

TEST(HomeLoadTest, GarbledKeyIsNamed) {
  testing::TempDir tmp;
  ASSERT_THAT(InitHome(Options(tmp.Sub("h")), absl::Now()).status(), IsOk());
  HomePaths p(tmp.Sub("h"));
  ASSERT_THAT(WriteFileAtomic(p.node_key, "not a key", 0600), IsOk());
  EXPECT_THAT(LoadHome(p.dir, absl::Now()), StatusIs(::testing::_, HasSubstr("node.key")));
}

TEST(HomeLoadTest, OtherVersionIsRefused) {
  testing::TempDir tmp;
  ASSERT_THAT(InitHome(Options(tmp.Sub("h")), absl::Now()).status(), IsOk());
  HomePaths p(tmp.Sub("h"));
  ASSERT_THAT(
      WriteFileAtomic(p.config, R"({"format_version":7,"legal_name":"A","country":"FR"})", 0644),
      IsOk());
  EXPECT_THAT(LoadHome(p.dir, absl::Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("format version 7")));
}

// A node key the certificate does not certify (swapped, or a renewal cut off) is detected and
// reported for renewal: the participant key can certify any node key, so it is not fatal.
TEST(HomeLoadTest, SwappedKeyIsDetected) {
  testing::TempDir tmp;
  ASSERT_THAT(InitHome(Options(tmp.Sub("a")), absl::Now()).status(), IsOk());
  ASSERT_THAT(InitHome(Options(tmp.Sub("b")), absl::Now()).status(), IsOk());
  HomePaths a(tmp.Sub("a")), b(tmp.Sub("b"));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string other, ReadFile(b.node_key));
  ASSERT_THAT(WriteFileAtomic(a.node_key, other, 0600), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Home home, LoadHome(a.dir, absl::Now()));
  EXPECT_THAT(home.identity.node_cert_problem, HasSubstr("does not certify"));
  EXPECT_TRUE(NodeCertificateDue(home.identity.node_cert_not_after, home.identity.node_cert_problem,
                                 home.config, absl::Now()));
}

}  // namespace
}  // namespace hanse::node
