#include "node/rpc/admin_client.h"

#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/file.h"
#include "hanse/v1/admin.grpc.pb.h"
#include "hanse/v1/exchange.grpc.pb.h"
#include "node/identity/config.h"
#include "node/identity/home.h"
#include "node/rpc/tls.h"

namespace hanse::node {
namespace {

constexpr absl::Duration kAdminDeadline = absl::Seconds(30);
// Contract calls may wait on a peer (a negotiation, an evidence export).
constexpr absl::Duration kContractsDeadline = absl::Seconds(60);

// A token holder's calls carry its token (the access socket checks it); the operator's carry
// nothing (the admin socket is private).
void Authenticate(const std::string& token, grpc::ClientContext* ctx) {
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
}

template <typename Req, typename Resp, typename Stub, typename Method>
absl::StatusOr<Resp> Call(const std::string& token, Stub* stub, Method method, const Req& req,
                          absl::Duration deadline = kAdminDeadline) {
  grpc::ClientContext ctx;
  ctx.set_deadline(TransportDeadline(deadline));
  Authenticate(token, &ctx);
  Resp resp;
  grpc::Status st = (stub->*method)(&ctx, req, &resp);
  if (!st.ok()) return FromGrpc(st);
  return resp;
}

}  // namespace

struct AdminClient::Stubs {
  std::string token;  // HANSE_TOKEN, when calling through the access socket
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<hanse::v1::Admin::Stub> admin;
  std::unique_ptr<hanse::v1::Contracts::Stub> contracts;
};

absl::StatusOr<AdminClient> AdminClient::Connect(const std::string& home_dir) {
  HomePaths paths(AbsolutePath(home_dir));
  // A token holder reaches the node on its access socket: HANSE_SOCKET, else the home's
  // configured access_socket, else HOME/access.sock.
  const char* token_env = std::getenv("HANSE_TOKEN");
  const std::string token = token_env != nullptr ? token_env : "";
  std::string socket = paths.admin_socket;
  if (!token.empty()) {
    const char* socket_env = std::getenv("HANSE_SOCKET");
    socket = paths.dir + "/access.sock";
    if (socket_env != nullptr && *socket_env != '\0') {
      socket = socket_env;
    } else if (auto text = ReadFile(paths.config); text.ok()) {
      if (auto config = ParseConfig(*text, paths.config);
          config.ok() && !config->access_socket.empty()) {
        socket = config->access_socket;
      }
    }
  }
  if (!PathExists(socket)) {
    return absl::UnavailableError(absl::StrCat(
        "the node at ", paths.dir, " is not running (no ", token.empty() ? "admin" : "access",
        " socket ", socket, "; start it with `hanse node run --home ", home_dir, "`)"));
  }
  // A local socket either answers or not: retry often (gRPC's default first backoff is 1 s,
  // which a client that meets a socket left by a crashed node would otherwise wait out).
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 250);
  auto channel =
      grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args);
  if (!channel->WaitForConnected(TransportDeadline(absl::Seconds(3)))) {
    return absl::UnavailableError(absl::StrCat("the node at ", paths.dir, " does not answer on ",
                                               socket,
                                               " (stale socket? start it with `hanse node run`)"));
  }
  auto stubs = std::make_shared<Stubs>();
  stubs->token = token;
  stubs->channel = channel;
  stubs->admin = hanse::v1::Admin::NewStub(channel);
  stubs->contracts = hanse::v1::Contracts::NewStub(channel);
  return AdminClient(std::move(stubs));
}

bool NodeIsRunning(const std::string& home_dir) { return AdminClient::Connect(home_dir).ok(); }

absl::StatusOr<hanse::v1::GetStatusResponse> AdminClient::GetStatus() {
  return Call<hanse::v1::GetStatusRequest, hanse::v1::GetStatusResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::GetStatus, {});
}

absl::StatusOr<std::string> AdminClient::GetCard() {
  auto resp = Call<hanse::v1::GetCardRequest, hanse::v1::GetCardResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::GetCard, {});
  if (!resp.ok()) return resp.status();
  return resp->card_jws();
}

absl::StatusOr<hanse::v1::AddPeerResponse> AdminClient::AddPeer(const std::string& card_jws) {
  hanse::v1::AddPeerRequest req;
  req.set_card_jws(card_jws);
  return Call<hanse::v1::AddPeerRequest, hanse::v1::AddPeerResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::AddPeer, req);
}

absl::StatusOr<hanse::v1::ListPeersResponse> AdminClient::ListPeers() {
  return Call<hanse::v1::ListPeersRequest, hanse::v1::ListPeersResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::ListPeers, {});
}

absl::StatusOr<hanse::v1::PingPeerResponse> AdminClient::PingPeer(const std::string& target) {
  hanse::v1::PingPeerRequest req;
  req.set_target(target);
  return Call<hanse::v1::PingPeerRequest, hanse::v1::PingPeerResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::PingPeer, req);
}

}  // namespace hanse::node

namespace hanse::node {

absl::StatusOr<hanse::v1::PublishDatasetResponse> AdminClient::PublishDataset(
    const std::string& json) {
  hanse::v1::PublishDatasetRequest req;
  req.set_json(json);
  return Call<hanse::v1::PublishDatasetRequest, hanse::v1::PublishDatasetResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::PublishDataset, req);
}

absl::StatusOr<hanse::v1::PublishDatasetResponse> AdminClient::PublishDataset(
    const std::string& json,
    const std::function<void(std::uint64_t done, std::uint64_t total)>& progress) {
  hanse::v1::PublishDatasetRequest req;
  req.set_json(json);
  // No deadline: hashing takes as long as the content needs (progress shows it moving).
  grpc::ClientContext ctx;
  Authenticate(stubs_->token, &ctx);
  auto reader = stubs_->admin->PublishDatasetWithProgress(&ctx, req);
  hanse::v1::PublishProgress p;
  std::optional<hanse::v1::PublishDatasetResponse> result;
  while (reader->Read(&p)) {
    if (p.has_result()) {
      result = p.result();
    } else if (progress) {
      progress(p.hashed_bytes(), p.total_bytes());
    }
  }
  grpc::Status st = reader->Finish();
  if (st.error_code() == grpc::StatusCode::UNIMPLEMENTED) return PublishDataset(json);
  if (!st.ok()) return FromGrpc(st);
  if (!result) return absl::InternalError("the node ended the publish without a result");
  return *std::move(result);
}

absl::StatusOr<hanse::v1::UnpublishDatasetResponse> AdminClient::UnpublishDataset(
    const std::string& id) {
  hanse::v1::UnpublishDatasetRequest req;
  req.set_id(id);
  return Call<hanse::v1::UnpublishDatasetRequest, hanse::v1::UnpublishDatasetResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::UnpublishDataset, req);
}

absl::StatusOr<hanse::v1::ListDatasetsResponse> AdminClient::ListDatasets(
    const hanse::v1::ListDatasetsRequest& req) {
  return Call<hanse::v1::ListDatasetsRequest, hanse::v1::ListDatasetsResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::ListDatasets, req);
}

absl::StatusOr<hanse::v1::GetDocumentResponse> AdminClient::GetDocument(const std::string& id,
                                                                        const std::string& format) {
  hanse::v1::GetDocumentRequest req;
  req.set_id(id);
  req.set_format(format);
  return Call<hanse::v1::GetDocumentRequest, hanse::v1::GetDocumentResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::GetDocument, req);
}

absl::StatusOr<hanse::v1::SearchResponse> AdminClient::Search(const hanse::v1::SearchRequest& req) {
  return Call<hanse::v1::SearchRequest, hanse::v1::SearchResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::Search, req);
}

absl::Status AdminClient::ExportCatalog(const std::string& format,
                                        const std::function<void(const std::string&)>& sink) {
  grpc::ClientContext ctx;
  Authenticate(stubs_->token, &ctx);
  hanse::v1::ExportCatalogRequest req;
  req.set_format(format);
  auto reader = stubs_->admin->ExportCatalog(&ctx, req);
  hanse::v1::ExportChunk chunk;
  while (reader->Read(&chunk)) sink(chunk.data());
  return FromGrpc(reader->Finish());
}

absl::StatusOr<hanse::v1::JoinFederationResponse> AdminClient::JoinFederation(
    const std::string& charter, const std::string& bootstrap) {
  hanse::v1::JoinFederationRequest req;
  req.set_charter(charter);
  req.set_bootstrap(bootstrap);
  return Call<hanse::v1::JoinFederationRequest, hanse::v1::JoinFederationResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::JoinFederation, req);
}

absl::StatusOr<std::string> AdminClient::ProposeMember(const std::string& card_jws) {
  hanse::v1::ProposeMemberRequest req;
  req.set_card_jws(card_jws);
  auto r = Call<hanse::v1::ProposeMemberRequest, hanse::v1::MemberActionResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::ProposeMember, req);
  if (!r.ok()) return r.status();
  return r->message();
}

absl::StatusOr<std::string> AdminClient::EndorseMember(const std::string& did) {
  hanse::v1::EndorseMemberRequest req;
  req.set_did(did);
  auto r = Call<hanse::v1::EndorseMemberRequest, hanse::v1::MemberActionResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::EndorseMember, req);
  if (!r.ok()) return r.status();
  return r->message();
}

absl::StatusOr<std::string> AdminClient::RevokeMember(const std::string& did,
                                                      const std::string& reason) {
  hanse::v1::RevokeMemberRequest req;
  req.set_did(did);
  req.set_reason(reason);
  auto r = Call<hanse::v1::RevokeMemberRequest, hanse::v1::MemberActionResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::RevokeMember, req);
  if (!r.ok()) return r.status();
  return r->message();
}

absl::StatusOr<hanse::v1::ListMembersResponse> AdminClient::ListMembers() {
  return Call<hanse::v1::ListMembersRequest, hanse::v1::ListMembersResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::ListMembers, {});
}

absl::StatusOr<std::string> AdminClient::LeaveFederation(const std::string& reason) {
  hanse::v1::LeaveFederationRequest req;
  req.set_reason(reason);
  auto r = Call<hanse::v1::LeaveFederationRequest, hanse::v1::MemberActionResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::LeaveFederation, req,
      absl::Minutes(2));
  if (!r.ok()) return r.status();
  return r->message();
}

absl::StatusOr<std::string> AdminClient::UpdateCard(const std::string& endpoint) {
  hanse::v1::UpdateCardRequest req;
  req.set_endpoint(endpoint);
  auto r = Call<hanse::v1::UpdateCardRequest, hanse::v1::GetCardResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::UpdateCard, req);
  if (!r.ok()) return r.status();
  return r->card_jws();
}

absl::StatusOr<std::string> AdminClient::Checkpoint(const std::string& dir) {
  hanse::v1::CheckpointRequest req;
  req.set_dir(dir);
  auto r = Call<hanse::v1::CheckpointRequest, hanse::v1::CheckpointResponse>(
      stubs_->token, stubs_->admin.get(), &hanse::v1::Admin::Stub::Checkpoint, req,
      absl::Minutes(10));
  if (!r.ok()) return r.status();
  return r->sequences();
}

absl::StatusOr<hanse::v1::ContractInfo> AdminClient::RequestContract(
    const hanse::v1::RequestContractRequest& req) {
  return Call<hanse::v1::RequestContractRequest, hanse::v1::ContractInfo>(
      stubs_->token, stubs_->contracts.get(), &hanse::v1::Contracts::Stub::RequestContract, req,
      kContractsDeadline);
}

absl::StatusOr<hanse::v1::ListContractsResponse> AdminClient::ListContracts(
    const hanse::v1::ListContractsRequest& req) {
  return Call<hanse::v1::ListContractsRequest, hanse::v1::ListContractsResponse>(
      stubs_->token, stubs_->contracts.get(), &hanse::v1::Contracts::Stub::ListContracts, req,
      kContractsDeadline);
}

absl::StatusOr<hanse::v1::ContractInfo> AdminClient::GetContract(const std::string& id) {
  hanse::v1::GetContractRequest req;
  req.set_id(id);
  return Call<hanse::v1::GetContractRequest, hanse::v1::ContractInfo>(
      stubs_->token, stubs_->contracts.get(), &hanse::v1::Contracts::Stub::GetContract, req,
      kContractsDeadline);
}

absl::Status AdminClient::FetchData(
    const hanse::v1::FetchDataRequest& req,
    const std::function<void(const hanse::v1::FetchProgress&)>& progress) {
  // No deadline: a transfer takes as long as the data needs; the node's idle timeout and the
  // caller's Ctrl-C end a stalled one.
  grpc::ClientContext ctx;
  Authenticate(stubs_->token, &ctx);
  auto reader = stubs_->contracts->FetchData(&ctx, req);
  hanse::v1::FetchProgress p;
  while (reader->Read(&p)) progress(p);
  return FromGrpc(reader->Finish());
}

absl::StatusOr<hanse::v1::IssueCredentialResponse> AdminClient::IssueCredential(
    const hanse::v1::IssueCredentialRequest& req) {
  return Call<hanse::v1::IssueCredentialRequest, hanse::v1::IssueCredentialResponse>(
      stubs_->token, stubs_->contracts.get(), &hanse::v1::Contracts::Stub::IssueCredential, req,
      kContractsDeadline);
}

absl::StatusOr<hanse::v1::ListAuditResponse> AdminClient::ListAudit(
    const hanse::v1::ListAuditRequest& req) {
  return Call<hanse::v1::ListAuditRequest, hanse::v1::ListAuditResponse>(
      stubs_->token, stubs_->contracts.get(), &hanse::v1::Contracts::Stub::ListAudit, req,
      kContractsDeadline);
}

absl::StatusOr<hanse::v1::VerifyAuditResponse> AdminClient::VerifyAudit(absl::Duration deadline) {
  return Call<hanse::v1::VerifyAuditRequest, hanse::v1::VerifyAuditResponse>(
      stubs_->token, stubs_->contracts.get(), &hanse::v1::Contracts::Stub::VerifyAudit, {},
      deadline);
}

absl::StatusOr<hanse::v1::ExportEvidenceResponse> AdminClient::ExportEvidence(
    const hanse::v1::ExportEvidenceRequest& req) {
  return Call<hanse::v1::ExportEvidenceRequest, hanse::v1::ExportEvidenceResponse>(
      stubs_->token, stubs_->contracts.get(), &hanse::v1::Contracts::Stub::ExportEvidence, req,
      kContractsDeadline);
}

absl::StatusOr<hanse::v1::RunDutiesResponse> AdminClient::RunDuties() {
  return Call<hanse::v1::RunDutiesRequest, hanse::v1::RunDutiesResponse>(
      stubs_->token, stubs_->contracts.get(), &hanse::v1::Contracts::Stub::RunDuties, {},
      kContractsDeadline);
}

}  // namespace hanse::node
