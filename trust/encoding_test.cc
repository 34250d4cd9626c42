#include "trust/encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/support/status_matchers.h"

namespace hanse::trust {
namespace {

using ::hanse::testing::IsOkAndHolds;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;

TEST(Base64UrlTest, Rfc4648Vectors) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_THAT(Base64UrlDecode("Zm9vYmE"), IsOkAndHolds(std::string("fooba")));
  EXPECT_THAT(Base64UrlDecode("-_8"), IsOkAndHolds(std::string("\xfb\xff")));
  EXPECT_THAT(Base64UrlDecode(""), IsOkAndHolds(std::string()));
}

TEST(Base64UrlTest, RoundTripsAllByteValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= all.size(); len += 37) {
    const std::string bytes = all.substr(0, len);
    EXPECT_THAT(Base64UrlDecode(Base64UrlEncode(bytes)), IsOkAndHolds(bytes));
  }
}

TEST(Base64UrlTest, RejectsPaddingAlphabetAndLength) {
  EXPECT_THAT(Base64UrlDecode("Zg=="),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("padding")));
  EXPECT_THAT(Base64UrlDecode("Zm9+"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("character")));
  EXPECT_THAT(Base64UrlDecode("Zm9/"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64UrlDecode("Zm 9"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64UrlDecode("Zm9vY"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("length")));
  EXPECT_THAT(Base64UrlDecode(std::string("Zm\0v", 4)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Base64UrlTest, RejectsNonCanonicalTrailingBits) {
  // "Zh" and "Zm9" + 'w' carry bits beyond the encoded bytes.
  EXPECT_THAT(Base64UrlDecode("Zh"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trailing")));
  EXPECT_THAT(Base64UrlDecode("Zm9"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64UrlDecode("Zm8"), IsOkAndHolds(std::string("fo")));
}

TEST(Base58BtcTest, KnownVectors) {
  EXPECT_EQ(Base58BtcEncode(""), "");
  EXPECT_EQ(Base58BtcEncode("Hello World!"), "2NEpo7TZRRrLZSi2U");
  EXPECT_EQ(Base58BtcEncode("The quick brown fox jumps over the lazy dog."),
            "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z");
  EXPECT_EQ(Base58BtcEncode(std::string("\x00\x00\x28\x7f\xb4\xcd", 6)), "11233QC4");
  EXPECT_EQ(Base58BtcEncode(std::string(3, '\0')), "111");
  EXPECT_THAT(Base58BtcDecode("2NEpo7TZRRrLZSi2U"), IsOkAndHolds(std::string("Hello World!")));
  EXPECT_THAT(Base58BtcDecode("11233QC4"),
              IsOkAndHolds(std::string("\x00\x00\x28\x7f\xb4\xcd", 6)));
  EXPECT_THAT(Base58BtcDecode(""), IsOkAndHolds(std::string()));
}

TEST(Base58BtcTest, RoundTrips) {
  std::string bytes;
  for (int i = 0; i < 100; ++i) {
    bytes.push_back(static_cast<char>((i * 89 + 7) & 0xff));
    EXPECT_THAT(Base58BtcDecode(Base58BtcEncode(bytes)), IsOkAndHolds(bytes));
  }
}

TEST(Base58BtcTest, RejectsBadCharactersAndOversize) {
  for (const char* bad : {"0", "O", "I", "l", "abc+", "z z"}) {
    EXPECT_THAT(Base58BtcDecode(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
  EXPECT_THAT(Base58BtcDecode(std::string(256, '2')), ::hanse::testing::IsOk());
  EXPECT_THAT(Base58BtcDecode(std::string(257, '2')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer")));
}

TEST(Sha256Test, KnownDigest) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256("").size(), 32u);
}

TEST(HexTest, Lowercase) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10\xab", 4)), "00ff10ab");
  EXPECT_EQ(HexEncode(""), "");
}

}  // namespace
}  // namespace hanse::trust
