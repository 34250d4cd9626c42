#include "node/audit/audit_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "catalog/store.h"
#include "node/audit/internal.h"
#include "node/audit/test_util.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::audit {
namespace {

using ::hanse::audit::testing::Did;
using ::hanse::audit::testing::Event;
using ::hanse::audit::testing::NewKey;
using ::hanse::audit::testing::Utc;
using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// A store that passes everything to `inner`, counts writes and can hold the next write until
// released, then fail it.
class GatedStore : public catalog::Store {
 public:
  explicit GatedStore(catalog::Store* inner) : inner_(inner) {}

  absl::StatusOr<std::optional<std::string>> Get(catalog::Family family,
                                                 absl::string_view key) const override {
    return inner_->Get(family, key);
  }
  absl::Status Write(const catalog::WriteBatch& batch, bool sync) override {
    ++writes;
    std::unique_lock lock(mu_);
    if (hold_next_) {
      hold_next_ = false;
      holding_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return !holding_; });
      if (!release_with_.ok()) return release_with_;
    }
    lock.unlock();
    return inner_->Write(batch, sync);
  }
  absl::Status Scan(
      catalog::Family family, absl::string_view prefix,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) const override {
    return inner_->Scan(family, prefix, visit);
  }
  absl::Status ScanFrom(
      catalog::Family family, absl::string_view prefix, absl::string_view start,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) const override {
    return inner_->ScanFrom(family, prefix, start, visit);
  }
  std::uint64_t DiskBytes() const override { return inner_->DiskBytes(); }
  absl::Status Close() override { return absl::OkStatus(); }

  void HoldNextWrite() {
    std::lock_guard lock(mu_);
    hold_next_ = true;
  }
  void AwaitHeld() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return holding_; });
  }
  void Release(absl::Status with) {
    std::lock_guard lock(mu_);
    release_with_ = std::move(with);
    holding_ = false;
    changed_.notify_all();
  }

  std::atomic<int> writes{0};

 private:
  catalog::Store* inner_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool hold_next_ = false;
  bool holding_ = false;
  absl::Status release_with_;
};

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenStore(); }

  void OpenStore() {
    auto store = catalog::OpenRocksStore(dir_.Sub("store"), {.create_if_missing = true});
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  std::unique_ptr<AuditLog> OpenLog(AuditLogOptions options = {}) {
    auto log = AuditLog::Open(store_.get(), key_, options);
    EXPECT_THAT(log, IsOk());
    return log.ok() ? *std::move(log) : nullptr;
  }

  // Appends `n` events; subjects alternate between "agreement-a" and "agreement-b".
  void Fill(AuditLog& log, int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_THAT(log.Append(Event(actor_, i % 2 == 0 ? "agreement-a" : "agreement-b", i)), IsOk());
    }
  }

  std::string Raw(std::uint64_t index) {
    auto v = store_->Get(catalog::Family::kAudit, EntryKey(index));
    EXPECT_TRUE(v.ok() && v->has_value());
    return v.ok() && v->has_value() ? **v : std::string();
  }

  void Put(const std::string& key, const std::string& value) {
    catalog::WriteBatch batch;
    batch.Put(catalog::Family::kAudit, key, value);
    ASSERT_THAT(store_->Write(batch, true), IsOk());
  }

  void Delete(const std::string& key) {
    catalog::WriteBatch batch;
    batch.Delete(catalog::Family::kAudit, key);
    ASSERT_THAT(store_->Write(batch, true), IsOk());
  }

  AuditVerifyReport MustVerify(const AuditLog& log) {
    auto report = log.Verify();
    EXPECT_THAT(report, IsOk());
    return report.ok() ? *report : AuditVerifyReport{};
  }

  hanse::testing::TempDir dir_;
  std::unique_ptr<catalog::Store> store_;
  trust::PrivateKey key_ = NewKey();
  std::string actor_ = Did(NewKey());
};

TEST_F(AuditLogTest, AppendChainsEntries) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->size(), 0u);
  EXPECT_EQ(log->did(), Did(key_));
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry e1, log->Append(Event(actor_, "agreement-a", 1)));
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry e2, log->Append(Event(actor_, "agreement-b", 2)));
  EXPECT_EQ(e1.index, 1u);
  EXPECT_EQ(e1.prev_hash, std::string(32, '\0'));
  EXPECT_EQ(e2.index, 2u);
  EXPECT_EQ(e2.prev_hash, e1.hash);
  EXPECT_EQ(log->size(), 2u);
  EXPECT_EQ(log->tail_hash(), e2.hash);
  // Stored as hash || prev || body under a big-endian key.
  EXPECT_EQ(Raw(2), e2.hash + e2.prev_hash + e2.body);
  EXPECT_EQ(EntryKey(258), std::string("e/\0\0\0\0\0\0\x01\x02", 10));
}

TEST_F(AuditLogTest, InvalidEventIsRefusedAndLeavesTheLogAlone) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(log->Append(Event(actor_, "s", 1, "Bad-Kind")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind")));
  EXPECT_EQ(log->size(), 0u);
  ASSERT_THAT(log->Append(Event(actor_, "s", 1)), IsOk());
  EXPECT_EQ(log->size(), 1u);
}

TEST_F(AuditLogTest, ListFiltersAndPages) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  Fill(*log, 10);
  HANSE_ASSERT_OK_AND_ASSIGN(auto page, log->List(3, 4));
  EXPECT_THAT(page, ElementsAre(Field(&AuditEntry::index, 3), Field(&AuditEntry::index, 4),
                                Field(&AuditEntry::index, 5), Field(&AuditEntry::index, 6)));
  HANSE_ASSERT_OK_AND_ASSIGN(auto b, log->List(0, 100, std::string("agreement-b")));
  ASSERT_THAT(b, SizeIs(5));
  for (const AuditEntry& e : b) {
    EXPECT_EQ(e.event.subject, "agreement-b");
    EXPECT_EQ(e.index % 2, 0u);
  }
  HANSE_ASSERT_OK_AND_ASSIGN(auto none, log->List(11, 10));
  EXPECT_THAT(none, SizeIs(0));
}

TEST_F(AuditLogTest, ReopenResumesAtTheTail) {
  std::string tail;
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    Fill(*log, 5);
    tail = log->tail_hash();
  }
  ASSERT_THAT(store_->Close(), IsOk());
  store_.reset();
  OpenStore();
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->size(), 5u);
  EXPECT_EQ(log->tail_hash(), tail);
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry e6, log->Append(Event(actor_, "agreement-a", 6)));
  EXPECT_EQ(e6.index, 6u);
  EXPECT_EQ(e6.prev_hash, tail);
  AuditVerifyReport report = MustVerify(*log);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 6u);
}

// A store that comes back shorter than what was appended (a cut write-ahead log, an older copy
// put in its place) loses a consistent-looking tail: only the mark outside the store tells.
TEST_F(AuditLogTest, TheTailMarkRefusesAStoreThatLostItsLastEntries) {
  const std::string mark = dir_.Sub("audit.tail");
  std::string hash3;
  {
    auto log = OpenLog({.head_every = 0, .tail_mark = mark, .tail_mark_read_only = false});
    ASSERT_NE(log, nullptr);
    Fill(*log, 3);
    hash3 = log->tail_hash();
    Fill(*log, 2);
  }
  // Entries 4 and 5 gone, the tail record rewound to 3: the store alone looks whole.
  Delete(EntryKey(5));
  Delete(EntryKey(4));
  Put(std::string(kTailKey), absl::StrCat(internal::BigEndian64(3), hash3));
  EXPECT_THAT(AuditLog::Open(store_.get(), key_,
                             {.head_every = 0, .tail_mark = "", .tail_mark_read_only = false}),
              IsOk())
      << "without the mark the loss is invisible";
  EXPECT_THAT(AuditLog::Open(store_.get(), key_,
                             {.head_every = 0, .tail_mark = mark, .tail_mark_read_only = false}),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("the store ends at entry 3 but entries up to 5 were appended")));
  // Moved aside knowingly, the log goes on from 3 and the mark follows it again.
  ASSERT_EQ(std::rename(mark.c_str(), (mark + ".lost").c_str()), 0);
  auto log = OpenLog({.head_every = 0, .tail_mark = mark, .tail_mark_read_only = false});
  ASSERT_NE(log, nullptr);
  Fill(*log, 1);
  EXPECT_EQ(log->size(), 4u);
  log.reset();
  EXPECT_THAT(AuditLog::Open(store_.get(), key_,
                             {.head_every = 0, .tail_mark = mark, .tail_mark_read_only = false}),
              IsOk());
}

// A crash between the store write and the mark leaves the mark one behind: that is no loss.
TEST_F(AuditLogTest, AMarkBehindTheStoreIsCaughtUp) {
  const std::string mark = dir_.Sub("audit.tail");
  {
    auto log = OpenLog({.head_every = 0, .tail_mark = mark, .tail_mark_read_only = false});
    ASSERT_NE(log, nullptr);
    Fill(*log, 2);
  }
  {
    auto log = OpenLog({.head_every = 0, .tail_mark = "", .tail_mark_read_only = false});
    ASSERT_NE(log, nullptr);
    Fill(*log, 1);  // appended without the mark
  }
  auto log = OpenLog({.head_every = 0, .tail_mark = mark, .tail_mark_read_only = false});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->size(), 3u);
  HANSE_ASSERT_OK_AND_ASSIGN(std::string text, ReadFile(mark));
  EXPECT_EQ(text.substr(0, 20), "00000000000000000003");
}

TEST_F(AuditLogTest, OpenRefusesEntriesWithoutTail) {
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    Fill(*log, 3);
  }
  Delete(std::string(kTailKey));
  EXPECT_THAT(AuditLog::Open(store_.get(), key_),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("tail record is missing")));
}

TEST_F(AuditLogTest, OpenRefusesTailNamingADeletedEntry) {
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    Fill(*log, 3);
  }
  Delete(EntryKey(3));
  EXPECT_THAT(AuditLog::Open(store_.get(), key_),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("names entry 3")));
}

TEST_F(AuditLogTest, HeadsAreSignedEveryKAndOnDemand) {
  auto log = OpenLog({.head_every = 4, .tail_mark = "", .tail_mark_read_only = false});
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(log->SignHead(Utc(2024, 7, 1)), StatusIs(absl::StatusCode::kFailedPrecondition));
  Fill(*log, 10);
  HANSE_ASSERT_OK_AND_ASSIGN(auto h4, log->HeadAtOrAfter(1));
  ASSERT_TRUE(h4.has_value());
  EXPECT_EQ(h4->index, 4u);
  HANSE_ASSERT_OK_AND_ASSIGN(auto h8, log->HeadAtOrAfter(5));
  ASSERT_TRUE(h8.has_value());
  EXPECT_EQ(h8->index, 8u);
  HANSE_ASSERT_OK_AND_ASSIGN(auto h_none, log->HeadAtOrAfter(9));
  EXPECT_FALSE(h_none.has_value());

  HANSE_ASSERT_OK_AND_ASSIGN(SignedHead h10, log->SignHead(Utc(2024, 7, 1)));
  EXPECT_EQ(h10.index, 10u);
  EXPECT_EQ(h10.hash, log->tail_hash());
  EXPECT_EQ(h10.signer, Did(key_));
  HANSE_ASSERT_OK_AND_ASSIGN(trust::VerifiedJws v, trust::VerifyCompact(h10.jws));
  EXPECT_EQ(v.typ, "hanse-audit-head+jwt");
  // Signing again returns the stored head unchanged.
  HANSE_ASSERT_OK_AND_ASSIGN(SignedHead again, log->SignHead(Utc(2024, 7, 2)));
  EXPECT_EQ(again.jws, h10.jws);

  AuditVerifyReport report = MustVerify(*log);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 10u);
  EXPECT_EQ(report.heads, 3u);
}

TEST_F(AuditLogTest, VerifyDetectsAModifiedEntry) {
  auto log = OpenLog({.head_every = 8, .tail_mark = "", .tail_mark_read_only = false});
  ASSERT_NE(log, nullptr);
  Fill(*log, 20);
  ASSERT_TRUE(MustVerify(*log).ok);
  std::string value = Raw(13);
  const size_t at = value.find("\"bytes\":1012");
  ASSERT_NE(at, std::string::npos);
  value[at + 11] = '3';  // 1012 -> 1013: still a valid, canonical body
  Put(EntryKey(13), value);
  AuditVerifyReport report = MustVerify(*log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 13u);
  EXPECT_EQ(report.problem, "entry 13: hash does not match its contents");
  EXPECT_EQ(report.entries, 12u);
}

TEST_F(AuditLogTest, VerifyDetectsADeletedMiddleEntry) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  Fill(*log, 10);
  Delete(EntryKey(7));
  AuditVerifyReport report = MustVerify(*log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 7u);
  EXPECT_EQ(report.problem, "entry 7: missing (the next stored entry is 8)");
}

TEST_F(AuditLogTest, VerifyDetectsADeletedLastEntry) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  Fill(*log, 10);
  Delete(EntryKey(10));
  AuditVerifyReport report = MustVerify(*log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 10u);
  EXPECT_THAT(report.problem, HasSubstr("entry 10: missing"));
}

TEST_F(AuditLogTest, VerifyDetectsARewrittenPrevHash) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  Fill(*log, 10);
  // The attacker points entry 9 at another predecessor and recomputes its own hash.
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry e9, DecodeStoredEntry(9, Raw(9)));
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry forged, MakeEntry(9, trust::Sha256("other"), e9.event));
  Put(EntryKey(9), forged.hash + forged.prev_hash + forged.body);
  AuditVerifyReport report = MustVerify(*log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 9u);
  EXPECT_EQ(report.problem, "entry 9: prev hash does not match the hash of entry 8");
}

TEST_F(AuditLogTest, VerifyDetectsAReplacedEntryThroughTheNextLink) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  Fill(*log, 10);
  // A self-consistent replacement of entry 4 (right prev, right own hash) breaks entry 5's link.
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry e4, DecodeStoredEntry(4, Raw(4)));
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry forged,
                             MakeEntry(4, e4.prev_hash, Event(actor_, "agreement-a", 99)));
  Put(EntryKey(4), forged.hash + forged.prev_hash + forged.body);
  AuditVerifyReport report = MustVerify(*log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 5u);
  EXPECT_EQ(report.problem, "entry 5: prev hash does not match the hash of entry 4");
}

TEST_F(AuditLogTest, VerifyDetectsReorderedEntries) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  Fill(*log, 10);
  const std::string v5 = Raw(5), v6 = Raw(6);
  catalog::WriteBatch batch;
  batch.Put(catalog::Family::kAudit, EntryKey(5), v6);
  batch.Put(catalog::Family::kAudit, EntryKey(6), v5);
  ASSERT_THAT(store_->Write(batch, true), IsOk());
  AuditVerifyReport report = MustVerify(*log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 5u);
  EXPECT_EQ(report.problem, "entry 5: hash does not match its contents");
}

TEST_F(AuditLogTest, VerifyDetectsAForgedHeadSignature) {
  auto log = OpenLog({.head_every = 4, .tail_mark = "", .tail_mark_read_only = false});
  ASSERT_NE(log, nullptr);
  Fill(*log, 12);
  HANSE_ASSERT_OK_AND_ASSIGN(auto h8, log->HeadAtOrAfter(8));
  ASSERT_TRUE(h8.has_value());
  std::string jws = h8->jws;
  // Flip one signature character (keeping valid base64url).
  char& c = jws[jws.size() - 5];
  c = c == 'A' ? 'B' : 'A';
  Put(HeadKey(8), jws);
  AuditVerifyReport report = MustVerify(*log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 8u);
  EXPECT_THAT(report.problem, HasSubstr("head at entry 8: audit head"));
  EXPECT_EQ(report.heads, 1u);
}

TEST_F(AuditLogTest, VerifyDetectsAHeadByAnotherKey) {
  auto log = OpenLog({.head_every = 4, .tail_mark = "", .tail_mark_read_only = false});
  ASSERT_NE(log, nullptr);
  Fill(*log, 8);
  HANSE_ASSERT_OK_AND_ASSIGN(
      SignedHead other, SignHead(NewKey(), 4, DecodeStoredEntry(4, Raw(4))->hash, Utc(2024, 6, 1)));
  Put(HeadKey(4), other.jws);
  AuditVerifyReport report = MustVerify(*log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 4u);
  EXPECT_THAT(report.problem, HasSubstr("head at entry 4: signed by"));
  EXPECT_THAT(report.problem, HasSubstr("not by the log owner"));
}

TEST_F(AuditLogTest, VerifyCatchesAConsistentRewriteThroughTheSignedHead) {
  auto log = OpenLog({.head_every = 8, .tail_mark = "", .tail_mark_read_only = false});
  ASSERT_NE(log, nullptr);
  Fill(*log, 10);
  // Rewrite entries 6..10 as a consistent chain (and the tail record): only the signed head at 8
  // (and this process's memory of the tail) can tell.
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry prev, DecodeStoredEntry(5, Raw(5)));
  catalog::WriteBatch batch;
  for (std::uint64_t i = 6; i <= 10; ++i) {
    HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry e,
                               MakeEntry(i, prev.hash, Event(actor_, "agreement-x", 100 + i)));
    batch.Put(catalog::Family::kAudit, EntryKey(i), e.hash + e.prev_hash + e.body);
    prev = e;
  }
  std::string tail(8, '\0');
  tail[7] = 10;
  batch.Put(catalog::Family::kAudit, kTailKey, tail + prev.hash);
  ASSERT_THAT(store_->Write(batch, true), IsOk());
  // A freshly opened log has no memory of the old tail; the signed head still catches it.
  auto reopened = AuditLog::Open(store_.get(), key_);
  ASSERT_THAT(reopened, IsOk());
  AuditVerifyReport report = MustVerify(**reopened);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 8u);
  EXPECT_EQ(report.problem, "head at entry 8: signed hash does not match entry 8");
}

TEST_F(AuditLogTest, VerifyReportsTheFirstOfSeveralProblems) {
  auto log = OpenLog({.head_every = 0, .tail_mark = "", .tail_mark_read_only = false});
  ASSERT_NE(log, nullptr);
  Fill(*log, 20);
  Delete(EntryKey(15));
  std::string v = Raw(5);
  v[v.size() - 3] ^= 1;
  Put(EntryKey(5), v);
  AuditVerifyReport report = MustVerify(*log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 5u);
}

TEST_F(AuditLogTest, ConcurrentAppendsStayContiguous) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!log->Append(Event(actor_, absl::StrCat("agreement-", t), i)).ok()) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(failures, ElementsAre(0, 0, 0, 0));
  EXPECT_EQ(log->size(), 800u);
  AuditVerifyReport report = MustVerify(*log);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 800u);
  EXPECT_EQ(report.heads, 800u / 64);
  for (int t = 0; t < kThreads; ++t) {
    HANSE_ASSERT_OK_AND_ASSIGN(auto mine, log->List(1, 1000, absl::StrCat("agreement-", t)));
    EXPECT_THAT(mine, SizeIs(kPerThread));
  }
}

TEST_F(AuditLogTest, TheExtraBatchIsWrittenWithTheEntry) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  catalog::WriteBatch extra;
  extra.Put(catalog::Family::kContracts, "n/step", "recorded");
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry e, log->Append(Event(actor_, "agreement-a", 1), extra));
  EXPECT_EQ(e.index, 1u);
  HANSE_ASSERT_OK_AND_ASSIGN(auto stored, store_->Get(catalog::Family::kContracts, "n/step"));
  EXPECT_EQ(stored, std::optional<std::string>("recorded"));
}

TEST_F(AuditLogTest, ConcurrentAppendsShareSyncedWrites) {
  GatedStore gated(store_.get());
  auto opened = AuditLog::Open(&gated, key_);
  ASSERT_THAT(opened, IsOk());
  AuditLog& log = **opened;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!log.Append(Event(actor_, absl::StrCat("agreement-", t), i)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log.size(), 800u);
  // Appends that arrive while a write is in flight go together in the next one.
  EXPECT_LT(gated.writes.load(), 800);
  AuditVerifyReport report = MustVerify(log);
  EXPECT_TRUE(report.ok) << report.problem;
}

TEST_F(AuditLogTest, AFailedGroupWriteFailsTheEntriesChainedBehindItAndTheLogGoesOn) {
  GatedStore gated(store_.get());
  auto opened = AuditLog::Open(&gated, key_);
  ASSERT_THAT(opened, IsOk());
  AuditLog& log = **opened;
  Fill(log, 3);

  gated.HoldNextWrite();
  absl::Status first, second;
  std::thread leader([&] { first = log.Append(Event(actor_, "agreement-a", 10)).status(); });
  gated.AwaitHeld();
  // Entry 5 is chained on entry 4, whose write is held: it waits behind it.
  std::thread follower([&] { second = log.Append(Event(actor_, "agreement-b", 11)).status(); });
  // Give the follower time to queue behind the held write (the test holds either way).
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  gated.Release(absl::ResourceExhaustedError("disk nearly full"));
  leader.join();
  follower.join();
  EXPECT_THAT(first, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("disk nearly full")));
  // The follower either waited behind the failed write (and fails with it) or came after it.
  if (!second.ok()) {
    EXPECT_THAT(second, StatusIs(absl::StatusCode::kResourceExhausted,
                                 HasSubstr("an earlier entry of the chain was not stored")));
  }
  const std::uint64_t before = second.ok() ? 4u : 3u;
  EXPECT_EQ(log.size(), before);
  HANSE_ASSERT_OK_AND_ASSIGN(AuditEntry next, log.Append(Event(actor_, "agreement-a", 12)));
  EXPECT_EQ(next.index, before + 1);
  AuditVerifyReport report = MustVerify(log);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, before + 1);
}

}  // namespace
}  // namespace hanse::audit
