// The HTTP source against real servers the test starts: tests/support/range_http_server.py
// (ranges, validators, a required header, bodies longer or shorter than announced) and
// `python3 -m http.server` (which ignores Range).
#include "node/source/http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <utime.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/source/test_util.h"
#include "tests/support/s3_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace hanse::node::source {
namespace {

using ::hanse::node::source::testing::IndependentSha256;
using ::hanse::node::source::testing::Pattern;
using ::hanse::node::source::testing::ReadAll;

using ::hanse::testing::ChildProcess;
using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKeyHeader[] = "X-Api-Key";
constexpr char kKey[] = "k3y-SECRET-value";

class HttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ::hanse::testing::TempDir();
    range_ = new ChildProcess();
    plain_ = new ChildProcess();
    tls_ = new ChildProcess();
    start_ = new absl::Status(StartServers());
  }
  static void TearDownTestSuite() {
    delete range_;
    delete plain_;
    delete tls_;
    delete dir_;
    delete start_;
  }
  static absl::Status StartServers() {
    std::filesystem::create_directories(dir_->Sub("files"));
    auto range_port = ::hanse::testing::FreeTcpPort();
    if (!range_port.ok()) return range_port.status();
    range_port_ = *range_port;
    absl::Status s = range_->Start(
        {"python3", absl::StrCat(HANSE_SOURCE_DIR, "/tests/support/range_http_server.py"), "--port",
         std::to_string(range_port_), "--dir", dir_->Sub("files"), "--require-header",
         absl::StrCat(kKeyHeader, ": ", kKey)},
        dir_->Sub("range.log"));
    if (!s.ok()) return s;
    s = range_->WaitForPort(range_port_, std::chrono::seconds(30));
    if (!s.ok()) return s;
    auto plain_port = ::hanse::testing::FreeTcpPort();
    if (!plain_port.ok()) return plain_port.status();
    plain_port_ = *plain_port;
    s = plain_->Start({"python3", "-m", "http.server", std::to_string(plain_port_), "--bind",
                       "127.0.0.1", "--directory", dir_->Sub("files")},
                      dir_->Sub("plain.log"));
    if (!s.ok()) return s;
    s = plain_->WaitForPort(plain_port_, std::chrono::seconds(30));
    if (!s.ok()) return s;
    // HTTPS with a self-signed certificate for 127.0.0.1, which only ca_file makes trusted.
    const std::string cert = dir_->Sub("cert.pem");
    const std::string key = dir_->Sub("key.pem");
    const std::string openssl = absl::StrCat(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "
        "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout ",
        key, " -out ", cert, " >", dir_->Sub("openssl.log"), " 2>&1");
    if (std::system(openssl.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("openssl req failed: ", openssl));
    }
    auto tls_port = ::hanse::testing::FreeTcpPort();
    if (!tls_port.ok()) return tls_port.status();
    tls_port_ = *tls_port;
    s = tls_->Start(
        {"python3", absl::StrCat(HANSE_SOURCE_DIR, "/tests/support/range_http_server.py"), "--port",
         std::to_string(tls_port_), "--dir", dir_->Sub("files"), "--tls-cert", cert, "--tls-key",
         key},
        dir_->Sub("tls.log"));
    if (!s.ok()) return s;
    return tls_->WaitForPort(tls_port_, std::chrono::seconds(30));
  }

  void SetUp() override { ASSERT_THAT(*start_, IsOk()); }

  static void Write(const std::string& name, const std::string& data) {
    std::ofstream out(dir_->Sub("files/" + name), std::ios::binary | std::ios::trunc);
    out << data;
  }
  // Moves the file's modification time `seconds` forward (Last-Modified has 1 s resolution).
  static void Touch(const std::string& name, int seconds) {
    struct stat st {};
    ASSERT_EQ(::stat(dir_->Sub("files/" + name).c_str(), &st), 0);
    utimbuf t{st.st_atime + seconds, st.st_mtime + seconds};
    ASSERT_EQ(::utime(dir_->Sub("files/" + name).c_str(), &t), 0);
  }
  static HttpUpstream Upstream(const std::string& path) {
    return {.url = absl::StrCat("http://127.0.0.1:", range_port_, path),
            .headers = {absl::StrCat(kKeyHeader, ": ", kKey), "Accept: */*"}};
  }
  static HttpUpstream Plain(const std::string& path) {
    return {.url = absl::StrCat("http://127.0.0.1:", plain_port_, path)};
  }

  static ::hanse::testing::TempDir* dir_;
  static ChildProcess* range_;
  static ChildProcess* plain_;
  static ChildProcess* tls_;
  static absl::Status* start_;
  static int range_port_;
  static int plain_port_;
  static int tls_port_;
};

::hanse::testing::TempDir* HttpTest::dir_ = nullptr;
ChildProcess* HttpTest::range_ = nullptr;
ChildProcess* HttpTest::plain_ = nullptr;
ChildProcess* HttpTest::tls_ = nullptr;
absl::Status* HttpTest::start_ = nullptr;
int HttpTest::range_port_ = 0;
int HttpTest::plain_port_ = 0;
int HttpTest::tls_port_ = 0;

TEST_F(HttpTest, ALiveSourceStreamsEachFetchAndCannotResume) {
  const std::string data = Pattern(2 * 1024 * 1024 + 3, 1);
  Write("live.bin", data);
  for (const char* mode : {"/files/", "/chunked/"}) {
    auto src = MakeHttpSource(Upstream(absl::StrCat(mode, "live.bin")), /*live=*/true);
    HANSE_ASSERT_OK_AND_ASSIGN(Description d, src->Describe(nullptr));
    EXPECT_EQ(d.kind, "http");
    EXPECT_TRUE(d.live);
    EXPECT_EQ(d.byte_size, 0u);
    EXPECT_EQ(d.sha256, "");
    EXPECT_EQ(d.record.value("content_type", ""), "application/octet-stream");
    EXPECT_THAT(d.record.dump(), Not(HasSubstr(kKey)));
    HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(0));
    auto got = ReadAll(*r, 4096);  // small reads: the transfer pauses and resumes
    ASSERT_THAT(got, IsOk()) << mode;
    EXPECT_TRUE(*got == data) << mode;
    EXPECT_THAT(src->Open(5), StatusIs(absl::StatusCode::kFailedPrecondition,
                                       HasSubstr("a live source cannot resume; fetch again")));
  }
}

TEST_F(HttpTest, AStaticSourceIsHashedAndResumesAtAnOffset) {
  const std::string data = Pattern(3 * 1024 * 1024 + 11, 2);
  Write("static.bin", data);
  auto src = MakeHttpSource(Upstream("/files/static.bin"), /*live=*/false);
  std::uint64_t last_done = 0, last_total = 0;
  HANSE_ASSERT_OK_AND_ASSIGN(Description d,
                             src->Describe([&](std::uint64_t done, std::uint64_t total) {
                               last_done = done;
                               last_total = total;
                             }));
  EXPECT_FALSE(d.live);
  EXPECT_EQ(d.byte_size, data.size());
  EXPECT_EQ(d.sha256, IndependentSha256(data));
  EXPECT_EQ(last_done, data.size());
  EXPECT_EQ(last_total, data.size());
  EXPECT_EQ(d.record["size"], data.size());
  EXPECT_TRUE(d.record.contains("etag"));
  EXPECT_TRUE(d.record.contains("last_modified"));
  for (std::uint64_t offset :
       std::vector<std::uint64_t>{0, 1, 2000000, data.size() - 1, data.size()}) {
    HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(offset));
    auto got = ReadAll(*r);
    ASSERT_THAT(got, IsOk());
    EXPECT_TRUE(*got == data.substr(offset)) << "offset " << offset;
  }
  EXPECT_THAT(src->Open(data.size() + 1), StatusIs(absl::StatusCode::kOutOfRange));
  // Opened again from the record alone.
  HANSE_ASSERT_OK_AND_ASSIGN(
      auto r,
      MakeHttpSource(Upstream("/files/static.bin"), false, d.record)->Open(data.size() - 5));
  EXPECT_EQ(ReadAll(*r).value_or("(error)"), data.substr(data.size() - 5));
}

TEST_F(HttpTest, AChangedResourceIsRefused) {
  Write("changing.bin", "first version\n");
  auto src = MakeHttpSource(Upstream("/files/changing.bin"), false);
  HANSE_ASSERT_OK_AND_ASSIGN(Description d, src->Describe(nullptr));
  Write("changing.bin", "second version\n");
  // If-Match with the ETag: 412.
  EXPECT_THAT(src->Open(3), StatusIs(absl::StatusCode::kFailedPrecondition,
                                     HasSubstr("changed since it was published")));
  EXPECT_THAT(src->Open(0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("republish the dataset")));

  // Without an ETag, If-Unmodified-Since with Last-Modified: 412 too.
  Write("noetag.bin", "same size 1\n");
  auto weak = MakeHttpSource(Upstream("/noetag/noetag.bin"), false);
  HANSE_ASSERT_OK_AND_ASSIGN(Description w, weak->Describe(nullptr));
  EXPECT_FALSE(w.record.contains("etag"));
  HANSE_ASSERT_OK_AND_ASSIGN(auto ok, weak->Open(5));
  EXPECT_EQ(ReadAll(*ok).value_or("(error)"), "size 1\n");
  Write("noetag.bin", "same size 2\n");
  Touch("noetag.bin", 10);
  EXPECT_THAT(weak->Open(5), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("changed since it was published")));

  // python's http.server ignores If-Unmodified-Since: the Last-Modified it sends refuses it.
  Write("plain-change.txt", "abcdef\n");
  auto plain = MakeHttpSource(Plain("/plain-change.txt"), false);
  ASSERT_THAT(plain->Describe(nullptr), IsOk());
  Write("plain-change.txt", "ABCDEF\n");
  Touch("plain-change.txt", 10);
  EXPECT_THAT(plain->Open(0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("Last-Modified")));
}

TEST_F(HttpTest, AServerThatIgnoresRangeCannotResume) {
  const std::string data = Pattern(100000, 3);
  Write("plain.bin", data);
  auto src = MakeHttpSource(Plain("/plain.bin"), false);
  HANSE_ASSERT_OK_AND_ASSIGN(Description d, src->Describe(nullptr));
  EXPECT_EQ(d.sha256, IndependentSha256(data));
  HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(0));
  EXPECT_EQ(ReadAll(*r).value_or("(error)"), data);
  EXPECT_THAT(src->Open(10), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("ignored the range request (HTTP 200")));
}

TEST_F(HttpTest, TheConfiguredAuthHeaderIsNeededAndNeverShown) {
  Write("auth.bin", "guarded");
  HttpUpstream without = Upstream("/files/auth.bin");
  without.headers = {"Accept: */*"};
  EXPECT_THAT(MakeHttpSource(without, true)->Describe(nullptr),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("401")));
  HttpUpstream wrong = Upstream("/files/auth.bin");
  wrong.headers = {absl::StrCat(kKeyHeader, ": not-", kKey)};
  auto s = MakeHttpSource(wrong, false)->Describe(nullptr);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(s.status().message(), Not(HasSubstr(kKey)));
  HANSE_ASSERT_OK_AND_ASSIGN(auto r, MakeHttpSource(Upstream("/files/auth.bin"), true)->Open(0));
  EXPECT_EQ(ReadAll(*r).value_or("(error)"), "guarded");
}

TEST_F(HttpTest, ABodyLongerOrShorterThanAnnouncedIsDataLoss) {
  Write("framing.bin", Pattern(50000, 4));
  auto over_live = MakeHttpSource(Upstream("/over/framing.bin"), true);
  HANSE_ASSERT_OK_AND_ASSIGN(auto r, over_live->Open(0));
  EXPECT_THAT(ReadAll(*r), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("sent more than")));
  EXPECT_THAT(MakeHttpSource(Upstream("/over/framing.bin"), false)->Describe(nullptr),
              StatusIs(absl::StatusCode::kDataLoss));
  HANSE_ASSERT_OK_AND_ASSIGN(auto s, MakeHttpSource(Upstream("/short/framing.bin"), true)->Open(0));
  EXPECT_THAT(ReadAll(*s), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("announced")));
  EXPECT_THAT(MakeHttpSource(Upstream("/short/framing.bin"), false)->Describe(nullptr),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(HttpTest, ErrorsNameTheUrlWithoutItsSecrets) {
  auto port = ::hanse::testing::FreeTcpPort();
  ASSERT_THAT(port, IsOk());
  HttpUpstream down{.url = absl::StrCat("http://127.0.0.1:", *port, "/x")};
  EXPECT_THAT(
      MakeHttpSource(down, true)->Describe(nullptr),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr(absl::StrCat("127.0.0.1:", *port))));
  EXPECT_THAT(MakeHttpSource(down, true)->Open(0), StatusIs(absl::StatusCode::kUnavailable));

  HttpUpstream missing = Upstream("/files/missing.bin?token=QUERY-SECRET");
  missing.url = absl::StrCat("http://user:PASS-SECRET@127.0.0.1:", range_port_,
                             "/files/missing.bin?token=QUERY-SECRET");
  auto s = MakeHttpSource(missing, false)->Describe(nullptr);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, HasSubstr("/files/missing.bin")));
  EXPECT_THAT(s.status().message(), Not(HasSubstr("SECRET")));

  HttpUpstream ranged = Upstream("/files/x");
  ranged.headers.push_back("Range: bytes=0-");
  EXPECT_THAT(MakeHttpSource(ranged, false)->Describe(nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Range")));
  HttpUpstream malformed = Upstream("/files/x");
  malformed.headers = {"no-colon-SECRET"};
  auto m = MakeHttpSource(malformed, false)->Describe(nullptr);
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Name: value")));
  EXPECT_THAT(m.status().message(), Not(HasSubstr("SECRET")));
  HttpUpstream injected = Upstream("/files/x");
  injected.headers = {"X-A: b\r\nX-Injected: SECRET"};
  EXPECT_THAT(MakeHttpSource(injected, false)->Describe(nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("SECRET"))));
  EXPECT_THAT(MakeHttpSource({.url = "file:///etc/passwd"}, false)->Describe(nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeHttpSource(Upstream("/files/x"), false)->Open(0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not been described")));
}

TEST_F(HttpTest, TlsIsVerifiedAgainstTheSystemOrTheConfiguredCa) {
  const std::string data = Pattern(300000, 6);
  Write("tls.bin", data);
  HttpUpstream u{.url = absl::StrCat("https://127.0.0.1:", tls_port_, "/files/tls.bin")};
  EXPECT_THAT(MakeHttpSource(u, false)->Describe(nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("ca_file")));
  u.ca_file = dir_->Sub("cert.pem");
  auto src = MakeHttpSource(u, false);
  HANSE_ASSERT_OK_AND_ASSIGN(Description d, src->Describe(nullptr));
  EXPECT_EQ(d.sha256, IndependentSha256(data));
  HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(1000));
  EXPECT_EQ(ReadAll(*r).value_or("(error)"), data.substr(1000));
}

TEST_F(HttpTest, AReaderDroppedMidStreamCleansUp) {
  const std::string data = Pattern(8 << 20, 5);
  Write("big.bin", data);
  auto src = MakeHttpSource(Upstream("/files/big.bin"), false);
  HANSE_ASSERT_OK_AND_ASSIGN(Description d, src->Describe(nullptr));
  for (int i = 0; i < 3; ++i) {
    HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(i * 4096));
    char buf[10];
    HANSE_ASSERT_OK_AND_ASSIGN(size_t n, r->Read(buf, sizeof(buf)));
    EXPECT_EQ(std::string(buf, n), data.substr(i * 4096, n));
  }
  HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(0));
  EXPECT_EQ(IndependentSha256(ReadAll(*r).value_or("")), d.sha256);
}

}  // namespace
}  // namespace hanse::node::source
