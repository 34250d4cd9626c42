#include "node/source/postgres.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status.h"

namespace hanse::node::source {
namespace {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;

struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultClearer>;

// Identifiers longer than this are truncated by the server, silently naming another object.
constexpr size_t kMaxIdentifier = 63;

// How long Open waits for the server to start a COPY before it leaves that to the first Read.
constexpr std::chrono::milliseconds kOpenWait{2000};

// libpq's messages span lines ("...failed: ...\n\tIs the server running..."); a status is one.
std::string OneLine(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// Names the server in errors: what libpq resolved, never the password.
std::string Where(const PGconn* c) {
  auto field = [](const char* v) { return v != nullptr ? v : ""; };
  return absl::StrCat("postgresql host=", field(PQhost(c)), " port=", field(PQport(c)),
                      " dbname=", field(PQdb(c)), " user=", field(PQuser(c)));
}

// The status of a failed connection attempt. libpq gives no SQLSTATE before the session
// exists, so the kind is read from its message.
absl::Status ConnectError(const PGconn* c) {
  const std::string msg = OneLine(PQerrorMessage(c));
  const std::string text = absl::StrCat(Where(c), ": ", msg);
  if (absl::StrContains(msg, "password authentication failed") ||
      absl::StrContains(msg, "no password supplied") ||
      absl::StrContains(msg, "authentication failed")) {
    return absl::UnauthenticatedError(absl::StrCat(text, " (check the password or its passfile)"));
  }
  if (absl::StrContains(msg, "pg_hba.conf")) return absl::PermissionDeniedError(text);
  if (absl::StrContains(msg, "does not exist")) return absl::NotFoundError(text);
  return absl::UnavailableError(text);
}

absl::StatusOr<Conn> Connect(const std::string& conninfo) {
  // A malformed connection string makes libpq echo the fragment it stopped at, which may be a
  // password: check it first and say only that it is malformed.
  const bool is_string = absl::StrContains(conninfo, '=') ||
                         absl::StartsWith(conninfo, "postgresql://") ||
                         absl::StartsWith(conninfo, "postgres://");
  if (is_string) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
    if (err != nullptr) PQfreemem(err);
    if (opts == nullptr) {
      return absl::InvalidArgumentError(
          "the postgresql conninfo is not a libpq connection string (key=value pairs or a "
          "postgresql:// URI)");
    }
    PQconninfoFree(opts);
  }
  // Defaults come before the expanded conninfo, so that the config's own values win. A dead
  // server must fail within connect_timeout, and one that vanishes mid-transfer within about a
  // minute (keepalives) instead of leaving the read blocked. client_encoding fixes the bytes of
  // the stream whatever the client's locale.
  const char* const keys[] = {"connect_timeout",     "keepalives",       "keepalives_idle",
                              "keepalives_interval", "keepalives_count", "application_name",
                              "client_encoding",     "dbname",           nullptr};
  const char* const values[] = {"10",   "1", "30", "10", "3", "hanse", "UTF8", conninfo.c_str(),
                                nullptr};
  Conn c(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (c == nullptr) return absl::ResourceExhaustedError("libpq could not allocate a connection");
  if (PQstatus(c.get()) != CONNECTION_OK) return ConnectError(c.get());
  return c;
}

// The status of a statement that failed (or ended otherwise than expected). `subject` names what
// was run ("query", "view x") for the messages.
absl::Status StatementError(PGconn* c, const PGresult* r, absl::string_view subject) {
  const std::string where = Where(c);
  const char* state_field = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = state_field != nullptr ? state_field : "";
  if (r == nullptr || (state.empty() && PQstatus(c) == CONNECTION_BAD)) {
    return absl::UnavailableError(
        absl::StrCat(where, ": lost the connection: ", OneLine(PQerrorMessage(c))));
  }
  const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  std::string msg = OneLine(primary != nullptr ? primary : PQresultErrorMessage(r));
  if (msg.empty()) {
    msg = absl::StrCat("unexpected result ", PQresStatus(PQresultStatus(r)));
  }
  if (const char* hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT); hint != nullptr) {
    absl::StrAppend(&msg, " (", OneLine(hint), ")");
  }
  const std::string text = absl::StrCat(where, ": ", subject, ": ", msg);
  if (state == "42P01" && absl::StartsWith(subject, "view ")) {  // undefined_table
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", subject, " does not exist or the role cannot see it: ", msg));
  }
  if (state == "25006") {  // read_only_sql_transaction
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", subject, " would modify the database; only reading is allowed: ", msg));
  }
  // Invalid transaction state: the statement tried to change this read-only transaction.
  if (absl::StartsWith(state, "25")) return absl::InvalidArgumentError(text);
  if (state == "42501") return absl::PermissionDeniedError(text);  // insufficient_privilege
  if (state == "57014") return absl::DeadlineExceededError(text);  // statement_timeout
  if (absl::StartsWith(state, "28")) return absl::UnauthenticatedError(text);
  // Syntax and names (42), unsupported forms such as SELECT INTO (0A), bad values (22).
  if (absl::StartsWith(state, "42") || absl::StartsWith(state, "0A") ||
      absl::StartsWith(state, "22") || absl::StartsWith(state, "2F")) {
    return absl::InvalidArgumentError(text);
  }
  // Connection trouble (08), shutdown and recovery (57P), resources (53).
  if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P") ||
      absl::StartsWith(state, "53") || PQstatus(c) == CONNECTION_BAD) {
    return absl::UnavailableError(text);
  }
  return absl::FailedPreconditionError(text);
}

// Runs one statement through the extended protocol, which refuses more than one command: a
// second guard, after SingleSelect, against a statement smuggled in behind a ';'.
absl::StatusOr<Result> Run(PGconn* c, const std::string& sql, ExecStatusType want,
                           absl::string_view subject) {
  Result r(PQexecParams(c, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0));
  if (r == nullptr || PQresultStatus(r.get()) != want) {
    return StatementError(c, r.get(), subject);
  }
  return r;
}

// One transaction, one snapshot: every row sent comes from the same state of the database, and
// nothing the statement does can write. standard_conforming_strings is fixed so that the server
// reads literals as SingleSelect did (with it off, a backslash would escape a quote).
absl::Status BeginSnapshot(PGconn* c, std::chrono::seconds timeout) {
  HANSE_RETURN_IF_ERROR(Run(c, "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY",
                            PGRES_COMMAND_OK, "begin")
                            .status());
  HANSE_RETURN_IF_ERROR(Run(c,
                            absl::StrCat("SET LOCAL statement_timeout = ", timeout.count() * 1000),
                            PGRES_COMMAND_OK, "statement_timeout")
                            .status());
  return Run(c, "SET LOCAL standard_conforming_strings = on", PGRES_COMMAND_OK,
             "standard_conforming_strings")
      .status();
}

bool IdentChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || c == '$' || u >= 0x80;
}

bool TagChar(char c, bool first) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalpha(u) || c == '_' || u >= 0x80 || (!first && std::isdigit(u));
}

// The end (one past) of the comment at `i` ("--" or "/*", which nests), or npos when a block
// comment is not closed. `i` must start a comment.
size_t CommentEnd(absl::string_view q, size_t i) {
  if (q[i] == '-') {
    size_t nl = q.find('\n', i);
    return nl == absl::string_view::npos ? q.size() : nl + 1;
  }
  int depth = 0;
  for (size_t j = i; j + 1 < q.size(); ++j) {
    if (q[j] == '/' && q[j + 1] == '*') {
      ++depth;
      ++j;
    } else if (q[j] == '*' && q[j + 1] == '/') {
      ++j;
      if (--depth == 0) return j + 1;
    }
  }
  return absl::string_view::npos;
}

bool StartsComment(absl::string_view q, size_t i) {
  return i + 1 < q.size() && ((q[i] == '-' && q[i + 1] == '-') || (q[i] == '/' && q[i + 1] == '*'));
}

// The end (one past) of the quoted text opening at `i` with `quote` (' or "), where a doubled
// quote is part of the text and, in an E'...' string, a backslash escapes the next character.
size_t QuotedEnd(absl::string_view q, size_t i, char quote, bool backslash) {
  for (size_t j = i + 1; j < q.size(); ++j) {
    if (backslash && q[j] == '\\') {
      ++j;
    } else if (q[j] == quote) {
      if (j + 1 < q.size() && q[j + 1] == quote) {
        ++j;
      } else {
        return j + 1;
      }
    }
  }
  return absl::string_view::npos;
}

// The view as its quoted identifiers: "schema"."name" or "name".
absl::StatusOr<std::string> QuotedView(PGconn* c, const std::string& view) {
  std::vector<std::string> parts = absl::StrSplit(view, '.');
  if (parts.size() > 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("view ", view, ": give it as NAME or SCHEMA.NAME"));
  }
  std::vector<std::string> quoted;
  for (const std::string& part : parts) {
    if (part.empty() || part.size() > kMaxIdentifier || part.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "view ", view, ": each part of the name must be 1-", kMaxIdentifier, " bytes"));
    }
    char* q = PQescapeIdentifier(c, part.data(), part.size());
    if (q == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("view ", view, ": ", OneLine(PQerrorMessage(c))));
    }
    quoted.emplace_back(q);
    PQfreemem(q);
  }
  return absl::StrJoin(quoted, ".");
}

// Waits up to `wait` for the answer to the query sent on `c`: true when libpq holds it.
absl::StatusOr<bool> AwaitAnswer(PGconn* c, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    if (PQconsumeInput(c) == 0) return StatementError(c, nullptr, "COPY");
    if (PQisBusy(c) == 0) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{PQsocket(c), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat(Where(c), ": poll: ", std::strerror(errno)));
    }
  }
}

// Streams one COPY ... TO STDOUT. libpq hands over one row (one CopyData message) at a time;
// the reader keeps that row until the caller has taken all of it, so memory stays at one row
// and libpq's input buffer however large the result.
class CopyReader : public Reader, public RowCounter {
 public:
  // `started`: the COPY's first result (PGRES_COPY_OUT) has been taken from `conn` already.
  CopyReader(Conn conn, std::string where, std::string subject, bool started)
      : conn_(std::move(conn)),
        where_(std::move(where)),
        subject_(std::move(subject)),
        started_(started) {}
  ~CopyReader() override {
    FreeRow();
    if (conn_ != nullptr && !done_) Cancel();
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (!failed_.ok()) return failed_;
    if (!started_) {
      // The server has not answered yet (it sends the COPY's start with its first rows).
      Result r(PQgetResult(conn_.get()));
      started_ = true;
      if (r == nullptr || PQresultStatus(r.get()) != PGRES_COPY_OUT) {
        Fail(StatementError(conn_.get(), r.get(), subject_));
        return failed_;
      }
    }
    size_t filled = 0;
    while (filled < n) {
      if (row_pos_ == row_size_) {
        if (done_ || !NextRow(/*wait=*/filled == 0)) break;
        if (!failed_.ok()) return failed_;
        if (row_ == nullptr) continue;  // the end: Finish ran, done_ is set
      }
      const size_t take = std::min(n - filled, row_size_ - row_pos_);
      std::memcpy(buf + filled, row_ + row_pos_, take);
      filled += take;
      row_pos_ += take;
      if (row_pos_ == row_size_) {
        if (messages_ > 1) ++rows_;  // the first message is the header line
        FreeRow();
      }
    }
    return filled;
  }

  std::uint64_t rows() const override { return rows_; }

 private:
  // Fetches the next message into row_. Without `wait`, only what libpq already holds or the
  // socket has ready: the caller has bytes to return and should not block for more. False when
  // nothing is available without waiting; true otherwise (with failed_ set on an error, and
  // row_ null at the end of the COPY).
  bool NextRow(bool wait) {
    if (!wait && PQconsumeInput(conn_.get()) == 0) return false;  // the next blocking read fails
    char* data = nullptr;
    const int got = PQgetCopyData(conn_.get(), &data, wait ? 0 : 1);
    if (got > 0) {
      row_ = data;
      row_size_ = static_cast<size_t>(got);
      row_pos_ = 0;
      ++messages_;
      return true;
    }
    if (got == 0) return false;
    if (got == -1) {
      Fail(Finish());
      return true;
    }
    Result r(PQgetResult(conn_.get()));
    Fail(StatementError(conn_.get(), r.get(), subject_));
    return true;
  }

  // The COPY has ended: the server's own row count must match, then the transaction ends.
  absl::Status Finish() {
    Result r(PQgetResult(conn_.get()));
    if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      absl::Status s = StatementError(conn_.get(), r.get(), subject_);
      return s.ok() ? absl::UnavailableError(absl::StrCat(where_, ": COPY did not end")) : s;
    }
    std::uint64_t sent = 0;
    if (messages_ == 0 || !absl::SimpleAtoi(PQcmdTuples(r.get()), &sent) || sent != rows_) {
      return absl::DataLossError(absl::StrCat(where_, ": the server reports ", PQcmdTuples(r.get()),
                                              " rows, the stream held ", rows_,
                                              messages_ == 0 ? " and no header" : ""));
    }
    while (Result more{PQgetResult(conn_.get())}) {
    }
    HANSE_RETURN_IF_ERROR(Run(conn_.get(), "COMMIT", PGRES_COMMAND_OK, "commit").status());
    conn_.reset();
    done_ = true;
    return absl::OkStatus();
  }

  void Fail(absl::Status s) {
    if (s.ok()) return;
    failed_ = std::move(s);
    FreeRow();
    conn_.reset();
  }

  void FreeRow() {
    if (row_ != nullptr) PQfreemem(row_);
    row_ = nullptr;
    row_size_ = row_pos_ = 0;
  }

  // Stops the query on the server before the connection closes: closing alone would leave the
  // backend running until its next write fails, or for as long as a slow query computes.
  void Cancel() {
    if (PQstatus(conn_.get()) == CONNECTION_OK &&
        PQtransactionStatus(conn_.get()) == PQTRANS_ACTIVE) {
      if (PGcancel* cancel = PQgetCancel(conn_.get()); cancel != nullptr) {
        char err[256];
        PQcancel(cancel, err, sizeof(err));  // best effort: closing follows either way
        PQfreeCancel(cancel);
      }
    }
    conn_.reset();
  }

  Conn conn_;
  std::string where_;
  std::string subject_;
  bool started_;
  char* row_ = nullptr;
  size_t row_size_ = 0;
  size_t row_pos_ = 0;
  std::uint64_t messages_ = 0;
  std::uint64_t rows_ = 0;
  bool done_ = false;
  absl::Status failed_;
};

class PostgresSource : public Source {
 public:
  explicit PostgresSource(PostgresQuery spec) : spec_(std::move(spec)) {}

  absl::StatusOr<Description> Describe(const Progress& progress) override {
    HANSE_RETURN_IF_ERROR(CheckSpec());
    HANSE_ASSIGN_OR_RETURN(Conn c, Connect(spec_.conninfo));
    HANSE_RETURN_IF_ERROR(BeginSnapshot(c.get(), kPostgresDescribeTimeout));
    HANSE_ASSIGN_OR_RETURN(std::string select, Select(c.get()));
    // LIMIT 0 plans and starts the statement, which checks names and rights, without reading a
    // row. The newlines keep a trailing "--" comment from swallowing the parenthesis.
    HANSE_ASSIGN_OR_RETURN(
        Result r,
        Run(c.get(), absl::StrCat("SELECT * FROM (\n", select, "\n) AS hanse_source LIMIT 0"),
            PGRES_TUPLES_OK, Subject()));
    nlohmann::json columns = nlohmann::json::array();
    for (int i = 0; i < PQnfields(r.get()); ++i) columns.push_back(PQfname(r.get(), i));
    if (columns.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(Subject(), " returns no columns"));
    }
    Description d;
    d.kind = "postgresql";
    d.live = true;
    d.record = {{"columns", std::move(columns)}};
    if (progress) progress(0, 0);
    return d;
  }

  absl::StatusOr<std::unique_ptr<Reader>> Open(std::uint64_t offset) override {
    if (offset > 0) {
      return absl::FailedPreconditionError("a live source cannot resume; fetch again");
    }
    HANSE_RETURN_IF_ERROR(CheckSpec());
    HANSE_ASSIGN_OR_RETURN(Conn c, Connect(spec_.conninfo));
    HANSE_RETURN_IF_ERROR(BeginSnapshot(c.get(), spec_.transfer_timeout));
    HANSE_ASSIGN_OR_RETURN(std::string select, Select(c.get()));
    const std::string copy =
        absl::StrCat("COPY (\n", select, "\n) TO STDOUT WITH (FORMAT csv, HEADER true)");
    if (PQsendQueryParams(c.get(), copy.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 0) {
      return StatementError(c.get(), nullptr, Subject());
    }
    // The server buffers the start of a COPY with its first rows: a query that computes before
    // its first row answers late. Errors found while planning come at once and are returned
    // here; past a short wait, the reader waits for the answer instead, so that a transfer can
    // be given up (the reader destroyed, the query cancelled) while the query computes.
    HANSE_ASSIGN_OR_RETURN(const bool answered, AwaitAnswer(c.get(), kOpenWait));
    if (answered) {
      Result r(PQgetResult(c.get()));
      if (r == nullptr || PQresultStatus(r.get()) != PGRES_COPY_OUT) {
        return StatementError(c.get(), r.get(), Subject());
      }
    }
    std::string where = Where(c.get());
    return std::make_unique<CopyReader>(std::move(c), std::move(where), Subject(), answered);
  }

 private:
  absl::Status CheckSpec() const {
    if (spec_.query.empty() == spec_.view.empty()) {
      return absl::InvalidArgumentError("a postgresql source names either a query or a view");
    }
    if (spec_.transfer_timeout.count() <= 0) {
      return absl::InvalidArgumentError("transfer_timeout must be positive");
    }
    if (!spec_.query.empty()) {
      return postgres_internal::SingleSelect(spec_.query).status();
    }
    return absl::OkStatus();
  }

  std::string Subject() const {
    return spec_.view.empty() ? std::string("query") : absl::StrCat("view ", spec_.view);
  }

  // The statement whose rows are the stream.
  absl::StatusOr<std::string> Select(PGconn* c) const {
    if (!spec_.query.empty()) return postgres_internal::SingleSelect(spec_.query);
    HANSE_ASSIGN_OR_RETURN(std::string view, QuotedView(c, spec_.view));
    return absl::StrCat("SELECT * FROM ", view);
  }

  PostgresQuery spec_;
};

}  // namespace

namespace postgres_internal {

absl::StatusOr<std::string> SingleSelect(absl::string_view query) {
  // The first word, past space, comments and opening parentheses.
  size_t i = 0;
  while (i < query.size()) {
    if (StartsComment(query, i)) {
      i = CommentEnd(query, i);
      if (i == absl::string_view::npos) {
        return absl::InvalidArgumentError("the query has a comment that is not closed");
      }
    } else if (std::isspace(static_cast<unsigned char>(query[i])) || query[i] == '(') {
      ++i;
    } else {
      break;
    }
  }
  size_t word_end = i;
  while (word_end < query.size() && IdentChar(query[word_end])) ++word_end;
  const std::string word = absl::AsciiStrToUpper(query.substr(i, word_end - i));
  if (word.empty()) {
    return absl::InvalidArgumentError(i == query.size() ? "the query is empty"
                                                        : "the query does not begin with a word");
  }
  if (word != "SELECT" && word != "WITH" && word != "VALUES" && word != "TABLE") {
    return absl::InvalidArgumentError(absl::StrCat(
        "the query must be a single SELECT (or WITH, VALUES, TABLE) statement; it is a ", word,
        " statement"));
  }

  // Where the statement ends: the first ';' outside literals, identifiers and comments. Only
  // space and comments may follow it.
  size_t end = absl::string_view::npos;
  for (size_t j = 0; j < query.size();) {
    const char c = query[j];
    size_t next = j + 1;
    bool text = true;  // something other than space or a comment
    if (StartsComment(query, j)) {
      next = CommentEnd(query, j);
      if (next == absl::string_view::npos) {
        return absl::InvalidArgumentError("the query has a comment that is not closed");
      }
      text = false;
    } else if (c == '\'' || c == '"') {
      // An E'...' string: the E is a word of its own just before the quote.
      const bool escape = c == '\'' && j > 0 && (query[j - 1] == 'e' || query[j - 1] == 'E') &&
                          (j < 2 || !IdentChar(query[j - 2]));
      next = QuotedEnd(query, j, c, escape);
      if (next == absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat("the query has a ", c == '"' ? "\"" : "'",
                                                       " at offset ", j, " that is not closed"));
      }
    } else if (c == '$') {
      // $tag$...$tag$ (a dollar quote), or $1 (a parameter, refused by the server).
      size_t t = j + 1;
      while (t < query.size() && TagChar(query[t], t == j + 1)) ++t;
      if (t < query.size() && query[t] == '$') {
        const absl::string_view tag = query.substr(j, t - j + 1);
        const size_t close = query.find(tag, t + 1);
        if (close == absl::string_view::npos) {
          return absl::InvalidArgumentError(absl::StrCat("the query has a dollar quote ", tag,
                                                         " at offset ", j, " that is not closed"));
        }
        next = close + tag.size();
      }
    } else if (IdentChar(c)) {
      // A whole word, so that a '$' inside one (a$b) starts no dollar quote.
      while (next < query.size() && IdentChar(query[next])) ++next;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      text = false;
    } else if (c == ';' && end == absl::string_view::npos) {
      end = j;
      text = false;
    }
    if (text && end != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the query must be a single statement; more follows the ';' at offset ", end));
    }
    j = next;
  }
  return std::string(query.substr(0, end));
}

}  // namespace postgres_internal

std::unique_ptr<Source> MakePostgresSource(PostgresQuery spec) {
  return std::make_unique<PostgresSource>(std::move(spec));
}

}  // namespace hanse::node::source
