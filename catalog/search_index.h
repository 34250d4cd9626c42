// The catalogue's full-text and field search index, stored in the kPostings and kFields column
// families of the node's Store. The catalogue writes index changes in the same WriteBatch as the
// document, so a document and its index entries change atomically.
//
// Writing: Add/Remove stage their changes in memory; Flush() puts every changed key into the
// batch once (the last block and its header, the meta of each touched term, each touched
// issued-day chunk, the id records, the stats), however many documents of the batch touched it.
// The writer caches the committed meta and last block of recently used terms (a bounded LRU,
// SearchIndexOptions::term_cache_bytes), so that appending to a hot term reads nothing from the
// store.
//
// Model
// - Each indexed document gets a dense doc number (uint32, assigned in indexing order, never
//   reused). Replacing a document indexes it again under a new number and marks the old one
//   deleted; deleted numbers stay in posting lists and are skipped at query time (there is no
//   compaction yet, so replacements cost index space until a rebuild).
// - Ranked text is one combined field: title (each title token counted twice, so title words
//   weigh double), description and keywords. Scores are BM25 (k1 = 1.2, b = 0.75) with Lucene's
//   idf, log(1 + (N - df + 0.5) / (df + 0.5)), over the live documents: N, df and the average
//   length are exact for live documents. A document's score is the sum of its per-term scores in
//   query-term order (Bm25TermScore below).
// - Ties: relevance ties go to the lower doc number (indexed earlier); sort:issued orders by
//   (day, doc number) ascending and sort:-issued by (day, doc number) descending.
//
// Storage (kPostings). A posting list exists for every text term and every filter value (key
// "\x01" + field code + normalised value). It is cut into blocks of up to kBlockSize postings:
//   "m" term            -> meta: live df, number of blocks
//   "h" term \0 seq(BE) -> block header: last doc number, count, max tf, min doc length
//   "b" term \0 seq(BE) -> block: doc numbers (first absolute, then deltas), tfs, doc lengths
// Headers are separate from blocks so that a query reads all headers of its terms (small) but
// only the blocks it cannot skip. New doc numbers are always larger than existing ones, so adding
// a document appends to the last block of each of its terms (or starts a new one).
// kFields: "s" stats, "v" format version, "i" id -> doc number + content fingerprint,
//   "n" doc number -> id, "a" chunk -> issued days of 1024 doc numbers (a deleted or unused doc
//   number holds kDeadDay). The issued days are kept in memory (4 bytes per doc number, read at
//   Open in ~1000 reads per million documents), which also serves as the deletion bitmap.
//
// Query evaluation: see search_index.cc (block-max WAND for relevance; filters as conjunctive
// posting lists leap-frogged with the ranked lists).
//
// Threading: one writer (Add/Remove/Flush/Committed/Aborted, serialized by the caller) and any
// number of concurrent Search calls. Search holds a reader lock for its whole run; Committed takes
// the writer lock, so a search sees the index either before or after a committed batch. (A search
// may read postings of a batch written but not yet Committed(); their docs are not visible yet,
// and the df of a term may already count them: scores can differ in the last digits during that
// window.)
#ifndef HANSE_CATALOG_SEARCH_INDEX_H_
#define HANSE_CATALOG_SEARCH_INDEX_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "catalog/query.h"
#include "catalog/store.h"

namespace hanse::catalog {

struct IndexedDoc {
  std::string id;
  std::string title, description;
  std::vector<std::string> keywords;  // ranked text, and the `keyword:` filter (whole keywords)
  std::string publisher, licence, media_type, language, country, hosting;  // exact filters
  std::vector<std::string> themes;                                         // exact filter
  int64_t issued_day = 0;  // days since 1970-01-01; must fit in int32
};

struct SearchHit {
  std::string id;
  double score;  // BM25; 0 when the query has no terms
  int64_t issued_day;
};

struct SearchPage {
  std::vector<SearchHit> hits;
  std::string next_cursor;  // empty when there are no more hits
  // Exact for sort:issued/-issued. For relevance, an upper bound: min(live docs, sum of the
  // terms' df, the smallest filter field's sum of value df), ignoring the issued range.
  uint64_t total_estimate = 0;
};

inline constexpr double kBm25K1 = 1.2;
inline constexpr double kBm25B = 0.75;
inline constexpr size_t kBlockSize = 128;
inline constexpr size_t kMaxBlockSize = 1024;
inline constexpr size_t kMaxSearchLimit = 1000;

// Lucene's BM25 idf; always > 0.
double Bm25Idf(uint64_t live_docs, uint64_t df);
// One term's BM25 contribution. Written so that, in floating point too, it never decreases when
// tf grows and never increases when doc_length grows: a block's bound computed from its max tf and
// min length is then a true upper bound of every score in it, with no epsilon.
double Bm25TermScore(double idf, uint32_t tf, uint32_t doc_length, double avg_doc_length);

struct SearchIndexOptions {
  // Postings per block for new blocks (1..kMaxBlockSize). Only tests change it: small blocks let a
  // small corpus exercise block skipping. Existing blocks of any size are read.
  size_t block_size = kBlockSize;
  // Byte budget of the writer's cache of committed term metas and last blocks (an estimate of
  // the heap it holds). 0 disables it.
  size_t term_cache_bytes = size_t{64} << 20;
};

class SearchIndex {
 public:
  // Reads the stats and the per-doc issued days; postings stay on disk.
  static absl::StatusOr<std::unique_ptr<SearchIndex>> Open(Store* store,
                                                           const SearchIndexOptions& options = {});

  SearchIndex(const SearchIndex&) = delete;
  SearchIndex& operator=(const SearchIndex&) = delete;

  // Stages the index changes for `doc`, to go into `batch` (the batch that also holds the
  // document) at Flush(); nothing is put into `batch` yet. If `doc.id` is already indexed,
  // `previous` must be the document as it was indexed (FailedPrecondition otherwise); it is
  // replaced. Several Add and Remove calls may go into one batch. On any error the batch must be
  // discarded and Aborted() called.
  absl::Status Add(const IndexedDoc& doc, const IndexedDoc* previous, WriteBatch* batch);
  // `doc` must be the document as it was indexed: its terms' statistics are decremented
  // (FailedPrecondition if its fingerprint differs; NotFound if the id is not indexed). Staged
  // like Add.
  absl::Status Remove(const IndexedDoc& doc, WriteBatch* batch);
  // Puts every change staged since the last Committed()/Aborted() into `batch`, each key once.
  // Call it once, after the last Add/Remove and right before the batch is written. (A further
  // Add/Remove needs another Flush, which puts the staged keys again: correct, only wasteful.)
  absl::Status Flush(WriteBatch* batch);
  // After the flushed batch was written successfully: makes the changes visible. Calling it with
  // staged changes that were not flushed is a caller bug: they are dropped (as by Aborted) and
  // reported on stderr, since they cannot be in the batch that was written.
  void Committed();
  // After it was not written (or on any error): forgets the staged changes.
  void Aborted();

  // `limit` in 1..kMaxSearchLimit. `cursor` is empty for the first page, or a next_cursor of a
  // previous page of the same query (InvalidArgument otherwise). Pages of an unchanged index have
  // no duplicates and no gaps.
  absl::StatusOr<SearchPage> Search(const Query& query, size_t limit,
                                    absl::string_view cursor) const;

  // Posting blocks read and decoded since Open, for tests and metrics: shows that top-k skips.
  uint64_t blocks_decoded() const { return blocks_decoded_.load(std::memory_order_relaxed); }

  // Live (indexed and not removed) documents.
  uint64_t live_docs() const;

  // Terms in the writer's cache, for tests. Writer thread only.
  size_t cached_terms() const { return terms_.cached(); }

 private:
  struct Stats {
    uint32_t next_docnum = 0;
    uint64_t live_docs = 0;
    uint64_t total_length = 0;  // sum of live documents' lengths
  };
  struct TermMeta {
    uint64_t df = 0;
    uint32_t num_blocks = 0;
  };
  struct Posting {
    uint32_t doc, tf, length;
  };
  struct Tail {  // the last block of a posting list, as being rewritten by appends
    uint32_t seq = 0;
    std::vector<Posting> postings;
    bool dirty = false;  // appended to since it was read (must be written)
  };
  // The writer's view of a term's posting list: its meta and (once needed) its last block.
  struct TermState {
    std::string term;
    TermMeta meta;
    std::optional<Tail> tail;  // nullopt: not read yet
    std::vector<Tail> sealed;  // blocks filled by the pending batch, before `tail`
    bool pending = false;      // touched by the pending batch (its meta is dirty)
    size_t bytes = 0;          // estimated heap held, while cached
  };
  // The term states touched by the pending batch, and an LRU cache of committed ones bounded by
  // an estimate of the bytes held. A cached state that a batch touches moves (list splice, no
  // copy) to the pending list; Commit moves the pending ones back as most recently used, Drop
  // forgets them (they are read from the store again when needed). Writer-only.
  class TermTable {
   public:
    explicit TermTable(size_t budget) : budget_(budget) {}
    // The pending or cached state of `term` (made pending), or nullptr.
    TermState* FindForWrite(const std::string& term);
    // A new pending state (the term must not be in the table).
    TermState* AddPending(const std::string& term, const TermMeta& meta);
    // The pending states, sorted by term.
    std::vector<TermState*> PendingSorted();
    void CommitPending();
    void DropPending();
    size_t cached() const { return lru_.size(); }

   private:
    using List = std::list<TermState>;
    static size_t Cost(const TermState& state);
    void Erase(List* list, List::iterator it);

    const size_t budget_;
    size_t bytes_ = 0;  // of the cached states
    List lru_;          // cached, most recently used first
    List pending_;
    std::unordered_map<std::string_view, List::iterator> map_;  // views of TermState::term
  };
  struct IdEntry {
    uint32_t docnum;
    uint64_t fingerprint;
  };
  // Changes since the last Committed/Aborted, besides the term states (terms_); reads on the
  // write path go through it.
  struct Pending {
    bool active = false;
    bool unflushed = false;  // something was staged since the last Flush
    Stats stats;
    std::map<std::string, std::optional<IdEntry>> ids;   // nullopt: removed in this batch
    std::vector<std::pair<uint32_t, std::string>> docs;  // new doc numbers -> ids
    std::map<uint32_t, std::vector<int32_t>> day_chunks;
  };
  class Evaluator;
  friend class Evaluator;

  SearchIndex(Store* store, const SearchIndexOptions& options)
      : store_(store), options_(options), terms_(options.term_cache_bytes) {}

  void BeginWrite();
  absl::StatusOr<std::optional<IdEntry>> LookupId(const std::string& id);
  absl::StatusOr<TermState*> StateFor(const std::string& term);
  absl::Status Append(const std::string& term, const Posting& posting);
  absl::Status AdjustDf(const std::string& term, int64_t delta);
  void SetDay(uint32_t docnum, int32_t day);
  absl::Status RemoveInternal(const IndexedDoc& doc, const IdEntry& entry);

  Store* const store_;
  const SearchIndexOptions options_;
  // Committed state, read by searches under the reader lock and updated by Committed(). An
  // absl::Mutex rather than std::shared_mutex: glibc's rwlock prefers readers, and a steady stream
  // of searches would starve Committed().
  mutable absl::Mutex mu_;
  Stats stats_;  // written under mu_; the writer thread also reads it without the lock
  std::vector<int32_t> days_;  // by doc number; kDeadDay when deleted or not yet visible
  // Writer-only state (the caller serializes writers).
  Pending pending_;
  TermTable terms_;
  mutable std::atomic<uint64_t> blocks_decoded_{0};
};

}  // namespace hanse::catalog

#endif  // HANSE_CATALOG_SEARCH_INDEX_H_
