// Contracts, transfer, duties and audit on one node: the provider side (provider.h) answers
// other members, the consumer side (consumer.h) acts for the local operator through an
// ExchangePeer, and this facade owns both and what they share, and answers the operator's
// questions about either (contracts, audit, evidence). Every decision, step, transfer and duty
// goes into the audit log. docs/contracts.md and docs/audit.md. No gRPC here: node/rpc serves
// the provider and implements the ExchangePeer over mutual TLS.
#ifndef HANSE_NODE_EXCHANGE_EXCHANGE_H_
#define HANSE_NODE_EXCHANGE_EXCHANGE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/clock.h"
#include "catalog/catalog.h"
#include "catalog/store.h"
#include "hanse/v1/exchange.pb.h"
#include "node/exchange/common.h"
#include "node/exchange/consumer.h"
#include "node/exchange/exchange_peer.h"
#include "node/exchange/provider.h"
#include "node/federation/peers.h"
#include "node/identity/home.h"

namespace hanse::node {

class Exchange {
 public:
  // All pointers must outlive the exchange. `card` returns this node's current card JWS;
  // `peer` reaches providers; `clock` is the time of every decision, window, duty and audit
  // entry.
  static absl::StatusOr<std::unique_ptr<Exchange>> Open(const Home* home, catalog::Store* store,
                                                        catalog::Catalog* catalog,
                                                        PeerRegistry* peers, ExchangePeer* peer,
                                                        std::function<std::string()> card,
                                                        const Clock* clock);

  Provider& provider() { return provider_; }
  Consumer& consumer() { return consumer_; }

  // After opening, before serving: settles negotiations a restart interrupted (logged); the
  // consumer's unfinished ones are queued for Consumer::ResumeInterrupted.
  void Recover();

  // Both sides.
  absl::StatusOr<hanse::v1::ListContractsResponse> ListContracts(
      const hanse::v1::ListContractsRequest& req);
  absl::StatusOr<hanse::v1::ContractInfo> GetContract(const std::string& id);
  absl::StatusOr<hanse::v1::IssueCredentialResponse> IssueCredential(
      const hanse::v1::IssueCredentialRequest& req, std::string* jws);
  absl::StatusOr<hanse::v1::ListAuditResponse> ListAudit(const hanse::v1::ListAuditRequest& req);
  absl::StatusOr<hanse::v1::VerifyAuditResponse> VerifyAudit();
  absl::StatusOr<std::string> ExportEvidence(const std::string& agreement_id);

  audit::AuditLog& audit() { return *common_.audit; }
  // Negotiations held, by role and state (ContractStore::CountByState).
  absl::StatusOr<contract::ContractStore::StateCounts> CountNegotiations() const {
    return common_.contracts.CountByState();
  }
  // This node's transfers since it started: sent as a provider, received as a consumer.
  const exchange_internal::TransferCounters& sent() const { return common_.sent; }
  const exchange_internal::TransferCounters& received() const { return common_.received; }

 private:
  Exchange(const Home* home, catalog::Store* store, catalog::Catalog* catalog, PeerRegistry* peers,
           ExchangePeer* peer, std::function<std::string()> card, const Clock* clock)
      : common_(home, store, catalog, peers, std::move(card), clock),
        provider_(&common_),
        consumer_(&common_, peer) {}

  exchange_internal::Common common_;
  Provider provider_;
  Consumer consumer_;
};

}  // namespace hanse::node

#endif  // HANSE_NODE_EXCHANGE_EXCHANGE_H_
