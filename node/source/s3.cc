#include "node/source/s3.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status.h"
#include "node/source/curl_util.h"
#include "trust/sha256_stream.h"

namespace hanse::node::source {
namespace {

using curl_internal::Request;
using curl_internal::Stream;
using curl_internal::StreamReader;

// SHA-256 of the empty payload: what libcurl hashes into the signature of a GET or HEAD, sent
// as x-amz-content-sha256, which SigV4 requires of every S3 request (libcurl 7.88 does not
// add it).
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// A listing page holds at most 1000 keys of at most 1 KiB each, as XML.
constexpr size_t kMaxListPage = 8 << 20;
constexpr size_t kMaxErrorDocument = 16 << 10;
constexpr size_t kHashChunk = 256 << 10;

std::string Endpoint(const S3Location& w) {
  return std::string(absl::StripSuffix(w.endpoint, "/"));
}

// The endpoint as errors name it (no user info or query, no trailing '/').
std::string EndpointName(const S3Location& w) {
  return std::string(absl::StripSuffix(curl_internal::RedactUrl(Endpoint(w)), "/"));
}

std::string Name(const S3Location& w) { return absl::StrCat("s3://", w.bucket, "/", w.key); }

std::string Sha256Hex(absl::string_view data) {
  trust::Sha256Stream h;
  h.Update(data);
  return h.HexDigest();
}

bool Signed(const S3Credentials& c) { return !c.access_key_id.empty(); }

bool HasLineBreak(absl::string_view s) {
  return s.find_first_of("\r\n") != absl::string_view::npos;
}

absl::Status CheckLocation(const S3Location& w, const S3Credentials& c, bool object) {
  HANSE_RETURN_IF_ERROR(curl_internal::CheckHttpUrl(w.endpoint, "the S3 endpoint"));
  if (w.bucket.empty() || w.bucket.size() > 255 ||
      w.bucket.find_first_of("/?#% \t\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("the S3 bucket name \"", w.bucket, "\" is not valid"));
  }
  if (object && w.key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no object key given for bucket ", w.bucket));
  }
  if (w.key.size() > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("the S3 key in bucket ", w.bucket, " is longer than 1024 bytes"));
  }
  if (w.region.find_first_of(":/ \r\n") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("the S3 region \"", w.region, "\" is not valid"));
  }
  // Said without the values: they are secrets.
  if (Signed(c) != !c.secret_access_key.empty()) {
    return absl::InvalidArgumentError(
        "S3 credentials need both an access key id and a secret access key");
  }
  if (c.access_key_id.find(':') != std::string::npos || HasLineBreak(c.access_key_id) ||
      HasLineBreak(c.secret_access_key) || HasLineBreak(c.session_token)) {
    return absl::InvalidArgumentError("the S3 credentials hold characters they cannot have");
  }
  if (!c.session_token.empty() && !Signed(c)) {
    return absl::InvalidArgumentError("an S3 session token needs an access key id and secret");
  }
  return absl::OkStatus();
}

// A request to `url`, signed when there are credentials.
Request Base(const S3Location& w, const S3Credentials& c, std::string method, std::string url,
             absl::string_view payload_sha256 = kEmptySha256) {
  Request r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.ca_file = w.ca_file;
  r.name = absl::StrCat("the S3 endpoint ", EndpointName(w));
  if (Signed(c)) {
    r.aws_sigv4 = absl::StrCat("aws:amz:", w.region.empty() ? "us-east-1" : w.region, ":s3");
    r.userpwd = absl::StrCat(c.access_key_id, ":", c.secret_access_key);
    r.headers.push_back(absl::StrCat("x-amz-content-sha256: ", payload_sha256));
    if (!c.session_token.empty()) {
      r.headers.push_back(absl::StrCat("x-amz-security-token: ", c.session_token));
    }
  }
  return r;
}

// An S3 error response as a status: the error document's Code (and Message) when there is one.
absl::Status S3Error(const S3Location& w, long status, const std::string& body,
                     absl::string_view what) {
  const std::string code = s3_internal::XmlValue(body, "Code");
  const std::string message = s3_internal::XmlValue(body, "Message");
  const std::string endpoint = EndpointName(w);
  std::string detail = code.empty() ? absl::StrCat("HTTP ", status) : code;
  if (!message.empty()) absl::StrAppend(&detail, ": ", message);
  if (code == "NoSuchBucket") {
    return absl::NotFoundError(
        absl::StrCat("the bucket ", w.bucket, " does not exist at ", endpoint));
  }
  if (status == 404) {
    return absl::NotFoundError(absl::StrCat("no ", what, " at ", endpoint, " (", detail, ")"));
  }
  if (status == 401 || status == 403) {
    return absl::PermissionDeniedError(
        absl::StrCat("access to the bucket ", w.bucket, " at ", endpoint, " was denied (", detail,
                     "): check the credentials and the bucket's policy"));
  }
  if (status == 301 || status == 307 || code == "AuthorizationHeaderMalformed") {
    return absl::FailedPreconditionError(absl::StrCat(endpoint, " refused ", what, " (", detail,
                                                      "): check the endpoint and the region"));
  }
  if (status >= 500) {
    return absl::UnavailableError(absl::StrCat(endpoint, " failed on ", what, " (", detail, ")"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat(endpoint, " refused ", what, " (", detail, ")"));
}

absl::Status Changed(const S3Location& w, const std::string& etag,
                     const std::optional<std::string>& now, bool describing) {
  if (describing) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the object ", Name(w), " changed while it was being described; publish it again"));
  }
  std::string was = absl::StrCat("ETag ", etag, " when published");
  if (now) absl::StrAppend(&was, ", ", *now, " now");
  return absl::FailedPreconditionError(absl::StrCat(
      "the object ", Name(w), " changed since it was published (", was, "); republish it"));
}

absl::StatusOr<std::unique_ptr<Reader>> OpenPinned(const S3Location& w, const S3Credentials& c,
                                                   const std::string& etag, std::uint64_t size,
                                                   std::uint64_t offset, bool describing) {
  HANSE_RETURN_IF_ERROR(CheckLocation(w, c, true));
  if (etag.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no ETag is recorded for ", Name(w), ": publish it again"));
  }
  if (offset > size) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset, " is past the end of ", Name(w), " (", size, " bytes)"));
  }
  const std::string url = s3_internal::ObjectUrl(w);
  if (offset == size && size > 0) {
    // Nothing left to send, and "bytes=SIZE-" is not a range S3 accepts: only check that the
    // object is still the one described.
    HANSE_ASSIGN_OR_RETURN(curl_internal::Response head,
                           curl_internal::Perform(Base(w, c, "HEAD", url), 0));
    if (head.status < 200 || head.status >= 300) {
      return S3Error(w, head.status, "", absl::StrCat("object ", Name(w)));
    }
    if (head.header("etag") != etag) return Changed(w, etag, head.header("etag"), describing);
    std::uint64_t len = 0;
    if (auto cl = head.header("content-length");
        !cl || !absl::SimpleAtoi(*cl, &len) || len != size) {
      return Changed(w, etag, head.header("etag"), describing);
    }
    return std::unique_ptr<Reader>(new StreamReader(nullptr));
  }
  Request r = Base(w, c, "GET", url);
  r.headers.push_back(absl::StrCat("If-Match: ", etag));
  // Offset 0 asks for the whole object: "bytes=0-" of an empty object is not satisfiable.
  if (offset > 0) r.headers.push_back(absl::StrCat("Range: bytes=", offset, "-"));
  HANSE_ASSIGN_OR_RETURN(std::unique_ptr<Stream> s, Stream::Start(r));
  const long status = s->status();
  // 412: If-Match failed. 416: the range starts past a shorter object's end.
  if (status == 412 || status == 416) return Changed(w, etag, std::nullopt, describing);
  if (status < 200 || status >= 300) {
    return S3Error(w, status, s->ReadErrorBody(kMaxErrorDocument),
                   absl::StrCat("object ", Name(w)));
  }
  // Not every S3-compatible server honours If-Match: check what it says it sends.
  if (auto got = s->header("etag"); got && *got != etag) {
    return Changed(w, etag, got, describing);
  }
  if (status == 206) {
    auto range = curl_internal::ParseContentRange(s->header("content-range").value_or(""));
    if (!range) {
      return absl::DataLossError(
          absl::StrCat(Name(w), ": a partial response without a valid Content-Range"));
    }
    if (range->total && *range->total != size) return Changed(w, etag, std::nullopt, describing);
    if (range->first != offset || range->last + 1 != size) {
      return absl::DataLossError(absl::StrCat(Name(w), ": asked for bytes ", offset, "-", size - 1,
                                              ", the server sent ", range->first, "-",
                                              range->last));
    }
  } else if (offset > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(EndpointName(w), " answered a ranged read of ", Name(w),
                     " with the whole object (HTTP ", status, "): it cannot resume a transfer"));
  } else if (auto len = s->announced_length(); len && *len != size) {
    return Changed(w, etag, std::nullopt, describing);
  }
  HANSE_RETURN_IF_ERROR(s->ExpectLength(size - offset), Name(w));
  return std::unique_ptr<Reader>(new StreamReader(std::move(s)));
}

class S3ObjectSource : public Source {
 public:
  S3ObjectSource(S3Location w, S3Credentials c, const nlohmann::json& found)
      : w_(std::move(w)), c_(std::move(c)) {
    if (found.is_object() && found.contains("etag") && found["etag"].is_string() &&
        found.contains("size") && found["size"].is_number_unsigned()) {
      etag_ = found["etag"].get<std::string>();
      size_ = found["size"].get<std::uint64_t>();
    }
  }

  absl::StatusOr<Description> Describe(const Progress& progress) override {
    HANSE_RETURN_IF_ERROR(CheckLocation(w_, c_, true));
    const std::string url = s3_internal::ObjectUrl(w_);
    const std::string what = absl::StrCat("object ", Name(w_));
    HANSE_ASSIGN_OR_RETURN(curl_internal::Response head,
                           curl_internal::Perform(Base(w_, c_, "HEAD", url), 0));
    if (head.status < 200 || head.status >= 300) {
      // A HEAD error has no body, so no S3 error code (NoSuchBucket or NoSuchKey?): a GET of
      // one byte has.
      Request get = Base(w_, c_, "GET", url);
      get.headers.push_back("Range: bytes=0-0");
      auto again = curl_internal::Perform(get, kMaxErrorDocument);
      if (again.ok() && (again->status < 200 || again->status >= 300)) {
        return S3Error(w_, again->status, again->body, what);
      }
      return S3Error(w_, head.status, "", what);
    }
    std::optional<std::string> etag = head.header("etag");
    if (!etag || etag->empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(EndpointName(w_), " gave no ETag for ", Name(w_),
                       ": without one a changed object cannot be told apart"));
    }
    std::uint64_t size = 0;
    if (auto cl = head.header("content-length"); !cl || !absl::SimpleAtoi(*cl, &size)) {
      return absl::FailedPreconditionError(
          absl::StrCat(EndpointName(w_), " gave no size for ", Name(w_)));
    }
    if (progress) progress(0, size);
    HANSE_ASSIGN_OR_RETURN(std::unique_ptr<Reader> r, OpenPinned(w_, c_, *etag, size, 0, true));
    trust::Sha256Stream hash;
    std::string buf(kHashChunk, '\0');
    std::uint64_t done = 0;
    while (true) {
      HANSE_ASSIGN_OR_RETURN(size_t n, r->Read(buf.data(), buf.size()));
      if (n == 0) break;
      hash.Update(absl::string_view(buf.data(), n));
      done += n;
      if (progress) progress(done, size);
    }
    etag_ = *etag;
    size_ = size;
    Description d;
    d.kind = "s3";
    d.byte_size = size;
    d.sha256 = hash.HexDigest();
    d.record = {{"etag", *etag}, {"size", size}};
    return d;
  }

  absl::StatusOr<std::unique_ptr<Reader>> Open(std::uint64_t offset) override {
    if (etag_.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(Name(w_), " has not been described (no ETag and size recorded)"));
    }
    return OpenPinned(w_, c_, etag_, size_, offset, false);
  }

 private:
  S3Location w_;
  S3Credentials c_;
  std::string etag_;
  std::uint64_t size_ = 0;
};

// Where the element `tag` starts in `xml` at or after `from`: "<tag>", "<tag ...>" or "<tag/>"
// (not "<tagged>"). Sets `inner` to its content.
size_t FindElement(absl::string_view xml, absl::string_view tag, size_t from,
                   absl::string_view* inner) {
  const std::string open = absl::StrCat("<", tag);
  const std::string close = absl::StrCat("</", tag, ">");
  while (true) {
    const size_t at = xml.find(open, from);
    if (at == absl::string_view::npos) return at;
    const size_t after = at + open.size();
    if (after >= xml.size()) return absl::string_view::npos;
    const char c = xml[after];
    if (c != '>' && c != '/' && !absl::ascii_isspace(static_cast<unsigned char>(c))) {
      from = after;
      continue;
    }
    const size_t gt = xml.find('>', after);
    if (gt == absl::string_view::npos) return absl::string_view::npos;
    if (xml[gt - 1] == '/') {
      *inner = absl::string_view();
      return gt + 1;  // where to continue
    }
    const size_t end = xml.find(close, gt + 1);
    if (end == absl::string_view::npos) return absl::string_view::npos;
    *inner = xml.substr(gt + 1, end - gt - 1);
    return end + close.size();
  }
}

std::string XmlDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    const size_t semi = s.find(';', i);
    if (semi == absl::string_view::npos || semi - i > 10) {
      out.push_back('&');
      continue;
    }
    const absl::string_view ent = s.substr(i + 1, semi - i - 1);
    std::optional<std::uint32_t> cp;
    if (ent == "amp") cp = '&';
    if (ent == "lt") cp = '<';
    if (ent == "gt") cp = '>';
    if (ent == "quot") cp = '"';
    if (ent == "apos") cp = '\'';
    if (ent.size() > 1 && ent[0] == '#') {
      std::uint32_t v = 0;
      const bool hex = ent[1] == 'x' || ent[1] == 'X';
      if (hex ? absl::SimpleHexAtoi(ent.substr(2), &v) : absl::SimpleAtoi(ent.substr(1), &v)) {
        if (v > 0 && v <= 0x10FFFF) cp = v;
      }
    }
    if (!cp) {
      out.push_back('&');
      continue;
    }
    // UTF-8 of the code point.
    const std::uint32_t v = *cp;
    if (v < 0x80) {
      out.push_back(static_cast<char>(v));
    } else if (v < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (v >> 6)));
      out.push_back(static_cast<char>(0x80 | (v & 0x3F)));
    } else if (v < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (v >> 12)));
      out.push_back(static_cast<char>(0x80 | ((v >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (v & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (v >> 18)));
      out.push_back(static_cast<char>(0x80 | ((v >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((v >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (v & 0x3F)));
    }
    i = semi;
  }
  return out;
}

}  // namespace

std::unique_ptr<Source> MakeS3ObjectSource(S3Location location, S3Credentials credentials,
                                           nlohmann::json found) {
  return std::make_unique<S3ObjectSource>(std::move(location), std::move(credentials), found);
}

absl::StatusOr<std::unique_ptr<Reader>> OpenS3Object(const S3Location& where,
                                                     const S3Credentials& credentials,
                                                     const std::string& etag, std::uint64_t size,
                                                     std::uint64_t offset) {
  return OpenPinned(where, credentials, etag, size, offset, false);
}

absl::StatusOr<std::vector<S3Object>> ListS3Prefix(const S3Location& where,
                                                   const S3Credentials& credentials) {
  return s3_internal::ListS3Prefix(where, credentials, 1000, kMaxS3ListObjects);
}

namespace s3_internal {

std::string ObjectUrl(const S3Location& w) {
  return absl::StrCat(Endpoint(w), "/", curl_internal::UriEncode(w.bucket, false), "/",
                      curl_internal::UriEncode(w.key, true));
}

std::string XmlValue(const std::string& xml, const std::string& tag) {
  absl::string_view inner;
  if (FindElement(xml, tag, 0, &inner) == absl::string_view::npos) return {};
  return XmlDecode(inner);
}

absl::StatusOr<std::vector<S3Object>> ListS3Prefix(const S3Location& w, const S3Credentials& c,
                                                   int page_size, std::size_t max_objects) {
  HANSE_RETURN_IF_ERROR(CheckLocation(w, c, false));
  if (page_size < 1 || page_size > 1000) {
    return absl::InvalidArgumentError("an S3 listing page holds 1 to 1000 keys");
  }
  const std::string what = absl::StrCat("the listing of ", Name(w));
  std::vector<S3Object> out;
  std::string token;
  // Every page but the last should hold a key; the bound stops a server that says "more"
  // forever.
  for (std::size_t page = 0;; ++page) {
    if (page > max_objects + 10) {
      return absl::DataLossError(absl::StrCat(what, " does not end"));
    }
    // The query in SigV4's canonical form (parameters sorted, values encoded), which libcurl
    // 7.88 signs as it is given.
    std::string query;
    if (!token.empty()) {
      absl::StrAppend(&query, "continuation-token=", curl_internal::UriEncode(token, false), "&");
    }
    absl::StrAppend(&query, "encoding-type=url&list-type=2&max-keys=", page_size);
    if (!w.key.empty()) {
      absl::StrAppend(&query, "&prefix=", curl_internal::UriEncode(w.key, false));
    }
    const std::string url =
        absl::StrCat(Endpoint(w), "/", curl_internal::UriEncode(w.bucket, false), "?", query);
    HANSE_ASSIGN_OR_RETURN(curl_internal::Response r,
                           curl_internal::Perform(Base(w, c, "GET", url), kMaxListPage));
    if (r.status < 200 || r.status >= 300) return S3Error(w, r.status, r.body, what);
    // Keys come URL-encoded when the server honours encoding-type=url (and says so), which
    // keeps keys with characters XML cannot carry intact; some servers ignore it.
    const bool encoded = XmlValue(r.body, "EncodingType") == "url";
    absl::string_view body = r.body;
    absl::string_view inner;
    for (size_t at = FindElement(body, "Contents", 0, &inner); at != absl::string_view::npos;
         at = FindElement(body, "Contents", at, &inner)) {
      const std::string contents(inner);
      S3Object o;
      o.key = XmlValue(contents, "Key");
      if (encoded) o.key = curl_internal::UriDecode(o.key, true);
      o.etag = XmlValue(contents, "ETag");
      if (o.key.empty() || !absl::SimpleAtoi(XmlValue(contents, "Size"), &o.size)) {
        return absl::DataLossError(absl::StrCat(what, " has an entry without a key or size"));
      }
      if (!absl::StartsWith(o.key, w.key)) {
        return absl::DataLossError(
            absl::StrCat(what, " returned the key ", o.key, ", which is not under the prefix"));
      }
      if (absl::EndsWith(o.key, "/") && o.size == 0) continue;  // a console's "folder"
      if (out.size() >= max_objects) {
        return absl::FailedPreconditionError(absl::StrCat(Name(w), " holds more than ", max_objects,
                                                          " objects: publish a narrower prefix"));
      }
      out.push_back(std::move(o));
    }
    if (XmlValue(r.body, "IsTruncated") != "true") break;
    std::string next = XmlValue(r.body, "NextContinuationToken");
    if (next.empty() || next == token) {
      return absl::DataLossError(
          absl::StrCat(what, " is truncated but gives no new continuation token"));
    }
    token = std::move(next);
  }
  return out;
}

absl::Status Put(const S3Location& w, const S3Credentials& c, const std::string& body) {
  HANSE_RETURN_IF_ERROR(CheckLocation(w, c, false));
  const std::string url =
      w.key.empty() ? absl::StrCat(Endpoint(w), "/", curl_internal::UriEncode(w.bucket, false))
                    : ObjectUrl(w);
  Request r = Base(w, c, "PUT", url, Sha256Hex(body));
  r.body = body;
  r.headers.push_back("Content-Type: application/octet-stream");
  HANSE_ASSIGN_OR_RETURN(curl_internal::Response resp,
                         curl_internal::Perform(r, kMaxErrorDocument));
  if (resp.status < 200 || resp.status >= 300) {
    return S3Error(w, resp.status, resp.body, absl::StrCat("a PUT of ", Name(w)));
  }
  return absl::OkStatus();
}

}  // namespace s3_internal
}  // namespace hanse::node::source
