// The S3 and HTTP kinds of a publish file's "source", read against the config's named
// connections (docs/data-sources.md): where the secrets are (files the node's user alone can
// read, or environment variables), and an S3 prefix as a tree (tree.h).
#include "node/source/connections.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"
#include "node/source/http.h"
#include "node/source/s3.h"
#include "node/source/spec.h"
#include "node/source/tree.h"

namespace hanse::node::source {
namespace {

using Json = nlohmann::json;
using spec_internal::CheckKeys;

std::string Text(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A secret file: readable by the node's user alone, never echoed.
absl::StatusOr<std::string> SecretFile(const std::string& path, absl::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(what, ": ", path, " does not exist"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": ", path, " is readable by other users; chmod 600 it (it holds a secret)"));
  }
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 1 << 20), what);
  return text;
}

absl::StatusOr<std::string> FromEnv(const std::string& name, absl::string_view what) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr || *v == '\0') {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": environment variable ", name, " is not set for the node"));
  }
  return std::string(v);
}

absl::StatusOr<S3Credentials> Credentials(const Json& conn, absl::string_view what) {
  S3Credentials c;
  const std::string file = Text(conn, "credentials_file");
  if (!file.empty()) {
    HANSE_ASSIGN_OR_RETURN(std::string text, SecretFile(file, what));
    auto j = ParseJson(text);
    if (!j.ok() || !j->is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": ", file,
          " must be a JSON object with access_key_id and secret_access_key (and session_token)"));
    }
    c.access_key_id = Text(*j, "access_key_id");
    c.secret_access_key = Text(*j, "secret_access_key");
    c.session_token = Text(*j, "session_token");
  } else if (conn.contains("access_key_id_env")) {
    HANSE_ASSIGN_OR_RETURN(c.access_key_id, FromEnv(Text(conn, "access_key_id_env"), what));
    HANSE_ASSIGN_OR_RETURN(c.secret_access_key, FromEnv(Text(conn, "secret_access_key_env"), what));
    if (conn.contains("session_token_env")) {
      HANSE_ASSIGN_OR_RETURN(c.session_token, FromEnv(Text(conn, "session_token_env"), what));
    }
  }
  // Neither: anonymous requests (a public bucket).
  if (c.access_key_id.empty() != c.secret_access_key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": an access key id needs its secret access key, and the reverse"));
  }
  return c;
}

// Every object below an S3 prefix, as a tree: its paths are the keys without the prefix.
class S3PrefixSource : public Source {
 public:
  S3PrefixSource(S3Location where, S3Credentials credentials, std::string prefix, Json found)
      : where_(std::move(where)),
        credentials_(std::move(credentials)),
        prefix_(std::move(prefix)),
        found_(std::move(found)) {}

  absl::StatusOr<Description> Describe(const Progress& progress) override {
    HANSE_ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, List());
    std::uint64_t total = 0, done = 0;
    for (const auto& e : entries) total += e.size;
    TreeHasher hasher;
    std::string buf(1 << 20, '\0');
    for (const auto& e : entries) {
      hasher.Begin(e);
      HANSE_ASSIGN_OR_RETURN(auto reader, OpenObject(e, 0));
      while (true) {
        HANSE_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()), e.path);
        if (n == 0) break;
        hasher.Update(absl::string_view(buf.data(), n));
        done += n;
        if (progress) progress(done, total);
      }
      HANSE_RETURN_IF_ERROR(hasher.End().status());
    }
    Description d = hasher.Finish("directory");
    d.record = {{"manifest", ManifestJson(hasher.entries())}};
    return d;
  }

  absl::StatusOr<std::unique_ptr<Reader>> Open(std::uint64_t offset) override {
    auto manifest = found_.find("manifest");
    if (manifest == found_.end()) return absl::DataLossError("the prefix has no manifest");
    HANSE_ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ParseManifest(*manifest));
    // One listing tells whether any object changed (its ETag) before a use is counted.
    HANSE_ASSIGN_OR_RETURN(std::vector<TreeEntry> now, List());
    if (now.size() != entries.size()) {
      return absl::FailedPreconditionError(
          absl::StrCat("s3://", where_.bucket, "/", prefix_, " holds ", now.size(), " objects, ",
                       entries.size(), " when it was published; republish the dataset"));
    }
    for (size_t i = 0; i < now.size(); ++i) {
      if (now[i].path != entries[i].path || now[i].version != entries[i].version ||
          now[i].size != entries[i].size) {
        return absl::FailedPreconditionError(
            absl::StrCat("s3://", where_.bucket, "/", prefix_, entries[i].path,
                         " changed since it was published; republish the dataset"));
      }
    }
    return OpenTreeStream(
        std::move(entries),
        [this](const TreeEntry& e, std::uint64_t at) { return OpenObject(e, at); }, offset);
  }

 private:
  absl::StatusOr<std::vector<TreeEntry>> List() {
    S3Location at = where_;
    at.key = prefix_;
    HANSE_ASSIGN_OR_RETURN(std::vector<S3Object> objects, ListS3Prefix(at, credentials_));
    if (objects.size() > kMaxTreeFiles) {
      return absl::ResourceExhaustedError(
          absl::StrCat("s3://", where_.bucket, "/", prefix_, " holds more than ", kMaxTreeFiles,
                       " objects; publish narrower prefixes as datasets of their own"));
    }
    std::vector<TreeEntry> out;
    for (const auto& o : objects) {
      std::string rel = o.key.substr(prefix_.size());
      HANSE_RETURN_IF_ERROR(CheckTreePath(rel), absl::StrCat("object ", o.key));
      out.push_back({rel, o.size, "", o.etag});
    }
    if (out.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("s3://", where_.bucket, "/", prefix_, " holds no objects"));
    }
    std::sort(out.begin(), out.end(),
              [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
    return out;
  }

  absl::StatusOr<std::unique_ptr<Reader>> OpenObject(const TreeEntry& e, std::uint64_t at) {
    S3Location object = where_;
    object.key = prefix_ + e.path;
    return OpenS3Object(object, credentials_, e.version, e.size, at);
  }

  S3Location where_;
  S3Credentials credentials_;
  std::string prefix_;
  Json found_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Source>> S3SourceFor(const Json& conn, const Json& spec,
                                                    absl::string_view what) {
  HANSE_RETURN_IF_ERROR(CheckKeys(conn,
                                  {"endpoint", "region", "credentials_file", "access_key_id_env",
                                   "secret_access_key_env", "session_token_env", "ca_file"},
                                  what));
  HANSE_RETURN_IF_ERROR(
      CheckKeys(spec, {"s3", "bucket", "key", "prefix", "kind", "found"}, "source"));
  S3Location where;
  where.endpoint = Text(conn, "endpoint");
  where.region = Text(conn, "region");
  where.ca_file = Text(conn, "ca_file");
  where.bucket = Text(spec, "bucket");
  if (where.endpoint.empty() || where.region.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": needs endpoint and region"));
  }
  if (where.bucket.empty()) return absl::InvalidArgumentError("source: \"bucket\" is missing");
  const std::string key = Text(spec, "key");
  const std::string prefix = Text(spec, "prefix");
  if (key.empty() == prefix.empty()) {
    return absl::InvalidArgumentError("source: give either \"key\" (an object) or \"prefix\"");
  }
  HANSE_ASSIGN_OR_RETURN(S3Credentials credentials, Credentials(conn, what));
  const Json found = spec.value("found", Json::object());
  if (!key.empty()) {
    where.key = key;
    return MakeS3ObjectSource(std::move(where), std::move(credentials), found);
  }
  if (!absl::EndsWith(prefix, "/")) {
    return absl::InvalidArgumentError("source: \"prefix\" must end with /");
  }
  return std::unique_ptr<Source>(
      new S3PrefixSource(std::move(where), std::move(credentials), prefix, found));
}

absl::StatusOr<std::unique_ptr<Source>> HttpSourceFor(const Json& conn, const Json& spec,
                                                      absl::string_view what) {
  HANSE_RETURN_IF_ERROR(CheckKeys(conn, {"url", "headers_file", "ca_file"}, what));
  HANSE_RETURN_IF_ERROR(CheckKeys(spec, {"http", "path", "live", "kind", "found"}, "source"));
  HttpUpstream up;
  up.url = Text(conn, "url");
  up.ca_file = Text(conn, "ca_file");
  if (up.url.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": needs url"));
  const std::string path = Text(spec, "path");
  if (!path.empty()) {
    if (path.front() != '/' || absl::StrContains(path, "..")) {
      return absl::InvalidArgumentError("source: \"path\" must start with / and hold no ..");
    }
    up.url = absl::StrCat(absl::StripSuffix(up.url, "/"), path);
  }
  const std::string headers = Text(conn, "headers_file");
  if (!headers.empty()) {
    HANSE_ASSIGN_OR_RETURN(std::string text, SecretFile(headers, what));
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
      up.headers.emplace_back(absl::StripAsciiWhitespace(line));
    }
  }
  bool live = false;
  if (auto l = spec.find("live"); l != spec.end()) {
    if (!l->is_boolean())
      return absl::InvalidArgumentError("source: \"live\" must be true or false");
    live = l->get<bool>();
  }
  return MakeHttpSource(std::move(up), live, spec.value("found", Json::object()));
}

}  // namespace hanse::node::source
