#include "node/source/factory.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "base/json.h"
#include "base/status.h"
#include "node/source/connections.h"
#include "node/source/local.h"
#include "node/source/postgres.h"
#include "node/source/spec.h"

namespace hanse::node::source {

using Json = nlohmann::json;

namespace spec_internal {

absl::Status CheckKeys(const Json& j, std::initializer_list<const char*> allowed,
                       absl::string_view what) {
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* k : allowed) known = known || key == k;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": unknown key \"", key, "\" (see docs/data-sources.md)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StringField(const Json& j, const char* key, absl::string_view what,
                                        bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (!required) return std::string();
    return absl::InvalidArgumentError(absl::StrCat(what, ": \"", key, "\" is missing"));
  }
  if (!it->is_string() || it->get<std::string>().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": \"", key, "\" must be a non-empty string"));
  }
  return it->get<std::string>();
}

}  // namespace spec_internal

namespace {

using spec_internal::CheckKeys;
using spec_internal::StringField;

constexpr const char* kRemoteKinds[] = {"s3", "http", "postgresql"};

// The config's connection of `kind` named in `spec`, with its keys checked.
absl::StatusOr<Json> Connection(const Context& ctx, const Json& spec, const char* kind,
                                std::initializer_list<const char*> allowed,
                                bool check_keys = true) {
  HANSE_ASSIGN_OR_RETURN(std::string name, StringField(spec, kind, "source"));
  const Json* named = nullptr;
  if (auto all = ctx.connections.find(kind); all != ctx.connections.end() && all->is_object()) {
    if (auto it = all->find(name); it != all->end()) named = &*it;
  }
  if (named == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("the ", kind, " connection \"", name,
                                                      "\" is not in config.json's sources.", kind));
  }
  const std::string what = absl::StrCat("config sources.", kind, ".", name);
  if (!named->is_object()) return absl::InvalidArgumentError(absl::StrCat(what, ": not an object"));
  if (check_keys) HANSE_RETURN_IF_ERROR(CheckKeys(*named, allowed, what));
  return *named;
}

absl::StatusOr<std::unique_ptr<Source>> PostgresSourceFor(const Context& ctx, const Json& spec) {
  HANSE_RETURN_IF_ERROR(
      CheckKeys(spec, {"postgresql", "view", "query", "kind", "found"}, "source"));
  HANSE_ASSIGN_OR_RETURN(Json conn,
                         Connection(ctx, spec, "postgresql", {"conninfo", "transfer_timeout_s"}));
  PostgresQuery q;
  HANSE_ASSIGN_OR_RETURN(q.conninfo, StringField(conn, "conninfo", "postgresql connection"));
  if (auto t = conn.find("transfer_timeout_s"); t != conn.end()) {
    if (!t->is_number_unsigned() || t->get<std::uint64_t>() == 0) {
      return absl::InvalidArgumentError("transfer_timeout_s must be a positive number of seconds");
    }
    q.transfer_timeout = std::chrono::seconds(t->get<std::uint64_t>());
  }
  HANSE_ASSIGN_OR_RETURN(q.view, StringField(spec, "view", "source", false));
  HANSE_ASSIGN_OR_RETURN(q.query, StringField(spec, "query", "source", false));
  if (q.view.empty() == q.query.empty()) {
    return absl::InvalidArgumentError("source: give either \"view\" or \"query\"");
  }
  return MakePostgresSource(std::move(q));
}

absl::StatusOr<std::string> RootDir(const Context& ctx, const std::string& root) {
  if (root == "data") return ctx.data_dir;
  auto it = ctx.data_roots.find(root);
  if (it == ctx.data_roots.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("data root \"", root, "\" is not in config.json's data_roots"));
  }
  return it->second;
}

}  // namespace

absl::StatusOr<Json> SpecFromPublish(const Json& publish) {
  auto content = publish.find("content");
  auto src = publish.find("source");
  if (content != publish.end() && src != publish.end()) {
    return absl::InvalidArgumentError("give either \"content\" or \"source\", not both");
  }
  if (content != publish.end()) {
    if (!content->is_string() || content->get<std::string>().empty()) {
      return absl::InvalidArgumentError(
          "field \"content\": must be a path relative to the data root");
    }
    HANSE_ASSIGN_OR_RETURN(std::string root, StringField(publish, "root", "publish file", false));
    return Json{{"root", root.empty() ? "data" : root}, {"path", content->get<std::string>()}};
  }
  if (publish.contains("root")) {
    return absl::InvalidArgumentError("field \"root\": only goes with \"content\"");
  }
  if (src == publish.end()) {
    return absl::InvalidArgumentError(
        "field \"content\": missing (a path under the data root, or give \"source\")");
  }
  if (!src->is_object()) return absl::InvalidArgumentError("field \"source\": must be an object");
  int kinds = 0;
  for (const char* kind : kRemoteKinds) kinds += src->contains(kind) ? 1 : 0;
  if (kinds != 1) {
    return absl::InvalidArgumentError(
        "field \"source\": must name one connection as \"s3\", \"http\" or \"postgresql\"");
  }
  // The rest is checked against the connection when the source is made.
  return *src;
}

absl::StatusOr<std::unique_ptr<Source>> MakeSource(const Context& ctx, const Json& spec) {
  const std::string kind = spec.value("kind", "");
  const Json found = spec.value("found", Json::object());
  // A remote connection first: an HTTP source has a "path" too (below its URL).
  if (spec.contains("postgresql")) return PostgresSourceFor(ctx, spec);
  for (const char* kind : {"s3", "http"}) {
    if (!spec.contains(kind)) continue;
    HANSE_ASSIGN_OR_RETURN(std::string name, StringField(spec, kind, "source"));
    HANSE_ASSIGN_OR_RETURN(Json conn, Connection(ctx, spec, kind, {}, /*check_keys=*/false));
    const std::string what = absl::StrCat("config sources.", kind, ".", name);
    return std::string(kind) == "s3" ? S3SourceFor(conn, spec, what)
                                     : HttpSourceFor(conn, spec, what);
  }
  if (spec.contains("path")) {
    HANSE_RETURN_IF_ERROR(CheckKeys(spec, {"root", "path", "kind", "found"}, "content"));
    HANSE_ASSIGN_OR_RETURN(std::string root, StringField(spec, "root", "content"));
    HANSE_ASSIGN_OR_RETURN(std::string path, StringField(spec, "path", "content"));
    HANSE_ASSIGN_OR_RETURN(std::string dir, RootDir(ctx, root));
    HANSE_ASSIGN_OR_RETURN(std::string real, ResolveInRoot(dir, path));
    struct stat st {};
    if (::stat(real.c_str(), &st) != 0) {
      return absl::NotFoundError(absl::StrCat("content \"", path, "\" not found"));
    }
    const bool is_dir = S_ISDIR(st.st_mode);
    if (!kind.empty() && kind != (is_dir ? "directory" : "file")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "content \"", path, "\" was published as a ", kind, " and is no longer one"));
    }
    if (is_dir) {
      char buf[PATH_MAX];
      std::string real_root = ::realpath(dir.c_str(), buf) ? std::string(buf) : dir;
      return MakeDirectorySource(real_root, real, found);
    }
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("content \"", path, "\" must be a regular file or a directory"));
    }
    return MakeFileSource(real, found);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("a source of kind \"", kind, "\" is not known to this node"));
}

absl::StatusOr<Described> DescribeSpec(const Context& ctx, const Json& spec,
                                       const Progress& progress) {
  HANSE_ASSIGN_OR_RETURN(std::unique_ptr<Source> src, MakeSource(ctx, spec));
  HANSE_ASSIGN_OR_RETURN(Description d, src->Describe(progress));
  Described out;
  out.record = spec;
  out.record["kind"] = d.kind;
  out.record["found"] = d.record;
  out.description = std::move(d);
  return out;
}

absl::StatusOr<Json> ParseRecord(const std::string& stored) {
  if (stored.empty() || stored.front() != '{') {
    return Json{{"root", "data"}, {"path", stored}, {"kind", "file"}};
  }
  HANSE_ASSIGN_OR_RETURN(Json j, ParseJson(stored), "the stored source record");
  if (!j.is_object()) return absl::DataLossError("the stored source record is not an object");
  return j;
}

}  // namespace hanse::node::source
