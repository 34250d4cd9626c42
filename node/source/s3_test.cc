// The S3 source against s3rver, a real S3 emulator (npm), started by the test on a free port.
// Without node or s3rver the tests fail, unless HANSE_SKIP_S3=1 says to skip them.
#include "node/source/s3.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/source/test_util.h"
#include "tests/support/s3_server.h"
#include "tests/support/status_matchers.h"

namespace hanse::node::source {
namespace {

using ::hanse::node::source::testing::IndependentSha256;
using ::hanse::node::source::testing::Pattern;
using ::hanse::node::source::testing::ReadAll;

using ::hanse::testing::IsOk;
using ::hanse::testing::S3Server;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

class S3Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new S3Server();
    start_ = new absl::Status(server_->Start(HANSE_SOURCE_DIR));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete start_;
    server_ = nullptr;
    start_ = nullptr;
  }

  void SetUp() override {
    if (!start_->ok()) {
      const char* skip = std::getenv("HANSE_SKIP_S3");
      if (skip != nullptr && std::string(skip) == "1") {
        GTEST_SKIP() << "HANSE_SKIP_S3=1: " << start_->ToString();
      }
      FAIL() << "s3rver did not start (set HANSE_SKIP_S3=1 to skip): " << start_->ToString();
    }
    static int n = 0;
    bucket_ = absl::StrCat("bucket-", ++n);
    ASSERT_THAT(s3_internal::Put(Loc(""), Creds(), ""), IsOk()) << server_->Log();
  }

  S3Location Loc(const std::string& key, const std::string& bucket = "") const {
    return {.endpoint = server_->endpoint(),
            .region = "us-east-1",
            .bucket = bucket.empty() ? bucket_ : bucket,
            .key = key};
  }
  static S3Credentials Creds() {
    return {.access_key_id = S3Server::kAccessKey, .secret_access_key = S3Server::kSecretKey};
  }
  void Put(const std::string& key, const std::string& body) {
    ASSERT_THAT(s3_internal::Put(Loc(key), Creds(), body), IsOk()) << server_->Log();
  }

  static S3Server* server_;
  static absl::Status* start_;
  std::string bucket_;
};

S3Server* S3Test::server_ = nullptr;
absl::Status* S3Test::start_ = nullptr;

TEST_F(S3Test, DescribeHashesTheObjectAndOpenReadsItAtAnyOffset) {
  const std::string data = Pattern(3 * 1024 * 1024 + 17, 1);
  Put("data/scan.bin", data);
  auto src = MakeS3ObjectSource(Loc("data/scan.bin"), Creds());
  std::uint64_t last_done = 0, last_total = 0;
  int calls = 0;
  HANSE_ASSERT_OK_AND_ASSIGN(Description d,
                             src->Describe([&](std::uint64_t done, std::uint64_t total) {
                               EXPECT_GE(done, last_done);
                               last_done = done;
                               last_total = total;
                               ++calls;
                             }));
  EXPECT_EQ(d.kind, "s3");
  EXPECT_FALSE(d.live);
  EXPECT_EQ(d.byte_size, data.size());
  EXPECT_EQ(d.sha256, IndependentSha256(data));
  EXPECT_EQ(last_done, data.size());
  EXPECT_EQ(last_total, data.size());
  EXPECT_GT(calls, 2);
  ASSERT_TRUE(d.record.contains("etag"));
  EXPECT_EQ(d.record["size"], data.size());
  EXPECT_THAT(d.record.dump(), Not(HasSubstr(S3Server::kSecretKey)));

  HANSE_ASSERT_OK_AND_ASSIGN(auto whole, src->Open(0));
  EXPECT_EQ(ReadAll(*whole).value_or("(error)"), data);
  // Small reads: the stream pauses and resumes the transfer many times.
  for (std::uint64_t offset : std::vector<std::uint64_t>{1, 1234567, data.size() - 1}) {
    HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(offset));
    auto got = ReadAll(*r, offset == 1 ? 4096 : 65536);
    ASSERT_THAT(got, IsOk());
    EXPECT_TRUE(*got == data.substr(offset)) << "offset " << offset;
  }
  HANSE_ASSERT_OK_AND_ASSIGN(auto at_end, src->Open(data.size()));
  EXPECT_EQ(ReadAll(*at_end).value_or("(error)"), "");
  EXPECT_THAT(src->Open(data.size() + 1), StatusIs(absl::StatusCode::kOutOfRange));

  // A source made from the record opens without describing again.
  auto again = MakeS3ObjectSource(Loc("data/scan.bin"), Creds(), d.record);
  HANSE_ASSERT_OK_AND_ASSIGN(auto r, again->Open(data.size() - 10));
  EXPECT_EQ(ReadAll(*r).value_or("(error)"), data.substr(data.size() - 10));
}

TEST_F(S3Test, KeysAreEncodedPerSegment) {
  const std::string key = "dir one/caf\xc3\xa9+b&c=d;e,f/(x)~'y'.csv";
  Put(key, "a,b\n1,2\n");
  auto src = MakeS3ObjectSource(Loc(key), Creds());
  HANSE_ASSERT_OK_AND_ASSIGN(Description d, src->Describe(nullptr));
  EXPECT_EQ(d.sha256, IndependentSha256("a,b\n1,2\n"));
  HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(4));
  EXPECT_EQ(ReadAll(*r).value_or("(error)"), "1,2\n");
}

TEST_F(S3Test, EmptyObject) {
  Put("empty", "");
  auto src = MakeS3ObjectSource(Loc("empty"), Creds());
  HANSE_ASSERT_OK_AND_ASSIGN(Description d, src->Describe(nullptr));
  EXPECT_EQ(d.byte_size, 0u);
  EXPECT_EQ(d.sha256, IndependentSha256(""));
  HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(0));
  EXPECT_EQ(ReadAll(*r).value_or("(error)"), "");
}

TEST_F(S3Test, AChangedObjectIsRefused) {
  Put("report.csv", "version one\n");
  auto src = MakeS3ObjectSource(Loc("report.csv"), Creds());
  HANSE_ASSERT_OK_AND_ASSIGN(Description d, src->Describe(nullptr));
  Put("report.csv", "version two, longer\n");
  // s3rver ignores If-Match; what refuses it here is the ETag the response names. Against S3
  // itself, If-Match (412) refuses it first, with the same error.
  for (std::uint64_t offset : std::vector<std::uint64_t>{0, 3, d.byte_size}) {
    EXPECT_THAT(src->Open(offset),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr(absl::StrCat("the object s3://", bucket_,
                                                "/report.csv changed since it was published "
                                                "(ETag ",
                                                d.record["etag"].get<std::string>()))))
        << "offset " << offset;
  }
  EXPECT_THAT(OpenS3Object(Loc("report.csv"), Creds(), d.record["etag"], d.byte_size, 0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("republish it")));
}

TEST_F(S3Test, OpenBeforeDescribeIsRefused) {
  Put("x", "x");
  EXPECT_THAT(MakeS3ObjectSource(Loc("x"), Creds())->Open(0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not been described")));
}

TEST_F(S3Test, MissingBucketAndKeyAreNamed) {
  EXPECT_THAT(
      MakeS3ObjectSource(Loc("k", "no-such-bucket"), Creds())->Describe(nullptr),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("the bucket no-such-bucket does not exist")));
  EXPECT_THAT(MakeS3ObjectSource(Loc("no/such/key"), Creds())->Describe(nullptr),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr(absl::StrCat("no object s3://", bucket_, "/no/such/key"))));
  EXPECT_THAT(ListS3Prefix(Loc("p/", "no-such-bucket"), Creds()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no-such-bucket")));
  EXPECT_THAT(OpenS3Object(Loc("no/such/key"), Creds(), "\"e\"", 10, 2),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("s3://")));
}

TEST_F(S3Test, WrongCredentialsArePermissionDeniedWithoutTheSecret) {
  Put("secret.bin", "data");
  // s3rver checks the access key id, not the signature (its SigV4 check is a stub), so a wrong
  // key id is what can be tested here; a wrong secret would pass against it.
  const S3Credentials wrong{.access_key_id = "NOT-A-KEY", .secret_access_key = "TOPSECRET-123"};
  auto s = MakeS3ObjectSource(Loc("secret.bin"), wrong)->Describe(nullptr);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied,
                          HasSubstr(absl::StrCat("the bucket ", bucket_))));
  EXPECT_THAT(s.status().message(), Not(HasSubstr("TOPSECRET")));
  EXPECT_THAT(ListS3Prefix(Loc(""), wrong),
              StatusIs(absl::StatusCode::kPermissionDenied, Not(HasSubstr("TOPSECRET"))));
  EXPECT_THAT(OpenS3Object(Loc("secret.bin"), wrong, "\"x\"", 4, 0),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(S3Test, ListingAPrefixFollowsContinuationTokens) {
  std::vector<std::string> keys = {"p/a", "p/b b", "p/c/d", "p/c/e+f", "p/z"};
  for (size_t i = 0; i < keys.size(); ++i) Put(keys[i], Pattern(100 + i, i));
  Put("p/folder/", "");  // a console's folder marker: left out
  Put("q/outside", "x");
  Put("pp", "x");  // shares the first letter, not the prefix "p/"
  HANSE_ASSERT_OK_AND_ASSIGN(auto paged, s3_internal::ListS3Prefix(Loc("p/"), Creds(), 2, 100));
  ASSERT_EQ(paged.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(paged[i].key, keys[i]);
    EXPECT_EQ(paged[i].size, 100 + i);
    EXPECT_FALSE(paged[i].etag.empty());
    // What the listing names opens as it is.
    HANSE_ASSERT_OK_AND_ASSIGN(
        auto r, OpenS3Object(Loc(paged[i].key), Creds(), paged[i].etag, paged[i].size, 7));
    EXPECT_EQ(ReadAll(*r).value_or("(error)"), Pattern(100 + i, i).substr(7));
  }
  HANSE_ASSERT_OK_AND_ASSIGN(auto whole, ListS3Prefix(Loc("p/"), Creds()));
  ASSERT_EQ(whole.size(), keys.size());
  EXPECT_EQ(whole.back().key, "p/z");
  HANSE_ASSERT_OK_AND_ASSIGN(auto bucket, ListS3Prefix(Loc(""), Creds()));
  EXPECT_EQ(bucket.size(), keys.size() + 2);
  EXPECT_THAT(s3_internal::ListS3Prefix(Loc("p/"), Creds(), 2, 3),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("more than 3 objects")));
  HANSE_ASSERT_OK_AND_ASSIGN(auto none, ListS3Prefix(Loc("nothing/"), Creds()));
  EXPECT_TRUE(none.empty());
}

TEST_F(S3Test, AnUnreachableEndpointIsUnavailableAndNamed) {
  auto port = ::hanse::testing::FreeTcpPort();
  ASSERT_THAT(port, IsOk());
  S3Location w = Loc("k");
  w.endpoint = absl::StrCat("http://127.0.0.1:", *port);
  const std::string named = absl::StrCat("127.0.0.1:", *port);
  EXPECT_THAT(MakeS3ObjectSource(w, Creds())->Describe(nullptr),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(named)));
  EXPECT_THAT(ListS3Prefix(w, Creds()), StatusIs(absl::StatusCode::kUnavailable, HasSubstr(named)));
  EXPECT_THAT(OpenS3Object(w, Creds(), "\"e\"", 10, 2),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(named)));
}

TEST_F(S3Test, ALocationThatCannotBeRightIsInvalid) {
  S3Location w = Loc("k");
  w.endpoint = "ftp://127.0.0.1:21";
  EXPECT_THAT(MakeS3ObjectSource(w, Creds())->Describe(nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("http://")));
  EXPECT_THAT(MakeS3ObjectSource(Loc("k", "a/b"), Creds())->Describe(nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bucket name")));
  EXPECT_THAT(MakeS3ObjectSource(Loc(""), Creds())->Describe(nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no object key")));
  S3Credentials half{.access_key_id = "A"};
  EXPECT_THAT(MakeS3ObjectSource(Loc("k"), half)->Describe(nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("both")));
}

TEST_F(S3Test, AReaderDroppedMidStreamCleansUp) {
  const std::string data = Pattern(6 << 20, 9);
  Put("big", data);
  auto src = MakeS3ObjectSource(Loc("big"), Creds());
  HANSE_ASSERT_OK_AND_ASSIGN(Description d, src->Describe(nullptr));
  for (int i = 0; i < 3; ++i) {
    HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(i * 1000));
    char buf[100];
    HANSE_ASSERT_OK_AND_ASSIGN(size_t n, r->Read(buf, sizeof(buf)));
    EXPECT_GT(n, 0u);
    EXPECT_EQ(std::string(buf, n), data.substr(i * 1000, n));
  }  // each reader goes away with most of the object unread
  HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(0));
  EXPECT_EQ(IndependentSha256(ReadAll(*r).value_or("")), d.sha256);
}

TEST(S3XmlTest, ValuesAreFoundByWholeTagAndDecoded) {
  const std::string xml =
      "<R><KeyCount>2</KeyCount><Key>a&amp;b &lt;&#x41;&#66;&gt; &quot;q&apos;</Key>"
      "<Empty/><Code>NoSuchKey</Code></R>";
  EXPECT_EQ(s3_internal::XmlValue(xml, "Key"), "a&b <AB> \"q'");
  EXPECT_EQ(s3_internal::XmlValue(xml, "KeyCount"), "2");
  EXPECT_EQ(s3_internal::XmlValue(xml, "Empty"), "");
  EXPECT_EQ(s3_internal::XmlValue(xml, "Code"), "NoSuchKey");
  EXPECT_EQ(s3_internal::XmlValue(xml, "Missing"), "");
  EXPECT_EQ(s3_internal::XmlValue("<K>&#233;</K>", "K"), "\xc3\xa9");
}

TEST(S3UrlTest, PathStyleWithTheKeyEncodedPerSegment) {
  S3Location w{.endpoint = "https://s3.example.org/", .bucket = "b", .key = "a b/c+d/../e"};
  EXPECT_EQ(s3_internal::ObjectUrl(w), "https://s3.example.org/b/a%20b/c%2Bd/../e");
}

}  // namespace
}  // namespace hanse::node::source
