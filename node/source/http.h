// An HTTP(S) upstream as a source, through libcurl: an internal API or a file server the
// provider reaches. Redirects are not followed (the configured headers, which may carry
// credentials, would go wherever they point), TLS is verified, and no header value, query
// string or user info of the URL appears in an error.
//
// A live upstream (an API whose answer changes) is described without reading it and streamed
// anew at each fetch; it cannot resume. A static one (live = false) is hashed when published
// and pinned by its validators: every later read sends If-Match with a strong ETag or, without
// one, If-Unmodified-Since with its Last-Modified, and checks the size, ETag and range the
// response names before passing on a byte.
#ifndef HANSE_NODE_SOURCE_HTTP_H_
#define HANSE_NODE_SOURCE_HTTP_H_

#include <memory>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "node/source/source.h"

namespace hanse::node::source {

struct HttpUpstream {
  std::string url{};  // http:// or https://
  // "Name: value" lines sent with every request, from the config; they may carry credentials
  // (Authorization, an API key). The ones this source sets itself (Range, If-*, Connection,
  // Content-Length, Transfer-Encoding) are refused.
  std::vector<std::string> headers{};
  std::string ca_file{};  // CA bundle (PEM) that verifies the server; empty: the system's
};

// Kind "http". Live: Describe GETs the URL and reads only the response's status and headers
// (2xx required): byte_size 0, sha256 empty, live true, record {"content_type"?}; Open(0) streams
// a GET, Open(offset > 0) is FailedPrecondition ("a live source cannot resume; fetch again").
//
// Not live: Describe streams one GET and hashes it: record = {"size": N, "etag"?: E,
// "last_modified"?: T, "content_type"?: C}. Open(offset) sends Range (offset > 0) with the
// validators above; a server that answers a ranged read with the whole body (200 instead of
// 206) is FailedPrecondition, a changed resource FailedPrecondition naming what changed.
// `found` is a record Describe returned before (to open without describing again), or empty.
//
// Either way a body longer or shorter than its Content-Length (or the size described) is
// DataLoss. Errors: 401 Unauthenticated, 403 PermissionDenied, 404 NotFound (each naming the URL
// without its query), other statuses FailedPrecondition or (5xx) Unavailable, an unreachable
// server Unavailable, a stall of 60 s DeadlineExceeded.
std::unique_ptr<Source> MakeHttpSource(HttpUpstream upstream, bool live, nlohmann::json found = {});

}  // namespace hanse::node::source

#endif  // HANSE_NODE_SOURCE_HTTP_H_
