// A PostgreSQL query or view as a source, through libpq: the rows as CSV with a header line
// (`COPY (...) TO STDOUT WITH (FORMAT csv, HEADER true)`). The database changes between
// transfers, so the source is live: publishing learns the columns, not a size or a digest, and
// each transfer is one consistent snapshot whose digest (and row count) the receipt records.
//
// Only reading is possible: every statement runs in a READ ONLY transaction, a query must be a
// single SELECT (or WITH, VALUES, TABLE), and a view name is quoted as an identifier. The role
// named in the conninfo should still be one with SELECT rights only: a read-only transaction
// does not stop a query from calling a function that acts outside the database.
#ifndef HANSE_NODE_SOURCE_POSTGRES_H_
#define HANSE_NODE_SOURCE_POSTGRES_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/source/source.h"

namespace hanse::node::source {

// The {} initializers let a caller name only some fields ({.conninfo = ..., .view = ...})
// under -Wextra.
struct PostgresQuery {
  // A libpq connection string (key=value pairs or a postgresql:// URI) from the config. The
  // password may come from a passfile it names (passfile=...), or PGPASSFILE/~/.pgpass; it is
  // never echoed in an error or a record. Its own connect_timeout, keepalives_* and
  // application_name override this source's defaults (10 s, 30 s idle, "hanse").
  std::string conninfo{};
  // A single SELECT (or WITH, VALUES, TABLE) statement; a trailing ';' is allowed. Empty when
  // `view` is set.
  std::string query{};
  // A view or table as `name` or `schema.name`, taken exactly (case-sensitive, each part quoted
  // as an identifier). Empty when `query` is set.
  std::string view{};
  // statement_timeout of one transfer's COPY, which runs for as long as the consumer takes to
  // read it. Describing uses kPostgresDescribeTimeout.
  std::chrono::seconds transfer_timeout{3600};
};

// statement_timeout while a source is described (its checks read no rows).
inline constexpr std::chrono::seconds kPostgresDescribeTimeout{30};

// What a PostgreSQL reader adds to Reader: the data rows (not counting the header line) whose
// last byte has been read. At the end of the stream it equals the server's own count of the
// rows it sent (a mismatch fails the read). Reach it with dynamic_cast<const RowCounter*>.
class RowCounter {
 public:
  virtual ~RowCounter() = default;
  virtual std::uint64_t rows() const = 0;
};

// A live source (kind "postgresql"). Describe connects and checks the statement without reading
// rows: record = {"columns": [names...]}, byte_size 0, sha256 empty. Open(0) starts one
// REPEATABLE READ READ ONLY transaction and streams its COPY, one row in memory at a time; the
// reader (also a RowCounter) cancels the query and closes the connection when destroyed before
// the end. Open(offset > 0) is FailedPrecondition: a live source cannot resume.
//
// Errors: the spec or the statement (not a single SELECT, a syntax error, a missing view or
// column) InvalidArgument; a server that cannot be reached, or goes away, Unavailable naming
// host, port and database; credentials refused Unauthenticated; a database or role that does
// not exist NotFound; rights missing (or no pg_hba.conf entry) PermissionDenied;
// statement_timeout DeadlineExceeded; a row count that disagrees with the server's DataLoss.
// Open returns once the server has started the COPY, or after 2 s of a query still computing
// (the first Read then waits for it).
std::unique_ptr<Source> MakePostgresSource(PostgresQuery spec);

namespace postgres_internal {
// `query` without a trailing ';' (and what follows it, when that is only space or comments), or
// InvalidArgument when it is not a single statement beginning with SELECT, WITH, VALUES or
// TABLE. Literals, quoted identifiers, dollar quotes and comments are skipped, so a ';' inside
// them is part of the statement. The server is the second check: COPY takes one statement, in
// a READ ONLY transaction.
absl::StatusOr<std::string> SingleSelect(absl::string_view query);
}  // namespace postgres_internal

}  // namespace hanse::node::source

#endif  // HANSE_NODE_SOURCE_POSTGRES_H_
