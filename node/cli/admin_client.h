// Talks to a running node over its admin socket.
#ifndef HANSE_NODE_CLI_ADMIN_CLIENT_H_
#define HANSE_NODE_CLI_ADMIN_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "hanse/v1/admin.grpc.pb.h"

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
  absl::StatusOr<hanse::v1::UnpublishDatasetResponse> UnpublishDataset(const std::string& id);
  absl::StatusOr<hanse::v1::ListDatasetsResponse> ListDatasets(
      const hanse::v1::ListDatasetsRequest& req);
  absl::StatusOr<hanse::v1::GetDocumentResponse> GetDocument(const std::string& id);
  absl::StatusOr<hanse::v1::SearchResponse> Search(const hanse::v1::SearchRequest& req);
  absl::StatusOr<hanse::v1::JoinFederationResponse> JoinFederation(const std::string& charter,
                                                                   const std::string& bootstrap);
  absl::StatusOr<std::string> ProposeMember(const std::string& card_jws);
  absl::StatusOr<std::string> EndorseMember(const std::string& did);
  absl::StatusOr<std::string> RevokeMember(const std::string& did, const std::string& reason);
  absl::StatusOr<hanse::v1::ListMembersResponse> ListMembers();
  // The admin socket's channel (for the other local services, e.g. Contracts).
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

  // Streams the export to `sink` chunk by chunk.
  absl::Status ExportCatalog(const std::string& format,
                             const std::function<void(const std::string&)>& sink);

 private:
  AdminClient(std::shared_ptr<grpc::Channel> channel, std::shared_ptr<hanse::v1::Admin::Stub> stub)
      : channel_(std::move(channel)), stub_(std::move(stub)) {}
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<hanse::v1::Admin::Stub> stub_;
};

// True when a node answers on the home's admin socket.
bool NodeIsRunning(const std::string& home_dir);

}  // namespace hanse::node

#endif  // HANSE_NODE_CLI_ADMIN_CLIENT_H_
