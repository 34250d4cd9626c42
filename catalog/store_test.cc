#include "catalog/store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace hanse::catalog {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;

TEST(StoreTest, CreateWriteReopenRead) {
  testing::TempDir tmp;
  std::string dir = tmp.Sub("store");
  {
    HANSE_ASSERT_OK_AND_ASSIGN(auto store, OpenRocksStore(dir, {.create_if_missing = true}));
    WriteBatch batch;
    batch.Put(Family::kPeers, "did:key:a", "card-a");
    batch.Put(Family::kPeers, "did:key:b", "card-b");
    batch.Put(Family::kMeta, "format", "1");
    ASSERT_THAT(store->Write(batch, /*sync=*/true), IsOk());
    ASSERT_THAT(store->Close(), IsOk());
  }
  HANSE_ASSERT_OK_AND_ASSIGN(auto store, OpenRocksStore(dir, {}));
  HANSE_ASSERT_OK_AND_ASSIGN(auto value, store->Get(Family::kPeers, "did:key:b"));
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(*value, "card-b");
  HANSE_ASSERT_OK_AND_ASSIGN(auto missing, store->Get(Family::kMeta, "did:key:b"));
  EXPECT_FALSE(missing.has_value());

  std::vector<std::string> keys;
  ASSERT_THAT(store->Scan(Family::kPeers, "did:key:",
                          [&](absl::string_view k, absl::string_view) {
                            keys.emplace_back(k);
                            return true;
                          }),
              IsOk());
  EXPECT_EQ(keys, (std::vector<std::string>{"did:key:a", "did:key:b"}));
  EXPECT_GT(store->DiskBytes(), 0u);
}

TEST(StoreTest, DeleteInBatchIsAtomicWithPut) {
  testing::TempDir tmp;
  HANSE_ASSERT_OK_AND_ASSIGN(auto store, OpenRocksStore(tmp.Sub("s"), {.create_if_missing = true}));
  WriteBatch a;
  a.Put(Family::kDocuments, "x", "1");
  ASSERT_THAT(store->Write(a, false), IsOk());
  WriteBatch b;
  b.Delete(Family::kDocuments, "x");
  b.Put(Family::kDocuments, "y", "2");
  ASSERT_THAT(store->Write(b, false), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(auto x, store->Get(Family::kDocuments, "x"));
  HANSE_ASSERT_OK_AND_ASSIGN(auto y, store->Get(Family::kDocuments, "y"));
  EXPECT_FALSE(x.has_value());
  EXPECT_EQ(y.value_or(""), "2");
}

TEST(StoreTest, MissingStoreIsNotFound) {
  testing::TempDir tmp;
  EXPECT_THAT(OpenRocksStore(tmp.Sub("nothing"), {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("hanse init")));
}

TEST(StoreTest, SecondOpenIsRefusedAsLocked) {
  testing::TempDir tmp;
  HANSE_ASSERT_OK_AND_ASSIGN(auto store, OpenRocksStore(tmp.Sub("s"), {.create_if_missing = true}));
  EXPECT_THAT(OpenRocksStore(tmp.Sub("s"), {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("locked")));
}

TEST(StoreTest, CorruptManifestIsDataLoss) {
  testing::TempDir tmp;
  std::string dir = tmp.Sub("s");
  {
    HANSE_ASSERT_OK_AND_ASSIGN(auto store, OpenRocksStore(dir, {.create_if_missing = true}));
    WriteBatch batch;
    batch.Put(Family::kMeta, "k", "v");
    ASSERT_THAT(store->Write(batch, true), IsOk());
  }
  // Overwrite the manifest with garbage of the same length.
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("MANIFEST-", 0) == 0) {
      auto size = std::filesystem::file_size(entry.path());
      std::ofstream out(entry.path(), std::ios::binary | std::ios::trunc);
      out << std::string(size, '\x5a');
    }
  }
  EXPECT_THAT(OpenRocksStore(dir, {}), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupt")));
}

// Below the free-space floor a write is refused whole, before RocksDB sees it; reads go on, and
// the same store writes again once the floor is met (here: a store without the floor).
TEST(StoreTest, NearlyFullDiskRefusesWritesWithoutTouchingTheStore) {
  testing::TempDir tmp;
  const std::string dir = tmp.Sub("s");
  {
    HANSE_ASSERT_OK_AND_ASSIGN(auto store, OpenRocksStore(dir, {.create_if_missing = true}));
    WriteBatch b;
    b.Put(Family::kMeta, "k", "before");
    ASSERT_THAT(store->Write(b, true), IsOk());
  }
  {
    // No filesystem has an exabyte free.
    HANSE_ASSERT_OK_AND_ASSIGN(auto store, OpenRocksStore(dir, {.min_free_bytes = 1ull << 60}));
    WriteBatch b;
    b.Put(Family::kMeta, "k", "after");
    EXPECT_THAT(store->Write(b, true),
                StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("nearly full")));
    // What status and /readyz report, without a write.
    EXPECT_THAT(store->Writable(),
                StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("MiB free")));
    EXPECT_THAT(store->Get(Family::kMeta, "k"),
                hanse::testing::IsOkAndHolds(std::optional<std::string>("before")));
  }
  HANSE_ASSERT_OK_AND_ASSIGN(auto store, OpenRocksStore(dir, {.min_free_bytes = 1}));
  EXPECT_THAT(store->Writable(), IsOk());
  WriteBatch b;
  b.Put(Family::kMeta, "k", "after");
  EXPECT_THAT(store->Write(b, true), IsOk());
}

TEST(StoreTest, ErrorIfExists) {
  testing::TempDir tmp;
  { HANSE_ASSERT_OK_AND_ASSIGN(auto s, OpenRocksStore(tmp.Sub("s"), {.create_if_missing = true})); }
  EXPECT_THAT(OpenRocksStore(tmp.Sub("s"), {.create_if_missing = true, .error_if_exists = true}),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

}  // namespace
}  // namespace hanse::catalog

namespace hanse::catalog {
namespace {

// A flipped byte inside a table file's data is not seen by the open; the scrub finds it, names
// the file, and the store takes no more writes.
TEST(StoreTest, ScrubFindsADamagedTableFileAndStopsWrites) {
  testing::TempDir tmp;
  const std::string dir = tmp.Sub("s");
  {
    HANSE_ASSERT_OK_AND_ASSIGN(auto store, OpenRocksStore(dir, {.create_if_missing = true}));
    WriteBatch b;
    for (int i = 0; i < 2000; ++i) {
      b.Put(Family::kDocuments, "doc/" + std::to_string(i), std::string(200, 'a' + i % 26));
    }
    ASSERT_THAT(store->Write(b, true), IsOk());
  }
  // Reopened, the log is replayed into a table file.
  { HANSE_ASSERT_OK_AND_ASSIGN(auto store, OpenRocksStore(dir, {})); }
  std::string table;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".sst" &&
        (table.empty() || e.file_size() > std::filesystem::file_size(table))) {
      table = e.path().string();
    }
  }
  ASSERT_FALSE(table.empty());
  {
    HANSE_ASSERT_OK_AND_ASSIGN(auto store, OpenRocksStore(dir, {}));
    EXPECT_THAT(store->VerifyChecksums(), IsOk());
  }
  {
    std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
    const auto at = static_cast<std::streamoff>(std::filesystem::file_size(table) / 3);
    f.seekg(at);
    const char was = static_cast<char>(f.get());
    f.seekp(at);
    f.put(static_cast<char>(was ^ 0xff));
  }
  HANSE_ASSERT_OK_AND_ASSIGN(auto store, OpenRocksStore(dir, {}));
  const std::string name = std::filesystem::path(table).filename().string();
  EXPECT_THAT(store->VerifyChecksums(), StatusIs(absl::StatusCode::kDataLoss,
                                                 HasSubstr("table file " + name + " is damaged")));
  EXPECT_THAT(store->Writable(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("restore")));
  WriteBatch b;
  b.Put(Family::kMeta, "k", "v");
  EXPECT_THAT(store->Write(b, true), StatusIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace hanse::catalog
