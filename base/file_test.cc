#include "base/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace hanse {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::IsOkAndHolds;
using ::hanse::testing::StatusIs;

TEST(FileTest, WriteAtomicThenRead) {
  testing::TempDir tmp;
  std::string path = tmp.Sub("f");
  ASSERT_THAT(WriteFileAtomic(path, "hello", 0600), IsOk());
  EXPECT_THAT(ReadFile(path), IsOkAndHolds(std::string("hello")));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_THAT(CheckPrivateMode(path), IsOk());
}

TEST(FileTest, ExclusiveRefusesExisting) {
  testing::TempDir tmp;
  std::string path = tmp.Sub("f");
  ASSERT_THAT(WriteFileAtomic(path, "a", 0600, /*exclusive=*/true), IsOk());
  EXPECT_THAT(WriteFileAtomic(path, "b", 0600, /*exclusive=*/true),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(ReadFile(path), IsOkAndHolds(std::string("a")));
}

TEST(FileTest, ReadRefusesOversize) {
  testing::TempDir tmp;
  std::string path = tmp.Sub("f");
  ASSERT_THAT(WriteFileAtomic(path, std::string(100, 'x'), 0644), IsOk());
  EXPECT_THAT(ReadFile(path, 10), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(FileTest, MissingFileIsNotFound) {
  testing::TempDir tmp;
  EXPECT_THAT(ReadFile(tmp.Sub("none")), StatusIs(absl::StatusCode::kNotFound));
}

TEST(FileTest, GroupReadableKeyIsRefused) {
  testing::TempDir tmp;
  std::string path = tmp.Sub("key");
  ASSERT_THAT(WriteFileAtomic(path, "k", 0640), IsOk());
  EXPECT_THAT(CheckPrivateMode(path),
              StatusIs(absl::StatusCode::kPermissionDenied, ::testing::HasSubstr("chmod 600")));
}

}  // namespace
}  // namespace hanse
