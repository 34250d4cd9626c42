#include "node/source/curl_util.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hanse::node::source::curl_internal {
namespace {

// An error response's body is read only to explain the error (S3's <Code>); no more than this.
constexpr size_t kMaxErrorBody = 64 << 10;

// Once a body has all the bytes it announced, how long the stream waits for the server to close
// the connection (as Connection: close asks) and so show that nothing follows. A server that
// keeps the connection open regardless is taken at its word after this long.
constexpr std::chrono::milliseconds kCloseGrace{2000};

void GlobalInit() {
  // curl_global_init is not thread-safe in every build; once, before the first handle.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct UrlCloser {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

std::string UrlPart(CURLU* u, CURLUPart part) {
  char* v = nullptr;
  if (curl_url_get(u, part, &v, 0) != CURLUE_OK || v == nullptr) return {};
  std::string out(v);
  curl_free(v);
  return out;
}

}  // namespace

std::optional<std::string> FindHeader(const std::vector<Header>& headers,
                                      absl::string_view lower_name) {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return std::nullopt;
}

struct Stream::Impl {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
  curl_slist* header_list = nullptr;
  bool attached = false;  // easy is in multi
  std::string name;
  bool head = false;

  // The final response's status line and headers.
  long status = 0;
  std::vector<Header> headers;
  bool headers_done = false;
  std::optional<std::uint64_t> announced;

  // Body bytes not yet read are buf[pos...].
  std::string buf;
  size_t pos = 0;
  bool paused = false;
  bool done = false;
  CURLcode result = CURLE_OK;
  std::uint64_t received = 0;
  std::optional<std::uint64_t> expected;
  bool overflow = false;
  absl::Status failure;  // sticky once Read has failed
  char errbuf[CURL_ERROR_SIZE] = {};

  ~Impl() {
    // Removing the handle mid-transfer closes its connection; nothing calls back afterwards.
    if (attached) curl_multi_remove_handle(multi, easy);
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
    if (header_list != nullptr) curl_slist_free_all(header_list);
  }

  bool ok_status() const { return status >= 200 && status < 300; }
  size_t buffered() const { return buf.size() - pos; }
  std::uint64_t limit() const { return expected ? *expected : announced.value_or(UINT64_MAX); }

  static size_t OnHeader(char* data, size_t size, size_t nitems, void* p) {
    auto* s = static_cast<Impl*>(p);
    const size_t n = size * nitems;
    absl::string_view line(data, n);
    line = absl::StripTrailingAsciiWhitespace(line);
    if (absl::StartsWith(line, "HTTP/")) {
      // A new response begins (after a 100 Continue, say): forget the previous one's headers.
      s->headers.clear();
      s->headers_done = false;
      s->status = 0;
      const size_t sp = line.find(' ');
      int code = 0;
      if (sp != absl::string_view::npos && absl::SimpleAtoi(line.substr(sp + 1, 3), &code)) {
        s->status = code;
      }
      return n;
    }
    if (line.empty()) {
      if (s->status >= 200) {
        s->headers_done = true;
        if (s->ok_status()) {
          std::uint64_t len = 0;
          if (auto cl = FindHeader(s->headers, "content-length");
              cl && absl::SimpleAtoi(*cl, &len)) {
            s->announced = len;
          }
        }
      }
      return n;
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) return n;  // a folded line: ignored
    s->headers.emplace_back(absl::AsciiStrToLower(line.substr(0, colon)),
                            std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
    return n;
  }

  static size_t OnBody(char* data, size_t size, size_t nmemb, void* p) {
    auto* s = static_cast<Impl*>(p);
    const size_t n = size * nmemb;
    s->headers_done = true;
    if (!s->ok_status()) {
      // An error document: keep its start, then stop the transfer (CURLE_WRITE_ERROR).
      const size_t room = kMaxErrorBody - std::min(kMaxErrorBody, s->buf.size());
      s->buf.append(data, std::min(n, room));
      return n <= room ? n : 0;
    }
    if (s->received + n > s->limit()) {
      s->overflow = true;
      return 0;  // aborts the transfer
    }
    if (s->buffered() >= kMaxBuffered) {
      // libcurl keeps this chunk and offers it again after curl_easy_pause(CONT).
      s->paused = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    if (s->pos == s->buf.size()) {
      s->buf.clear();
      s->pos = 0;
    }
    s->buf.append(data, n);
    s->received += n;
    return n;
  }

  // One round of the transfer: resumes it when the buffer has room, lets libcurl work, and
  // waits up to `wait` for the socket when nothing came of that.
  void Pump(std::chrono::milliseconds wait) {
    // Taken before resuming: libcurl may hand over the chunk it held within curl_easy_pause.
    const size_t before = buffered();
    const bool headers_before = headers_done;
    if (paused && buffered() < kMaxBuffered / 2) {
      paused = false;
      curl_easy_pause(easy, CURLPAUSE_CONT);
    }
    int running = 0;
    const CURLMcode mc = curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
      if (m->msg == CURLMSG_DONE && m->easy_handle == easy) {
        done = true;
        result = m->data.result;
      }
    }
    if (mc != CURLM_OK && !done) {
      done = true;
      result = CURLE_RECV_ERROR;
      std::snprintf(errbuf, sizeof(errbuf), "%s", curl_multi_strerror(mc));
    }
    if (done || paused || buffered() != before || headers_done != headers_before) return;
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
  }

  std::string Detail() const {
    return errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(result));
  }

  // A transfer that ended with `result` != CURLE_OK, as a status naming the target.
  absl::Status TransportError() const {
    const std::string detail = Detail();
    switch (result) {
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_COULDNT_CONNECT:
        return absl::UnavailableError(absl::StrCat("cannot reach ", name, ": ", detail));
      case CURLE_OPERATION_TIMEDOUT:
        if (!headers_done) {
          return absl::UnavailableError(
              absl::StrCat("cannot reach ", name, " (no connection within ", kConnectTimeoutSeconds,
                           " s, or no answer within ", kStallSeconds, " s): ", detail));
        }
        return absl::DeadlineExceededError(absl::StrCat(name, " sent nothing for ", kStallSeconds,
                                                        " s after ", received, " bytes: ", detail));
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return absl::FailedPreconditionError(absl::StrCat(
            "the TLS certificate of ", name, " was not accepted (check ca_file): ", detail));
      case CURLE_SSL_CONNECT_ERROR:
        return absl::UnavailableError(
            absl::StrCat("the TLS handshake with ", name, " failed: ", detail));
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return absl::InvalidArgumentError(absl::StrCat(name, ": ", detail));
      default:
        if (headers_done) {
          return absl::UnavailableError(
              absl::StrCat(name, " broke off the transfer after ", received, " bytes: ", detail));
        }
        return absl::UnavailableError(absl::StrCat(name, " did not answer: ", detail));
    }
  }

  absl::Status OverflowError() const {
    return absl::DataLossError(
        absl::StrCat(name, " sent more than the ", limit(), " bytes it announced"));
  }
};

Stream::Stream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Stream::~Stream() = default;

absl::StatusOr<std::unique_ptr<Stream>> Stream::Start(const Request& req) {
  GlobalInit();
  auto s = std::make_unique<Impl>();
  s->name = req.name.empty() ? RedactUrl(req.url) : req.name;
  s->head = req.method == "HEAD";
  s->easy = curl_easy_init();
  s->multi = curl_multi_init();
  if (s->easy == nullptr || s->multi == nullptr) {
    return absl::ResourceExhaustedError("libcurl could not create a handle");
  }
  CURL* e = s->easy;
  bool ok = true;
  auto set = [&ok](CURLcode c) { ok = ok && c == CURLE_OK; };
  set(curl_easy_setopt(e, CURLOPT_URL, req.url.c_str()));
  set(curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"));
  // The path as given: an S3 key may hold "." and ".." segments that name other objects when
  // "normalised" away.
  set(curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L));
  // Redirects are not followed: configured headers would go along to wherever they point.
  set(curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L));
  set(curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L));  // threads: no SIGALRM for DNS timeouts
  set(curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds));
  set(curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L));
  set(curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, kStallSeconds));
  // HTTP/1.1 always: a body read to the connection's end (below) needs HTTP/1 framing.
  set(curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1)));
  set(curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L));
  set(curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L));
  if (!req.ca_file.empty()) set(curl_easy_setopt(e, CURLOPT_CAINFO, req.ca_file.c_str()));
  set(curl_easy_setopt(e, CURLOPT_USERAGENT, "hanse"));
  set(curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf));
  set(curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::OnHeader));
  set(curl_easy_setopt(e, CURLOPT_HEADERDATA, s.get()));
  set(curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::OnBody));
  set(curl_easy_setopt(e, CURLOPT_WRITEDATA, s.get()));
  if (!req.aws_sigv4.empty()) {
    set(curl_easy_setopt(e, CURLOPT_AWS_SIGV4, req.aws_sigv4.c_str()));
    set(curl_easy_setopt(e, CURLOPT_USERPWD, req.userpwd.c_str()));
  }
  auto add_header = [&s, &ok](const std::string& h) {
    curl_slist* next = curl_slist_append(s->header_list, h.c_str());
    if (next == nullptr) ok = false;  // the list as it was stays valid (and freed)
    if (next != nullptr) s->header_list = next;
  };
  for (const std::string& h : req.headers) add_header(h);
  if (req.method == "HEAD") {
    set(curl_easy_setopt(e, CURLOPT_NOBODY, 1L));
  } else {
    // The body is read until the server closes the connection and counted against
    // Content-Length here, so that a body longer than announced is seen, not cut off.
    set(curl_easy_setopt(e, CURLOPT_IGNORE_CONTENT_LENGTH, 1L));
    add_header("Connection: close");
    if (req.method == "PUT") {
      set(curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT"));
      set(curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                           static_cast<curl_off_t>(req.body.size())));
      set(curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req.body.c_str()));
      add_header("Expect:");
    } else if (req.method != "GET") {
      return absl::InvalidArgumentError(absl::StrCat("unsupported method ", req.method));
    }
  }
  if (s->header_list != nullptr) set(curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->header_list));
  if (!ok) return absl::InternalError(absl::StrCat("libcurl refused an option for ", s->name));
  if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
    return absl::InternalError("libcurl: cannot start the transfer");
  }
  s->attached = true;
  while (!s->headers_done && !s->done) s->Pump(std::chrono::milliseconds(1000));
  if (!s->headers_done) {
    if (s->result != CURLE_OK) return s->TransportError();
    return absl::UnavailableError(
        absl::StrCat(s->name, " closed the connection without a response"));
  }
  return std::unique_ptr<Stream>(new Stream(std::move(s)));
}

long Stream::status() const { return impl_->status; }
const std::vector<Header>& Stream::headers() const { return impl_->headers; }
std::optional<std::uint64_t> Stream::announced_length() const { return impl_->announced; }
std::uint64_t Stream::received() const { return impl_->received; }

absl::Status Stream::ExpectLength(std::uint64_t n) {
  Impl& s = *impl_;
  if (s.announced && *s.announced != n) {
    return absl::DataLossError(
        absl::StrCat(s.name, " announced ", *s.announced, " bytes where ", n, " were expected"));
  }
  s.expected = n;
  if (s.received > n) return s.OverflowError();
  return absl::OkStatus();
}

absl::StatusOr<size_t> Stream::Read(char* buf, size_t n) {
  Impl& s = *impl_;
  if (!s.failure.ok()) return s.failure;
  if (!s.ok_status()) {
    return s.failure =
               absl::FailedPreconditionError(absl::StrCat(s.name, " answered HTTP ", s.status));
  }
  std::optional<std::chrono::steady_clock::time_point> grace_end;
  while (s.buffered() == 0 && !s.done && !s.overflow) {
    if (s.received == s.limit() && s.limit() != UINT64_MAX) {
      // Everything announced is here; what remains is to see the connection close.
      const auto now = std::chrono::steady_clock::now();
      if (!grace_end) grace_end = now + kCloseGrace;
      if (now >= *grace_end) break;
    }
    s.Pump(std::chrono::milliseconds(grace_end ? 100 : 1000));
  }
  if (s.overflow) return s.failure = s.OverflowError();
  if (s.buffered() > 0) {
    const size_t k = std::min(n, s.buffered());
    std::memcpy(buf, s.buf.data() + s.pos, k);
    s.pos += k;
    if (s.pos == s.buf.size()) {
      s.buf.clear();
      s.pos = 0;
    } else if (s.pos >= kMaxBuffered / 2) {
      s.buf.erase(0, s.pos);
      s.pos = 0;
    }
    return k;
  }
  if (s.done && s.result != CURLE_OK) return s.failure = s.TransportError();
  const std::uint64_t want = s.limit();
  if (want != UINT64_MAX && s.received != want) {
    return s.failure =
               absl::DataLossError(absl::StrCat(s.name, " ended the body after ", s.received,
                                                " of the ", want, " bytes it announced"));
  }
  return 0;
}

std::string Stream::ReadErrorBody(size_t max) {
  Impl& s = *impl_;
  max = std::min(max, kMaxErrorBody);
  while (!s.done && s.buf.size() < max) s.Pump(std::chrono::milliseconds(1000));
  return s.buf.substr(0, max);
}

absl::StatusOr<Response> Perform(const Request& req, size_t max_body) {
  auto started = Stream::Start(req);
  if (!started.ok()) return started.status();
  Stream& s = **started;
  Response r;
  r.status = s.status();
  r.headers = s.headers();
  if (req.method == "HEAD") return r;
  if (r.status < 200 || r.status >= 300) {
    r.body = s.ReadErrorBody(max_body);
    return r;
  }
  char chunk[16 << 10];
  while (true) {
    auto n = s.Read(chunk, sizeof(chunk));
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    if (r.body.size() + *n > max_body) {
      return absl::ResourceExhaustedError(
          absl::StrCat(req.name, " answered with more than ", max_body, " bytes"));
    }
    r.body.append(chunk, *n);
  }
  return r;
}

std::optional<ContentRange> ParseContentRange(absl::string_view v) {
  if (!absl::ConsumePrefix(&v, "bytes ")) return std::nullopt;
  const size_t dash = v.find('-');
  const size_t slash = v.find('/');
  if (dash == absl::string_view::npos || slash == absl::string_view::npos || slash < dash) {
    return std::nullopt;
  }
  ContentRange r;
  if (!absl::SimpleAtoi(v.substr(0, dash), &r.first) ||
      !absl::SimpleAtoi(v.substr(dash + 1, slash - dash - 1), &r.last) || r.last < r.first) {
    return std::nullopt;
  }
  if (absl::string_view t = v.substr(slash + 1); t != "*") {
    std::uint64_t total = 0;
    if (!absl::SimpleAtoi(t, &total)) return std::nullopt;
    r.total = total;
  }
  return r;
}

std::string UriEncode(absl::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string UriDecode(absl::string_view text, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hex(text[i + 1]);
      const int lo = hex(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string RedactUrl(const std::string& url) {
  std::unique_ptr<CURLU, UrlCloser> u(curl_url());
  if (u == nullptr || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return "(invalid URL)";
  }
  std::string out =
      absl::StrCat(UrlPart(u.get(), CURLUPART_SCHEME), "://", UrlPart(u.get(), CURLUPART_HOST));
  if (std::string port = UrlPart(u.get(), CURLUPART_PORT); !port.empty()) {
    absl::StrAppend(&out, ":", port);
  }
  absl::StrAppend(&out, UrlPart(u.get(), CURLUPART_PATH));
  return out;
}

absl::Status CheckHttpUrl(const std::string& url, absl::string_view what) {
  std::unique_ptr<CURLU, UrlCloser> u(curl_url());
  if (u == nullptr || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a valid URL"));
  }
  const std::string scheme = absl::AsciiStrToLower(UrlPart(u.get(), CURLUPART_SCHEME));
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be an http:// or https:// URL, not ", scheme, "://"));
  }
  if (UrlPart(u.get(), CURLUPART_HOST).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " has no host"));
  }
  return absl::OkStatus();
}

}  // namespace hanse::node::source::curl_internal
