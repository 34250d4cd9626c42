// RocksDB implementation of Store. The only file that includes <rocksdb/...>, and the one
// place where rocksdb::Status becomes absl::Status.
#include <sys/statvfs.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/file.h"
#include "catalog/store.h"
#include "rocksdb/db.h"
#include "rocksdb/listener.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_manager.h"
#include "rocksdb/sst_file_reader.h"
#include "rocksdb/statistics.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"

namespace hanse::catalog {
namespace {

constexpr absl::string_view kFamilyNames[] = {"meta",     "peers",  "documents", "issuer_log",
                                              "postings", "fields", "audit",     "contracts"};
static_assert(std::size(kFamilyNames) == static_cast<size_t>(Family::kCount));

// RocksDB names a missing table file by its legacy extension (it tries NNNNNN.sst, then
// NNNNNN.ldb, and reports the last) and blames what it was reading when it met a damaged file
// (the MANIFEST). The operator needs the file that is damaged and what to do.
std::string DamagedFile(const std::string& msg, absl::string_view dir) {
  for (const char* ext : {".ldb", ".sst"}) {
    size_t at = msg.find(ext);
    if (at == std::string::npos || at < 6) continue;
    size_t start = at;
    while (start > 0 && absl::ascii_isdigit(static_cast<unsigned char>(msg[start - 1]))) --start;
    if (start == at) continue;
    const std::string table = absl::StrCat(msg.substr(start, at - start), ".sst");
    const bool missing = !PathExists(absl::StrCat(dir, "/", table));
    return absl::StrCat("table file ", table, missing ? " is missing" : " is damaged");
  }
  if (size_t at = msg.find("MANIFEST-"); at != std::string::npos) {
    size_t end = at + 9;
    while (end < msg.size() && absl::ascii_isdigit(static_cast<unsigned char>(msg[end]))) ++end;
    const std::string manifest = msg.substr(at, end - at);
    const bool missing = !PathExists(absl::StrCat(dir, "/", manifest));
    return absl::StrCat("its manifest ", manifest, missing ? " is missing" : " is damaged");
  }
  return "";
}

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view dir) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = s.ToString();
  if (s.IsIOError() && (absl::StrContains(msg, "lock") || absl::StrContains(msg, "LOCK"))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", dir, " is locked by another process (is the node already running?): ", msg));
  }
  constexpr absl::string_view kRecovery =
      "; the catalogue would be incomplete, so the node does not serve it: restore the home from "
      "a backup (`hanse restore`) or re-create the node";
  if (s.IsCorruption()) {
    const std::string file = DamagedFile(msg, dir);
    return absl::DataLossError(
        absl::StrCat("store ", dir, " is corrupt: ", file.empty() ? "" : absl::StrCat(file, " ("),
                     msg, file.empty() ? "" : ")", kRecovery));
  }
  if (s.IsIOError() && absl::StrContains(msg, "No such file") &&
      (absl::StrContains(msg, "MANIFEST") || absl::StrContains(msg, ".sst") ||
       absl::StrContains(msg, ".ldb"))) {
    const std::string file = DamagedFile(msg, dir);
    return absl::DataLossError(absl::StrCat(
        "store ", dir, " is damaged: ", file.empty() ? "a file it lists is missing" : file, " (",
        msg, ")", kRecovery));
  }
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("store ", dir, ": ", msg));
  if (s.IsNoSpace()) return absl::ResourceExhaustedError(absl::StrCat("store ", dir, ": ", msg));
  if (s.IsInvalidArgument()) {
    return absl::FailedPreconditionError(absl::StrCat("store ", dir, ": ", msg));
  }
  return absl::InternalError(absl::StrCat("store ", dir, ": ", msg));
}

// RocksDB's own error state: a write, flush or compaction that met a full disk or an I/O error
// stops the store's writes until RocksDB recovers (by itself for a full disk, once the SST file
// manager sees space again). Status and /readyz report it meanwhile.
class ErrorState final : public rocksdb::EventListener {
 public:
  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* error) override {
    if (error == nullptr || error->ok()) return;
    std::lock_guard lock(mu_);
    error_ = *error;
  }
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    std::lock_guard lock(mu_);
    error_ = info.new_bg_error;
  }
  absl::Status Current(absl::string_view dir) const {
    std::lock_guard lock(mu_);
    if (error_.ok()) return absl::OkStatus();
    absl::Status s = FromRocks(error_, dir);
    return absl::Status(s.code(), absl::StrCat(s.message(),
                                               " (the store takes writes again once it "
                                               "recovers; for a full disk, once space is freed)"));
  }

 private:
  mutable std::mutex mu_;
  rocksdb::Status error_;
};

class RocksStore final : public Store {
 public:
  RocksStore(std::string dir, rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
             std::uint64_t min_free_bytes, std::shared_ptr<rocksdb::Statistics> statistics,
             std::shared_ptr<ErrorState> errors)
      : dir_(std::move(dir)),
        db_(db),
        handles_(std::move(handles)),
        min_free_bytes_(min_free_bytes),
        statistics_(std::move(statistics)),
        errors_(std::move(errors)) {}
  ~RocksStore() override { (void)Close(); }

  absl::StatusOr<std::optional<std::string>> Get(Family family,
                                                 absl::string_view key) const override {
    if (db_ == nullptr) return absl::FailedPreconditionError("store is closed");
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Handle(family),
                                 rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromRocks(s, dir_);
    return std::optional<std::string>(std::move(value));
  }

  absl::Status Write(const WriteBatch& batch, bool sync) override {
    if (db_ == nullptr) return absl::FailedPreconditionError("store is closed");
    rocksdb::WriteBatch wb;
    for (const auto& op : batch.ops()) {
      rocksdb::Status s = op.value ? wb.Put(Handle(op.family), op.key, *op.value)
                                   : wb.Delete(Handle(op.family), op.key);
      if (!s.ok()) return FromRocks(s, dir_);
    }
    {
      std::lock_guard lock(error_mu_);
      if (!damage_.ok()) return damage_;
    }
    if (absl::Status space = SpaceLeft(); !space.ok()) return space;
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return FromRocks(db_->Write(wo, &wb), dir_);
  }

  absl::Status Writable() const override {
    if (db_ == nullptr) return absl::FailedPreconditionError("store is closed");
    {
      std::lock_guard lock(error_mu_);
      if (!damage_.ok()) return damage_;
    }
    if (absl::Status space = SpaceLeft(); !space.ok()) return space;
    return errors_->Current(dir_);
  }

  absl::Status VerifyChecksums(const std::function<bool()>& go_on) override {
    if (db_ == nullptr) return absl::FailedPreconditionError("store is closed");
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;  // a scrub must not evict what the node serves
    ro.readahead_size = 4 << 20;
    // File by file, so that a stopping node need not wait for a whole scrub. Table files are
    // immutable; one that a compaction deleted since the listing is skipped.
    std::vector<rocksdb::LiveFileMetaData> files;
    db_->GetLiveFilesMetaData(&files);
    for (const auto& f : files) {
      if (go_on && !go_on()) return absl::CancelledError("the scrub was stopped");
      const std::string path = f.directory + "/" + f.relative_filename;
      if (!PathExists(path)) continue;
      rocksdb::SstFileReader reader(rocksdb::Options{});
      rocksdb::Status s = reader.Open(path);
      if (s.ok()) s = reader.VerifyChecksum(ro);
      if (s.ok() || (s.IsIOError() && !PathExists(path))) continue;
      absl::Status damaged =
          FromRocks(s.IsCorruption() ? s : rocksdb::Status::Corruption(path, s.ToString()), dir_);
      std::lock_guard lock(error_mu_);
      damage_ = damaged;  // sticky: a damaged store takes no more writes until restored
      return damaged;
    }
    return absl::OkStatus();
  }

  absl::Status Scan(
      Family family, absl::string_view prefix,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) const override {
    return ScanFrom(family, prefix, prefix, visit);
  }

  absl::Status ScanFrom(
      Family family, absl::string_view prefix, absl::string_view start,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) const override {
    if (db_ == nullptr) return absl::FailedPreconditionError("store is closed");
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Handle(family)));
    for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
      absl::string_view k(it->key().data(), it->key().size());
      if (!absl::StartsWith(k, prefix)) break;
      if (!visit(k, absl::string_view(it->value().data(), it->value().size()))) break;
    }
    return FromRocks(it->status(), dir_);
  }

  std::uint64_t DiskBytes() const override { return DirectorySize(dir_); }

  std::map<std::string, double> EngineStats() const override {
    std::map<std::string, double> out;
    if (db_ == nullptr) return out;
    std::uint64_t v = 0;
    if (db_->GetAggregatedIntProperty("rocksdb.estimate-pending-compaction-bytes", &v)) {
      out["pending_compaction_bytes"] = static_cast<double>(v);
    }
    if (db_->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &v)) {
      out["memtable_bytes"] = static_cast<double>(v);
    }
    if (statistics_ != nullptr) {
      out["block_cache_hits"] =
          static_cast<double>(statistics_->getTickerCount(rocksdb::BLOCK_CACHE_HIT));
      out["block_cache_misses"] =
          static_cast<double>(statistics_->getTickerCount(rocksdb::BLOCK_CACHE_MISS));
    }
    return out;
  }

  absl::Status Checkpoint(const std::string& dir) override {
    if (db_ == nullptr) return absl::FailedPreconditionError("store is closed");
    rocksdb::Checkpoint* raw = nullptr;
    if (absl::Status s = FromRocks(rocksdb::Checkpoint::Create(db_, &raw), dir_); !s.ok()) return s;
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // A zero log size limit flushes the memtables first, so the copy needs no WAL replay.
    return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0), dir);
  }

  absl::Status Close() override {
    if (db_ == nullptr) return absl::OkStatus();
    absl::Status status = FromRocks(db_->FlushWAL(/*sync=*/true), dir_);
    for (auto* h : handles_) {
      rocksdb::Status s = db_->DestroyColumnFamilyHandle(h);
      if (status.ok()) status = FromRocks(s, dir_);
    }
    handles_.clear();
    rocksdb::Status s = db_->Close();
    if (status.ok()) status = FromRocks(s, dir_);
    delete db_;
    db_ = nullptr;
    return status;
  }

 private:
  rocksdb::ColumnFamilyHandle* Handle(Family f) const {
    return handles_[static_cast<size_t>(f) + 1];  // [0] is the default family
  }

  // ResourceExhausted while the store's file system has less free space than the reserve.
  absl::Status SpaceLeft() const {
    if (min_free_bytes_ == 0) return absl::OkStatus();
    struct statvfs fs {};
    if (::statvfs(dir_.c_str(), &fs) != 0) return absl::OkStatus();
    const std::uint64_t free = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    if (free >= min_free_bytes_) return absl::OkStatus();
    return absl::ResourceExhaustedError(absl::StrCat(
        "the disk of store ", dir_, " is nearly full (", free / 1024, " KiB free, the node keeps ",
        min_free_bytes_ >> 20, " MiB free): nothing was written; free space and retry (the node ",
        "goes on at once)"));
  }

  std::string dir_;
  rocksdb::DB* db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::uint64_t min_free_bytes_;
  std::shared_ptr<rocksdb::Statistics> statistics_;  // tickers only (block cache hits, misses)
  mutable std::mutex error_mu_;
  absl::Status damage_;  // guarded by error_mu_: what a checksum scrub found
  std::shared_ptr<ErrorState> errors_;
};

}  // namespace

absl::string_view FamilyName(Family family) { return kFamilyNames[static_cast<int>(family)]; }

absl::StatusOr<std::unique_ptr<Store>> OpenRocksStore(const std::string& dir,
                                                      const StoreOptions& options) {
  bool exists = PathExists(dir + "/CURRENT");
  if (!exists && !options.create_if_missing) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (absl::StartsWith(name, "MANIFEST-") || absl::EndsWith(name, ".sst")) {
        return absl::DataLossError(absl::StrCat(
            "store ", dir, " is damaged: its CURRENT file is missing (the store holds ", name,
            " and more); restore the home from a backup (`hanse restore`)"));
      }
    }
    return absl::NotFoundError(absl::StrCat("no store at ", dir,
                                            " (the CURRENT file is missing; was the home "
                                            "created with `hanse init`?)"));
  }
  if (exists && options.error_if_exists) {
    return absl::AlreadyExistsError(absl::StrCat("a store already exists at ", dir));
  }
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  // Every acknowledged write is synced, so the only damage a crash can leave in the write-ahead
  // log is a torn last record that nobody was told about; that is tolerated. Damage anywhere
  // else means synced data is gone: the open fails and names it, where RocksDB's default
  // (point-in-time recovery) would silently drop everything after it (docs/adr/0007).
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 4;
  // A flush or compaction that meets a full disk stops writes; with a file manager RocksDB
  // resumes by itself once space is back, instead of staying read-only until a restart.
  db_options.sst_file_manager.reset(rocksdb::NewSstFileManager(rocksdb::Env::Default()));
  auto errors = std::make_shared<ErrorState>();
  db_options.listeners.push_back(errors);
  db_options.statistics = rocksdb::CreateDBStatistics();
  db_options.statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (auto name : kFamilyNames) {
    descriptors.emplace_back(std::string(name), rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, descriptors, &handles, &db);
  if (!s.ok()) return FromRocks(s, dir);
  return std::unique_ptr<Store>(new RocksStore(dir, db, std::move(handles), options.min_free_bytes,
                                               db_options.statistics, std::move(errors)));
}

}  // namespace hanse::catalog
