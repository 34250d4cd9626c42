#include "node/federation/membership.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "catalog/memory_store.h"
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
  std::string jws;
};

class MembershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"a", "b", "c"}) members_.push_back(Make(name, "127.0.0.1:7400"));
    std::vector<std::string> cards;
    for (const auto& m : members_) cards.push_back(m.jws);
    Charter c;
    c.name = "Test";
    c.admission_threshold = 2;
    c.revocation_threshold = 2;
    for (const auto& m : members_) c.founders.push_back(m.card);
    c.founder_cards = cards;
    c.id = "federation-id";
    c.payload = R"({"type":"HanseCharter"})";
    charter_ = c;
  }

  static Member Make(const std::string& name, const std::string& endpoint,
                     absl::Time issued = absl::Now()) {
    auto key = trust::PrivateKey::Generate(trust::KeyType::kP256).value();
    std::string did = trust::EncodeDidKey(key.Public());
    auto ca =
        trust::IssueParticipantCa(key, did, name, absl::Now() - absl::Minutes(1), absl::Hours(24));
    MemberCard card{did, name, "FR", endpoint, ca.value(), issued};
    return {key, card, SignCard(card, key).value()};
  }

  // A card update of `m` naming `endpoint`, issued at `issued`.
  Endorsement CardUpdate(const Member& m, const std::string& endpoint, absl::Time issued) {
    MemberCard card = m.card;
    card.endpoint = endpoint;
    card.issued = issued;
    std::string card_jws = SignCard(card, m.key).value();
    return Verify(SignEndorsement(charter_, MembershipAction::kCard, m.card.did, card_jws, "",
                                  m.key, issued));
  }

  Endorsement Verify(const absl::StatusOr<std::string>& jws) {
    EXPECT_TRUE(jws.ok()) << jws.status();
    auto e = VerifyEndorsement(jws.value_or(""), charter_, absl::Now());
    EXPECT_TRUE(e.ok()) << e.status();
    return e.value_or(Endorsement{});
  }

  std::vector<Member> members_;
  Charter charter_;
};

TEST_F(MembershipTest, TheLatestIssuedCardUpdateWinsWhateverTheOrder) {
  const Member& a = members_[0];
  absl::Time t = absl::Now();
  Endorsement older = CardUpdate(a, "10.0.0.1:7400", t + absl::Seconds(1));
  Endorsement newer = CardUpdate(a, "10.0.0.2:7400", t + absl::Seconds(2));
  for (const auto& records : {std::vector<Endorsement>{older, newer}, {newer, older}}) {
    MembershipState s = ComputeMembership(charter_, records);
    EXPECT_EQ(s.members.at(a.card.did).endpoint, "10.0.0.2:7400");
    EXPECT_EQ(s.members.size(), 3u);
  }
  // A card issued before the admitted one does not replace it.
  Endorsement stale = CardUpdate(a, "10.0.0.9:7400", a.card.issued - absl::Hours(1));
  EXPECT_EQ(ComputeMembership(charter_, {stale}).members.at(a.card.did).endpoint, "127.0.0.1:7400");
}

TEST_F(MembershipTest, OnlyTheMemberItselfSignsItsCardUpdateOrItsDeparture) {
  const Member& a = members_[0];
  const Member& b = members_[1];
  MemberCard card = a.card;
  card.endpoint = "10.0.0.1:7400";
  std::string card_jws = SignCard(card, a.key).value();
  EXPECT_THAT(SignEndorsement(charter_, MembershipAction::kCard, a.card.did, card_jws, "", b.key,
                              absl::Now())
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("member itself")));
  EXPECT_THAT(
      SignEndorsement(charter_, MembershipAction::kLeave, a.card.did, "", "bye", b.key, absl::Now())
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("member itself")));
  // A card of b inside a's update is refused too.
  std::string b_card = b.jws;
  auto forged = SignEndorsement(charter_, MembershipAction::kCard, a.card.did, b_card, "", a.key,
                                absl::Now());
  ASSERT_TRUE(forged.ok());
  EXPECT_THAT(VerifyEndorsement(*forged, charter_, absl::Now()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("another DID")));
}

TEST_F(MembershipTest, DepartureRemovesTheMemberButKeepsTheVotesItCast) {
  const Member& a = members_[0];
  const Member& b = members_[1];
  Member d = Make("d", "127.0.0.1:7401");
  absl::Time t = absl::Now();
  // a and b admit d (k = 2) and revoke c (r = 2); then a leaves with a departure dated long
  // before: neither the admission nor the revocation is undone.
  Endorsement a_admits_d =
      Verify(SignEndorsement(charter_, MembershipAction::kAdmit, d.card.did, d.jws, "", a.key, t));
  Endorsement b_admits_d =
      Verify(SignEndorsement(charter_, MembershipAction::kAdmit, d.card.did, d.jws, "", b.key, t));
  const std::string c = members_[2].card.did;
  Endorsement a_revokes_c =
      Verify(SignEndorsement(charter_, MembershipAction::kRevoke, c, "", "x", a.key, t));
  Endorsement b_revokes_c =
      Verify(SignEndorsement(charter_, MembershipAction::kRevoke, c, "", "x", b.key, t));
  Endorsement a_leaves = Verify(SignEndorsement(charter_, MembershipAction::kLeave, a.card.did, "",
                                                "dissolved", a.key, absl::UnixEpoch()));
  MembershipState s =
      ComputeMembership(charter_, {a_leaves, a_admits_d, b_admits_d, a_revokes_c, b_revokes_c});
  EXPECT_FALSE(s.members.count(a.card.did));
  EXPECT_TRUE(s.left.count(a.card.did));
  EXPECT_FALSE(s.revoked.count(a.card.did)) << "a departure is not a revocation";
  EXPECT_TRUE(s.members.count(d.card.did)) << "a back-dated departure undid an admission";
  EXPECT_TRUE(s.revoked.count(c)) << "a back-dated departure undid a revocation";
}

TEST_F(MembershipTest, ADepartedMemberSignsNothingMoreAndNonMembersMakeNoStatements) {
  std::unique_ptr<catalog::Store> store = catalog::NewMemoryStore();
  Membership membership(store.get());
  charter_.signatures.clear();
  ASSERT_THAT(membership.Join(charter_), ::hanse::testing::IsOk());
  const Member& a = members_[0];
  absl::Time t = absl::Now();
  auto leave = SignEndorsement(charter_, MembershipAction::kLeave, a.card.did, "", "bye", a.key, t);
  ASSERT_THAT(membership.AddRecord(*leave, t).status(), ::hanse::testing::IsOk());
  EXPECT_TRUE(membership.state().left.count(a.card.did));
  Member e = Make("e", "127.0.0.1:7402");
  auto late = SignEndorsement(charter_, MembershipAction::kAdmit, e.card.did, e.jws, "", a.key,
                              t - absl::Hours(1));
  EXPECT_THAT(membership.AddRecord(*late, t).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("has left")));
  // A stranger's card update verifies, but is not stored.
  MemberCard moved = e.card;
  moved.endpoint = "10.0.0.9:7400";
  auto stranger = SignEndorsement(charter_, MembershipAction::kCard, e.card.did,
                                  SignCard(moved, e.key).value(), "", e.key, t);
  EXPECT_THAT(membership.AddRecord(*stranger, t).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not a current member")));
  EXPECT_EQ(membership.records().size(), 1u);
}

}  // namespace
}  // namespace hanse::node
