// Who may make an admin call, and the audit record of who did: the operator on the admin socket,
// token holders by role on the access socket (node/identity/access.h).
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "node/audit/audit_log.h"
#include "node/rpc/services.h"

namespace hanse::node {
namespace {

// One entry per call that acts, and per refused attempt at one.
absl::Status Record(const NodeParts* node, absl::string_view kind, absl::string_view method,
                    absl::string_view subject, const std::string& caller, absl::string_view role,
                    absl::string_view socket, absl::string_view refusal) {
  if (node->exchange == nullptr) return absl::OkStatus();
  audit::AuditEvent e;
  e.kind = std::string(kind);
  e.subject = std::string(method);
  e.actor = node->home->identity.did;
  e.time = node->clock->Now();
  e.details = {{"method", std::string(method)},
               {"caller", caller},
               {"role", std::string(role)},
               {"socket", std::string(socket)}};
  if (!subject.empty()) e.details["subject"] = std::string(subject.substr(0, 512));
  if (!refusal.empty()) e.details["refused"] = std::string(refusal);
  return node->exchange->audit().Append(e).status();
}

}  // namespace

grpc::Status Authorize(const NodeParts* node, const AccessControl* access,
                       const grpc::ServerContext* ctx, absl::string_view method,
                       absl::string_view subject) {
  std::string caller = "operator";
  Role role = Role::kOperator;
  absl::string_view socket = "admin";
  if (access != nullptr) {
    socket = "access";
    const auto& metadata = ctx->client_metadata();
    const auto it = metadata.find("authorization");
    const absl::string_view header = it == metadata.end()
                                         ? absl::string_view()
                                         : absl::string_view(it->second.data(), it->second.size());
    absl::StatusOr<AccessGrant> grant = access->Authenticate(header);
    if (!grant.ok()) {
      log::Warn("access refused", {{"method", std::string(method)},
                                   {"error", std::string(grant.status().message())}});
      return ToGrpc(grant.status());
    }
    caller = grant->name;
    role = grant->role;
    const Role needed = RequiredRole(method);
    if (role < needed) {
      const std::string refusal =
          absl::StrCat(grant->name, " (", RoleName(role), ") may not call ", method,
                       ": it needs the ", RoleName(needed), " role");
      if (IsRecordedCall(method)) {
        auto recorded =
            Record(node, "admin.refused", method, subject, caller, RoleName(role), socket, refusal);
        if (!recorded.ok()) log::Error("audit append failed", {{"error", recorded.ToString()}});
      }
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, refusal);
    }
  }
  if (IsRecordedCall(method)) {
    // A call nobody could later attribute is not made.
    if (absl::Status recorded =
            Record(node, "admin.call", method, subject, caller, RoleName(role), socket, "");
        !recorded.ok()) {
      return ToGrpc(absl::UnavailableError(
          absl::StrCat("the audit log cannot record this call: ", recorded.message())));
    }
  }
  return grpc::Status::OK;
}

}  // namespace hanse::node
