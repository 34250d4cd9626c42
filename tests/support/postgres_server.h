// A private PostgreSQL for tests: initdb into a fresh temporary directory, the server on a unix
// socket in that directory only (or also on a free 127.0.0.1 port), removed by Stop. As root,
// initdb and the server run as the `postgres` user (initdb refuses root), and the server dies
// with the test process even when the test crashes.
//
// Roles: the superuser kSuperuser logs in without a password; every other role must give its
// password (scram-sha-256), so tests can create least-privilege roles and wrong-password cases.
#ifndef HANSE_TESTS_SUPPORT_POSTGRES_SERVER_H_
#define HANSE_TESTS_SUPPORT_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct pg_conn PGconn;

namespace hanse::testing {

class PostgresServer {
 public:
  static constexpr const char* kSuperuser = "hanse_super";

  struct Options {
    bool tcp = false;  // also listen on 127.0.0.1:port() (a free port), not only the socket
  };

  using Row = std::vector<std::optional<std::string>>;  // nullopt for NULL

  PostgresServer() : PostgresServer(Options{}) {}
  explicit PostgresServer(Options options) : options_(options) {}
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // The server binaries: $HANSE_PG_BINDIR, `pg_config --bindir`, the newest
  // /usr/lib/postgresql/*/bin, or the directory of initdb on PATH. NotFound without them.
  static absl::StatusOr<std::string> FindBinDir();

  // Creates the cluster, starts the server, waits until it accepts connections. Returns the
  // superuser's conninfo (database "postgres").
  absl::StatusOr<std::string> Start();
  // Fast shutdown (immediate after 20 s), then removes the directory. Safe to call twice.
  void Stop();
  bool running() const { return pid_ > 0; }

  // "host=SOCKET_DIR port=PORT dbname=postgres user=USER", or over TCP (Options::tcp).
  std::string Conninfo(absl::string_view user = kSuperuser, bool tcp = false) const;
  // Runs one statement ($1... bound to `params`) as the superuser, on one connection kept
  // open, so BEGIN and COMMIT span calls. Returns the rows, if any.
  absl::StatusOr<std::vector<Row>> Exec(absl::string_view sql, const Row& params = {});
  // Runs the bin dir's psql as the superuser with `args` after the conninfo (-X, no psqlrc,
  // ON_ERROR_STOP); returns its stdout.
  absl::StatusOr<std::string> Psql(const std::vector<std::string>& args);

  const std::string& bin_dir() const { return bin_dir_; }
  const std::string& dir() const { return dir_; }  // the socket lives here
  int port() const { return port_; }
  std::string Log() const;  // the server's log so far

 private:
  absl::Status Run(const std::vector<std::string>& argv, bool as_server_user,
                   const std::string& out, const std::string& err);
  absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, bool as_server_user,
                              const std::string& out, const std::string& err);

  Options options_;
  std::string bin_dir_;
  std::string dir_;
  int port_ = 5432;
  pid_t pid_ = -1;
  uid_t uid_ = 0;  // the user the server runs as (only used as root)
  gid_t gid_ = 0;
  bool drop_privileges_ = false;
  PGconn* conn_ = nullptr;
};

}  // namespace hanse::testing

#endif  // HANSE_TESTS_SUPPORT_POSTGRES_SERVER_H_
