// The search reference: SQLite FTS5 over the same corpus, ranked by bm25().
//
//   fts(title, description, keywords)                  FTS5, rowid = document index + 1
//   meta(rowid INTEGER PRIMARY KEY, id, language)      indexed on language
//   doc_theme(theme, doc) PRIMARY KEY (theme, doc)     WITHOUT ROWID
// Ranking: bm25(fts, 2.0, 1.0, 1.0), so that title words weigh double as in Hanse. A filter is a
// WHERE on the indexed plain column, joined by rowid; SQLite's planner picks the plan. The FTS5
// index is merged ('optimize') and the tables ANALYZEd after loading: the reference at its best.
#ifndef HANSE_BENCH_FTS_REFERENCE_H_
#define HANSE_BENCH_FTS_REFERENCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/corpus.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hanse::bench {

class FtsBuilder {
 public:
  static absl::StatusOr<std::unique_ptr<FtsBuilder>> Create(const std::string& path);
  ~FtsBuilder();
  absl::Status Add(size_t index, const std::string& id, const DatasetText& text);
  // Commits what was added so far (call every few thousand documents).
  absl::Status Commit();
  // Commits, builds the secondary index, merges the FTS5 segments, analyzes, closes.
  absl::Status Finish();

 private:
  FtsBuilder() = default;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* fts_ = nullptr;
  sqlite3_stmt* meta_ = nullptr;
  sqlite3_stmt* theme_ = nullptr;
};

// One query, in both languages.
struct BenchQuery {
  std::vector<std::string> terms;
  std::string filter_field;  // "", "language" or "theme"
  std::string filter_value;
  bool sqlite_and = false;  // FTS5 AND instead of OR (context only: Hanse has no AND)

  // Hanse query syntax: "a b language:de".
  std::string HanseText() const;
  // FTS5 MATCH expression: "a", "a OR b", or "a b" when sqlite_and.
  std::string FtsMatch() const;
};

class FtsSearcher {
 public:
  static absl::StatusOr<std::unique_ptr<FtsSearcher>> Open(const std::string& path);
  ~FtsSearcher();
  // Top-10 ids, best first.
  absl::StatusOr<std::vector<std::string>> Search(const BenchQuery& query);

 private:
  FtsSearcher() = default;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* plain_ = nullptr;
  sqlite3_stmt* language_ = nullptr;
  sqlite3_stmt* theme_ = nullptr;
};

}  // namespace hanse::bench

#endif  // HANSE_BENCH_FTS_REFERENCE_H_
