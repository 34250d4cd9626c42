#include "node/contract/contract_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "catalog/store.h"
#include "nlohmann/json.hpp"
#include "node/contract/agreement.h"
#include "node/contract/test_util.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace hanse::contract {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::IsOkAndHolds;
using ::hanse::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using namespace ::hanse::contract::testing;  // NOLINT
using Json = nlohmann::json;

// One node's store, reopenable.
class Node {
 public:
  explicit Node(std::string dir) : dir_(std::move(dir)) { Open(); }
  void Open() {
    contracts_.reset();
    store_.reset();
    auto store = catalog::OpenRocksStore(dir_, {.create_if_missing = true});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    contracts_ = std::make_unique<ContractStore>(store_.get());
  }
  ContractStore& operator*() { return *contracts_; }
  catalog::Store* store() { return store_.get(); }
  ContractStore* operator->() { return contracts_.get(); }

 private:
  std::string dir_;
  std::unique_ptr<catalog::Store> store_;
  std::unique_ptr<ContractStore> contracts_;
};

std::vector<State> States(const Negotiation& n) {
  std::vector<State> out;
  for (const HistoryEntry& h : n.history) out.push_back(h.state);
  return out;
}

class ContractStoreTest : public ::testing::Test {
 protected:
  // Drives a negotiation until the consumer has countersigned (the provider is AGREED); returns
  // the consumer's record.
  absl::StatusOr<Negotiation> Countersigned(const std::string& id) {
    HANSE_RETURN_IF_ERROR(
        provider_->BeginProviderNegotiation(Start(id, provider_key_, consumer_key_), kT0).status());
    HANSE_RETURN_IF_ERROR(
        consumer_->BeginConsumerNegotiation(Start(id, provider_key_, consumer_key_), kT0).status());
    HANSE_RETURN_IF_ERROR(provider_->Decide(id, RequestFrom("DE"), kT0).status());
    HANSE_ASSIGN_OR_RETURN(Negotiation agreed, provider_->Agree(id, provider_key_, kT0));
    HANSE_RETURN_IF_ERROR(consumer_->ReceiveAgreement(id, agreed.provider_token, kT0).status());
    return consumer_->Countersign(id, consumer_key_, kT0);
  }

  // Drives a negotiation through to FINALIZED on both nodes; returns the agreement id.
  std::string Finalized(const std::string& id) {
    EXPECT_THAT(provider_->BeginProviderNegotiation(Start(id, provider_key_, consumer_key_), kT0),
                IsOk());
    EXPECT_THAT(consumer_->BeginConsumerNegotiation(Start(id, provider_key_, consumer_key_), kT0),
                IsOk());
    EXPECT_THAT(provider_->Decide(id, RequestFrom("DE"), kT0), IsOk());
    absl::StatusOr<Negotiation> agreed = provider_->Agree(id, provider_key_, kT0);
    EXPECT_THAT(agreed, IsOk());
    if (!agreed.ok()) return "";
    EXPECT_THAT(consumer_->ReceiveAgreement(id, agreed->provider_token, kT0), IsOk());
    absl::StatusOr<Negotiation> verified = consumer_->Countersign(id, consumer_key_, kT0);
    EXPECT_THAT(verified, IsOk());
    if (!verified.ok()) return "";
    EXPECT_THAT(provider_->AcceptVerification(id, verified->consumer_token, kT0), IsOk());
    EXPECT_THAT(provider_->Finalize(Role::kProvider, id, kT0), IsOk());
    EXPECT_THAT(consumer_->Finalize(Role::kConsumer, id, kT0), IsOk());
    return agreed->agreement_id;
  }

  catalog::Store* store_of_provider() { return provider_.store(); }

  hanse::testing::TempDir tmp_;
  trust::PrivateKey provider_key_ = NewKey(trust::KeyType::kP256);
  trust::PrivateKey consumer_key_ = NewKey();
  Node provider_{tmp_.Sub("provider")};
  Node consumer_{tmp_.Sub("consumer")};
};

TEST_F(ContractStoreTest, BeginPersistsAcrossReopen) {
  HANSE_ASSERT_OK_AND_ASSIGN(
      Negotiation n,
      provider_->BeginProviderNegotiation(Start("urn:uuid:1", provider_key_, consumer_key_), kT0));
  EXPECT_EQ(n.state, State::kRequested);
  EXPECT_THAT(States(n), ElementsAre(State::kRequested));
  provider_.Open();
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation back, provider_->Get(Role::kProvider, "urn:uuid:1"));
  EXPECT_EQ(NegotiationToJson(back), NegotiationToJson(n));
  EXPECT_EQ(back.dataset_version, 3u);
  EXPECT_EQ(back.policy_json, kEuPolicy);
  EXPECT_THAT(provider_->Get(Role::kConsumer, "urn:uuid:1"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ContractStoreTest, SameRequestIdIsIdempotent) {
  NegotiationStart s = Start("urn:uuid:1", provider_key_, consumer_key_);
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation first, provider_->BeginProviderNegotiation(s, kT0));
  provider_.Open();
  // A retry later, even with a newer dataset version from the catalogue, returns the frozen one.
  s.dataset_version = 4;
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation again,
                             provider_->BeginProviderNegotiation(s, kT0 + absl::Minutes(1)));
  EXPECT_EQ(NegotiationToJson(again), NegotiationToJson(first));
  EXPECT_EQ(again.dataset_version, 3u);
  EXPECT_THAT(provider_->List(std::nullopt, 10), IsOkAndHolds(SizeIs(1)));
}

TEST_F(ContractStoreTest, DifferentRequestWithSameIdIsRefused) {
  NegotiationStart s = Start("urn:uuid:1", provider_key_, consumer_key_);
  ASSERT_THAT(provider_->BeginProviderNegotiation(s, kT0), IsOk());
  NegotiationStart other_consumer = s;
  other_consumer.consumer_did = Did(NewKey());
  EXPECT_THAT(provider_->BeginProviderNegotiation(other_consumer, kT0),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("consumer")));
  NegotiationStart other_purpose = s;
  other_purpose.purpose = "https://w3id.org/dpv#Marketing";
  EXPECT_THAT(provider_->BeginProviderNegotiation(other_purpose, kT0),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("purpose")));
  NegotiationStart other_dataset = s;
  other_dataset.dataset_id = "urn:hanse:dataset:other";
  EXPECT_THAT(provider_->BeginProviderNegotiation(other_dataset, kT0),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("dataset")));
  // The stored record is untouched, and the consumer side of the same id is independent.
  EXPECT_EQ(provider_->Get(Role::kProvider, "urn:uuid:1")->consumer_did, Did(consumer_key_));
  EXPECT_THAT(provider_->BeginConsumerNegotiation(s, kT0), IsOk());
  EXPECT_THAT(provider_->List(Role::kProvider, 10), IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(provider_->List(std::nullopt, 10), IsOkAndHolds(SizeIs(2)));
  EXPECT_THAT(provider_->List(std::nullopt, 1), IsOkAndHolds(SizeIs(1)));
}

TEST_F(ContractStoreTest, MalformedStartIsRefused) {
  NegotiationStart s = Start("urn:uuid:1", provider_key_, consumer_key_);
  s.content_digest = "nothex";
  EXPECT_THAT(provider_->BeginProviderNegotiation(s, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("contentDigest")));
  s = Start("has space", provider_key_, consumer_key_);
  EXPECT_THAT(provider_->BeginProviderNegotiation(s, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id")));
  s = Start("urn:uuid:1", provider_key_, consumer_key_, R"({"permission":[]})");
  EXPECT_THAT(provider_->BeginProviderNegotiation(s, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy")));
  s = Start("urn:uuid:1", provider_key_, provider_key_);
  EXPECT_THAT(provider_->BeginProviderNegotiation(s, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("provider itself")));
}

TEST_F(ContractStoreTest, FullNegotiationOnBothSidesSurvivesReopen) {
  const std::string agreement_id = Finalized("urn:uuid:flow");
  ASSERT_FALSE(agreement_id.empty());
  provider_.Open();
  consumer_.Open();
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation p, provider_->Get(Role::kProvider, "urn:uuid:flow"));
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation c, consumer_->Get(Role::kConsumer, "urn:uuid:flow"));
  EXPECT_EQ(p.state, State::kFinalized);
  EXPECT_EQ(c.state, State::kFinalized);
  EXPECT_THAT(States(p),
              ElementsAre(State::kRequested, State::kAgreed, State::kVerified, State::kFinalized));
  EXPECT_THAT(States(c),
              ElementsAre(State::kRequested, State::kAgreed, State::kVerified, State::kFinalized));
  EXPECT_EQ(p.provider_token, c.provider_token);
  EXPECT_EQ(p.consumer_token, c.consumer_token);
  EXPECT_EQ(p.decision_permit, std::optional<bool>(true));
  HANSE_ASSERT_OK_AND_ASSIGN(Agreement a, VerifyAgreement(p.provider_token, p.consumer_token));
  EXPECT_EQ(a.id, agreement_id);
  EXPECT_THAT(provider_->GetByAgreement(Role::kProvider, agreement_id), IsOk());
  EXPECT_THAT(consumer_->GetByAgreement(Role::kConsumer, agreement_id), IsOk());
  EXPECT_THAT(consumer_->GetByAgreement(Role::kProvider, agreement_id),
              StatusIs(absl::StatusCode::kNotFound));
}

// The counts a metrics scrape reads: counted from the store at first, then kept by each step.
TEST_F(ContractStoreTest, CountsByStateFollowEveryStepAndMatchARecount) {
  auto count = [](ContractStore& store, Role role, State state) -> std::int64_t {
    auto counts = store.CountByState();
    EXPECT_THAT(counts, IsOk());
    return counts.ok() ? (*counts)[static_cast<size_t>(role)][static_cast<size_t>(state)] : -1;
  };
  ASSERT_FALSE(Finalized("urn:uuid:done").empty());  // stored before the first count
  EXPECT_EQ(count(*provider_, Role::kProvider, State::kFinalized), 1);
  EXPECT_EQ(count(*provider_, Role::kConsumer, State::kFinalized), 0);
  EXPECT_EQ(count(*consumer_, Role::kConsumer, State::kFinalized), 1);
  // Counted from here on as the steps are stored.
  ASSERT_THAT(Countersigned("urn:uuid:open"), IsOk());
  ASSERT_THAT(provider_->BeginProviderNegotiation(
                  Start("urn:uuid:gone", provider_key_, consumer_key_), kT0),
              IsOk());
  ASSERT_THAT(provider_->Terminate(Role::kProvider, "urn:uuid:gone", "withdrawn", kT0), IsOk());
  EXPECT_EQ(count(*provider_, Role::kProvider, State::kAgreed), 1);
  EXPECT_EQ(count(*provider_, Role::kProvider, State::kTerminated), 1);
  EXPECT_EQ(count(*provider_, Role::kProvider, State::kRequested), 0);
  EXPECT_EQ(count(*consumer_, Role::kConsumer, State::kVerified), 1);
  // The provider's one-step verification and finalization (what a real provider runs).
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation countersigned, Countersigned("urn:uuid:onestep"));
  EXPECT_EQ(count(*provider_, Role::kProvider, State::kAgreed), 2);
  ASSERT_THAT(provider_->AcceptVerificationAndFinalize("urn:uuid:onestep",
                                                       countersigned.consumer_token, kT0),
              IsOk());
  EXPECT_EQ(count(*provider_, Role::kProvider, State::kAgreed), 1);
  EXPECT_EQ(count(*provider_, Role::kProvider, State::kVerified), 0);
  EXPECT_EQ(count(*provider_, Role::kProvider, State::kFinalized), 2);
  HANSE_ASSERT_OK_AND_ASSIGN(auto kept, provider_->CountByState());
  provider_.Open();  // a fresh count from the store
  EXPECT_THAT(provider_->CountByState(), IsOkAndHolds(kept));
}

TEST_F(ContractStoreTest, RetriedStepsReturnTheStoredRecord) {
  const std::string id = "urn:uuid:retry";
  ASSERT_THAT(provider_->BeginProviderNegotiation(Start(id, provider_key_, consumer_key_), kT0),
              IsOk());
  ASSERT_THAT(consumer_->BeginConsumerNegotiation(Start(id, provider_key_, consumer_key_), kT0),
              IsOk());
  ASSERT_THAT(provider_->Decide(id, RequestFrom("FR"), kT0), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation agreed, provider_->Agree(id, provider_key_, kT0));
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation again,
                             provider_->Agree(id, provider_key_, kT0 + absl::Seconds(5)));
  EXPECT_EQ(again.provider_token, agreed.provider_token);
  EXPECT_THAT(States(again), SizeIs(2));
  ASSERT_THAT(consumer_->ReceiveAgreement(id, agreed.provider_token, kT0), IsOk());
  EXPECT_THAT(consumer_->ReceiveAgreement(id, agreed.provider_token, kT0), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation verified, consumer_->Countersign(id, consumer_key_, kT0));
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation verified2, consumer_->Countersign(id, consumer_key_, kT0));
  EXPECT_EQ(verified2.consumer_token, verified.consumer_token);
  ASSERT_THAT(provider_->AcceptVerification(id, verified.consumer_token, kT0), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation p,
                             provider_->AcceptVerification(id, verified.consumer_token, kT0));
  EXPECT_THAT(States(p), SizeIs(3));
}

TEST_F(ContractStoreTest, DenialStoresTraceAndNamesTheFailedConstraint) {
  const std::string id = "urn:uuid:deny";
  ASSERT_THAT(provider_->BeginProviderNegotiation(Start(id, provider_key_, consumer_key_), kT0),
              IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(ProviderDecision d, provider_->Decide(id, RequestFrom("US"), kT0));
  EXPECT_FALSE(d.permit);
  EXPECT_THAT(d.reason, HasSubstr("permission[0].constraint[0]"));
  EXPECT_THAT(d.reason, HasSubstr("spatial isPartOf EU failed"));
  provider_.Open();
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation n, provider_->Get(Role::kProvider, id));
  EXPECT_EQ(n.state, State::kTerminated);
  EXPECT_EQ(n.termination_reason, d.reason);
  EXPECT_EQ(n.history.back().reason, d.reason);
  EXPECT_EQ(n.decision_permit, std::optional<bool>(false));
  Json trace = Json::parse(n.decision_json);
  EXPECT_EQ(trace["decision"], "deny");
  bool found = false;
  for (const Json& e : trace["trace"]) {
    if (e["path"] == "permission[0].constraint[0]") {
      found = true;
      EXPECT_EQ(e["verdict"], "failed");
      EXPECT_EQ(e["actual"], "US");
    }
  }
  EXPECT_TRUE(found) << n.decision_json;
  EXPECT_EQ(Json::parse(n.request_json)["country"], "US");
  // No agreement for a denied negotiation, and no second decision.
  EXPECT_THAT(provider_->Agree(id, provider_key_, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("TERMINATED -> AGREED")));
  EXPECT_THAT(provider_->Decide(id, RequestFrom("DE"), kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // The consumer's retry with the same id sees the denial.
  HANSE_ASSERT_OK_AND_ASSIGN(
      Negotiation retried,
      provider_->BeginProviderNegotiation(Start(id, provider_key_, consumer_key_), kT0));
  EXPECT_EQ(retried.state, State::kTerminated);
}

TEST_F(ContractStoreTest, DecisionChecksTheRequestAgainstTheNegotiation) {
  const std::string id = "urn:uuid:x";
  ASSERT_THAT(provider_->BeginProviderNegotiation(Start(id, provider_key_, consumer_key_), kT0),
              IsOk());
  policy::Request r = RequestFrom("DE");
  r.consumer = Did(NewKey());
  EXPECT_THAT(provider_->Decide(id, r, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("consumer")));
  EXPECT_THAT(provider_->Agree(id, provider_key_, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("Decide first")));
  ASSERT_THAT(provider_->Decide(id, RequestFrom("DE"), kT0), IsOk());
  EXPECT_THAT(provider_->Agree(id, consumer_key_, kT0),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(ContractStoreTest, TransitionsFollowTheTable) {
  const std::string id = "urn:uuid:t";
  ASSERT_THAT(provider_->BeginProviderNegotiation(Start(id, provider_key_, consumer_key_), kT0),
              IsOk());
  EXPECT_THAT(provider_->Transition(Role::kProvider, id, State::kAccepted, "", kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("illegal transition REQUESTED -> ACCEPTED")));
  EXPECT_THAT(provider_->Transition(Role::kProvider, id, State::kAgreed, "", kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("signature")));
  ASSERT_THAT(provider_->Transition(Role::kProvider, id, State::kOffered, "counter-offer", kT0),
              IsOk());
  ASSERT_THAT(provider_->Transition(Role::kProvider, id, State::kRequested, "counter", kT0),
              IsOk());
  ASSERT_THAT(provider_->Transition(Role::kProvider, id, State::kOffered, "again", kT0), IsOk());
  ASSERT_THAT(provider_->Transition(Role::kProvider, id, State::kAccepted, "ok", kT0), IsOk());
  EXPECT_THAT(provider_->Transition(Role::kProvider, id, State::kFinalized, "", kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("illegal transition ACCEPTED -> FINALIZED")));
  EXPECT_THAT(provider_->Terminate(Role::kProvider, id, "", kT0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(provider_->Terminate(Role::kProvider, id, "consumer withdrew", kT0), IsOk());
  EXPECT_THAT(provider_->Terminate(Role::kProvider, id, "again", kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("illegal transition TERMINATED -> TERMINATED")));
  EXPECT_THAT(
      provider_->Transition(Role::kProvider, id, State::kRequested, "", kT0),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("TERMINATED -> REQUESTED")));
  provider_.Open();
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation n, provider_->Get(Role::kProvider, id));
  EXPECT_THAT(States(n), ElementsAre(State::kRequested, State::kOffered, State::kRequested,
                                     State::kOffered, State::kAccepted, State::kTerminated));
  EXPECT_EQ(n.termination_reason, "consumer withdrew");
  EXPECT_THAT(provider_->Transition(Role::kProvider, "urn:uuid:none", State::kOffered, "", kT0),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ContractStoreTest, ConsumerRefusesAnAgreementForSomethingElse) {
  const std::string id = "urn:uuid:mismatch";
  ASSERT_THAT(provider_->BeginProviderNegotiation(Start(id, provider_key_, consumer_key_), kT0),
              IsOk());
  NegotiationStart mine = Start(id, provider_key_, consumer_key_);
  mine.content_digest = Digest("what the consumer saw");
  ASSERT_THAT(consumer_->BeginConsumerNegotiation(mine, kT0), IsOk());
  ASSERT_THAT(provider_->Decide(id, RequestFrom("DE"), kT0), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation agreed, provider_->Agree(id, provider_key_, kT0));
  EXPECT_THAT(consumer_->ReceiveAgreement(id, agreed.provider_token, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("contentDigest")));
  EXPECT_EQ(consumer_->Get(Role::kConsumer, id)->state, State::kRequested);
  EXPECT_THAT(consumer_->Countersign(id, consumer_key_, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("REQUESTED -> VERIFIED")));
}

TEST_F(ContractStoreTest, RestartRecovery) {
  const absl::Time later = kT0 + absl::Hours(1);
  // provider REQUESTED, never decided -> terminated.
  ASSERT_THAT(
      provider_->BeginProviderNegotiation(Start("p-new", provider_key_, consumer_key_), kT0),
      IsOk());
  // provider REQUESTED, permitted, still permitted at `later` -> kept.
  ASSERT_THAT(provider_->BeginProviderNegotiation(Start("p-ok", provider_key_, consumer_key_), kT0),
              IsOk());
  ASSERT_THAT(provider_->Decide("p-ok", RequestFrom("DE"), kT0), IsOk());
  // provider REQUESTED, permitted at kT0 but no longer at `later` -> terminated by the policy.
  constexpr char kShortPolicy[] = R"({"@type": "Offer", "permission": [{"action": "use",
      "constraint": [{"leftOperand": "dateTime", "operator": "lt",
                      "rightOperand": "2025-01-15T12:30:00Z"}]}]})";
  ASSERT_THAT(provider_->BeginProviderNegotiation(
                  Start("p-late", provider_key_, consumer_key_, kShortPolicy), kT0),
              IsOk());
  ASSERT_THAT(provider_->Decide("p-late", RequestFrom("DE"), kT0), IsOk());
  // provider OFFERED -> terminated.
  ASSERT_THAT(
      provider_->BeginProviderNegotiation(Start("p-off", provider_key_, consumer_key_), kT0),
      IsOk());
  ASSERT_THAT(provider_->Transition(Role::kProvider, "p-off", State::kOffered, "", kT0), IsOk());
  // provider AGREED -> kept; consumer REQUESTED and AGREED -> kept.
  ASSERT_THAT(
      provider_->BeginProviderNegotiation(Start("p-agr", provider_key_, consumer_key_), kT0),
      IsOk());
  ASSERT_THAT(
      consumer_->BeginConsumerNegotiation(Start("p-agr", provider_key_, consumer_key_), kT0),
      IsOk());
  ASSERT_THAT(
      consumer_->BeginConsumerNegotiation(Start("c-req", provider_key_, consumer_key_), kT0),
      IsOk());
  ASSERT_THAT(provider_->Decide("p-agr", RequestFrom("DE"), kT0), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation agreed, provider_->Agree("p-agr", provider_key_, kT0));
  ASSERT_THAT(consumer_->ReceiveAgreement("p-agr", agreed.provider_token, kT0), IsOk());
  // provider VERIFIED -> FINALIZED.
  ASSERT_THAT(
      provider_->BeginProviderNegotiation(Start("p-ver", provider_key_, consumer_key_), kT0),
      IsOk());
  ASSERT_THAT(
      consumer_->BeginConsumerNegotiation(Start("p-ver", provider_key_, consumer_key_), kT0),
      IsOk());
  ASSERT_THAT(provider_->Decide("p-ver", RequestFrom("DE"), kT0), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation agreed2, provider_->Agree("p-ver", provider_key_, kT0));
  ASSERT_THAT(consumer_->ReceiveAgreement("p-ver", agreed2.provider_token, kT0), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation verified,
                             consumer_->Countersign("p-ver", consumer_key_, kT0));
  ASSERT_THAT(provider_->AcceptVerification("p-ver", verified.consumer_token, kT0), IsOk());
  // A finished one is left alone.
  const std::string done_agreement = Finalized("p-done");

  provider_.Open();
  consumer_.Open();
  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<RecoveryAction> actions,
                             provider_->RecoverAfterRestart(later));
  EXPECT_THAT(actions, SizeIs(6));
  auto state = [&](Node& node, Role role, const std::string& id) {
    absl::StatusOr<Negotiation> n = node->Get(role, id);
    EXPECT_THAT(n, IsOk());
    return n.ok() ? n->state : State::kRequested;
  };
  EXPECT_EQ(state(provider_, Role::kProvider, "p-new"), State::kTerminated);
  EXPECT_EQ(provider_->Get(Role::kProvider, "p-new")->termination_reason,
            "interrupted by restart (no decision was taken)");
  EXPECT_EQ(state(provider_, Role::kProvider, "p-ok"), State::kRequested);
  EXPECT_EQ(state(provider_, Role::kProvider, "p-late"), State::kTerminated);
  EXPECT_THAT(provider_->Get(Role::kProvider, "p-late")->termination_reason,
              HasSubstr("dateTime lt"));
  EXPECT_EQ(state(provider_, Role::kProvider, "p-off"), State::kTerminated);
  EXPECT_THAT(provider_->Get(Role::kProvider, "p-off")->termination_reason,
              HasSubstr("interrupted by restart"));
  EXPECT_EQ(state(provider_, Role::kProvider, "p-agr"), State::kAgreed);
  EXPECT_EQ(state(provider_, Role::kProvider, "p-ver"), State::kFinalized);
  EXPECT_EQ(state(provider_, Role::kProvider, "p-done"), State::kFinalized);

  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<RecoveryAction> consumer_actions,
                             consumer_->RecoverAfterRestart(later));
  EXPECT_THAT(consumer_actions, SizeIs(3));  // c-req, p-agr (AGREED), p-ver (VERIFIED)
  EXPECT_EQ(state(consumer_, Role::kConsumer, "c-req"), State::kRequested);
  EXPECT_EQ(state(consumer_, Role::kConsumer, "p-agr"), State::kAgreed);
  EXPECT_EQ(state(consumer_, Role::kConsumer, "p-ver"), State::kVerified);
  // The resumed ones continue: the consumer countersigns after its restart.
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation resumed,
                             consumer_->Countersign("p-agr", consumer_key_, later));
  EXPECT_THAT(provider_->AcceptVerification("p-agr", resumed.consumer_token, later), IsOk());
  EXPECT_THAT(provider_->Agree("p-ok", provider_key_, later), IsOk());

  // A second recovery a long time later: everything still open has been idle too long.
  provider_.Open();
  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<RecoveryAction> late,
                             provider_->RecoverAfterRestart(later + absl::Hours(48)));
  EXPECT_THAT(late, SizeIs(2));  // p-ok (AGREED) and p-agr (VERIFIED -> ...)
  EXPECT_EQ(state(provider_, Role::kProvider, "p-ok"), State::kTerminated);
  EXPECT_THAT(provider_->Get(Role::kProvider, "p-ok")->termination_reason,
              HasSubstr("interrupted by restart (idle since"));
}

TEST_F(ContractStoreTest, ClaimUseIsAtomicUnderConcurrency) {
  const std::string agreement_id = Finalized("urn:uuid:uses");
  ASSERT_FALSE(agreement_id.empty());
  constexpr int kThreads = 8;
  constexpr int kAttempts = 50;
  std::atomic<int> successes{0};
  std::atomic<int> exhausted{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kAttempts; ++i) {
        absl::StatusOr<std::int64_t> use = provider_->ClaimUse(agreement_id, 3, kT0);
        if (use.ok()) {
          ++successes;
        } else if (absl::IsResourceExhausted(use.status())) {
          ++exhausted;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(successes.load(), 3);
  EXPECT_EQ(exhausted.load(), kThreads * kAttempts - 3);
  EXPECT_EQ(other.load(), 0);
  EXPECT_THAT(provider_->UseCount(agreement_id), IsOkAndHolds(3));
  provider_.Open();
  EXPECT_THAT(provider_->UseCount(agreement_id), IsOkAndHolds(3));
  EXPECT_THAT(provider_->ClaimUse(agreement_id, 3, kT0),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("use limit reached")));
  // Raising the limit (a new policy evaluation) continues the same count.
  EXPECT_THAT(provider_->ClaimUse(agreement_id, 5, kT0), IsOkAndHolds(4));
  EXPECT_THAT(provider_->ClaimUse(agreement_id, std::nullopt, kT0), IsOkAndHolds(5));
}

// Only the last use counted can be taken back; taken back, its number is counted again next,
// and the refund survives a restart.
TEST_F(ContractStoreTest, OnlyTheLastUseIsRefunded) {
  const std::string agreement_id = Finalized("urn:uuid:refund");
  ASSERT_FALSE(agreement_id.empty());
  ASSERT_THAT(provider_->ClaimUse(agreement_id, 3, kT0), IsOkAndHolds(1));
  ASSERT_THAT(provider_->ClaimUse(agreement_id, 3, kT0), IsOkAndHolds(2));
  EXPECT_THAT(provider_->RefundUse(agreement_id, 1, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("stays counted")));
  EXPECT_THAT(provider_->RefundUse(agreement_id, 2, kT0), IsOk());
  EXPECT_THAT(provider_->UseCount(agreement_id), IsOkAndHolds(1));
  EXPECT_THAT(provider_->RefundUse("urn:uuid:nothing", 1, kT0),
              StatusIs(absl::StatusCode::kNotFound));
  provider_.Open();
  EXPECT_THAT(provider_->UseCount(agreement_id), IsOkAndHolds(1));
  EXPECT_THAT(provider_->ClaimUse(agreement_id, 3, kT0), IsOkAndHolds(2));
}

TEST_F(ContractStoreTest, NegotiationsRunInParallelAndEachStaysConsistent) {
  constexpr int kThreads = 8;
  std::vector<std::string> agreements(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { agreements[t] = Finalized(absl::StrCat("urn:uuid:par-", t)); });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_FALSE(agreements[t].empty());
    HANSE_ASSERT_OK_AND_ASSIGN(Negotiation p,
                               provider_->GetByAgreement(Role::kProvider, agreements[t]));
    EXPECT_EQ(p.state, State::kFinalized);
    EXPECT_THAT(States(p), SizeIs(4));
  }
  // Racing the same step of one negotiation: one signature is stored, all callers see it.
  const std::string id = "urn:uuid:race";
  ASSERT_THAT(provider_->BeginProviderNegotiation(Start(id, provider_key_, consumer_key_), kT0),
              IsOk());
  ASSERT_THAT(provider_->Decide(id, RequestFrom("DE"), kT0), IsOk());
  std::vector<std::string> tokens(kThreads);
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto agreed = provider_->Agree(id, provider_key_, kT0);
      if (agreed.ok()) tokens[t] = agreed->provider_token;
    });
  }
  for (std::thread& t : threads) t.join();
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation stored, provider_->Get(Role::kProvider, id));
  EXPECT_THAT(States(stored), SizeIs(2));
  for (const std::string& token : tokens) EXPECT_EQ(token, stored.provider_token);
}

TEST_F(ContractStoreTest, AStepWriterStoresTheStepOrNothing) {
  const std::string id = "urn:uuid:writer";
  std::vector<std::string> seen;
  StepWriter record = [&](catalog::WriteBatch batch, const Negotiation& after,
                          absl::string_view reason) -> absl::Status {
    seen.push_back(absl::StrCat(StateName(after.state), ":", reason));
    return store_of_provider()->Write(batch, /*sync=*/true);
  };
  ASSERT_THAT(
      provider_->BeginProviderNegotiation(Start(id, provider_key_, consumer_key_), kT0, record),
      IsOk());
  ASSERT_THAT(provider_->Decide(id, RequestFrom("DE"), kT0, record), IsOk());
  StepWriter refuse = [](catalog::WriteBatch, const Negotiation&, absl::string_view) {
    return absl::ResourceExhaustedError("audit log full");
  };
  EXPECT_THAT(provider_->Agree(id, provider_key_, kT0, refuse),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("audit log full")));
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation n, provider_->Get(Role::kProvider, id));
  EXPECT_EQ(n.state, State::kRequested);
  EXPECT_TRUE(n.provider_token.empty());
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation agreed, provider_->Agree(id, provider_key_, kT0, record));
  EXPECT_EQ(agreed.state, State::kAgreed);
  EXPECT_THAT(seen, ElementsAre("REQUESTED:", HasSubstr("REQUESTED:"),
                                "AGREED:agreement signed by the provider"));
}

TEST_F(ContractStoreTest, VerificationAndFinalizationAsOneStep) {
  const std::string id = "urn:uuid:one-step";
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation verified, Countersigned(id));
  // A countersignature over something else is refused and changes nothing.
  std::string forged = verified.consumer_token;
  forged[forged.size() - 3] = forged[forged.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_THAT(provider_->AcceptVerificationAndFinalize(id, forged, kT0), Not(IsOk()));
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation still, provider_->Get(Role::kProvider, id));
  EXPECT_EQ(still.state, State::kAgreed);
  int writes = 0;
  StepWriter count = [&](catalog::WriteBatch batch, const Negotiation&, absl::string_view) {
    ++writes;
    return store_of_provider()->Write(batch, /*sync=*/true);
  };
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation final, provider_->AcceptVerificationAndFinalize(
                                                    id, verified.consumer_token, kT0, count));
  EXPECT_EQ(final.state, State::kFinalized);
  EXPECT_EQ(writes, 1);
  EXPECT_THAT(States(final),
              ElementsAre(State::kRequested, State::kAgreed, State::kVerified, State::kFinalized));
  provider_.Open();
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation again, provider_->AcceptVerificationAndFinalize(
                                                    id, verified.consumer_token, kT0, count));
  EXPECT_EQ(writes, 1);
  EXPECT_EQ(NegotiationToJson(again), NegotiationToJson(final));
}

TEST_F(ContractStoreTest, ClaimUseNeedsAFinalizedAgreement) {
  EXPECT_THAT(provider_->ClaimUse("urn:hanse:agreement:none", 3, kT0),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(provider_->UseCount("urn:hanse:agreement:none"), IsOkAndHolds(0));
  const std::string id = "urn:uuid:half";
  ASSERT_THAT(provider_->BeginProviderNegotiation(Start(id, provider_key_, consumer_key_), kT0),
              IsOk());
  ASSERT_THAT(provider_->Decide(id, RequestFrom("DE"), kT0), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Negotiation agreed, provider_->Agree(id, provider_key_, kT0));
  EXPECT_THAT(provider_->ClaimUse(agreed.agreement_id, 3, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AGREED")));
  EXPECT_THAT(provider_->ClaimUse(agreed.agreement_id, -1, kT0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(provider_->Terminate(Role::kProvider, id, "revoked", kT0), IsOk());
  EXPECT_THAT(provider_->ClaimUse(agreed.agreement_id, 3, kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("TERMINATED")));
  EXPECT_THAT(provider_->UseCount(agreed.agreement_id), IsOkAndHolds(0));
}

}  // namespace
}  // namespace hanse::contract
