#include "node/source/http.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "node/source/curl_util.h"
#include "trust/sha256_stream.h"

namespace hanse::node::source {
namespace {

using curl_internal::Request;
using curl_internal::Stream;
using curl_internal::StreamReader;

constexpr size_t kHashChunk = 256 << 10;

// Headers this source sets itself, to pin or frame what it reads.
constexpr absl::string_view kReservedHeaders[] = {"range",
                                                  "if-match",
                                                  "if-none-match",
                                                  "if-modified-since",
                                                  "if-range",
                                                  "if-unmodified-since",
                                                  "connection",
                                                  "content-length",
                                                  "transfer-encoding",
                                                  "expect"};

bool TokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

// Names a configured header by its name only: its value may be a secret.
absl::Status CheckUpstream(const HttpUpstream& u) {
  HANSE_RETURN_IF_ERROR(curl_internal::CheckHttpUrl(u.url, "the upstream URL"));
  for (size_t i = 0; i < u.headers.size(); ++i) {
    const std::string& h = u.headers[i];
    const size_t colon = h.find(':');
    const absl::string_view name =
        colon == std::string::npos ? absl::string_view() : absl::string_view(h).substr(0, colon);
    bool token = !name.empty();
    for (char c : name) token = token && TokenChar(c);
    if (!token) {
      return absl::InvalidArgumentError(absl::StrCat("configured header #", i + 1, " of ",
                                                     curl_internal::RedactUrl(u.url),
                                                     " is not \"Name: value\""));
    }
    if (h.find_first_of("\r\n") != std::string::npos || h.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("the configured header ", name, " holds a line break"));
    }
    const std::string lower = absl::AsciiStrToLower(name);
    for (absl::string_view reserved : kReservedHeaders) {
      if (lower == reserved) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the header ", name, " cannot be configured: the HTTP source sets it itself"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status HttpError(const std::string& name, long status) {
  if (status == 401) {
    return absl::UnauthenticatedError(
        absl::StrCat(name, " answered 401 Unauthorized: check the headers configured for it"));
  }
  if (status == 403) {
    return absl::PermissionDeniedError(absl::StrCat(name, " answered 403 Forbidden"));
  }
  if (status == 404 || status == 410) {
    return absl::NotFoundError(absl::StrCat(name, " answered HTTP ", status, " (not found)"));
  }
  if (status >= 300 && status < 400) {
    return absl::FailedPreconditionError(absl::StrCat(
        name, " answered HTTP ", status,
        " (a redirect), and redirects are not followed: configure the URL it leads to"));
  }
  if (status >= 500) return absl::UnavailableError(absl::StrCat(name, " answered HTTP ", status));
  return absl::FailedPreconditionError(absl::StrCat(name, " answered HTTP ", status));
}

bool StrongEtag(const std::string& etag) { return !etag.empty() && !absl::StartsWith(etag, "W/"); }

class HttpSource : public Source {
 public:
  HttpSource(HttpUpstream u, bool live, const nlohmann::json& found)
      : u_(std::move(u)), live_(live), name_(curl_internal::RedactUrl(u_.url)) {
    if (found.is_object() && found.contains("size") && found["size"].is_number_unsigned()) {
      size_ = found["size"].get<std::uint64_t>();
      if (auto it = found.find("etag"); it != found.end() && it->is_string()) {
        etag_ = it->get<std::string>();
      }
      if (auto it = found.find("last_modified"); it != found.end() && it->is_string()) {
        last_modified_ = it->get<std::string>();
      }
    }
  }

  absl::StatusOr<Description> Describe(const Progress& progress) override {
    HANSE_RETURN_IF_ERROR(CheckUpstream(u_));
    HANSE_ASSIGN_OR_RETURN(std::unique_ptr<Stream> s, Stream::Start(Base()));
    if (s->status() < 200 || s->status() >= 300) return HttpError(name_, s->status());
    Description d;
    d.kind = "http";
    d.record = nlohmann::json::object();
    if (auto ct = s->header("content-type"); ct && !ct->empty()) d.record["content_type"] = *ct;
    if (live_) {
      // The headers show the upstream answers; its body is for the fetches. Dropping the stream
      // closes the connection.
      d.live = true;
      return d;
    }
    const std::uint64_t total = s->announced_length().value_or(0);
    if (progress) progress(0, total);
    trust::Sha256Stream hash;
    std::string buf(kHashChunk, '\0');
    std::uint64_t done = 0;
    while (true) {
      HANSE_ASSIGN_OR_RETURN(size_t n, s->Read(buf.data(), buf.size()));
      if (n == 0) break;
      hash.Update(absl::string_view(buf.data(), n));
      done += n;
      if (progress) progress(done, total);
    }
    size_ = done;
    etag_ = s->header("etag").value_or("");
    last_modified_ = s->header("last-modified").value_or("");
    d.byte_size = done;
    d.sha256 = hash.HexDigest();
    d.record["size"] = done;
    if (!etag_.empty()) d.record["etag"] = etag_;
    if (!last_modified_.empty()) d.record["last_modified"] = last_modified_;
    return d;
  }

  absl::StatusOr<std::unique_ptr<Reader>> Open(std::uint64_t offset) override {
    HANSE_RETURN_IF_ERROR(CheckUpstream(u_));
    if (live_) {
      if (offset > 0) {
        return absl::FailedPreconditionError("a live source cannot resume; fetch again");
      }
      HANSE_ASSIGN_OR_RETURN(std::unique_ptr<Stream> s, Stream::Start(Base()));
      if (s->status() < 200 || s->status() >= 300) return HttpError(name_, s->status());
      return std::unique_ptr<Reader>(new StreamReader(std::move(s)));
    }
    if (!size_) {
      return absl::FailedPreconditionError(
          absl::StrCat(name_, " has not been described (no size recorded)"));
    }
    const std::uint64_t size = *size_;
    if (offset > size) {
      return absl::OutOfRangeError(
          absl::StrCat("offset ", offset, " is past the end of ", name_, " (", size, " bytes)"));
    }
    Request r = Base();
    if (StrongEtag(etag_)) {
      r.headers.push_back(absl::StrCat("If-Match: ", etag_));
    } else if (!last_modified_.empty()) {
      r.headers.push_back(absl::StrCat("If-Unmodified-Since: ", last_modified_));
    }
    // At the end there is nothing to ask for ("bytes=SIZE-" is not satisfiable): the whole
    // resource's headers still show whether it changed, and the stream is dropped unread.
    const bool at_end = offset == size;
    if (offset > 0 && !at_end) r.headers.push_back(absl::StrCat("Range: bytes=", offset, "-"));
    HANSE_ASSIGN_OR_RETURN(std::unique_ptr<Stream> s, Stream::Start(r));
    const long status = s->status();
    if (status == 412) return Changed("its validators no longer match");
    if (status == 416) return Changed("it is shorter now");
    if (status < 200 || status >= 300) return HttpError(name_, status);
    // A server may ignore If-Match or If-Unmodified-Since: compare what it says it sends.
    if (auto got = s->header("etag"); got && !etag_.empty() && *got != etag_) {
      return Changed(absl::StrCat("ETag ", etag_, " when published, ", *got, " now"));
    }
    if (auto got = s->header("last-modified");
        got && !last_modified_.empty() && *got != last_modified_) {
      return Changed(
          absl::StrCat("Last-Modified ", last_modified_, " when published, ", *got, " now"));
    }
    if (status == 206) {
      auto range = curl_internal::ParseContentRange(s->header("content-range").value_or(""));
      if (!range) {
        return absl::DataLossError(
            absl::StrCat(name_, " sent a partial response without a valid Content-Range"));
      }
      if (range->total && *range->total != size) {
        return Changed(absl::StrCat(size, " bytes when published, ", *range->total, " now"));
      }
      if (range->first != offset || range->last + 1 != size) {
        return absl::DataLossError(absl::StrCat(name_, ": asked for bytes ", offset, "-", size - 1,
                                                ", the server sent ", range->first, "-",
                                                range->last));
      }
    } else if (offset > 0 && !at_end) {
      return absl::FailedPreconditionError(absl::StrCat(
          name_, " ignored the range request (HTTP ", status,
          " with the whole body instead of 206): it cannot resume a transfer at byte ", offset));
    } else if (auto len = s->announced_length(); len && *len != size) {
      return Changed(absl::StrCat(size, " bytes when published, ", *len, " now"));
    }
    if (at_end) return std::unique_ptr<Reader>(new StreamReader(nullptr));
    HANSE_RETURN_IF_ERROR(s->ExpectLength(size - offset));
    return std::unique_ptr<Reader>(new StreamReader(std::move(s)));
  }

 private:
  Request Base() const {
    Request r;
    r.url = u_.url;
    r.headers = u_.headers;
    r.ca_file = u_.ca_file;
    r.name = name_;
    return r;
  }

  absl::Status Changed(absl::string_view what) const {
    return absl::FailedPreconditionError(
        absl::StrCat(name_, " changed since it was published (", what, "); republish the dataset"));
  }

  HttpUpstream u_;
  bool live_;
  std::string name_;  // the URL without user info or query, for messages
  std::optional<std::uint64_t> size_;
  std::string etag_;
  std::string last_modified_;
};

}  // namespace

std::unique_ptr<Source> MakeHttpSource(HttpUpstream upstream, bool live, nlohmann::json found) {
  return std::make_unique<HttpSource>(std::move(upstream), live, found);
}

}  // namespace hanse::node::source
