// The gRPC faces of node/exchange: Exchange (members, on the federation's mutual TLS port; the
// caller's DID from its certificate, checked against the current members on every call) and
// Contracts (the local operator, on the admin socket).
#include <grpcpp/grpcpp.h>

#include "base/log.h"
#include "hanse/v1/exchange.grpc.pb.h"
#include "node/exchange/exchange.h"
#include "node/rpc/services.h"

namespace hanse::node {
namespace {

class ExchangeService final : public hanse::v1::Exchange::Service {
 public:
  explicit ExchangeService(const NodeParts* node) : node_(node) {}

  grpc::Status Negotiate(grpc::ServerContext* context, const hanse::v1::NegotiateRequest* request,
                         hanse::v1::NegotiateResponse* response) override {
    return Answer(*context, [&](const std::string& caller) -> absl::Status {
      auto r = node_->exchange->provider().Negotiate(caller, *request);
      if (r.ok()) *response = *std::move(r);
      return r.status();
    });
  }
  grpc::Status Countersign(grpc::ServerContext* context,
                           const hanse::v1::CountersignRequest* request,
                           hanse::v1::CountersignResponse* response) override {
    return Answer(*context, [&](const std::string& caller) -> absl::Status {
      auto r = node_->exchange->provider().Countersign(caller, *request);
      if (r.ok()) *response = *std::move(r);
      return r.status();
    });
  }
  grpc::Status Fetch(grpc::ServerContext* context, const hanse::v1::FetchRequest* request,
                     grpc::ServerWriter<hanse::v1::FetchChunk>* writer) override {
    return Answer(*context, [&](const std::string& caller) {
      return node_->exchange->provider().Fetch(
          caller, *request, [&](const hanse::v1::FetchChunk& chunk) {
            return !context->IsCancelled() && writer->Write(chunk);
          });
    });
  }
  grpc::Status Acknowledge(grpc::ServerContext* context,
                           const hanse::v1::AcknowledgeRequest* request,
                           hanse::v1::AcknowledgeResponse* response) override {
    return Answer(*context, [&](const std::string& caller) -> absl::Status {
      auto r = node_->exchange->provider().Acknowledge(caller, *request);
      if (r.ok()) *response = *std::move(r);
      return r.status();
    });
  }
  grpc::Status ReportDuty(grpc::ServerContext* context, const hanse::v1::ReportDutyRequest* request,
                          hanse::v1::ReportDutyResponse*) override {
    return Answer(*context, [&](const std::string& caller) {
      return node_->exchange->provider().ReportDuty(caller, *request);
    });
  }

 private:
  template <typename F>
  grpc::Status Answer(const grpc::ServerContext& context, F&& body) {
    auto caller = CallerDid(context);
    if (!caller.ok()) return ToGrpc(caller.status(), /*for_peer=*/true);
    if (!node_->peers->Find(*caller)) {
      log::Warn("refused exchange call from a non-member", {{"peer", *caller}});
      return ToGrpc(absl::PermissionDeniedError("caller is not a current member"), true);
    }
    absl::Status s = body(*caller);
    if (!s.ok()) log::Info("exchange call refused", {{"peer", *caller}, {"error", s.ToString()}});
    return ToGrpc(s, true);
  }
  const NodeParts* node_;
};

class ContractsService final : public hanse::v1::Contracts::Service {
 public:
  ContractsService(const NodeParts* node, const AccessControl* access)
      : node_(node), access_(access) {}

  grpc::Status RequestContract(grpc::ServerContext* ctx,
                               const hanse::v1::RequestContractRequest* request,
                               hanse::v1::ContractInfo* response) override {
    if (grpc::Status denied =
            Authorize(node_, access_, ctx, "RequestContract", request->dataset_id());
        !denied.ok()) {
      return denied;
    }
    return Reply(node_->exchange->consumer().RequestContract(*request), response);
  }
  grpc::Status ListContracts(grpc::ServerContext* ctx,
                             const hanse::v1::ListContractsRequest* request,
                             hanse::v1::ListContractsResponse* response) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "ListContracts"); !denied.ok()) {
      return denied;
    }
    return Reply(node_->exchange->ListContracts(*request), response);
  }
  grpc::Status GetContract(grpc::ServerContext* ctx, const hanse::v1::GetContractRequest* request,
                           hanse::v1::ContractInfo* response) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "GetContract"); !denied.ok()) {
      return denied;
    }
    return Reply(node_->exchange->GetContract(request->id()), response);
  }
  grpc::Status FetchData(grpc::ServerContext* context, const hanse::v1::FetchDataRequest* request,
                         grpc::ServerWriter<hanse::v1::FetchProgress>* writer) override {
    std::string caller;
    if (grpc::Status denied =
            Authorize(node_, access_, context, "FetchData", request->agreement_id(), &caller);
        !denied.ok()) {
      return denied;
    }
    // A token holder names no path the node writes to: its data goes to
    // HOME/fetched/<grant>/<file name>, never over the node's own files.
    hanse::v1::FetchDataRequest confined;
    if (access_ != nullptr && !request->out().empty()) {  // none: the node's inbox
      auto out = ConfinedOutput(node_->home->paths.dir, caller, request->out());
      if (!out.ok()) return ToGrpc(out.status());
      confined = *request;
      confined.set_out(*out);
      request = &confined;
    }
    // The requester gone (the CLI killed or interrupted), the fetch stops, resumable: it must
    // not complete a use nobody waits for.
    absl::Status s =
        node_->exchange->consumer().FetchData(*request, [&](const hanse::v1::FetchProgress& p) {
          return !context->IsCancelled() && writer->Write(p);
        });
    return ToGrpc(s);
  }
  grpc::Status IssueCredential(grpc::ServerContext* ctx,
                               const hanse::v1::IssueCredentialRequest* request,
                               hanse::v1::IssueCredentialResponse* response) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "IssueCredential"); !denied.ok()) {
      return denied;
    }
    std::string jws;
    auto r = node_->exchange->IssueCredential(*request, &jws);
    if (r.ok()) node_->gossip->PushSoon(jws);
    return Reply(std::move(r), response);
  }
  grpc::Status ListAudit(grpc::ServerContext* ctx, const hanse::v1::ListAuditRequest* request,
                         hanse::v1::ListAuditResponse* response) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "ListAudit"); !denied.ok()) {
      return denied;
    }
    return Reply(node_->exchange->ListAudit(*request), response);
  }
  grpc::Status VerifyAudit(grpc::ServerContext* ctx, const hanse::v1::VerifyAuditRequest*,
                           hanse::v1::VerifyAuditResponse* response) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "VerifyAudit"); !denied.ok()) {
      return denied;
    }
    return Reply(node_->exchange->VerifyAudit(), response);
  }
  grpc::Status ExportEvidence(grpc::ServerContext* ctx,
                              const hanse::v1::ExportEvidenceRequest* request,
                              hanse::v1::ExportEvidenceResponse* response) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "ExportEvidence"); !denied.ok()) {
      return denied;
    }
    auto bundle = node_->exchange->ExportEvidence(request->agreement_id());
    if (bundle.ok()) response->set_bundle_json(*std::move(bundle));
    return ToGrpc(bundle.status());
  }
  grpc::Status RunDuties(grpc::ServerContext* ctx, const hanse::v1::RunDutiesRequest*,
                         hanse::v1::RunDutiesResponse* response) override {
    if (grpc::Status denied = Authorize(node_, access_, ctx, "RunDuties"); !denied.ok()) {
      return denied;
    }
    for (auto& line : node_->exchange->consumer().RunDueDuties())
      response->add_results(std::move(line));
    return grpc::Status::OK;
  }

 private:
  template <typename T>
  static grpc::Status Reply(absl::StatusOr<T> r, T* out) {
    if (r.ok()) *out = *std::move(r);
    return ToGrpc(r.status());
  }
  const NodeParts* node_;
  const AccessControl* access_;  // null on the operator's socket
};

}  // namespace

std::unique_ptr<grpc::Service> NewExchangeService(const NodeParts* node) {
  return std::make_unique<ExchangeService>(node);
}

std::unique_ptr<grpc::Service> NewContractsService(const NodeParts* node,
                                                   const AccessControl* access) {
  return std::make_unique<ContractsService>(node, access);
}

}  // namespace hanse::node
