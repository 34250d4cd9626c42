// The node's persistent store: an ordered key-value store split into column families, one
// per concern. Only rocks_store.cc knows it is RocksDB.
#ifndef HANSE_CATALOG_STORE_H_
#define HANSE_CATALOG_STORE_H_

#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hanse::catalog {

// Column families. Adding one is a store-format change: it is created on open.
enum class Family : int {
  kMeta = 0,   // node metadata (store format version, created-at)
  kPeers,      // trusted peers' member cards, by DID
  kDocuments,  // signed documents by id
  kIssuerLog,  // per-issuer sequence log
  kPostings,   // search postings
  kFields,     // field indexes
  kAudit,      // hash-chained audit log and its signed heads (node/audit)
  kContracts,  // negotiations, agreements, use counts, scheduled duties (node/contract)
  kCount,
};

absl::string_view FamilyName(Family family);

// A set of writes applied atomically.
class WriteBatch {
 public:
  struct Op {
    Family family;
    std::string key;
    std::optional<std::string> value;  // nullopt = delete
  };
  void Put(Family family, absl::string_view key, absl::string_view value) {
    ops_.push_back({family, std::string(key), std::string(value)});
  }
  void Delete(Family family, absl::string_view key) {
    ops_.push_back({family, std::string(key), std::nullopt});
  }
  // Adds `other`'s operations after this batch's own (applied in that order).
  void Append(WriteBatch&& other) {
    if (ops_.empty()) {
      ops_ = std::move(other.ops_);
    } else {
      ops_.insert(ops_.end(), std::make_move_iterator(other.ops_.begin()),
                  std::make_move_iterator(other.ops_.end()));
    }
    other.ops_.clear();
  }
  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }

 private:
  std::vector<Op> ops_;
};

struct StoreOptions {
  // Create the store (and its families) if the directory does not hold one.
  bool create_if_missing = false;
  // Fail if a store already exists (used by `hanse init`).
  bool error_if_exists = false;
  // Refuse writes (ResourceExhausted, nothing written) while the store's filesystem has less
  // free space than this; 0 = no check. RocksDB must never meet a full disk mid-write: its
  // 7.8 release can abort the process then.
  std::uint64_t min_free_bytes = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual absl::StatusOr<std::optional<std::string>> Get(Family family,
                                                         absl::string_view key) const = 0;
  // `sync` makes the write durable before returning (for anything acknowledged to a peer).
  virtual absl::Status Write(const WriteBatch& batch, bool sync) = 0;
  // Visits keys with `prefix` in order until `visit` returns false.
  virtual absl::Status Scan(
      Family family, absl::string_view prefix,
      const std::function<bool(absl::string_view key, absl::string_view value)>& visit) const = 0;
  // Like Scan, but starts at the first key >= `start` (which should carry `prefix`).
  virtual absl::Status ScanFrom(
      Family family, absl::string_view prefix, absl::string_view start,
      const std::function<bool(absl::string_view key, absl::string_view value)>& visit) const = 0;
  // Bytes on disk (SST + WAL + manifest), approximate.
  virtual std::uint64_t DiskBytes() const = 0;
  // Engine figures for /metrics: "pending_compaction_bytes", "block_cache_hits",
  // "block_cache_misses", "memtable_bytes" (those the engine has).
  virtual std::map<std::string, double> EngineStats() const { return {}; }
  // Why writes would be refused now (ResourceExhausted: the disk is below the free-space
  // reserve; or the storage error of the last write, until a write succeeds), OK when they
  // would not. Cheap enough for every status call and probe.
  virtual absl::Status Writable() const { return absl::OkStatus(); }
  // Reads every table file and checks its checksums (a scrub: slow, without filling caches).
  // DataLoss naming the damaged file; a store found damaged takes no more writes (Writable says
  // why) until it is restored.
  // The scrub stops (Cancelled) between files when `go_on` returns false.
  virtual absl::Status VerifyChecksums(const std::function<bool()>& go_on = nullptr) {
    (void)go_on;
    return absl::OkStatus();
  }
  // Flushes and closes; further calls fail. Called by the destructor if not called.
  virtual absl::Status Close() = 0;
  // Writes a consistent copy of the store, as of now, to `dir` (which must not exist; on the
  // store's file system its files are hard links), while writes go on.
  virtual absl::Status Checkpoint(const std::string& dir) {
    (void)dir;
    return absl::UnimplementedError("this store cannot make checkpoints");
  }
};

// Opens the RocksDB store in `dir`. Errors name the problem: NotFound (no store),
// FailedPrecondition (locked by another process), DataLoss (corruption, naming the file).
absl::StatusOr<std::unique_ptr<Store>> OpenRocksStore(const std::string& dir,
                                                      const StoreOptions& options);

}  // namespace hanse::catalog

#endif  // HANSE_CATALOG_STORE_H_
