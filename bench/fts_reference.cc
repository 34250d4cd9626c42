#include "bench/fts_reference.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"

namespace hanse::bench {
namespace {

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat("sqlite: ", what, ": ", db ? sqlite3_errmsg(db) : "?"));
}

absl::Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("sqlite: ", sql, ": ", msg));
  }
  return absl::OkStatus();
}

absl::StatusOr<sqlite3_stmt*> Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db, sql);
  }
  return stmt;
}

void BindText(sqlite3_stmt* stmt, int i, const std::string& s) {
  sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

absl::Status Step(sqlite3* db, sqlite3_stmt* stmt) {
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) return SqliteError(db, "insert");
  return absl::OkStatus();
}

constexpr char kRank[] = "bm25(fts, 2.0, 1.0, 1.0)";

}  // namespace

absl::StatusOr<std::unique_ptr<FtsBuilder>> FtsBuilder::Create(const std::string& path) {
  std::remove(path.c_str());
  std::unique_ptr<FtsBuilder> b(new FtsBuilder);
  if (sqlite3_open(path.c_str(), &b->db_) != SQLITE_OK) return SqliteError(b->db_, path);
  HANSE_RETURN_IF_ERROR(Exec(b->db_,
                             "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                             "PRAGMA cache_size=-262144;"
                             "CREATE VIRTUAL TABLE fts USING fts5(title, description, keywords);"
                             "CREATE TABLE meta(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL,"
                             " language TEXT NOT NULL);"
                             "CREATE TABLE doc_theme(theme TEXT NOT NULL, doc INTEGER NOT NULL,"
                             " PRIMARY KEY (theme, doc)) WITHOUT ROWID;"
                             "BEGIN"));
  HANSE_ASSIGN_OR_RETURN(b->fts_, Prepare(b->db_,
                                          "INSERT INTO fts(rowid, title, description, "
                                          "keywords) VALUES (?1, ?2, ?3, ?4)"));
  HANSE_ASSIGN_OR_RETURN(
      b->meta_, Prepare(b->db_, "INSERT INTO meta(rowid, id, language) VALUES (?1, ?2, ?3)"));
  HANSE_ASSIGN_OR_RETURN(b->theme_,
                         Prepare(b->db_, "INSERT INTO doc_theme(theme, doc) VALUES (?1, ?2)"));
  return b;
}

FtsBuilder::~FtsBuilder() {
  sqlite3_finalize(fts_);
  sqlite3_finalize(meta_);
  sqlite3_finalize(theme_);
  if (db_ != nullptr) sqlite3_close(db_);
}

absl::Status FtsBuilder::Add(size_t index, const std::string& id, const DatasetText& text) {
  const sqlite3_int64 rowid = static_cast<sqlite3_int64>(index) + 1;
  sqlite3_bind_int64(fts_, 1, rowid);
  BindText(fts_, 2, text.title);
  BindText(fts_, 3, text.description);
  BindText(fts_, 4, absl::StrJoin(text.keywords, " "));
  HANSE_RETURN_IF_ERROR(Step(db_, fts_));
  sqlite3_bind_int64(meta_, 1, rowid);
  BindText(meta_, 2, id);
  BindText(meta_, 3, text.language);
  HANSE_RETURN_IF_ERROR(Step(db_, meta_));
  for (const auto& theme : text.themes) {
    BindText(theme_, 1, theme);
    sqlite3_bind_int64(theme_, 2, rowid);
    HANSE_RETURN_IF_ERROR(Step(db_, theme_));
  }
  return absl::OkStatus();
}

absl::Status FtsBuilder::Commit() { return Exec(db_, "COMMIT; BEGIN"); }

absl::Status FtsBuilder::Finish() {
  HANSE_RETURN_IF_ERROR(Exec(db_, "COMMIT"));
  HANSE_RETURN_IF_ERROR(Exec(db_,
                             "CREATE INDEX meta_language ON meta(language);"
                             "INSERT INTO fts(fts) VALUES('optimize');"
                             "ANALYZE;"));
  sqlite3_finalize(fts_);
  sqlite3_finalize(meta_);
  sqlite3_finalize(theme_);
  fts_ = meta_ = theme_ = nullptr;
  int rc = sqlite3_close(db_);
  db_ = nullptr;
  if (rc != SQLITE_OK) return absl::InternalError("sqlite: close failed");
  return absl::OkStatus();
}

std::string BenchQuery::HanseText() const {
  std::string q = absl::StrJoin(terms, " ");
  if (!filter_field.empty()) absl::StrAppend(&q, " ", filter_field, ":", filter_value);
  return q;
}

std::string BenchQuery::FtsMatch() const { return absl::StrJoin(terms, sqlite_and ? " " : " OR "); }

absl::StatusOr<std::unique_ptr<FtsSearcher>> FtsSearcher::Open(const std::string& path) {
  std::unique_ptr<FtsSearcher> s(new FtsSearcher);
  if (sqlite3_open_v2(path.c_str(), &s->db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return SqliteError(s->db_, path);
  }
  // A generous page cache and mmap: the reference gets every advantage the OS page cache gives
  // the RocksDB side too.
  HANSE_RETURN_IF_ERROR(Exec(s->db_, "PRAGMA cache_size=-262144; PRAGMA mmap_size=4294967296;"));
  std::string plain = absl::StrCat(
      "SELECT m.id FROM (SELECT rowid AS r, ", kRank,
      " AS s FROM fts WHERE fts MATCH ?1 ORDER BY s LIMIT 10) x JOIN meta m ON m.rowid = x.r "
      "ORDER BY x.s");
  std::string language = absl::StrCat(
      "SELECT m.id FROM fts JOIN meta m ON m.rowid = fts.rowid WHERE fts MATCH ?1 AND "
      "m.language = ?2 ORDER BY ",
      kRank, " LIMIT 10");
  std::string theme = absl::StrCat(
      "SELECT m.id FROM (SELECT fts.rowid AS r, ", kRank,
      " AS s FROM fts JOIN doc_theme t ON t.doc = fts.rowid WHERE fts MATCH ?1 AND t.theme = ?2 "
      "ORDER BY s LIMIT 10) x JOIN meta m ON m.rowid = x.r ORDER BY x.s");
  HANSE_ASSIGN_OR_RETURN(s->plain_, Prepare(s->db_, plain.c_str()));
  HANSE_ASSIGN_OR_RETURN(s->language_, Prepare(s->db_, language.c_str()));
  HANSE_ASSIGN_OR_RETURN(s->theme_, Prepare(s->db_, theme.c_str()));
  return s;
}

FtsSearcher::~FtsSearcher() {
  sqlite3_finalize(plain_);
  sqlite3_finalize(language_);
  sqlite3_finalize(theme_);
  if (db_ != nullptr) sqlite3_close(db_);
}

absl::StatusOr<std::vector<std::string>> FtsSearcher::Search(const BenchQuery& query) {
  sqlite3_stmt* stmt = query.filter_field.empty()         ? plain_
                       : query.filter_field == "language" ? language_
                                                          : theme_;
  BindText(stmt, 1, query.FtsMatch());
  if (stmt != plain_) BindText(stmt, 2, query.filter_value);
  std::vector<std::string> ids;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    ids.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                     sqlite3_column_bytes(stmt, 0));
  }
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) return SqliteError(db_, "search");
  return ids;
}

}  // namespace hanse::bench
