// Talks to a running node over its admin socket: the Admin and Contracts services, in
// protobuf messages (no grpcpp in this header). Used by the `hanse` CLI and by tests.
#ifndef HANSE_NODE_RPC_ADMIN_CLIENT_H_
#define HANSE_NODE_RPC_ADMIN_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hanse/v1/admin.pb.h"
#include "hanse/v1/exchange.pb.h"

namespace hanse::node {

class AdminClient {
 public:
  // Connects to DIR/admin.sock. Unavailable (with advice) when no node is running.
  static absl::StatusOr<AdminClient> Connect(const std::string& home_dir);

  absl::StatusOr<hanse::v1::GetStatusResponse> GetStatus();
  absl::StatusOr<std::string> GetCard();
  absl::StatusOr<hanse::v1::AddPeerResponse> AddPeer(const std::string& card_jws);
  absl::StatusOr<hanse::v1::ListPeersResponse> ListPeers();
  absl::StatusOr<hanse::v1::PingPeerResponse> PingPeer(const std::string& target);
  absl::StatusOr<hanse::v1::PublishDatasetResponse> PublishDataset(const std::string& json);
  // The same with progress while the node hashes the content (`progress(done, total)`; total 0
  // when not known). A node without the streaming call gets the plain one (no progress).
  absl::StatusOr<hanse::v1::PublishDatasetResponse> PublishDataset(
      const std::string& json,
      const std::function<void(std::uint64_t done, std::uint64_t total)>& progress);
  absl::StatusOr<hanse::v1::UnpublishDatasetResponse> UnpublishDataset(const std::string& id);
  absl::StatusOr<hanse::v1::ListDatasetsResponse> ListDatasets(
      const hanse::v1::ListDatasetsRequest& req);
  // `format` "" (the signed document) or "dcat" (also the dataset as a DSP 2025-1 dataset).
  absl::StatusOr<hanse::v1::GetDocumentResponse> GetDocument(const std::string& id,
                                                             const std::string& format = "");
  absl::StatusOr<hanse::v1::SearchResponse> Search(const hanse::v1::SearchRequest& req);
  absl::StatusOr<hanse::v1::JoinFederationResponse> JoinFederation(const std::string& charter,
                                                                   const std::string& bootstrap);
  absl::StatusOr<std::string> ProposeMember(const std::string& card_jws);
  absl::StatusOr<std::string> EndorseMember(const std::string& did);
  absl::StatusOr<std::string> RevokeMember(const std::string& did, const std::string& reason);
  absl::StatusOr<hanse::v1::ListMembersResponse> ListMembers();
  absl::StatusOr<std::string> LeaveFederation(const std::string& reason);
  // Returns the new card.
  absl::StatusOr<std::string> UpdateCard(const std::string& endpoint);
  // Returns the sequence ledger read after the checkpoint.
  absl::StatusOr<std::string> Checkpoint(const std::string& dir);
  // Streams the export to `sink` chunk by chunk.
  absl::Status ExportCatalog(const std::string& format,
                             const std::function<void(const std::string&)>& sink);

  // The Contracts service: negotiations, transfers, credentials, audit, evidence, duties.
  absl::StatusOr<hanse::v1::ContractInfo> RequestContract(
      const hanse::v1::RequestContractRequest& req);
  absl::StatusOr<hanse::v1::ListContractsResponse> ListContracts(
      const hanse::v1::ListContractsRequest& req);
  absl::StatusOr<hanse::v1::ContractInfo> GetContract(const std::string& id);
  // Streams the node's progress to `progress` until the fetch ends; its status is the result.
  absl::Status FetchData(const hanse::v1::FetchDataRequest& req,
                         const std::function<void(const hanse::v1::FetchProgress&)>& progress);
  absl::StatusOr<hanse::v1::IssueCredentialResponse> IssueCredential(
      const hanse::v1::IssueCredentialRequest& req);
  absl::StatusOr<hanse::v1::ListAuditResponse> ListAudit(const hanse::v1::ListAuditRequest& req);
  // Verifying a long chain takes time: the deadline is generous.
  absl::StatusOr<hanse::v1::VerifyAuditResponse> VerifyAudit(
      absl::Duration deadline = absl::Minutes(30));
  absl::StatusOr<hanse::v1::ExportEvidenceResponse> ExportEvidence(
      const hanse::v1::ExportEvidenceRequest& req);
  absl::StatusOr<hanse::v1::RunDutiesResponse> RunDuties();

  struct Stubs;

 private:
  explicit AdminClient(std::shared_ptr<Stubs> stubs) : stubs_(std::move(stubs)) {}
  std::shared_ptr<Stubs> stubs_;
};

// True when a node answers on the home's admin socket.
bool NodeIsRunning(const std::string& home_dir);

}  // namespace hanse::node

#endif  // HANSE_NODE_RPC_ADMIN_CLIENT_H_
