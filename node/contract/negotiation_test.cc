#include "node/contract/negotiation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

#include "node/contract/test_util.h"
#include "tests/support/status_matchers.h"

namespace hanse::contract {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::IsOkAndHolds;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;
using namespace ::hanse::contract::testing;  // NOLINT

const std::set<std::pair<State, State>> kLegal = {
    {State::kRequested, State::kOffered},    {State::kRequested, State::kAgreed},
    {State::kRequested, State::kTerminated}, {State::kOffered, State::kRequested},
    {State::kOffered, State::kAccepted},     {State::kOffered, State::kTerminated},
    {State::kAccepted, State::kAgreed},      {State::kAccepted, State::kTerminated},
    {State::kAgreed, State::kVerified},      {State::kAgreed, State::kTerminated},
    {State::kVerified, State::kFinalized},   {State::kVerified, State::kTerminated},
};

TEST(TransitionTable, EveryPairMatchesTheProtocol) {
  int legal = 0;
  for (State from : kAllStates) {
    for (State to : kAllStates) {
      const bool expected = kLegal.count({from, to}) > 0;
      EXPECT_EQ(IsLegalTransition(from, to), expected)
          << StateName(from) << " -> " << StateName(to);
      if (expected) {
        ++legal;
        EXPECT_THAT(CheckTransition(from, to), IsOk());
      } else {
        EXPECT_THAT(CheckTransition(from, to),
                    StatusIs(absl::StatusCode::kFailedPrecondition,
                             HasSubstr(absl::StrCat("illegal transition ", StateName(from), " -> ",
                                                    StateName(to)))));
      }
    }
  }
  EXPECT_EQ(legal, 12);
}

TEST(TransitionTable, FinalStatesGoNowhere) {
  for (State to : kAllStates) {
    EXPECT_FALSE(IsLegalTransition(State::kFinalized, to));
    EXPECT_FALSE(IsLegalTransition(State::kTerminated, to));
  }
  EXPECT_THAT(CheckTransition(State::kFinalized, State::kAgreed),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("FINALIZED -> AGREED (FINALIZED is final)")));
  EXPECT_TRUE(IsFinal(State::kFinalized));
  EXPECT_TRUE(IsFinal(State::kTerminated));
  EXPECT_FALSE(IsFinal(State::kVerified));
}

TEST(States, NamesRoundTrip) {
  for (State s : kAllStates) EXPECT_THAT(ParseState(StateName(s)), IsOkAndHolds(s));
  EXPECT_THAT(ParseState("requested"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRole("provider"), IsOkAndHolds(Role::kProvider));
  EXPECT_THAT(ParseRole("consumer"), IsOkAndHolds(Role::kConsumer));
  EXPECT_THAT(ParseRole("broker"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NegotiationJson, RoundTripsEveryField) {
  Negotiation n;
  n.id = "urn:uuid:1";
  n.role = Role::kConsumer;
  n.provider_did = "did:key:z6MkP";
  n.consumer_did = "did:key:z6MkC";
  n.dataset_id = "urn:hanse:dataset:x";
  n.dataset_version = 7;
  n.content_digest = Digest();
  n.policy_json = kEuPolicy;
  n.purpose = "p";
  n.state = State::kTerminated;
  n.history = {{State::kRequested, kT0, "sent"},
               {State::kTerminated, kT0 + absl::Nanoseconds(1500), "why"}};
  n.termination_reason = "why";
  n.decision_permit = false;
  n.decision_json = R"({"decision":"deny"})";
  n.request_json = R"({"now":"2025-01-15T12:00:00Z"})";
  n.agreement_id = "urn:hanse:agreement:1";
  n.provider_token = "a.b.c";
  n.consumer_token = "d.e.f";
  n.created = kT0;
  n.updated = kT0 + absl::Seconds(1);
  absl::StatusOr<Negotiation> back = NegotiationFromJson(NegotiationToJson(n));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(NegotiationToJson(*back), NegotiationToJson(n));
  EXPECT_EQ(back->history[1].time, kT0 + absl::Nanoseconds(1500));
  EXPECT_EQ(back->decision_permit, std::optional<bool>(false));
  EXPECT_EQ(back->state, State::kTerminated);
}

TEST(NegotiationJson, CorruptRecordIsDataLoss) {
  EXPECT_THAT(NegotiationFromJson("not json"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(NegotiationFromJson(R"({"v":1,"id":"x"})"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(NegotiationFromJson(R"({"v":2})"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("version")));
}

}  // namespace
}  // namespace hanse::contract
