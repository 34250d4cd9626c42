// Objects in S3-compatible storage (AWS S3, MinIO, Ceph RGW, ...) as sources, through libcurl:
// requests signed with SigV4 by libcurl, path-style URLs (ENDPOINT/BUCKET/KEY, the key
// percent-encoded per segment), HTTP/1.1, TLS verified.
//
// An object is pinned by its ETag: describing it reads its size and ETag (HEAD) and hashes one
// GET of exactly that version (If-Match); every later read is a ranged GET with If-Match, and
// the ETag, size and range in the response are checked before a byte is passed on, because some
// S3-compatible servers ignore If-Match. A changed object is refused (FailedPrecondition: "the
// object s3://bucket/key changed since it was published (ETag ...); republish it").
//
// Credentials are passed in by the caller (from the places the config names) and go only into
// the signature and the x-amz-security-token header: no record, error or log holds them.
#ifndef HANSE_NODE_SOURCE_S3_H_
#define HANSE_NODE_SOURCE_S3_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "node/source/source.h"

namespace hanse::node::source {

struct S3Location {
  // https://host[:port] (http:// for tests); a trailing '/' is ignored. The bucket is the first
  // path segment after it (path-style), so the endpoint has no path of its own.
  std::string endpoint{};
  std::string region{};  // the SigV4 region; empty means us-east-1
  std::string bucket{};  // 1-255 characters, no '/', '?', '#' or spaces
  std::string key{};     // an object's key, or a prefix (ListS3Prefix; may be empty there)
  // A CA bundle (PEM) that verifies the endpoint's certificate; empty: the system's.
  std::string ca_file{};
};

struct S3Credentials {
  std::string access_key_id{};
  std::string secret_access_key{};
  std::string session_token{};  // temporary credentials (STS); empty otherwise
};

struct S3Object {
  std::string key;
  std::uint64_t size = 0;
  std::string etag;  // as S3 gives it, quotes included ("\"9b2c...\"")
};

// One object (kind "s3"). Describe: HEAD, then one GET hashed with SHA-256 (progress reported
// against the size); record = {"etag": ETAG, "size": N}. Open(offset): a ranged GET pinned to
// the ETag, its length checked against size - offset (DataLoss when the server sends more or
// fewer bytes). `found` is a record Describe returned earlier (to open without describing
// again), or empty.
//
// Errors name the object (s3://bucket/key) and the endpoint: a missing bucket or key NotFound,
// credentials or rights refused (403) PermissionDenied naming the bucket, an endpoint that
// cannot be reached Unavailable, a changed object FailedPrecondition, a stall of 60 s
// DeadlineExceeded.
std::unique_ptr<Source> MakeS3ObjectSource(S3Location location, S3Credentials credentials,
                                           nlohmann::json found = {});

// Every object under the prefix `where.key` (ListObjectsV2, all pages), in the order S3 lists
// them (bytewise by key). Keys that end in '/' with size 0 (the "folders" consoles create) are
// left out. More than kMaxS3ListObjects objects is FailedPrecondition: publish a narrower
// prefix.
inline constexpr std::size_t kMaxS3ListObjects = 1'000'000;
absl::StatusOr<std::vector<S3Object>> ListS3Prefix(const S3Location& where,
                                                   const S3Credentials& credentials);

// Bytes [offset, size) of the object `where.key`, refused unless it still has `etag` and
// `size` (what Describe or ListS3Prefix found). The reader MakeS3ObjectSource's Open returns.
absl::StatusOr<std::unique_ptr<Reader>> OpenS3Object(const S3Location& where,
                                                     const S3Credentials& credentials,
                                                     const std::string& etag, std::uint64_t size,
                                                     std::uint64_t offset);

namespace s3_internal {
// ListS3Prefix with a page size (max-keys, 1-1000) and a bound of its own, for tests.
absl::StatusOr<std::vector<S3Object>> ListS3Prefix(const S3Location& where,
                                                   const S3Credentials& credentials, int page_size,
                                                   std::size_t max_objects);
// The path-style URL of `where` (the key encoded per segment); no query.
std::string ObjectUrl(const S3Location& where);
// The value of the first <tag>...</tag> in `xml`, entities decoded; empty when absent.
std::string XmlValue(const std::string& xml, const std::string& tag);
// A signed PUT of `body` as the object `where.key`, or of the bucket itself when the key is
// empty: how tests fill a server.
absl::Status Put(const S3Location& where, const S3Credentials& credentials,
                 const std::string& body);
}  // namespace s3_internal

}  // namespace hanse::node::source

#endif  // HANSE_NODE_SOURCE_S3_H_
