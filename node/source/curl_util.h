// The HTTP client under the S3 and HTTP sources (internal to node/source): one libcurl transfer
// turned into a pull-style stream. libcurl pushes the body through a callback; the stream drives
// the transfer with the multi interface in the caller's thread, pausing it whenever more than
// kMaxBuffered bytes wait for the caller, so memory stays bounded however slowly the consumer
// reads and however large the body is.
//
// A streamed body is read to the end of the connection (the request says Connection: close)
// and counted against what the response announced (Content-Length) or what the caller expects:
// libcurl on its own stops at Content-Length and drops what follows, so a server that sends
// more than it announced would go unnoticed.
//
// Nothing here logs. Requests carry secrets (the S3 secret key, configured auth headers) that
// never appear in an error: errors name the target by `Request::name`, chosen by the caller.
#ifndef HANSE_NODE_SOURCE_CURL_UTIL_H_
#define HANSE_NODE_SOURCE_CURL_UTIL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/source/source.h"

namespace hanse::node::source::curl_internal {

// At most this many body bytes wait in a stream for the caller (plus one libcurl chunk, 16 KiB).
inline constexpr size_t kMaxBuffered = 1 << 20;
// A connection attempt gives up after this long; an open transfer when it has moved less than
// one byte per second for kStallSeconds.
inline constexpr long kConnectTimeoutSeconds = 10;
inline constexpr long kStallSeconds = 60;

struct Request {
  std::string method = "GET";  // "GET", "HEAD" or "PUT"
  std::string url;             // http:// or https:// only
  // "Name: value" lines sent as they are. Values may be secrets.
  std::vector<std::string> headers{};
  // SigV4 signing by libcurl: "aws:amz:REGION:SERVICE" and "ACCESS:SECRET" (both or neither).
  std::string aws_sigv4{};
  std::string userpwd{};
  std::string ca_file{};  // CA bundle for TLS verification; empty: the system's
  std::string body{};     // PUT only
  // How errors name the target ("the S3 endpoint http://host:port", "https://host/path"):
  // never a credential.
  std::string name{};
};

// One response header, the name in lower case.
using Header = std::pair<std::string, std::string>;

// The value of the first header named `lower_name`, if any.
std::optional<std::string> FindHeader(const std::vector<Header>& headers,
                                      absl::string_view lower_name);

// An HTTP response whose body is read as a stream.
class Stream {
 public:
  // Sends the request and waits for the response headers (the final ones, after any 1xx).
  // Transport failures (cannot connect, TLS, a stall) come back here as statuses naming
  // `req.name`; an HTTP error status does not: look at status().
  static absl::StatusOr<std::unique_ptr<Stream>> Start(const Request& req);
  ~Stream();  // abandons the transfer and closes the connection when not at the end
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  long status() const;
  const std::vector<Header>& headers() const;
  std::optional<std::string> header(absl::string_view lower_name) const {
    return FindHeader(headers(), lower_name);
  }
  // Content-Length of a 2xx response, when it sent one (and it parsed).
  std::optional<std::uint64_t> announced_length() const;

  // Requires the body to have exactly `n` bytes: DataLoss now when the response announced
  // another length, and from Read when more arrive or the stream ends short.
  absl::Status ExpectLength(std::uint64_t n);

  // Up to `n` body bytes into `buf`; 0 at the end. A body longer or shorter than announced
  // (or expected) is DataLoss, a transfer that breaks midway Unavailable, a stall
  // DeadlineExceeded.
  absl::StatusOr<size_t> Read(char* buf, size_t n);

  // The body of an error response, at most `max` bytes (the rest is not read). Empty when the
  // connection fails on the way: the status code is the error then.
  std::string ReadErrorBody(size_t max);

  // Body bytes received from the server so far.
  std::uint64_t received() const;

 private:
  struct Impl;
  explicit Stream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A response read whole: for HEAD, a listing page, an error document.
struct Response {
  long status = 0;
  std::vector<Header> headers;
  std::string body;
  std::optional<std::string> header(absl::string_view lower_name) const {
    return FindHeader(headers, lower_name);
  }
};

// Sends `req` and reads the whole response. A 2xx body longer than `max_body` is
// ResourceExhausted; an error body is cut at `max_body`.
absl::StatusOr<Response> Perform(const Request& req, size_t max_body);

// A Content-Range value "bytes FIRST-LAST/TOTAL" (TOTAL may be "*": then unknown).
struct ContentRange {
  std::uint64_t first = 0, last = 0;
  std::optional<std::uint64_t> total;
};
std::optional<ContentRange> ParseContentRange(absl::string_view value);

// `text` percent-encoded as SigV4 canonical requests want: every byte but A-Z a-z 0-9 - _ . ~
// as %XX (upper case), and '/' too unless `keep_slash`.
std::string UriEncode(absl::string_view text, bool keep_slash);
// The inverse for '%XX' sequences (and '+' when `plus_is_space`); other bytes as they are.
std::string UriDecode(absl::string_view text, bool plus_is_space);

// `url` fit for an error message: scheme://host[:port]/path, without user info, query or
// fragment (they may hold credentials). "(invalid URL)" when it does not parse.
std::string RedactUrl(const std::string& url);

// InvalidArgument unless `url` parses as an absolute http:// or https:// URL with a host.
absl::Status CheckHttpUrl(const std::string& url, absl::string_view what);

// A Reader over a started Stream; null: the empty stream (a source opened at its end).
class StreamReader : public Reader {
 public:
  explicit StreamReader(std::unique_ptr<Stream> s) : s_(std::move(s)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (s_ == nullptr) return 0;
    return s_->Read(buf, n);
  }

 private:
  std::unique_ptr<Stream> s_;
};

}  // namespace hanse::node::source::curl_internal

#endif  // HANSE_NODE_SOURCE_CURL_UTIL_H_
