// The admin service on the node's private unix socket: what the `hanse` CLI asks of its node
// (status, peers, catalogue, membership). Full error messages are fine here: the caller is
// the local operator. Status and peers are answered here; the catalogue and membership groups
// by their handlers (admin_handlers.h), which this file binds to gRPC.
#include <grpcpp/grpcpp.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/status.h"
#include "base/version.h"
#include "catalog/catalog.h"
#include "catalog/dcat.h"
#include "catalog/document.h"
#include "catalog/query.h"
#include "hanse/v1/admin.grpc.pb.h"
#include "hanse/v1/federation.grpc.pb.h"
#include "node/identity/backup.h"
#include "node/publishing/publishing.h"
#include "node/rpc/admin_handlers.h"
#include "node/rpc/channels.h"
#include "node/rpc/services.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::node {

std::string NewRequestId() {
  static absl::BitGen* gen = new absl::BitGen();
  static std::mutex mu;
  std::lock_guard lock(mu);
  return absl::StrFormat("%016x", absl::Uniform<std::uint64_t>(*gen));
}

void ToProto(const MemberCard& card, hanse::v1::Peer* out) {
  out->set_did(card.did);
  out->set_endpoint(card.endpoint);
  out->set_legal_name(card.legal_name);
  out->set_country(card.country);
}

void ToProto(const catalog::EquivocationEvidence& e, hanse::v1::Equivocation* out) {
  out->set_issuer(e.issuer);
  out->set_sequence(e.sequence);
  const std::string& a = std::min(e.first_jws, e.second_jws);
  const std::string& b = std::max(e.first_jws, e.second_jws);
  out->set_id(absl::StrCat("sha256:", trust::HexEncode(trust::Sha256(absl::StrCat(a, "\n", b)))));
  auto document_id = [](const std::string& jws) -> std::string {
    auto decoded = trust::DecodeUnverified(jws);
    if (!decoded.ok()) return "";
    auto doc = catalog::ParseDocumentPayload(decoded->payload);
    return doc.ok() ? doc->id : "";
  };
  out->set_first_document(document_id(e.first_jws));
  out->set_second_document(document_id(e.second_jws));
}

namespace {

class AdminService final : public hanse::v1::Admin::Service {
 public:
  AdminService(const NodeParts* node, const AccessControl* access) : node_(node), access_(access) {}

  grpc::Status GetStatus(grpc::ServerContext* ctx, const hanse::v1::GetStatusRequest*,
                         hanse::v1::GetStatusResponse* response) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "GetStatus"); !denied.ok()) {
      return denied;
    }
    const Home& home = *node_->home;
    response->set_did(home.identity.did);
    response->set_listen(node_->listen_address);
    response->set_legal_name(home.config.legal_name);
    response->set_country(home.config.country);
    for (const auto& card : node_->peers->List()) ToProto(card, response->add_peers());
    response->set_uptime_seconds(absl::ToInt64Seconds(node_->clock->Now() - node_->started));
    response->set_store_bytes(node_->store->DiskBytes());
    if (node_->store_scrub) response->set_store_scrub(node_->store_scrub());
    if (auto marked = NeedingRepublication(*node_->store); marked.ok()) {
      for (auto& [id, why] : *marked) response->add_needs_republication(id);
    }
    if (absl::Status writable = node_->store->Writable(); !writable.ok()) {
      response->set_store_writes_refused(std::string(writable.message()));
    }
    if (struct statvfs fs{}; ::statvfs(home.paths.store.c_str(), &fs) == 0) {
      response->set_store_free_bytes(static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize);
    }
    response->set_version(VersionLine());
    if (auto flagged = node_->catalog->FlaggedIssuers(); flagged.ok()) {
      for (auto& did : *flagged) response->add_equivocators(std::move(did));
    }
    if (auto evidence = node_->catalog->Evidence(); evidence.ok()) {
      for (const auto& e : *evidence) ToProto(e, response->add_evidence());
    }
    if (auto heads = node_->catalog->Heads(); heads.ok()) {
      auto own = heads->find(home.identity.did);
      response->set_own_sequence_held(own == heads->end() ? 0 : own->second);
    }
    response->set_own_sequence_signed(node_->sequences->Highest(home.identity.did));
    if (node_->node_cert_not_after) {
      response->set_node_cert_not_after(
          absl::FormatTime(absl::RFC3339_sec, node_->node_cert_not_after(), absl::UTCTimeZone()));
    }
    for (auto& did : node_->gossip->engine().FlaggedBy(home.identity.did)) {
      response->add_flagged_by(std::move(did));
    }
    return grpc::Status::OK;
  }

  grpc::Status GetCard(grpc::ServerContext* ctx, const hanse::v1::GetCardRequest*,
                       hanse::v1::GetCardResponse* response) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "GetCard"); !denied.ok()) {
      return denied;
    }
    response->set_card_jws(node_->card());
    return grpc::Status::OK;
  }

  grpc::Status AddPeer(grpc::ServerContext* ctx, const hanse::v1::AddPeerRequest* request,
                       hanse::v1::AddPeerResponse* response) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "AddPeer"); !denied.ok()) {
      return denied;
    }
    std::string request_id = NewRequestId();
    auto card = VerifyCard(request->card_jws(), node_->clock->Now());
    if (!card.ok()) return ToGrpc(card.status());
    auto added = node_->peers->Add(request->card_jws(), *card);
    if (!added.ok()) return ToGrpc(added.status());
    log::Info(*added ? "peer trusted" : "peer already trusted",
              {{"request_id", request_id}, {"peer", card->did}, {"endpoint", card->endpoint}});
    ToProto(*card, response->mutable_peer());
    response->set_added(*added);
    return grpc::Status::OK;
  }

  grpc::Status ListPeers(grpc::ServerContext* ctx, const hanse::v1::ListPeersRequest*,
                         hanse::v1::ListPeersResponse* response) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "ListPeers"); !denied.ok()) {
      return denied;
    }
    for (const auto& card : node_->peers->List()) ToProto(card, response->add_peers());
    return grpc::Status::OK;
  }

  grpc::Status PublishDataset(grpc::ServerContext*, const hanse::v1::PublishDatasetRequest* req,
                              hanse::v1::PublishDatasetResponse* resp) override;
  grpc::Status PublishDatasetWithProgress(
      grpc::ServerContext*, const hanse::v1::PublishDatasetRequest* req,
      grpc::ServerWriter<hanse::v1::PublishProgress>* writer) override;
  grpc::Status UnpublishDataset(grpc::ServerContext*, const hanse::v1::UnpublishDatasetRequest* req,
                                hanse::v1::UnpublishDatasetResponse* resp) override;
  grpc::Status ListDatasets(grpc::ServerContext*, const hanse::v1::ListDatasetsRequest* req,
                            hanse::v1::ListDatasetsResponse* resp) override;
  grpc::Status GetDocument(grpc::ServerContext*, const hanse::v1::GetDocumentRequest* req,
                           hanse::v1::GetDocumentResponse* resp) override;
  grpc::Status Search(grpc::ServerContext*, const hanse::v1::SearchRequest* req,
                      hanse::v1::SearchResponse* resp) override;
  grpc::Status ExportCatalog(grpc::ServerContext*, const hanse::v1::ExportCatalogRequest* req,
                             grpc::ServerWriter<hanse::v1::ExportChunk>* writer) override;
  grpc::Status JoinFederation(grpc::ServerContext*, const hanse::v1::JoinFederationRequest* req,
                              hanse::v1::JoinFederationResponse* resp) override;
  grpc::Status ProposeMember(grpc::ServerContext*, const hanse::v1::ProposeMemberRequest* req,
                             hanse::v1::MemberActionResponse* resp) override;
  grpc::Status EndorseMember(grpc::ServerContext*, const hanse::v1::EndorseMemberRequest* req,
                             hanse::v1::MemberActionResponse* resp) override;
  grpc::Status RevokeMember(grpc::ServerContext*, const hanse::v1::RevokeMemberRequest* req,
                            hanse::v1::MemberActionResponse* resp) override;
  grpc::Status ListMembers(grpc::ServerContext*, const hanse::v1::ListMembersRequest* req,
                           hanse::v1::ListMembersResponse* resp) override;
  grpc::Status LeaveFederation(grpc::ServerContext* ctx,
                               const hanse::v1::LeaveFederationRequest* req,
                               hanse::v1::MemberActionResponse* resp) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "LeaveFederation"); !denied.ok()) {
      return denied;
    }
    return ToGrpc(MembershipAdmin(node_).Leave(*req, resp));
  }

  grpc::Status UpdateCard(grpc::ServerContext* ctx, const hanse::v1::UpdateCardRequest* req,
                          hanse::v1::GetCardResponse* resp) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "UpdateCard", req->endpoint());
        !denied.ok()) {
      return denied;
    }
    if (!node_->update_card) return ToGrpc(absl::UnimplementedError("no card updates here"));
    auto jws = node_->update_card(req->endpoint());
    if (!jws.ok()) return ToGrpc(jws.status());
    resp->set_card_jws(*jws);
    return grpc::Status::OK;
  }

  grpc::Status Checkpoint(grpc::ServerContext* ctx, const hanse::v1::CheckpointRequest* req,
                          hanse::v1::CheckpointResponse* resp) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "Checkpoint", req->dir());
        !denied.ok()) {
      return denied;
    }
    auto sequences = CheckpointHome(node_->home->paths, *node_->store, req->dir());
    if (!sequences.ok()) return ToGrpc(sequences.status());
    resp->set_sequences(*sequences);
    log::Info("store checkpoint taken", {{"dir", req->dir()}});
    return grpc::Status::OK;
  }

  grpc::Status PingPeer(grpc::ServerContext* ctx, const hanse::v1::PingPeerRequest* request,
                        hanse::v1::PingPeerResponse* response) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "PingPeer"); !denied.ok()) {
      return denied;
    }
    std::string request_id = NewRequestId();
    absl::Status status = DoPing(request->target(), response);
    log::Info("peer ping", {{"request_id", request_id},
                            {"target", request->target().substr(0, kMaxTargetBytes)},
                            {"result", status.ok() ? "ok" : status.ToString()}});
    return ToGrpc(status);
  }

 private:
  absl::Status DoPing(const std::string& target, hanse::v1::PingPeerResponse* response) {
    if (target.empty() || target.size() > kMaxTargetBytes) {
      return absl::InvalidArgumentError("target must be a DID or HOST:PORT");
    }
    std::string endpoint;
    std::string expected_did;
    if (absl::StartsWith(target, "did:")) {
      if (!trust::IsDidKey(target)) {
        return absl::InvalidArgumentError(absl::StrCat(target, " is not a did:key DID"));
      }
      auto card = node_->peers->Find(target);
      if (!card) {
        return absl::NotFoundError(
            absl::StrCat(target, " is not a trusted peer (add its card with `hanse peer add`)"));
      }
      endpoint = card->endpoint;
      expected_did = target;
    } else {
      HANSE_RETURN_IF_ERROR(ParseHostPort(target).status());
      endpoint = target;
    }
    auto channel = MemberChannel(node_->home->identity, node_->lookup, endpoint, expected_did,
                                 *node_->clock, {.own_connection = true});
    auto stub = hanse::v1::Federation::NewStub(channel);

    hanse::v1::PingRequest req;
    req.set_nonce(NewRequestId());
    hanse::v1::PingResponse resp;
    // Connect first so the round trip measures the call, not the TLS handshake.
    channel->WaitForConnected(TransportDeadline(kPeerCallDeadline));
    grpc::ClientContext ctx;
    ctx.set_deadline(TransportDeadline(kPeerCallDeadline));
    Stopwatch round_trip;
    absl::Status st = FromGrpc(stub->Ping(&ctx, req, &resp));
    absl::Duration rtt = round_trip.Elapsed();
    if (!st.ok()) {
      return absl::Status(
          st.code(),
          absl::StrCat("ping ", endpoint, " failed: ", st.message(),
                       absl::IsUnavailable(st)
                           ? " (is the node running, and do both sides trust each other's card?)"
                           : ""));
    }
    if (resp.nonce() != req.nonce()) return absl::DataLossError("peer echoed the wrong nonce");
    HANSE_ASSIGN_OR_RETURN(std::string server_did, ServerDid(ctx));
    HANSE_ASSIGN_OR_RETURN(MemberCard card, VerifyCard(resp.card_jws(), node_->clock->Now()),
                           "peer's card");
    if (card.did != server_did) {
      return absl::UnauthenticatedError(absl::StrCat("peer at ", endpoint,
                                                     " presented a certificate for ", server_did,
                                                     " but a card for ", card.did));
    }
    ToProto(card, response->mutable_peer());
    response->set_round_trip_micros(absl::ToInt64Microseconds(rtt));
    response->set_endpoint(endpoint);
    return absl::OkStatus();
  }

  const NodeParts* node_;
  const AccessControl* access_;  // null on the operator's socket
};

grpc::Status AdminService::PublishDataset(grpc::ServerContext* ctx,
                                          const hanse::v1::PublishDatasetRequest* req,
                                          hanse::v1::PublishDatasetResponse* resp) {
  if (grpc::Status denied = Authorize(node_, access_, ctx, "PublishDataset"); !denied.ok()) {
    return denied;
  }
  return ToGrpc(CatalogAdmin(node_).Publish(*req, resp));
}
grpc::Status AdminService::PublishDatasetWithProgress(
    grpc::ServerContext* ctx, const hanse::v1::PublishDatasetRequest* req,
    grpc::ServerWriter<hanse::v1::PublishProgress>* writer) {
  // The same right as PublishDataset: one operation, with or without progress.
  if (grpc::Status denied = Authorize(node_, access_, ctx, "PublishDataset"); !denied.ok()) {
    return denied;
  }
  // At most every 100 ms, and the first and last; a client gone stops the messages, not the
  // publish (it completes, as a unary publish would).
  absl::Time last_sent = absl::InfinitePast();
  bool listening = true;
  auto progress = [&](std::uint64_t done, std::uint64_t total) {
    const absl::Time now = absl::Now();
    const bool finished = total > 0 && done == total;
    if (!listening || (now - last_sent < absl::Milliseconds(100) && !finished)) return;
    last_sent = now;
    hanse::v1::PublishProgress p;
    p.set_hashed_bytes(done);
    p.set_total_bytes(total);
    listening = !ctx->IsCancelled() && writer->Write(p);
  };
  hanse::v1::PublishProgress last;
  absl::Status published = CatalogAdmin(node_).Publish(*req, last.mutable_result(), progress);
  if (!published.ok()) return ToGrpc(published);
  writer->Write(last);
  return grpc::Status::OK;
}

grpc::Status AdminService::UnpublishDataset(grpc::ServerContext* ctx,
                                            const hanse::v1::UnpublishDatasetRequest* req,
                                            hanse::v1::UnpublishDatasetResponse* resp) {
  if (grpc::Status denied = Authorize(node_, access_, ctx, "UnpublishDataset", req->id());
      !denied.ok()) {
    return denied;
  }
  return ToGrpc(CatalogAdmin(node_).Unpublish(*req, resp));
}
grpc::Status AdminService::ListDatasets(grpc::ServerContext* ctx,
                                        const hanse::v1::ListDatasetsRequest* req,
                                        hanse::v1::ListDatasetsResponse* resp) {
  if (grpc::Status denied = Authorize(node_, access_, ctx, "ListDatasets"); !denied.ok()) {
    return denied;
  }
  return ToGrpc(CatalogAdmin(node_).List(*req, resp));
}
grpc::Status AdminService::GetDocument(grpc::ServerContext* ctx,
                                       const hanse::v1::GetDocumentRequest* req,
                                       hanse::v1::GetDocumentResponse* resp) {
  if (grpc::Status denied = Authorize(node_, access_, ctx, "GetDocument"); !denied.ok()) {
    return denied;
  }
  return ToGrpc(CatalogAdmin(node_).Get(*req, resp));
}
grpc::Status AdminService::Search(grpc::ServerContext* ctx, const hanse::v1::SearchRequest* req,
                                  hanse::v1::SearchResponse* resp) {
  if (grpc::Status denied = Authorize(node_, access_, ctx, "Search"); !denied.ok()) {
    return denied;
  }
  return ToGrpc(CatalogAdmin(node_).Search(*req, resp));
}
grpc::Status AdminService::ExportCatalog(grpc::ServerContext* ctx,
                                         const hanse::v1::ExportCatalogRequest* req,
                                         grpc::ServerWriter<hanse::v1::ExportChunk>* writer) {
  if (grpc::Status denied = Authorize(node_, access_, ctx, "ExportCatalog"); !denied.ok()) {
    return denied;
  }
  return ToGrpc(CatalogAdmin(node_).Export(*req, [writer](std::string data) {
    hanse::v1::ExportChunk chunk;
    chunk.set_data(std::move(data));
    return writer->Write(chunk);
  }));
}

grpc::Status AdminService::JoinFederation(grpc::ServerContext* ctx,
                                          const hanse::v1::JoinFederationRequest* req,
                                          hanse::v1::JoinFederationResponse* resp) {
  if (grpc::Status denied = Authorize(node_, access_, ctx, "JoinFederation", req->bootstrap());
      !denied.ok()) {
    return denied;
  }
  return ToGrpc(MembershipAdmin(node_).Join(*req, resp));
}
grpc::Status AdminService::ProposeMember(grpc::ServerContext* ctx,
                                         const hanse::v1::ProposeMemberRequest* req,
                                         hanse::v1::MemberActionResponse* resp) {
  if (grpc::Status denied = Authorize(node_, access_, ctx, "ProposeMember"); !denied.ok()) {
    return denied;
  }
  return ToGrpc(MembershipAdmin(node_).Propose(*req, resp));
}
grpc::Status AdminService::EndorseMember(grpc::ServerContext* ctx,
                                         const hanse::v1::EndorseMemberRequest* req,
                                         hanse::v1::MemberActionResponse* resp) {
  if (grpc::Status denied = Authorize(node_, access_, ctx, "EndorseMember", req->did());
      !denied.ok()) {
    return denied;
  }
  return ToGrpc(MembershipAdmin(node_).Endorse(*req, resp));
}
grpc::Status AdminService::RevokeMember(grpc::ServerContext* ctx,
                                        const hanse::v1::RevokeMemberRequest* req,
                                        hanse::v1::MemberActionResponse* resp) {
  if (grpc::Status denied = Authorize(node_, access_, ctx, "RevokeMember", req->did());
      !denied.ok()) {
    return denied;
  }
  return ToGrpc(MembershipAdmin(node_).Revoke(*req, resp));
}
grpc::Status AdminService::ListMembers(grpc::ServerContext* ctx,
                                       const hanse::v1::ListMembersRequest*,
                                       hanse::v1::ListMembersResponse* resp) {
  if (grpc::Status denied = Authorize(node_, access_, ctx, "ListMembers"); !denied.ok()) {
    return denied;
  }
  return ToGrpc(MembershipAdmin(node_).List(resp));
}

}  // namespace

std::unique_ptr<grpc::Service> NewAdminService(const NodeParts* node, const AccessControl* access) {
  return std::make_unique<AdminService>(node, access);
}

}  // namespace hanse::node
