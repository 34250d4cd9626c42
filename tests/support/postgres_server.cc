#include "tests/support/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hanse::testing {
namespace {

namespace fs = std::filesystem;

bool Executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Tail(const std::string& text, size_t n = 2000) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

// Waits for `pid` up to `timeout`; its exit code, -signal, or nullopt when still running.
std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t got = ::waitpid(pid, &status, WNOHANG);
    if (got == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return -WTERMSIG(status);
      return -1;
    }
    if (got < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

absl::StatusOr<int> FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return absl::InternalError("bind to 127.0.0.1:0 failed");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

absl::StatusOr<std::string> PostgresServer::FindBinDir() {
  auto has_server = [](const std::string& dir) {
    return !dir.empty() && Executable(dir + "/initdb") && Executable(dir + "/postgres");
  };
  if (const char* env = std::getenv("HANSE_PG_BINDIR"); env != nullptr && *env != '\0') {
    if (has_server(env)) return std::string(env);
    return absl::NotFoundError(absl::StrCat("HANSE_PG_BINDIR=", env, " has no initdb/postgres"));
  }
  if (FILE* p = ::popen("pg_config --bindir 2>/dev/null", "r"); p != nullptr) {
    char buf[4096] = {};
    const bool got = std::fgets(buf, sizeof(buf), p) != nullptr;
    ::pclose(p);
    std::string dir(absl::StripTrailingAsciiWhitespace(got ? buf : ""));
    if (has_server(dir)) return dir;
  }
  std::error_code ec;
  std::string best;
  int best_version = -1;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string dir = (e.path() / "bin").string();
    const int version = std::atoi(e.path().filename().c_str());
    if (has_server(dir) && version > best_version) {
      best = dir;
      best_version = version;
    }
  }
  if (!best.empty()) return best;
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
      if (has_server(dir)) return dir;
    }
  }
  return absl::NotFoundError(
      "PostgreSQL server binaries (initdb, postgres) not found: install postgresql or set "
      "HANSE_PG_BINDIR");
}

PostgresServer::~PostgresServer() { Stop(); }

absl::StatusOr<pid_t> PostgresServer::Spawn(const std::vector<std::string>& argv,
                                            bool as_server_user, const std::string& out,
                                            const std::string& err) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const bool drop = as_server_user && drop_privileges_;
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    const int in = ::open("/dev/null", O_RDONLY);
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || o < 0 || e < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    if (drop) {
      if (::setgroups(1, &gid_) != 0 || ::setresgid(gid_, gid_, gid_) != 0 ||
          ::setresuid(uid_, uid_, uid_) != 0) {
        ::_exit(125);
      }
    }
    // After the credentials change, which clears it: a server left behind by a crashed test
    // would hold the directory and the port.
    ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
    if (::getppid() != parent) ::_exit(124);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

absl::Status PostgresServer::Run(const std::vector<std::string>& argv, bool as_server_user,
                                 const std::string& out, const std::string& err) {
  auto pid = Spawn(argv, as_server_user, out, err);
  if (!pid.ok()) return pid.status();
  std::optional<int> code = WaitFor(*pid, std::chrono::seconds(120));
  if (!code) {
    ::kill(*pid, SIGKILL);
    WaitFor(*pid, std::chrono::seconds(5));
    return absl::DeadlineExceededError(absl::StrCat(argv[0], " did not finish in 120 s"));
  }
  if (*code != 0) {
    return absl::InternalError(absl::StrCat(argv[0], " exited with ", *code, ": ",
                                            Tail(ReadAll(err)), Tail(ReadAll(out))));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PostgresServer::Start() {
  if (running()) return absl::FailedPreconditionError("already started");
  auto bin = FindBinDir();
  if (!bin.ok()) return bin.status();
  bin_dir_ = *bin;

  drop_privileges_ = ::geteuid() == 0;
  if (drop_privileges_) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root: initdb needs a `postgres` user to run the server as");
    }
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }

  const char* tmp = std::getenv("TMPDIR");
  // Short: a unix socket path has a limit of about 100 bytes.
  std::string tmpl =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/hanse-pg-XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  dir_ = tmpl;
  if (drop_privileges_ && ::chown(dir_.c_str(), uid_, gid_) != 0) {
    return absl::InternalError(absl::StrCat("chown ", dir_, ": ", std::strerror(errno)));
  }
  const std::string data = dir_ + "/data";
  const std::string log = dir_ + "/server.log";

  absl::Status s = Run({bin_dir_ + "/initdb", "-D", data, "-U", kSuperuser, "--auth=trust",
                        "--locale=C", "--encoding=UTF8", "--no-sync"},
                       true, dir_ + "/initdb.log", dir_ + "/initdb.log");
  if (!s.ok()) return s;

  // Written as root into postgres-owned files: opening an existing file keeps its owner.
  {
    std::ofstream hba(data + "/pg_hba.conf", std::ios::trunc);
    hba << "local all " << kSuperuser << " trust\n"
        << "local all all scram-sha-256\n"
        << "host all " << kSuperuser << " 127.0.0.1/32 trust\n"
        << "host all all 127.0.0.1/32 scram-sha-256\n";
    if (!hba) return absl::InternalError("cannot write pg_hba.conf");
  }
  if (options_.tcp) {
    auto port = FreePort();
    if (!port.ok()) return port.status();
    port_ = *port;
  }
  {
    // Speed over durability: the cluster is thrown away.
    std::ofstream conf(data + "/postgresql.conf", std::ios::app);
    conf << "\nlisten_addresses = '" << (options_.tcp ? "127.0.0.1" : "") << "'\n"
         << "port = " << port_ << "\n"
         << "unix_socket_directories = '" << dir_ << "'\n"
         << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
         << "shared_buffers = 16MB\nmax_connections = 40\n"
         << "password_encryption = 'scram-sha-256'\n";
    if (!conf) return absl::InternalError("cannot write postgresql.conf");
  }

  auto pid = Spawn({bin_dir_ + "/postgres", "-D", data}, true, log, log);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;

  const std::string conninfo = Conninfo();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (PQping(conninfo.c_str()) != PQPING_OK) {
    if (std::optional<int> code = WaitFor(pid_, std::chrono::milliseconds(0)); code) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("postgres exited with ", *code, " while starting: ", Tail(Log())));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("postgres did not accept connections within 60 s: ", Tail(Log())));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return conninfo;
}

void PostgresServer::Stop() {
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  if (pid_ > 0) {
    // SIGINT: fast shutdown (disconnects clients); SIGQUIT: immediate; then SIGKILL.
    for (int sig : {SIGINT, SIGQUIT, SIGKILL}) {
      ::kill(pid_, sig);
      if (WaitFor(pid_, std::chrono::seconds(sig == SIGKILL ? 60 : 20))) break;
    }
    pid_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

std::string PostgresServer::Conninfo(absl::string_view user, bool tcp) const {
  return absl::StrCat("host=", tcp ? "127.0.0.1" : dir_, " port=", port_,
                      " dbname=postgres user=", user);
}

absl::StatusOr<std::vector<PostgresServer::Row>> PostgresServer::Exec(absl::string_view sql,
                                                                      const Row& params) {
  if (!running()) return absl::FailedPreconditionError("the server is not running");
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = PQconnectdb(Conninfo().c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      return absl::UnavailableError(absl::StrCat("connect: ", PQerrorMessage(conn_)));
    }
  }
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string text(sql);
  PGresult* r = PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  const ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    absl::Status s = absl::InternalError(absl::StrCat(
        text.substr(0, 200), ": ", r ? PQresultErrorMessage(r) : PQerrorMessage(conn_)));
    PQclear(r);
    return s;
  }
  std::vector<Row> rows;
  for (int i = 0; i < PQntuples(r); ++i) {
    Row row;
    for (int j = 0; j < PQnfields(r); ++j) {
      if (PQgetisnull(r, i, j)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(r, i, j), PQgetlength(r, i, j)));
      }
    }
    rows.push_back(std::move(row));
  }
  PQclear(r);
  return rows;
}

absl::StatusOr<std::string> PostgresServer::Psql(const std::vector<std::string>& args) {
  if (!running()) return absl::FailedPreconditionError("the server is not running");
  std::vector<std::string> argv = {bin_dir_ + "/psql", "-X", "-q",      "-v",
                                   "ON_ERROR_STOP=1",  "-d", Conninfo()};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string out = dir_ + "/psql.out";
  const std::string err = dir_ + "/psql.err";
  ::unlink(out.c_str());
  ::unlink(err.c_str());
  absl::Status s = Run(argv, false, out, err);
  if (!s.ok()) return s;
  return ReadAll(out);
}

std::string PostgresServer::Log() const {
  return dir_.empty() ? std::string() : ReadAll(dir_ + "/server.log");
}

}  // namespace hanse::testing
