// hanse access grant|list|revoke: scoped tokens for local users and automation
// (node/identity/access.h). They edit HOME/access.json, which a running node re-reads, so they
// work with the node up or down; only someone who can write the home (the operator) can run them.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/file.h"
#include "base/status.h"
#include "node/cli/commands.h"
#include "node/identity/access.h"

namespace hanse::node {

absl::Status CmdAccessGrant(const std::string& home_dir, const std::string& role_name,
                            const std::string& name, bool json) {
  if (!PathExists(HomePaths(home_dir).config)) {
    return absl::NotFoundError(absl::StrCat(home_dir, " is not a node home (no config.json)"));
  }
  const std::optional<Role> role = ParseRole(role_name);
  if (!role) {
    return absl::InvalidArgumentError(
        absl::StrCat("--role \"", role_name, "\": one of consumer, steward, operator"));
  }
  HANSE_ASSIGN_OR_RETURN(std::string token,
                         GrantAccess(AccessFilePath(home_dir), name, *role, absl::Now()));
  PrintResult(json, {{"name", name}, {"role", std::string(RoleName(*role))}, {"token", token}},
              token);
  std::fprintf(stderr,
               "granted %s the %s role. The token above is shown only now: hand it over as "
               "HANSE_TOKEN (with HANSE_SOCKET if the node's access socket is not %s/access.sock); "
               "`hanse access revoke %s` withdraws it.\n",
               name.c_str(), std::string(RoleName(*role)).c_str(), home_dir.c_str(), name.c_str());
  return absl::OkStatus();
}

absl::Status CmdAccessList(const std::string& home_dir, bool json) {
  HANSE_ASSIGN_OR_RETURN(std::vector<AccessGrant> grants,
                         ReadAccessGrants(AccessFilePath(home_dir)));
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const AccessGrant& g : grants) {
      list.push_back(
          {{"name", g.name},
           {"role", std::string(RoleName(g.role))},
           {"created", absl::FormatTime(absl::RFC3339_sec, g.created, absl::UTCTimeZone())}});
    }
    std::printf("%s\n", list.dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("%-32s %-9s %s\n", "NAME", "ROLE", "CREATED");
  for (const AccessGrant& g : grants) {
    std::printf("%s %-9s %s\n", Cell(g.name, 32).c_str(), std::string(RoleName(g.role)).c_str(),
                absl::FormatTime(absl::RFC3339_sec, g.created, absl::UTCTimeZone()).c_str());
  }
  return absl::OkStatus();
}

absl::Status CmdAccessRevoke(const std::string& home_dir, const std::string& name) {
  HANSE_RETURN_IF_ERROR(RevokeAccess(AccessFilePath(home_dir), name));
  std::fprintf(stderr, "revoked %s: its token no longer opens the access socket\n", name.c_str());
  return absl::OkStatus();
}

}  // namespace hanse::node
