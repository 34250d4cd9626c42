// Scoped access to a node for local users and automation other than its operator: named bearer
// tokens with a role (consumer, steward, operator), stored hashed in HOME/access.json (0600).
// The admin socket stays the operator's; token holders call the same services on the access
// socket (config `access_socket`), where every call is checked against the caller's role.
// docs/security.md describes the roles.
#ifndef HANSE_NODE_IDENTITY_ACCESS_H_
#define HANSE_NODE_IDENTITY_ACCESS_H_

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hanse::node {

// Each role has the rights of the ones before it.
enum class Role { kConsumer = 0, kSteward = 1, kOperator = 2 };
absl::string_view RoleName(Role role);
std::optional<Role> ParseRole(absl::string_view name);

// The least role that may make an admin call, by the RPC's method name ("PublishDataset").
// Methods not in the table are the operator's (a new call is closed until someone opens it).
Role RequiredRole(absl::string_view method);

// Whether a call changes the node or acts for it in the federation (recorded in the audit log),
// rather than only reading.
bool IsRecordedCall(absl::string_view method);

struct AccessGrant {
  std::string name;  // [a-z0-9._-], 1 to 64 characters, unique
  Role role = Role::kConsumer;
  std::string token_sha256;  // hex of SHA-256 of the token; the token itself is never stored
  absl::Time created;
};

// HOME/access.json.
std::string AccessFilePath(const std::string& home_dir);

absl::StatusOr<std::vector<AccessGrant>> ReadAccessGrants(const std::string& path);

// Adds a grant and returns its token ("hanse_" + 43 base64url characters), shown once.
// AlreadyExists when the name is taken.
absl::StatusOr<std::string> GrantAccess(const std::string& path, const std::string& name, Role role,
                                        absl::Time now);

// NotFound when no grant has that name.
absl::Status RevokeAccess(const std::string& path, const std::string& name);

// What the node checks tokens against: the file, re-read when it changes (grant and revoke work
// on a running node, offline, by editing the file through the CLI).
class AccessControl {
 public:
  explicit AccessControl(std::string path) : path_(std::move(path)) {}

  // The grant a bearer token belongs to. Unauthenticated (without saying why beyond "missing"
  // or "not valid") otherwise.
  absl::StatusOr<AccessGrant> Authenticate(absl::string_view authorization_header) const;

 private:
  std::string path_;
  mutable std::mutex mu_;
  mutable std::vector<AccessGrant> grants_;
  mutable std::string loaded_stamp_;  // size and mtime of the file last read
};

}  // namespace hanse::node

#endif  // HANSE_NODE_IDENTITY_ACCESS_H_
