#include "node/rpc/tls.h"

#include <grpcpp/client_context.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/throttle.h"
#include "trust/x509.h"

namespace hanse::node {
namespace {

// Verifies the peer's leaf certificate against the CA of the DID it names.
class MemberVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  MemberVerifier(CaLookup ca_for_did, trust::CertUsage usage, std::string expected_did,
                 const Clock* clock)
      : ca_for_did_(std::move(ca_for_did)),
        usage_(usage),
        expected_did_(std::move(expected_did)),
        clock_(clock) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    grpc::string_ref cert = request->peer_cert();
    std::string pem(cert.data(), cert.size());
    if (pem.empty()) {
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no peer certificate");
      return true;
    }
    auto did = trust::VerifyNodeCertificate(pem, ca_for_did_, usage_, clock_->Now());
    if (!did.ok()) {
      // Mostly propagation lag (a member admitted a moment ago, an applicant not yet admitted):
      // said once a minute per reason, with how often it happened since.
      static Throttle throttle(absl::Minutes(1));
      std::string reason(did.status().message());
      std::uint64_t held_back = 0;
      if (throttle.Allow(reason, &held_back)) {
        log::Info("TLS peer refused",
                  {{"reason", reason}, {"refused_since_last_line", std::to_string(held_back)}});
      }
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "peer certificate refused");
      return true;
    }
    if (!expected_did_.empty() && *did != expected_did_) {
      log::Warn("TLS peer is not the expected node", {{"did", *did}, {"expected", expected_did_}});
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unexpected peer identity");
      return true;
    }
    *sync_status = grpc::Status::OK;
    return true;
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  CaLookup ca_for_did_;
  trust::CertUsage usage_;
  std::string expected_did_;
  const Clock* clock_;
};

// How often TLS re-reads node.key and node.pem: a renewal reaches new handshakes this fast.
constexpr unsigned kCertificateRefreshSeconds = 5;

// The node's key and certificate for TLS. From the home's files, watched, so that a renewal
// (by the node or `hanse cert renew`) applies to new handshakes without a restart; gRPC keeps
// the previous pair while the two files do not match (mid-renewal). One watcher per home,
// shared by every server and channel.
std::shared_ptr<grpc::experimental::CertificateProviderInterface> IdentityProvider(
    const Identity& identity) {
  if (identity.node_key_path.empty() || identity.node_cert_path.empty()) {
    return std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
        "", std::vector<grpc::experimental::IdentityKeyCertPair>{
                {identity.node_key_pem, identity.node_cert_pem}});
  }
  static std::mutex mu;
  static auto* watchers =
      new std::map<std::pair<std::string, std::string>,
                   std::weak_ptr<grpc::experimental::CertificateProviderInterface>>();
  std::lock_guard lock(mu);
  auto& slot = (*watchers)[{identity.node_key_path, identity.node_cert_path}];
  if (auto shared = slot.lock()) return shared;
  auto watcher = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      identity.node_key_path, identity.node_cert_path, kCertificateRefreshSeconds);
  slot = watcher;
  return watcher;
}

absl::StatusOr<std::string> DidFromAuthContext(const grpc::AuthContext* auth) {
  if (auth == nullptr) return absl::UnauthenticatedError("no authentication context");
  auto pems = auth->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) return absl::UnauthenticatedError("caller presented no certificate");
  std::string pem(pems.front().data(), pems.front().size());
  // Every call asks who its peer is, and a connection's certificate stays the same: parsing
  // the PEM costs more than the rest of a small call, so the DIDs of the last certificates seen
  // are kept (bounded: when full it starts again).
  static std::mutex* mu = new std::mutex();
  static auto* known = new std::unordered_map<std::string, std::string>();
  {
    std::lock_guard lock(*mu);
    if (auto it = known->find(pem); it != known->end()) return it->second;
  }
  auto did = trust::CertificateDid(pem);
  if (!did.ok()) return absl::UnauthenticatedError("caller certificate names no DID");
  std::lock_guard lock(*mu);
  if (known->size() >= 1024) known->clear();
  known->emplace(std::move(pem), *did);
  return *did;
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> FederationServerCredentials(const Identity& identity,
                                                                     CaLookup ca_for_did,
                                                                     const Clock& clock) {
  grpc::experimental::TlsServerCredentialsOptions options(IdentityProvider(identity));
  options.watch_identity_key_cert_pairs();
  // gRPC's own chain check cannot follow a live, per-DID trust list; ours does (MemberVerifier).
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<MemberVerifier>(
          std::move(ca_for_did), trust::CertUsage::kClient, std::string(), &clock));
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> FederationChannelCredentials(const Identity& identity,
                                                                       CaLookup ca_for_did,
                                                                       std::string expected_did,
                                                                       const Clock& clock) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(IdentityProvider(identity));
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<MemberVerifier>(
          std::move(ca_for_did), trust::CertUsage::kServer, std::move(expected_did), &clock));
  return grpc::experimental::TlsCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> UnverifiedServerChannelCredentials(
    const Identity& identity) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(IdentityProvider(identity));
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

absl::StatusOr<std::string> CallerDid(const grpc::ServerContext& context) {
  return DidFromAuthContext(context.auth_context().get());
}

absl::StatusOr<std::string> ServerDid(const grpc::ClientContext& context) {
  return DidFromAuthContext(context.auth_context().get());
}

grpc::Status ToGrpc(const absl::Status& status, bool for_peer) {
  if (status.ok()) return grpc::Status::OK;
  bool internal = status.code() == absl::StatusCode::kInternal ||
                  status.code() == absl::StatusCode::kDataLoss ||
                  status.code() == absl::StatusCode::kUnknown;
  if (for_peer && internal) {
    log::Error("internal error answering a peer", {{"error", status.ToString()}});
    return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace hanse::node
