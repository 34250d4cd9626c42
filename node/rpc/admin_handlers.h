// Internal to node/rpc: the admin service's catalogue and membership handlers, on domain types
// and protobuf messages (no grpcpp): admin_service.cc binds them to gRPC.
#ifndef HANSE_NODE_RPC_ADMIN_HANDLERS_H_
#define HANSE_NODE_RPC_ADMIN_HANDLERS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "catalog/dcat.h"
#include "hanse/v1/admin.pb.h"
#include "node/federation/live_search.h"
#include "node/federation/membership.h"
#include "node/rpc/servers.h"

namespace hanse::node {

// Publish, unpublish, list, get, search (local and live) and export (admin_catalog.cc).
class CatalogAdmin {
 public:
  explicit CatalogAdmin(const NodeParts* node) : node_(node) {}

  // `progress` (optional) hears of the bytes hashed so far and the total (0: not known).
  absl::Status Publish(
      const hanse::v1::PublishDatasetRequest& req, hanse::v1::PublishDatasetResponse* resp,
      const std::function<void(std::uint64_t done, std::uint64_t total)>& progress = nullptr);
  absl::Status Unpublish(const hanse::v1::UnpublishDatasetRequest& req,
                         hanse::v1::UnpublishDatasetResponse* resp);
  absl::Status List(const hanse::v1::ListDatasetsRequest& req,
                    hanse::v1::ListDatasetsResponse* resp);
  absl::Status Get(const hanse::v1::GetDocumentRequest& req, hanse::v1::GetDocumentResponse* resp);
  absl::Status Search(const hanse::v1::SearchRequest& req, hanse::v1::SearchResponse* resp);
  // Streams the catalogue in chunks of ~256 KiB to `write`, which returns false when the client
  // has gone.
  absl::Status Export(const hanse::v1::ExportCatalogRequest& req,
                      const std::function<bool(std::string)>& write);

 private:
  absl::Status ExportDsp(const std::function<bool(std::string)>& write);
  catalog::DataService DataServiceOf(const std::string& did) const;

  const NodeParts* node_;
};

// Join, propose, endorse, revoke and list members (admin_membership.cc).
class MembershipAdmin {
 public:
  explicit MembershipAdmin(const NodeParts* node) : node_(node) {}

  absl::Status Join(const hanse::v1::JoinFederationRequest& req,
                    hanse::v1::JoinFederationResponse* resp);
  absl::Status Propose(const hanse::v1::ProposeMemberRequest& req,
                       hanse::v1::MemberActionResponse* resp);
  absl::Status Endorse(const hanse::v1::EndorseMemberRequest& req,
                       hanse::v1::MemberActionResponse* resp);
  absl::Status Revoke(const hanse::v1::RevokeMemberRequest& req,
                      hanse::v1::MemberActionResponse* resp);
  absl::Status List(hanse::v1::ListMembersResponse* resp);
  // Signs this node's departure and offers it to every member at once.
  absl::Status Leave(const hanse::v1::LeaveFederationRequest& req,
                     hanse::v1::MemberActionResponse* resp);

 private:
  absl::Status Sign(MembershipAction action, const std::string& subject,
                    const std::string& card_jws, const std::string& reason,
                    hanse::v1::MemberActionResponse* resp);

  const NodeParts* node_;
};

// A random id to tie log lines of one admin request together.
std::string NewRequestId();
void ToProto(const MemberCard& card, hanse::v1::Peer* out);
void ToProto(const catalog::EquivocationEvidence& evidence, hanse::v1::Equivocation* out);

// Live search over mutual TLS: one own connection per member, each call bounded by a deadline.
std::unique_ptr<PeerSearch> NewGrpcPeerSearch(const NodeParts* node);

}  // namespace hanse::node

#endif  // HANSE_NODE_RPC_ADMIN_HANDLERS_H_
