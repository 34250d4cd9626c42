// Who may make an admin call, and the audit record of who did: the operator on the admin socket,
// token holders by role on the access socket (node/identity/access.h).
#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/log.h"
#include "node/audit/audit_log.h"
#include "node/rpc/services.h"

namespace hanse::node {
namespace {

// A details string cut to at most `n` bytes without splitting a UTF-8 sequence.
std::string Clipped(absl::string_view s, size_t n) {
  if (s.size() <= n) return std::string(s);
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

// A token holder hammering a call its role may not make is recorded once a minute per method,
// so refusals cannot grow the audit chain without bound (each is still refused and logged).
bool FirstRefusalInAWhile(const std::string& caller, absl::string_view method, absl::Time now) {
  static std::mutex mu;
  static auto* last = new std::map<std::string, absl::Time>();
  std::lock_guard lock(mu);
  if (last->size() > 4096) last->clear();
  const std::string key = absl::StrCat(caller, "/", method);
  auto it = last->find(key);
  if (it != last->end() && now - it->second < absl::Minutes(1)) return false;
  (*last)[key] = now;
  return true;
}

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
  if (!subject.empty()) e.details["subject"] = Clipped(subject, 512);
  if (!refusal.empty()) e.details["refused"] = std::string(refusal);
  return node->exchange->audit().Append(e).status();
}

}  // namespace

grpc::Status Authorize(const NodeParts* node, const AccessControl* access,
                       const grpc::ServerContext* ctx, absl::string_view method,
                       absl::string_view subject, std::string* caller_name) {
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
      log::Debug("access refused", {{"method", std::string(method)},
                                    {"error", std::string(grant.status().message())}});
      return ToGrpc(grant.status());
    }
    caller = grant->name;
    role = grant->role;
    if (caller_name != nullptr) *caller_name = grant->name;
    const Role needed = RequiredRole(method);
    if (role < needed) {
      const std::string refusal =
          absl::StrCat(grant->name, " (", RoleName(role), ") may not call ", method,
                       ": it needs the ", RoleName(needed), " role");
      if (IsRecordedCall(method) && FirstRefusalInAWhile(caller, method, node->clock->Now())) {
        auto recorded =
            Record(node, "admin.refused", method, subject, caller, RoleName(role), socket, refusal);
        if (!recorded.ok()) log::Error("audit append failed", {{"error", recorded.ToString()}});
      }
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, refusal);
    }
  }
  if (IsRecordedCall(method)) {
    if (absl::Status recorded =
            Record(node, "admin.call", method, subject, caller, RoleName(role), socket, "");
        !recorded.ok()) {
      // A token holder's call that cannot be attributed is not made. On the operator's own
      // socket the caller is known whatever the log says, and a nearly full disk must not block
      // the backup that would free it.
      if (access != nullptr) {
        return ToGrpc(absl::ResourceExhaustedError(
            absl::StrCat("the audit log cannot record this call: ", recorded.message())));
      }
      log::Error("the audit log cannot record an operator call",
                 {{"method", std::string(method)}, {"error", recorded.ToString()}});
    }
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::string> ConfinedOutput(const std::string& home_dir, const std::string& grant,
                                           const std::string& out) {
  const size_t slash = out.find_last_of('/');
  const std::string name = slash == std::string::npos ? out : out.substr(slash + 1);
  if (name.empty() || name == "." || name == ".." || name.size() > 255) {
    return absl::InvalidArgumentError("--out must end in a file name");
  }
  const std::string fetched = home_dir + "/fetched";
  const std::string dir = absl::StrCat(fetched, "/", grant);
  for (const std::string& d : {fetched, dir}) {
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus(errno, d);
    struct stat st;
    if (::lstat(d.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(d, " is not a directory"));
    }
  }
  return absl::StrCat(dir, "/", name);
}

}  // namespace hanse::node
