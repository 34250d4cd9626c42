// The transfer pipeline's pieces on real files: what the consumer's writer stores and hashes is
// exactly what it was given, in order; a full disk is a clear ResourceExhausted, not a crash.
#include "node/exchange/pipeline.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "base/file.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "trust/sha256_stream.h"

namespace hanse::node::exchange_internal {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;

TEST(OverlapTest, RunsTasksInOrderAndWaitSeesTheirEffects) {
  Overlap overlap;
  std::vector<int> seen;
  for (int i = 0; i < 100; ++i) overlap.Start([&seen, i] { seen.push_back(i); });
  overlap.Wait();
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
}

TEST(OverlapTest, DestructionWaitsForTheRunningTask) {
  std::atomic<bool> done{false};
  {
    Overlap overlap;
    overlap.Start([&] {
      ::usleep(50'000);
      done = true;
    });
  }
  EXPECT_TRUE(done);
}

TEST(PartWriterTest, WritesAndHashesEveryChunkInOrderAfterTheResumedBytes) {
  hanse::testing::TempDir dir;
  const std::string path = dir.path() + "/out.part";
  // 3 MiB already on disk (a resume), then 40 chunks of varying size: more than the writeback
  // step, so sync_file_range runs too.
  std::string expected(3 << 20, 'r');
  ASSERT_THAT(WriteFileAtomic(path, expected, 0600), IsOk());
  trust::Sha256Stream sha;
  sha.Update(expected);
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::lseek(fd, 0, SEEK_END), static_cast<off_t>(expected.size()));
  {
    PartWriter writer(fd, path, expected.size(), &sha);
    for (int i = 0; i < 40; ++i) {
      std::string chunk(static_cast<size_t>(100'000 + i * 7'919), static_cast<char>('a' + i % 26));
      expected += chunk;
      ASSERT_TRUE(writer.Add(&chunk));
      EXPECT_TRUE(chunk.empty());  // taken over: what comes back is a spare buffer
    }
    EXPECT_THAT(writer.Finish(), IsOk());
  }
  ::close(fd);
  auto stored = ReadFile(path, 64 << 20);
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_TRUE(*stored == expected);
  trust::Sha256Stream whole;
  whole.Update(expected);
  EXPECT_EQ(sha.HexDigest(), whole.HexDigest());
}

TEST(PartWriterTest, AFullDiskIsResourceExhaustedNamingTheFile) {
  int fd = ::open("/dev/full", O_WRONLY);
  if (fd < 0) GTEST_SKIP() << "no /dev/full here";
  trust::Sha256Stream sha;
  PartWriter writer(fd, "/srv/out.part", 0, &sha);
  std::string chunk(1 << 20, 'x');
  ASSERT_TRUE(writer.Add(&chunk));  // the failure is seen by the next call
  chunk.assign(1 << 20, 'y');
  EXPECT_FALSE(writer.Add(&chunk));
  EXPECT_THAT(writer.error(), StatusIs(absl::StatusCode::kResourceExhausted,
                                       HasSubstr("writing /srv/out.part failed: No space left")));
  EXPECT_THAT(writer.Finish(), StatusIs(absl::StatusCode::kResourceExhausted));
  ::close(fd);
}

}  // namespace
}  // namespace hanse::node::exchange_internal
