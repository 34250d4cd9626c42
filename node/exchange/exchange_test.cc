// Provider and consumer in one process over a MemoryExchangePeer, on real homes, stores and
// keys, with a simulated clock: no sockets, no sleeps. A duty due in 30 days is tested by
// moving the clock 30 days.
#include "node/exchange/exchange.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/file.h"
#include "catalog/catalog.h"
#include "catalog/store.h"
#include "nlohmann/json.hpp"
#include "node/exchange/memory_peer.h"
#include "node/federation/peers.h"
#include "node/identity/card.h"
#include "node/identity/home.h"
#include "node/identity/sequence_ledger.h"
#include "node/publishing/publishing.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace hanse::node {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr char kPurpose[] = "https://w3id.org/hanse/v1#MedicalResearch";

// One member: its home, store, catalogue, peers and exchange, on the shared clock.
struct Member {
  explicit Member(Home h) : home(std::move(h)) {}
  Home home;
  std::unique_ptr<catalog::Store> store;
  std::unique_ptr<FileSequenceLedger> ledger;
  std::unique_ptr<catalog::Catalog> catalog;
  std::unique_ptr<PeerRegistry> peers;
  MemoryExchangePeer peer;
  std::unique_ptr<Exchange> exchange;
  std::string card;

  const std::string& did() const { return home.identity.did; }
};

class ExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    provider_ = Make("hospital", "FR");
    consumer_ = Make("lab", "DE");
    outsider_ = Make("helix", "US");
    for (Member* m : {consumer_.get(), outsider_.get()}) {
      Introduce(*m, *provider_);
      m->peer.Connect(provider_->did(), &provider_->exchange->provider(), m->did());
    }
  }

  std::unique_ptr<Member> Make(const std::string& name, const std::string& country) {
    InitOptions o;
    o.dir = tmp_.Sub(name);
    o.legal_name = "Org " + name;
    o.country = country;
    o.listen = "127.0.0.1:0";
    EXPECT_THAT(InitHome(o, clock_.Now()).status(), IsOk());
    auto home = LoadHome(o.dir, clock_.Now());
    EXPECT_THAT(home.status(), IsOk());
    auto m = std::make_unique<Member>(*std::move(home));
    m->store = catalog::OpenRocksStore(m->home.paths.store, {}).value();
    m->ledger = FileSequenceLedger::Open(m->home.paths.sequences).value();
    m->catalog = catalog::Catalog::Open(m->store.get(), &clock_, m->ledger.get()).value();
    MemberCard self{m->did(), o.legal_name, country, "", m->home.identity.ca_pem, clock_.Now()};
    m->card = SignCard(self, m->home.identity.participant_key).value();
    m->peers = std::make_unique<PeerRegistry>(m->store.get(), self);
    EXPECT_THAT(m->peers->Load(clock_.Now()), IsOk());
    Member* raw = m.get();
    m->exchange = Exchange::Open(
                      &m->home, m->store.get(), m->catalog.get(), m->peers.get(), &m->peer,
                      [raw] { return raw->card; }, &clock_)
                      .value();
    return m;
  }

  // `a` trusts `b` and the other way round, and each holds the other's signed documents (as
  // gossip would have brought them).
  void Introduce(Member& a, Member& b) {
    for (auto [x, y] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      auto card = VerifyCard(y->card, clock_.Now());
      ASSERT_THAT(card.status(), IsOk());
      ASSERT_THAT(x->peers->Add(y->card, *card).status(), IsOk());
      ASSERT_THAT(x->catalog->Ingest(y->catalog->Get(y->did()).value().jws).status(), IsOk());
    }
  }

  // Publishes `content` on the provider under `offer`; the consumers' replicas get it.
  std::string Publish(const std::string& name, const std::string& content, const json& offer) {
    EXPECT_THAT(WriteFileAtomic(provider_->home.paths.data + "/" + name + ".csv", content, 0644),
                IsOk());
    json pub = {{"name", name},           {"title", "ICU vitals " + name},
                {"license", "CC-BY-4.0"}, {"media_type", "text/csv"},
                {"language", "en"},       {"content", name + ".csv"},
                {"policy", offer}};
    auto r = PublishDataset(provider_->home, pub.dump(), *provider_->catalog, clock_.Now());
    EXPECT_THAT(r.status(), IsOk());
    std::string jws = provider_->catalog->Get(r->id).value().jws;
    for (Member* m : {consumer_.get(), outsider_.get()}) {
      EXPECT_THAT(m->catalog->Ingest(jws).status(), IsOk());
    }
    return r->id;
  }

  // EU seat, at most `max_uses` uses, delete `delete_after` after the transfer, inform.
  static json Offer(int max_uses, const std::string& delete_after = "P30D") {
    json constraints = json::array({
        {{"leftOperand", "purpose"}, {"operator", "eq"}, {"rightOperand", {{"@id", kPurpose}}}},
        {{"leftOperand", "spatial"}, {"operator", "isPartOf"}, {"rightOperand", "EU"}},
        {{"leftOperand", "count"}, {"operator", "lteq"}, {"rightOperand", max_uses}},
    });
    json duties = json::array({{{"action", "delete"},
                                {"constraint", json::array({{{"leftOperand", "elapsedTime"},
                                                             {"operator", "eq"},
                                                             {"rightOperand", delete_after}}})}},
                               {{"action", "inform"}}});
    return {{"@context", "http://www.w3.org/ns/odrl.jsonld"},
            {"@type", "Offer"},
            {"permission",
             json::array({{{"action", "use"}, {"constraint", constraints}, {"duty", duties}}})}};
  }

  absl::StatusOr<hanse::v1::ContractInfo> Request(Member& m, const std::string& dataset,
                                                  const std::string& request_id = "") {
    hanse::v1::RequestContractRequest req;
    req.set_dataset_id(dataset);
    req.set_purpose(kPurpose);
    req.set_request_id(request_id);
    return m.exchange->consumer().RequestContract(req);
  }

  absl::Status Fetch(Member& m, const std::string& agreement, const std::string& out,
                     bool resume = false) {
    hanse::v1::FetchDataRequest req;
    req.set_agreement_id(agreement);
    req.set_out(out);
    req.set_resume(resume);
    return m.exchange->consumer().FetchData(req,
                                            [](const hanse::v1::FetchProgress&) { return true; });
  }

  std::int64_t Uses(const std::string& agreement) {
    auto info = provider_->exchange->GetContract(agreement);
    return info.ok() ? info->uses() : -1;
  }

  // The kinds of the audit entries about `subject` on `m`, in order.
  std::vector<std::string> AuditKinds(Member& m, const std::string& subject) {
    hanse::v1::ListAuditRequest req;
    req.set_subject(subject);
    req.set_limit(1000);
    std::vector<std::string> kinds;
    auto list = m.exchange->ListAudit(req);
    if (list.ok()) {
      for (const auto& e : list->entries()) kinds.push_back(e.kind());
    }
    return kinds;
  }

  testing::TempDir tmp_;
  SimulatedClock clock_{absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()))};
  std::unique_ptr<Member> provider_, consumer_, outsider_;
};

TEST_F(ExchangeTest, NegotiationEndsInAnAgreementBothSidesHold) {
  std::string dataset = Publish("icu", "t,hr\n1,80\n", Offer(3));
  HANSE_ASSERT_OK_AND_ASSIGN(hanse::v1::ContractInfo info, Request(*consumer_, dataset));
  EXPECT_EQ(info.state(), "FINALIZED");
  ASSERT_FALSE(info.agreement_id().empty());
  EXPECT_FALSE(info.provider_jws().empty());
  EXPECT_FALSE(info.consumer_jws().empty());
  HANSE_ASSERT_OK_AND_ASSIGN(auto theirs, provider_->exchange->GetContract(info.agreement_id()));
  EXPECT_EQ(theirs.state(), "FINALIZED");
  EXPECT_EQ(theirs.consumer(), consumer_->did());
  EXPECT_EQ(theirs.consumer_jws(), info.consumer_jws());
  EXPECT_THAT(AuditKinds(*provider_, info.agreement_id()),
              ::testing::IsSupersetOf({"negotiation.agreed", "negotiation.finalized"}));
}

// A member admitted a moment ago: the provider trusts it but gossip has not brought its
// participant self-description yet. The request carries it, so the decision is the same.
TEST_F(ExchangeTest, TheConsumerPresentsItsOwnFactsWithTheRequest) {
  std::unique_ptr<Member> newcomer = Make("clinic", "NL");
  auto card = VerifyCard(newcomer->card, clock_.Now());
  ASSERT_THAT(card.status(), IsOk());
  ASSERT_THAT(provider_->peers->Add(newcomer->card, *card).status(), IsOk());
  auto provider_card = VerifyCard(provider_->card, clock_.Now());
  ASSERT_THAT(newcomer->peers->Add(provider_->card, *provider_card).status(), IsOk());
  newcomer->peer.Connect(provider_->did(), &provider_->exchange->provider(), newcomer->did());
  std::string dataset = Publish("icu", "t,hr\n1,80\n", Offer(3));
  ASSERT_THAT(newcomer->catalog->Ingest(provider_->catalog->Get(dataset).value().jws).status(),
              IsOk());
  ASSERT_FALSE(provider_->catalog->Get(newcomer->did()).ok());

  HANSE_ASSERT_OK_AND_ASSIGN(hanse::v1::ContractInfo info, Request(*newcomer, dataset));
  EXPECT_EQ(info.state(), "FINALIZED") << info.reason();
  EXPECT_THAT(provider_->catalog->Get(newcomer->did()).status(), IsOk())
      << "the provider keeps the facts it verified";
}

TEST_F(ExchangeTest, FactsAboutAnotherMemberAreRefused) {
  std::string dataset = Publish("icu", "t,hr\n1,80\n", Offer(3));
  hanse::v1::NegotiateRequest req;
  req.set_request_id("urn:uuid:00000000-0000-4000-8000-000000000001");
  req.set_dataset_id(dataset);
  req.set_purpose(kPurpose);
  // The outsider (US) presents the EU lab's self-description as its own.
  req.add_consumer_documents(consumer_->catalog->Get(consumer_->did()).value().jws);
  auto resp = provider_->exchange->provider().Negotiate(outsider_->did(), req);
  EXPECT_THAT(resp.status(),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not the consumer's own")));
  req.clear_consumer_documents();
  req.add_consumer_documents("not a JWS");
  EXPECT_FALSE(provider_->exchange->provider().Negotiate(outsider_->did(), req).ok());
}

TEST_F(ExchangeTest, AMemberOutsideTheEuIsDeniedWithTheTrace) {
  std::string dataset = Publish("icu", "t,hr\n1,80\n", Offer(3));
  HANSE_ASSERT_OK_AND_ASSIGN(hanse::v1::ContractInfo info, Request(*outsider_, dataset));
  EXPECT_EQ(info.state(), "TERMINATED");
  EXPECT_THAT(info.reason(), HasSubstr("denied by the provider"));
  EXPECT_THAT(info.trace_json(), HasSubstr("spatial"));
  EXPECT_TRUE(info.agreement_id().empty());
}

TEST_F(ExchangeTest, FetchDeliversTheContentCountsAUseAndCoSignsTheReceipt) {
  const std::string content = "t,hr\n1,80\n2,82\n";
  std::string dataset = Publish("icu", content, Offer(3));
  HANSE_ASSERT_OK_AND_ASSIGN(auto info, Request(*consumer_, dataset));
  const std::string out = tmp_.Sub("lab-icu.csv");
  ASSERT_THAT(Fetch(*consumer_, info.agreement_id(), out), IsOk());
  EXPECT_THAT(ReadFile(out), ::hanse::testing::IsOkAndHolds(content));
  EXPECT_EQ(Uses(info.agreement_id()), 1);
  EXPECT_THAT(AuditKinds(*consumer_, info.agreement_id()),
              ::testing::IsSupersetOf({"transfer.completed", "receipt", "duty.scheduled"}));
  EXPECT_THAT(AuditKinds(*provider_, info.agreement_id()),
              ::testing::IsSupersetOf({"transfer.started", "transfer.sent", "receipt"}));
}

TEST_F(ExchangeTest, UsesAreCountedUpToTheLimit) {
  std::string dataset = Publish("icu", "t,hr\n1,80\n", Offer(2));
  HANSE_ASSERT_OK_AND_ASSIGN(auto info, Request(*consumer_, dataset));
  for (int i = 1; i <= 2; ++i) {
    ASSERT_THAT(Fetch(*consumer_, info.agreement_id(), tmp_.Sub(absl::StrCat("copy", i))), IsOk());
    EXPECT_EQ(Uses(info.agreement_id()), i);
  }
  EXPECT_THAT(Fetch(*consumer_, info.agreement_id(), tmp_.Sub("copy3")),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("count lteq 2 failed")));
  EXPECT_EQ(Uses(info.agreement_id()), 2);
  EXPECT_FALSE(PathExists(tmp_.Sub("copy3")));
}

TEST_F(ExchangeTest, ABrokenTransferResumesWithinTheSameUse) {
  // Three chunks and a bit: the link breaks after the first.
  std::string content(3 * (1 << 20) + 1234, 'x');
  for (size_t i = 0; i < content.size(); i += 997) content[i] = static_cast<char>('a' + i % 26);
  std::string dataset = Publish("big", content, Offer(1));
  HANSE_ASSERT_OK_AND_ASSIGN(auto info, Request(*consumer_, dataset));
  const std::string out = tmp_.Sub("big.csv");
  consumer_->peer.CutNextFetchAfter(1);
  EXPECT_THAT(Fetch(*consumer_, info.agreement_id(), out),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("--resume continues")));
  EXPECT_FALSE(PathExists(out));
  EXPECT_TRUE(PathExists(out + ".part"));
  EXPECT_EQ(Uses(info.agreement_id()), 1);
  // The only use the policy allows is not spent again by resuming it.
  ASSERT_THAT(Fetch(*consumer_, info.agreement_id(), out, /*resume=*/true), IsOk());
  EXPECT_THAT(ReadFile(out, 16 << 20), ::hanse::testing::IsOkAndHolds(content));
  EXPECT_EQ(Uses(info.agreement_id()), 1);
  EXPECT_THAT(AuditKinds(*provider_, info.agreement_id()),
              ::testing::Contains("decision.permit").Times(2));
}

TEST_F(ExchangeTest, AStalledProviderIsGivenUpOnAndTheResumeStaysInTheUse) {
  std::string content(2 * (1 << 20) + 99, 'y');
  std::string dataset = Publish("big", content, Offer(1));
  HANSE_ASSERT_OK_AND_ASSIGN(auto info, Request(*consumer_, dataset));
  const std::string out = tmp_.Sub("big.csv");
  consumer_->peer.StallNextFetchAfter(1);
  EXPECT_THAT(Fetch(*consumer_, info.agreement_id(), out),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("--resume continues")));
  EXPECT_THAT(AuditKinds(*consumer_, info.agreement_id()),
              ::testing::Contains("transfer.interrupted"));
  // The provider saw the stream stop: the use is not complete, and resuming stays in it.
  EXPECT_THAT(AuditKinds(*provider_, info.agreement_id()), ::testing::Contains("transfer.stopped"));
  ASSERT_THAT(Fetch(*consumer_, info.agreement_id(), out, /*resume=*/true), IsOk());
  EXPECT_THAT(ReadFile(out, 16 << 20), ::hanse::testing::IsOkAndHolds(content));
  EXPECT_EQ(Uses(info.agreement_id()), 1);
}

TEST_F(ExchangeTest, ARequesterThatGoesAwayStopsTheFetchInsteadOfCompletingIt) {
  std::string content(3 * (1 << 20), 'z');
  std::string dataset = Publish("big", content, Offer(1));
  HANSE_ASSERT_OK_AND_ASSIGN(auto info, Request(*consumer_, dataset));
  const std::string out = tmp_.Sub("big.csv");
  hanse::v1::FetchDataRequest req;
  req.set_agreement_id(info.agreement_id());
  req.set_out(out);
  EXPECT_THAT(consumer_->exchange->consumer().FetchData(
                  req, [](const hanse::v1::FetchProgress&) { return false; }),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("abandoned by its requester")));
  EXPECT_FALSE(PathExists(out));
  EXPECT_THAT(AuditKinds(*consumer_, info.agreement_id()),
              ::testing::Not(::testing::Contains("transfer.completed")));
  ASSERT_THAT(Fetch(*consumer_, info.agreement_id(), out, /*resume=*/true), IsOk());
  EXPECT_EQ(Uses(info.agreement_id()), 1);
}

TEST_F(ExchangeTest, TheDeleteDutyFallsDueAfterThirtyDaysOfClock) {
  std::string dataset = Publish("icu", "t,hr\n1,80\n", Offer(3, "P30D"));
  HANSE_ASSERT_OK_AND_ASSIGN(auto info, Request(*consumer_, dataset));
  const std::string out = tmp_.Sub("lab-icu.csv");
  ASSERT_THAT(Fetch(*consumer_, info.agreement_id(), out), IsOk());

  clock_.Advance(absl::Hours(24 * 29));
  for (const auto& line : consumer_->exchange->consumer().RunDueDuties()) {
    EXPECT_THAT(line, ::testing::Not(HasSubstr("deleted"))) << "due too early";
  }
  EXPECT_TRUE(PathExists(out));

  clock_.Advance(absl::Hours(24 * 1) + absl::Minutes(1));
  auto ran = consumer_->exchange->consumer().RunDueDuties();
  EXPECT_THAT(ran, ::testing::Contains(HasSubstr("deleted")));
  EXPECT_FALSE(PathExists(out));
  EXPECT_THAT(AuditKinds(*consumer_, info.agreement_id()), ::testing::Contains("duty.executed"));
  // The signed duty receipts reached the provider.
  EXPECT_THAT(AuditKinds(*provider_, info.agreement_id()), ::testing::Contains("duty.reported"));
  // Done duties do not run again.
  clock_.Advance(absl::Hours(24 * 365));
  EXPECT_THAT(consumer_->exchange->consumer().RunDueDuties(), ::testing::IsEmpty());
}

TEST_F(ExchangeTest, AProviderDownLeavesTheRequestForARetryUnderTheSameId) {
  std::string dataset = Publish("icu", "t,hr\n1,80\n", Offer(3));
  consumer_->peer.SetDown(true);
  EXPECT_THAT(Request(*consumer_, dataset, "req-1"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("--request-id req-1")));
  HANSE_ASSERT_OK_AND_ASSIGN(auto pending, consumer_->exchange->GetContract("req-1"));
  EXPECT_EQ(pending.state(), "REQUESTED");
  consumer_->peer.SetDown(false);
  HANSE_ASSERT_OK_AND_ASSIGN(auto info, Request(*consumer_, dataset, "req-1"));
  EXPECT_EQ(info.state(), "FINALIZED");
  EXPECT_EQ(info.id(), "req-1");
}

TEST_F(ExchangeTest, AnAgreementPresentedByAnotherMemberIsRefused) {
  std::string dataset = Publish("icu", "t,hr\n1,80\n", Offer(3));
  HANSE_ASSERT_OK_AND_ASSIGN(auto info, Request(*consumer_, dataset));
  hanse::v1::FetchRequest req;
  req.set_agreement_id(info.agreement_id());
  EXPECT_THAT(provider_->exchange->provider().Fetch(
                  outsider_->did(), req, [](const hanse::v1::FetchChunk&) { return true; }),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("was not made with")));
  EXPECT_EQ(Uses(info.agreement_id()), 0);
}

}  // namespace
}  // namespace hanse::node
