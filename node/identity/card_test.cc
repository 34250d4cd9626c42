#include "node/identity/card.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "tests/support/status_matchers.h"
#include "trust/did_key.h"
#include "trust/x509.h"

namespace hanse::node {
namespace {

using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;

struct Member {
  trust::PrivateKey key;
  MemberCard card;
};

Member MakeMember(const std::string& name) {
  auto key = trust::PrivateKey::Generate(trust::KeyType::kP256).value();
  std::string did = trust::EncodeDidKey(key.Public());
  absl::Time now = absl::Now();
  auto ca = trust::IssueParticipantCa(key, did, name, now - absl::Minutes(1), absl::Hours(24));
  return {key, MemberCard{did, name, "FR", "127.0.0.1:7400", ca.value(), now}};
}

TEST(CardTest, SignVerifyRoundTrip) {
  Member m = MakeMember("Acme");
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws, SignCard(m.card, m.key));
  HANSE_ASSERT_OK_AND_ASSIGN(MemberCard back, VerifyCard(jws, absl::Now()));
  EXPECT_EQ(back.did, m.card.did);
  EXPECT_EQ(back.endpoint, "127.0.0.1:7400");
  EXPECT_EQ(back.ca_pem, m.card.ca_pem);
}

TEST(CardTest, FileRoundTripAndEditedFieldIsRefused) {
  Member m = MakeMember("Acme");
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws, SignCard(m.card, m.key));
  std::string file = CardFileJson(jws, m.card);
  HANSE_ASSERT_OK_AND_ASSIGN(auto parsed, ParseCardFile(file, absl::Now()));
  EXPECT_EQ(parsed.first, jws);
  auto j = nlohmann::json::parse(file);
  j["endpoint"] = "10.0.0.1:1";
  EXPECT_THAT(ParseCardFile(j.dump(), absl::Now()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"endpoint\"")));
}

TEST(CardTest, CardWithAnotherMembersCaIsRefused) {
  Member a = MakeMember("A");
  Member b = MakeMember("B");
  MemberCard forged = a.card;
  forged.ca_pem = b.card.ca_pem;  // A claims B's CA, to get B's certificates accepted as A
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws, SignCard(forged, a.key));
  EXPECT_THAT(VerifyCard(jws, absl::Now()),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("CA certificate is for")));
}

TEST(CardTest, CardNamingAnotherDidIsRefused) {
  Member a = MakeMember("A");
  Member b = MakeMember("B");
  EXPECT_THAT(SignCard(b.card, a.key), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CardTest, GarbageIsRefused) {
  EXPECT_THAT(ParseCardFile("{\"card\": 5}", absl::Now()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseCardFile("a.b.c", absl::Now()), ::testing::Not(hanse::testing::IsOk()));
  EXPECT_FALSE(ParseCardFile("", absl::Now()).ok());
}

}  // namespace
}  // namespace hanse::node
