// Contracts, transfer, duties and audit on one node: the provider side answers other members
// (Negotiate, Countersign, Fetch, Acknowledge, ReportDuty over mTLS), the consumer side acts for
// the local operator (request a contract, fetch its data, run duties). Every decision, step,
// transfer and duty goes into the audit log. docs/contracts.md and docs/audit.md.
#ifndef HANSE_NODE_EXCHANGE_H_
#define HANSE_NODE_EXCHANGE_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "catalog/catalog.h"
#include "catalog/store.h"
#include "hanse/v1/exchange.pb.h"
#include "node/audit/audit_log.h"
#include "node/contract/contract_store.h"
#include "node/contract/duties.h"
#include "node/home.h"
#include "node/peers.h"
#include "node/tls.h"

namespace hanse::node {

class ExchangeChannels;

// Sends each FetchChunk to the caller; false when the caller went away.
using ChunkWriter = std::function<bool(const hanse::v1::FetchChunk&)>;
using ProgressSink = std::function<void(const hanse::v1::FetchProgress&)>;

class Exchange {
 public:
  // All pointers must outlive the exchange. `card` returns this node's current card JWS.
  static absl::StatusOr<std::unique_ptr<Exchange>> Open(const Home* home, catalog::Store* store,
                                                        catalog::Catalog* catalog,
                                                        PeerRegistry* peers, CaLookup ca_lookup,
                                                        std::function<std::string()> card);
  ~Exchange();

  // After opening, before serving: settles negotiations a restart interrupted (logged).
  void Recover();
  // Once serving: continues the consumer negotiations Recover found unfinished (each retried
  // once under its request id; a provider still down leaves it REQUESTED for `contract request
  // --request-id`).
  void ResumeInterrupted();

  // Provider side; `caller` is the DID from the caller's certificate.
  absl::StatusOr<hanse::v1::NegotiateResponse> Negotiate(const std::string& caller,
                                                         const hanse::v1::NegotiateRequest& req);
  absl::StatusOr<hanse::v1::CountersignResponse> Countersign(
      const std::string& caller, const hanse::v1::CountersignRequest& req);
  absl::Status Fetch(const std::string& caller, const hanse::v1::FetchRequest& req,
                     const ChunkWriter& write);
  absl::StatusOr<hanse::v1::AcknowledgeResponse> Acknowledge(
      const std::string& caller, const hanse::v1::AcknowledgeRequest& req);
  absl::Status ReportDuty(const std::string& caller, const hanse::v1::ReportDutyRequest& req);

  // Consumer side, for the local operator.
  absl::StatusOr<hanse::v1::ContractInfo> RequestContract(
      const hanse::v1::RequestContractRequest& req);
  absl::Status FetchData(const hanse::v1::FetchDataRequest& req, const ProgressSink& progress);
  // Runs the duties that are due; one line per duty.
  std::vector<std::string> RunDueDuties();

  // Both sides.
  absl::StatusOr<hanse::v1::ListContractsResponse> ListContracts(
      const hanse::v1::ListContractsRequest& req);
  absl::StatusOr<hanse::v1::ContractInfo> GetContract(const std::string& id);
  absl::StatusOr<hanse::v1::IssueCredentialResponse> IssueCredential(
      const hanse::v1::IssueCredentialRequest& req, std::string* jws);
  absl::StatusOr<hanse::v1::ListAuditResponse> ListAudit(const hanse::v1::ListAuditRequest& req);
  absl::StatusOr<hanse::v1::VerifyAuditResponse> VerifyAudit();
  absl::StatusOr<std::string> ExportEvidence(const std::string& agreement_id);

  audit::AuditLog& audit() { return *audit_; }

 private:
  Exchange(const Home* home, catalog::Store* store, catalog::Catalog* catalog, PeerRegistry* peers,
           std::function<std::string()> card);
  void Audit(const std::string& kind, const std::string& subject, const std::string& actor,
             nlohmann::json details);
  absl::StatusOr<policy::Request> FactsAbout(const std::string& consumer,
                                             const hanse::v1::NegotiateRequest& req,
                                             absl::Time now);
  absl::StatusOr<hanse::v1::ContractInfo> Info(const contract::Negotiation& n);
  absl::Status StoreCard(const std::string& did, const std::string& jws);
  absl::StatusOr<std::string> CardOf(const std::string& did);
  absl::Status ScheduleDuties(const contract::Negotiation& n, std::int64_t use,
                              const std::string& out_path, absl::Time start);

  const Home* home_;
  catalog::Store* store_;
  catalog::Catalog* catalog_;
  PeerRegistry* peers_;
  std::function<std::string()> card_;
  std::unique_ptr<ExchangeChannels> channels_;
  contract::ContractStore contracts_;
  contract::DutyScheduler duties_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::mutex use_mu_;   // policy re-evaluation and use claim are one step
  std::mutex duty_mu_;  // one duty runner at a time
  std::mutex resume_mu_;
  std::vector<std::string> resume_;  // consumer negotiations to continue after a restart
};

}  // namespace hanse::node

#endif  // HANSE_NODE_EXCHANGE_H_
