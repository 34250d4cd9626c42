#include "node/identity/access.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/file.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "trust/encoding.h"

namespace hanse::node {
namespace {

using Json = nlohmann::json;

struct MethodRole {
  absl::string_view method;
  Role role;
  bool recorded;
};

// Consumers search, negotiate and fetch; stewards also publish, unpublish, issue credentials and
// read the audit; operators do everything, membership, peers and the node included.
constexpr MethodRole kMethods[] = {
    {"GetStatus", Role::kConsumer, false},      {"GetCard", Role::kConsumer, false},
    {"ListPeers", Role::kConsumer, false},      {"ListDatasets", Role::kConsumer, false},
    {"GetDocument", Role::kConsumer, false},    {"Search", Role::kConsumer, false},
    {"ExportCatalog", Role::kConsumer, false},  {"ListMembers", Role::kConsumer, false},
    {"RequestContract", Role::kConsumer, true}, {"ListContracts", Role::kConsumer, false},
    {"GetContract", Role::kConsumer, false},    {"FetchData", Role::kConsumer, true},
    {"PublishDataset", Role::kSteward, true},   {"UnpublishDataset", Role::kSteward, true},
    {"IssueCredential", Role::kSteward, true},  {"ListAudit", Role::kSteward, false},
    {"VerifyAudit", Role::kSteward, false},     {"ExportEvidence", Role::kSteward, true},
    {"AddPeer", Role::kOperator, true},         {"PingPeer", Role::kOperator, false},
    {"UpdateCard", Role::kOperator, true},      {"Checkpoint", Role::kOperator, true},
    {"JoinFederation", Role::kOperator, true},  {"ProposeMember", Role::kOperator, true},
    {"EndorseMember", Role::kOperator, true},   {"RevokeMember", Role::kOperator, true},
    {"LeaveFederation", Role::kOperator, true}, {"RunDuties", Role::kOperator, true},
};

const MethodRole* FindMethod(absl::string_view method) {
  for (const MethodRole& m : kMethods) {
    if (m.method == method) return &m;
  }
  return nullptr;
}

constexpr absl::string_view kTokenPrefix = "hanse_";

std::string HashToken(absl::string_view token) { return trust::HexEncode(trust::Sha256(token)); }

absl::Status CheckName(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError("--name must be 1 to 64 characters");
  }
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '_' || c == '-')) {
      return absl::InvalidArgumentError(
          absl::StrCat("--name \"", name, "\": use lower-case letters, digits, '.', '_' or '-'"));
    }
  }
  return absl::OkStatus();
}

absl::Status WriteGrants(const std::string& path, const std::vector<AccessGrant>& grants) {
  Json list = Json::array();
  for (const AccessGrant& g : grants) {
    list.push_back(
        {{"name", g.name},
         {"role", std::string(RoleName(g.role))},
         {"token_sha256", g.token_sha256},
         {"created", absl::FormatTime(absl::RFC3339_sec, g.created, absl::UTCTimeZone())}});
  }
  return WriteFileAtomic(path, Json{{"grants", list}}.dump(2) + "\n", 0600);
}

std::string Stamp(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "";
  return absl::StrCat(st.st_size, ":", st.st_mtim.tv_sec, ":", st.st_mtim.tv_nsec, ":",
                      st.st_ctim.tv_sec, ":", st.st_ctim.tv_nsec, ":", st.st_ino, ":", st.st_dev);
}

// grant and revoke read, change and rewrite the file: one at a time.
class FileLock {
 public:
  explicit FileLock(const std::string& path)
      : fd_(::open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kConsumer:
      return "consumer";
    case Role::kSteward:
      return "steward";
    case Role::kOperator:
      return "operator";
  }
  return "operator";
}

std::optional<Role> ParseRole(absl::string_view name) {
  for (Role r : {Role::kConsumer, Role::kSteward, Role::kOperator}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

Role RequiredRole(absl::string_view method) {
  const MethodRole* m = FindMethod(method);
  return m == nullptr ? Role::kOperator : m->role;
}

bool IsRecordedCall(absl::string_view method) {
  const MethodRole* m = FindMethod(method);
  return m == nullptr || m->recorded;
}

std::string AccessFilePath(const std::string& home_dir) { return home_dir + "/access.json"; }

absl::StatusOr<std::vector<AccessGrant>> ReadAccessGrants(const std::string& path) {
  std::vector<AccessGrant> grants;
  if (!PathExists(path)) return grants;
  HANSE_RETURN_IF_ERROR(CheckPrivateMode(path));
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4 << 20));
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("grants") || !j["grants"].is_array()) {
    return absl::DataLossError(absl::StrCat(path, ": not an access file ({\"grants\": [...]})"));
  }
  for (const Json& g : j["grants"]) {
    AccessGrant grant;
    // Every field read as a string or not at all: a hand edit must not throw in a handler.
    auto text_of = [&g](const char* key) -> std::string {
      return g.is_object() && g.contains(key) && g[key].is_string() ? g[key].get<std::string>()
                                                                    : "";
    };
    const auto role = ParseRole(text_of("role"));
    std::string error;
    if (text_of("name").empty() || !role || text_of("token_sha256").size() != 64 ||
        !absl::ParseTime(absl::RFC3339_full, text_of("created"), &grant.created, &error)) {
      return absl::DataLossError(absl::StrCat(path, ": a grant is malformed: ", g.dump()));
    }
    grant.name = text_of("name");
    grant.role = *role;
    grant.token_sha256 = text_of("token_sha256");
    grants.push_back(std::move(grant));
  }
  return grants;
}

absl::StatusOr<std::string> GrantAccess(const std::string& path, const std::string& name, Role role,
                                        absl::Time now) {
  HANSE_RETURN_IF_ERROR(CheckName(name));
  FileLock lock(path);
  if (!lock.ok()) return ErrnoStatus(errno, path + ".lock");
  HANSE_ASSIGN_OR_RETURN(std::vector<AccessGrant> grants, ReadAccessGrants(path));
  for (const AccessGrant& g : grants) {
    if (g.name == name) {
      return absl::AlreadyExistsError(
          absl::StrCat("a grant named ", name, " exists (`hanse access revoke ", name, "` first)"));
    }
  }
  unsigned char secret[32];
  if (RAND_bytes(secret, sizeof secret) != 1) {
    return absl::InternalError("no randomness for a token");
  }
  const std::string token =
      absl::StrCat(kTokenPrefix, trust::Base64UrlEncode(absl::string_view(
                                     reinterpret_cast<const char*>(secret), sizeof secret)));
  OPENSSL_cleanse(secret, sizeof secret);
  grants.push_back({name, role, HashToken(token), absl::FromUnixSeconds(absl::ToUnixSeconds(now))});
  HANSE_RETURN_IF_ERROR(WriteGrants(path, grants));
  return token;
}

absl::Status RevokeAccess(const std::string& path, const std::string& name) {
  FileLock lock(path);
  if (!lock.ok()) return ErrnoStatus(errno, path + ".lock");
  HANSE_ASSIGN_OR_RETURN(std::vector<AccessGrant> grants, ReadAccessGrants(path));
  auto it = std::find_if(grants.begin(), grants.end(),
                         [&](const AccessGrant& g) { return g.name == name; });
  if (it == grants.end()) {
    return absl::NotFoundError(absl::StrCat("no grant named ", name, " (`hanse access list`)"));
  }
  grants.erase(it);
  return WriteGrants(path, grants);
}

absl::StatusOr<AccessGrant> AccessControl::Authenticate(absl::string_view header) const {
  if (!absl::ConsumePrefix(&header, "Bearer ") || header.empty()) {
    return absl::UnauthenticatedError(
        "this socket needs a token (`--token` or HANSE_TOKEN; an operator grants one with "
        "`hanse access grant`)");
  }
  const std::string hash = HashToken(header);
  std::lock_guard lock(mu_);
  if (const std::string stamp = Stamp(path_); stamp != loaded_stamp_) {
    auto grants = ReadAccessGrants(path_);
    if (!grants.ok()) return absl::UnauthenticatedError("the node cannot read its access file");
    grants_ = std::move(*grants);
    loaded_stamp_ = stamp;
  }
  for (const AccessGrant& g : grants_) {
    if (CRYPTO_memcmp(g.token_sha256.data(), hash.data(), hash.size()) == 0 &&
        g.token_sha256.size() == hash.size()) {
      return g;
    }
  }
  return absl::UnauthenticatedError("the token is not valid (revoked, or never granted)");
}

}  // namespace hanse::node
