// The PostgreSQL source against a real server started for the suite (tests/support/
// postgres_server.h). Without the server binaries the suite fails, unless HANSE_SKIP_POSTGRES=1.
#include "node/source/postgres.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/support/postgres_server.h"
#include "tests/support/status_matchers.h"
#include "trust/sha256_stream.h"

namespace hanse::node::source {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::IsOkAndHolds;
using ::hanse::testing::PostgresServer;
using ::hanse::testing::StatusIs;
using postgres_internal::SingleSelect;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kPatients = 5000;
constexpr int kGrowing = 3000;
constexpr const char* kReaderPassword = "correct horse";

struct Patient {
  std::optional<std::string> name, note, amount;
};

// Values that CSV must quote (commas, quotes, line breaks, the empty string), NULLs, non-ASCII,
// and "\." (a COPY end marker in text format, quoted only when it is a row's one column).
Patient MakePatient(int i) {
  static const char* const kNames[] = {"plain",       "comma, here", "say \"hi\"",
                                       "line\nbreak", "cr\r\nlf",    "",
                                       "Ünïcødé ✓ ;", " spaced "};
  Patient p;
  p.name = absl::StrCat(kNames[i % 8], i % 8 == 5 ? "" : absl::StrCat(" ", i));
  if (i % 5 != 0) p.note = i % 11 == 0 ? std::string("\\.") : absl::StrCat("note;", i, "'");
  if (i % 3 != 0) p.amount = absl::StrCat(i % 4 == 0 ? -i : i * 1000 - 7);
  return p;
}

// PostgreSQL's CSV (FORMAT csv): NULL unquoted and empty, an empty string "", and a value with a
// delimiter, quote or line break quoted with quotes doubled.
std::string CsvField(const std::optional<std::string>& v, bool single_column) {
  if (!v) return "";
  const bool quote = v->empty() || v->find_first_of(",\"\n\r") != std::string::npos ||
                     (single_column && *v == "\\.");
  if (!quote) return *v;
  std::string out = "\"";
  for (char c : *v) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string ExpectedPatientsCsv() {
  std::string csv = "id,name,note,amount\n";
  for (int i = 1; i <= kPatients; ++i) {
    const Patient p = MakePatient(i);
    absl::StrAppend(&csv, i, ",", CsvField(p.name, false), ",", CsvField(p.note, false), ",",
                    CsvField(p.amount, false), "\n");
  }
  return csv;
}

std::string Sha256(absl::string_view s) {
  trust::Sha256Stream h;
  h.Update(s);
  return h.HexDigest();
}

absl::StatusOr<std::string> ReadAll(Reader& r, size_t chunk) {
  std::string out, buf(chunk, '\0');
  while (true) {
    absl::StatusOr<size_t> n = r.Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

std::uint64_t Rows(const Reader& r) {
  const auto* counter = dynamic_cast<const RowCounter*>(&r);
  return counter != nullptr ? counter->rows() : ~0ull;
}

TEST(SingleSelectTest, AcceptsOneReadingStatement) {
  for (const char* q :
       {"SELECT 1", "select 1;", "SELECT 1 ; -- done\n  /* really */ ",
        "  -- lead\n(SELECT 1) UNION (SELECT 2)", "WITH x AS (SELECT 1) TABLE x", "VALUES (1), (2)",
        "TABLE patients", "SELECT ';' AS s", "SELECT 'it''s; fine'", "SELECT E'it\\'s; fine'",
        "SELECT \"a;b\" FROM t", "SELECT $$a;b$$", "SELECT $tag$ ; $ $tag$", "SELECT a$b FROM t",
        "SELECT 1 /* ; /* nested ; */ still ; */", "SELECT 1 -- ;"}) {
    EXPECT_THAT(SingleSelect(q), IsOk()) << q;
  }
  EXPECT_THAT(SingleSelect("SELECT 1 ; -- done"), IsOkAndHolds(std::string("SELECT 1 ")));
  EXPECT_THAT(SingleSelect("SELECT 'a;b'"), IsOkAndHolds(std::string("SELECT 'a;b'")));
}

TEST(SingleSelectTest, RefusesEverythingElse) {
  EXPECT_THAT(SingleSelect("SELECT 1; DELETE FROM t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("single statement")));
  EXPECT_THAT(SingleSelect("SELECT 1;;"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SingleSelect("SELECT 'a'';'; DROP TABLE t"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SingleSelect("SELECT $x$;$x$; DROP TABLE t"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SingleSelect("DELETE FROM t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DELETE")));
  EXPECT_THAT(SingleSelect("(update t set a = 1)"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("UPDATE")));
  EXPECT_THAT(SingleSelect("  -- nothing\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(SingleSelect("SELECT 'open"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not closed")));
  EXPECT_THAT(SingleSelect("SELECT 1 /* open"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not closed")));
  EXPECT_THAT(SingleSelect("SELECT $q$ open"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not closed")));
}

class PostgresSourceTest : public ::testing::Test {
 protected:
  static bool SkipRequested() {
    const char* v = std::getenv("HANSE_SKIP_POSTGRES");
    return v != nullptr && std::string(v) == "1";
  }

  static void SetUpTestSuite() {
    if (SkipRequested()) return;
    server_ = new PostgresServer();
    absl::StatusOr<std::string> started = server_->Start();
    suite_status_ = started.ok() ? CreateData() : started.status();
  }

  static void TearDownTestSuite() {
    delete server_;  // stops the server and removes its directory
    server_ = nullptr;
  }

  void SetUp() override {
    if (SkipRequested()) GTEST_SKIP() << "HANSE_SKIP_POSTGRES=1";
    ASSERT_TRUE(suite_status_.ok()) << suite_status_ << "\n" << server_->Log();
  }

  static absl::Status Exec(absl::string_view sql, const PostgresServer::Row& params = {}) {
    return server_->Exec(sql, params).status();
  }

  static absl::Status CreateData() {
    for (const char* sql : {
             "CREATE TABLE patients (id integer PRIMARY KEY, name text, note text, amount bigint)",
             "CREATE VIEW patient_notes AS SELECT id, note FROM patients ORDER BY id",
             "CREATE SCHEMA reports",
             "CREATE VIEW reports.\"we\"\"ird\" AS SELECT id FROM patients WHERE id <= 3",
             "CREATE TABLE growing (id integer PRIMARY KEY)",
             "CREATE TABLE secrets (s text)",
             "INSERT INTO secrets VALUES ('classified')",
             "CREATE ROLE reader LOGIN PASSWORD 'correct horse'",
             "GRANT SELECT ON patients, patient_notes TO reader",
             "INSERT INTO growing SELECT generate_series(1, 3000)",
             "BEGIN",
         }) {
      if (absl::Status s = Exec(sql); !s.ok()) return s;
    }
    for (int i = 1; i <= kPatients; ++i) {
      const Patient p = MakePatient(i);
      if (absl::Status s = Exec("INSERT INTO patients VALUES ($1, $2, $3, $4)",
                                {absl::StrCat(i), p.name, p.note, p.amount});
          !s.ok()) {
        return s;
      }
    }
    return Exec("COMMIT");
  }

  static std::unique_ptr<Source> QuerySource(std::string query, std::string conninfo = "") {
    return MakePostgresSource(
        {.conninfo = conninfo.empty() ? server_->Conninfo() : conninfo, .query = query});
  }
  static std::unique_ptr<Source> ViewSource(std::string view) {
    return MakePostgresSource({.conninfo = server_->Conninfo(), .view = view});
  }

  static std::int64_t Count(absl::string_view sql) {
    auto rows = server_->Exec(sql);
    if (!rows.ok() || rows->size() != 1 || !(*rows)[0][0]) return -1;
    return std::stoll(*(*rows)[0][0]);
  }

  // Backends of this source (application_name "hanse"), polled until none is left.
  static bool SourceBackendsGone(std::chrono::seconds within) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hanse'") == 0) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  static std::string WritePassfile(const std::string& password) {
    const std::string path = absl::StrCat(server_->dir(), "/pgpass-", Sha256(password));
    std::ofstream(path, std::ios::trunc) << "*:*:*:reader:" << password << "\n";
    ::chmod(path.c_str(), 0600);  // libpq ignores a passfile others can read
    return path;
  }

  static inline PostgresServer* server_ = nullptr;
  static inline absl::Status suite_status_;
};

TEST_F(PostgresSourceTest, DescribeGivesColumnsOfALiveSource) {
  auto src = QuerySource("SELECT * FROM patients ORDER BY id;");
  HANSE_ASSERT_OK_AND_ASSIGN(Description d, src->Describe(nullptr));
  EXPECT_EQ(d.kind, "postgresql");
  EXPECT_TRUE(d.live);
  EXPECT_EQ(d.byte_size, 0u);
  EXPECT_EQ(d.sha256, "");
  EXPECT_EQ(d.record, nlohmann::json({{"columns", {"id", "name", "note", "amount"}}}));

  HANSE_ASSERT_OK_AND_ASSIGN(Description v, ViewSource("public.patient_notes")->Describe({}));
  EXPECT_EQ(v.record, nlohmann::json({{"columns", {"id", "note"}}}));
}

TEST_F(PostgresSourceTest, StreamIsTheCsvOfTheRows) {
  const std::string expected = ExpectedPatientsCsv();
  auto src = QuerySource("SELECT * FROM patients ORDER BY id");
  // A small buffer splits rows across reads; a large one gathers many rows into one.
  for (size_t chunk : {7, 64 << 10}) {
    HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Reader> r, src->Open(0));
    HANSE_ASSERT_OK_AND_ASSIGN(std::string got, ReadAll(*r, chunk));
    EXPECT_EQ(Sha256(got), Sha256(expected)) << "chunk " << chunk;
    EXPECT_EQ(got.substr(0, 200), expected.substr(0, 200));
    EXPECT_EQ(Rows(*r), static_cast<std::uint64_t>(kPatients));
    // At the end, reading again is the end again.
    char byte;
    EXPECT_THAT(r->Read(&byte, 1), IsOkAndHolds(0u));
  }
  // psql's own \copy of the same query gives the same bytes.
  HANSE_ASSERT_OK_AND_ASSIGN(
      std::string psql,
      server_->Psql({"-c", "\\copy (SELECT * FROM patients ORDER BY id) to stdout csv header"}));
  EXPECT_EQ(Sha256(psql), Sha256(expected));
}

TEST_F(PostgresSourceTest, ViewStreamsLikePsql) {
  HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Reader> r, ViewSource("patient_notes")->Open(0));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string got, ReadAll(*r, 4096));
  HANSE_ASSERT_OK_AND_ASSIGN(
      std::string psql,
      server_->Psql({"-c", "\\copy (SELECT * FROM patient_notes) to stdout csv header"}));
  EXPECT_EQ(Sha256(got), Sha256(psql));
  EXPECT_EQ(Rows(*r), static_cast<std::uint64_t>(kPatients));

  // The name is quoted part by part: a quote in it is part of the name.
  HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Reader> w, ViewSource("reports.we\"ird")->Open(0));
  EXPECT_THAT(ReadAll(*w, 4096), IsOkAndHolds(std::string("id\n1\n2\n3\n")));
}

TEST_F(PostgresSourceTest, EmptyResultIsTheHeaderAlone) {
  HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Reader> r,
                             QuerySource("SELECT id, name FROM patients WHERE false")->Open(0));
  EXPECT_THAT(ReadAll(*r, 4096), IsOkAndHolds(std::string("id,name\n")));
  EXPECT_EQ(Rows(*r), 0u);
}

TEST_F(PostgresSourceTest, MissingViewIsNamed) {
  auto src = ViewSource("public.nope");
  EXPECT_THAT(src->Describe({}), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("view public.nope does not exist")));
  EXPECT_THAT(src->Open(0), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("public.nope")));
  EXPECT_THAT(ViewSource("a.b.c")->Describe({}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ViewSource("public.")->Describe({}), StatusIs(absl::StatusCode::kInvalidArgument));
  // What would be SQL in a view name is only a name.
  EXPECT_THAT(ViewSource("patients; DROP TABLE patients")->Describe({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not exist")));
  EXPECT_THAT(ViewSource("patients\" ; DROP TABLE patients; --")->Open(0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Count("SELECT count(*) FROM patients"), kPatients);
}

TEST_F(PostgresSourceTest, OnlyReadingStatementsRun) {
  for (const char* q : {
           "DELETE FROM patients",
           "DELETE FROM patients RETURNING *",
           "SELECT 1; DELETE FROM patients",
           "WITH d AS (DELETE FROM patients RETURNING *) SELECT * FROM d",
           "SELECT * INTO stolen FROM patients",
           "SELECT * FROM patients FOR UPDATE",
       }) {
    auto src = QuerySource(q);
    EXPECT_THAT(src->Describe({}), StatusIs(absl::StatusCode::kInvalidArgument)) << q;
    absl::StatusOr<std::unique_ptr<Reader>> r = src->Open(0);
    if (r.ok()) {
      EXPECT_THAT(ReadAll(**r, 4096), StatusIs(absl::StatusCode::kInvalidArgument)) << q;
    } else {
      EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument)) << q;
    }
  }
  // A function that would lift the read-only mode runs only with the rows: the transfer fails.
  HANSE_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Reader> lift,
      QuerySource("SELECT set_config('transaction_read_only', 'off', true), * FROM patients")
          ->Open(0));
  EXPECT_THAT(ReadAll(*lift, 4096),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("read-write")));
  EXPECT_THAT(QuerySource("DELETE FROM patients")->Describe({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DELETE statement")));
  EXPECT_EQ(Count("SELECT count(*) FROM patients"), kPatients);
  EXPECT_EQ(Count("SELECT count(*) FROM pg_class WHERE relname = 'stolen'"), 0);

  // Behind SingleSelect, the server takes one statement in a COPY through the extended
  // protocol, as the source sends it.
  EXPECT_THAT(Exec("COPY (SELECT 1; DELETE FROM patients) TO STDOUT"), Not(IsOk()));
  EXPECT_THAT(Exec("SELECT 1; DELETE FROM patients"), Not(IsOk()));
  EXPECT_EQ(Count("SELECT count(*) FROM patients"), kPatients);
}

TEST_F(PostgresSourceTest, SyntaxAndNameErrorsAreInvalidArgument) {
  EXPECT_THAT(QuerySource("SELECT * FORM patients")->Describe({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("syntax error")));
  EXPECT_THAT(QuerySource("SELECT nope FROM patients")->Describe({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nope")));
  EXPECT_THAT(QuerySource("SELECT * FROM missing_table")->Open(0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing_table")));
  EXPECT_THAT(QuerySource("SELECT FROM patients")->Describe({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no columns")));
  EXPECT_THAT(MakePostgresSource({.conninfo = server_->Conninfo()})->Describe({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("either a query or a view")));
  EXPECT_THAT(
      MakePostgresSource({.conninfo = server_->Conninfo(), .query = "SELECT 1", .view = "v"})
          ->Open(0),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(PostgresSourceTest, ALiveSourceDoesNotResume) {
  EXPECT_THAT(QuerySource("SELECT 1")->Open(10),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("cannot resume")));
}

TEST_F(PostgresSourceTest, OneTransferIsOneSnapshot) {
  auto src = QuerySource("SELECT * FROM growing ORDER BY id");
  HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Reader> r, src->Open(0));
  char head[100];
  HANSE_ASSERT_OK_AND_ASSIGN(size_t n, r->Read(head, sizeof(head)));
  ASSERT_GT(n, 0u);
  // Another connection changes the table while the transfer is under way.
  ASSERT_THAT(Exec("INSERT INTO growing SELECT generate_series(3001, 4000)"), IsOk());
  ASSERT_THAT(Exec("DELETE FROM growing WHERE id % 2 = 0"), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(std::string rest, ReadAll(*r, 4096));
  std::string expected = "id\n";
  for (int i = 1; i <= kGrowing; ++i) absl::StrAppend(&expected, i, "\n");
  EXPECT_EQ(std::string(head, n) + rest, expected);
  EXPECT_EQ(Rows(*r), static_cast<std::uint64_t>(kGrowing));

  // The next transfer sees the change.
  HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Reader> again, src->Open(0));
  ASSERT_THAT(ReadAll(*again, 4096), IsOk());
  EXPECT_EQ(Rows(*again), 2000u);
}

TEST_F(PostgresSourceTest, DestroyingAReaderCancelsTheQuery) {
  // Mid-stream: the server is sending rows faster than they are read (a set-returning function
  // in the select list streams; in FROM it would be computed in full first).
  {
    auto src = QuerySource("SELECT generate_series(1, 50000000) AS g, repeat('x', 200) AS pad");
    HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Reader> r, src->Open(0));
    std::string buf(64 << 10, '\0');
    ASSERT_THAT(r->Read(buf.data(), buf.size()), IsOk());
    EXPECT_EQ(Count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hanse' "
                    "AND state = 'active' AND query LIKE 'COPY%'"),
              1);
  }
  EXPECT_TRUE(SourceBackendsGone(std::chrono::seconds(10)));

  // Before the first row: the query is still computing.
  const auto start = std::chrono::steady_clock::now();
  {
    HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Reader> r,
                               QuerySource("SELECT pg_sleep(60), 1 AS one")->Open(0));
  }
  EXPECT_TRUE(SourceBackendsGone(std::chrono::seconds(10)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_EQ(Count("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' "
                  "AND pid <> pg_backend_pid()"),
            0);
}

TEST_F(PostgresSourceTest, StatementTimeoutIsDeadlineExceeded) {
  // Failing in the first second: Open sees the COPY start, the first Read the timeout.
  PostgresQuery fast{.conninfo = server_->Conninfo(), .query = "SELECT pg_sleep(5)"};
  fast.transfer_timeout = std::chrono::seconds(1);
  HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Reader> r, MakePostgresSource(fast)->Open(0));
  EXPECT_THAT(ReadAll(*r, 4096),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("statement timeout")));
  // Failing after Open has stopped waiting for the COPY to start: the first Read waits for it.
  PostgresQuery slow = fast;
  slow.transfer_timeout = std::chrono::seconds(3);
  HANSE_ASSERT_OK_AND_ASSIGN(r, MakePostgresSource(slow)->Open(0));
  EXPECT_THAT(ReadAll(*r, 4096),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("statement timeout")));
}

TEST_F(PostgresSourceTest, QueryThatComputesBeforeItsFirstRowStillStreams) {
  // Longer than Open waits for the COPY to start.
  HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Reader> r,
                             QuerySource("SELECT 1 AS one FROM pg_sleep(2.5)")->Open(0));
  EXPECT_THAT(ReadAll(*r, 4096), IsOkAndHolds(std::string("one\n1\n")));
  EXPECT_EQ(Rows(*r), 1u);
}

TEST_F(PostgresSourceTest, PasswordsFromAPassfileAndRefusedOnes) {
  const std::string reader = server_->Conninfo("reader");
  // The right password, from a passfile named in the conninfo: the role can read its table.
  const std::string good = absl::StrCat(reader, " passfile=", WritePassfile(kReaderPassword));
  HANSE_ASSERT_OK_AND_ASSIGN(Description d,
                             QuerySource("SELECT id FROM patients", good)->Describe({}));
  EXPECT_EQ(d.record, nlohmann::json({{"columns", {"id"}}}));
  HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Reader> r,
                             QuerySource("SELECT id FROM patients", good)->Open(0));
  ASSERT_THAT(ReadAll(*r, 1 << 16), IsOk());
  EXPECT_EQ(Rows(*r), static_cast<std::uint64_t>(kPatients));
  // ... but not a table it was not granted.
  EXPECT_THAT(QuerySource("SELECT * FROM secrets", good)->Describe({}),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("secrets")));

  // A password given inline never reaches the record.
  HANSE_ASSERT_OK_AND_ASSIGN(Description with_pw,
                             QuerySource("SELECT id FROM patients",
                                         absl::StrCat(reader, " password='", kReaderPassword, "'"))
                                 ->Describe({}));
  EXPECT_THAT(with_pw.record.dump(), Not(HasSubstr("horse")));

  // A wrong password, inline or in a passfile, and none at all.
  for (const std::string& bad :
       {absl::StrCat(reader, " password='s3cr3t-wrong'"),
        absl::StrCat(reader, " passfile=", WritePassfile("s3cr3t-wrong")), reader}) {
    for (bool open : {false, true}) {
      auto src = QuerySource("SELECT id FROM patients", bad);
      absl::Status s = open ? src->Open(0).status() : src->Describe({}).status();
      EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("reader"))) << bad;
      EXPECT_THAT(std::string(s.message()), Not(HasSubstr("s3cr3t"))) << bad;
    }
  }
}

TEST_F(PostgresSourceTest, UnreachableServerIsUnavailableAndNamed) {
  const std::string no_socket =
      "host=/nonexistent-hanse-dir port=5432 dbname=clinic user=u password=topsecret";
  const std::string refused = absl::StrCat(
      "host=127.0.0.1 port=1 dbname=clinic user=u password=topsecret connect_timeout=2");
  for (const std::string& conninfo : {no_socket, refused}) {
    auto src = QuerySource("SELECT 1", conninfo);
    for (absl::Status s : {src->Describe({}).status(), src->Open(0).status()}) {
      EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("dbname=clinic")));
      EXPECT_THAT(std::string(s.message()), Not(HasSubstr("topsecret")));
    }
  }
  EXPECT_THAT(QuerySource("SELECT 1", no_socket)->Describe({}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("/nonexistent-hanse-dir")));
  EXPECT_THAT(QuerySource("SELECT 1", refused)->Describe({}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("127.0.0.1")));
  // A conninfo libpq cannot parse is refused without echoing it.
  absl::Status bad =
      QuerySource("SELECT 1", "host=x password=topsecret junk")->Describe({}).status();
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("conninfo")));
  EXPECT_THAT(std::string(bad.message()), Not(HasSubstr("topsecret")));
}

// The fixture over TCP, as the integration tests use it between processes.
TEST(PostgresServerTest, ListensOnAFreeLocalPort) {
  if (const char* v = std::getenv("HANSE_SKIP_POSTGRES"); v != nullptr && std::string(v) == "1") {
    GTEST_SKIP() << "HANSE_SKIP_POSTGRES=1";
  }
  PostgresServer server({.tcp = true});
  ASSERT_THAT(server.Start(), IsOk());
  ASSERT_GT(server.port(), 0);
  ASSERT_THAT(server.Exec("CREATE TABLE t AS SELECT 'a,b' AS v"), IsOk());
  auto src = MakePostgresSource(
      {.conninfo = server.Conninfo(PostgresServer::kSuperuser, /*tcp=*/true), .view = "t"});
  HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Reader> r, src->Open(0));
  EXPECT_THAT(ReadAll(*r, 4096), IsOkAndHolds(std::string("v\n\"a,b\"\n")));
  const std::string dir = server.dir();
  server.Stop();
  EXPECT_FALSE(server.running());
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_THAT(src->Describe({}), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace hanse::node::source
