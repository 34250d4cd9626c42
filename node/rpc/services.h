// Internal to node/rpc: the gRPC services the servers register, each working on the node's
// parts through NodeParts (servers.h).
#ifndef HANSE_NODE_RPC_SERVICES_H_
#define HANSE_NODE_RPC_SERVICES_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "hanse/v1/admin.pb.h"
#include "node/identity/access.h"
#include "node/identity/card.h"
#include "node/rpc/admin_handlers.h"
#include "node/rpc/servers.h"
#include "node/rpc/tls.h"

namespace hanse::node {

inline constexpr size_t kMaxNonceBytes = 128;
inline constexpr size_t kMaxTargetBytes = 512;
inline constexpr absl::Duration kPeerCallDeadline = absl::Seconds(5);
inline constexpr absl::Duration kLiveSearchDeadline = absl::Seconds(2);

// Federation server (mutual TLS).
std::unique_ptr<grpc::Service> NewFederationService(const NodeParts* node);
std::unique_ptr<grpc::Service> NewExchangeService(const NodeParts* node);
// Admin server (unix socket).
// `access` is null on the operator's admin socket; on the access socket every call is checked
// against the caller's token and role, and calls that act are recorded in the audit log.
std::unique_ptr<grpc::Service> NewAdminService(const NodeParts* node,
                                               const AccessControl* access = nullptr);
std::unique_ptr<grpc::Service> NewContractsService(const NodeParts* node,
                                                   const AccessControl* access = nullptr);

// Whether the caller of `ctx` may make `method`'s call: always on the operator's socket
// (`access` null); otherwise by its token's role. Calls that act are recorded in the audit log
// with the caller (the operator, or the grant's name and role) and `subject`.
// Where a token holder's fetch is written: HOME/fetched/<grant>/<the file name of `out`> (the
// directories made 0700), so that no caller can make the node write over its own files.
absl::StatusOr<std::string> ConfinedOutput(const std::string& home_dir, const std::string& grant,
                                           const std::string& out);

// `caller`, when given, is set to the grant's name on the access socket ("" on the admin socket).
grpc::Status Authorize(const NodeParts* node, const AccessControl* access,
                       const grpc::ServerContext* ctx, absl::string_view method,
                       absl::string_view subject = "", std::string* caller = nullptr);

}  // namespace hanse::node

#endif  // HANSE_NODE_RPC_SERVICES_H_
