#include "tests/support/s3_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"

namespace hanse::testing {
namespace {

namespace fs = std::filesystem;

// The exit code (or -signal) of `pid` if it has ended, waiting up to `timeout`.
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
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool Connects(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<int> FreeTcpPort() {
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

absl::Status ChildProcess::Start(const std::vector<std::string>& argv,
                                 const std::string& log_path) {
  if (running()) return absl::FailedPreconditionError("already started");
  if (argv.empty()) return absl::InvalidArgumentError("no command");
  log_path_ = log_path;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    // A server left behind by a crashed test would hold its port and directory.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(124);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  pid_ = pid;
  return absl::OkStatus();
}

absl::Status ChildProcess::WaitForPort(int port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!Connects(port)) {
    if (std::optional<int> code = WaitFor(pid_, std::chrono::milliseconds(0)); code) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("the server exited with ", *code, " before listening: ", Log()));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the server did not listen on port ", port, ": ", Log()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return absl::OkStatus();
}

void ChildProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!WaitFor(pid_, std::chrono::seconds(5))) {
    ::kill(pid_, SIGKILL);
    WaitFor(pid_, std::chrono::seconds(30));
  }
  pid_ = -1;
}

std::string ChildProcess::Log() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  return text.size() <= 4000 ? text : text.substr(text.size() - 4000);
}

absl::StatusOr<std::vector<std::string>> S3Server::Command(const std::string& repo_root) {
  const std::string script = repo_root + "/tests/support/node_modules/s3rver/bin/s3rver.js";
  if (!OnPath("node")) {
    return absl::NotFoundError("node is not on PATH (apt-get install nodejs npm; make deps)");
  }
  if (::access(script.c_str(), R_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat(script, " is missing: run `make deps` (npm ci --prefix tests/support)"));
  }
  // s3rver's continuation tokens are DES-encrypted, which OpenSSL 3 keeps in its legacy
  // provider: without it every truncated listing is an InternalError.
  return std::vector<std::string>{"node", "--openssl-legacy-provider", script};
}

absl::Status S3Server::Start(const std::string& repo_root) {
  auto command = Command(repo_root);
  if (!command.ok()) return command.status();
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/hanse-s3-XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  dir_ = tmpl;
  auto port = FreeTcpPort();
  if (!port.ok()) return port.status();
  port_ = *port;
  std::vector<std::string> argv = *command;
  argv.insert(argv.end(),
              {"-d", dir_ + "/data", "-a", "127.0.0.1", "-p", std::to_string(port_), "--silent"});
  std::error_code ec;
  fs::create_directories(dir_ + "/data", ec);
  absl::Status s = process_.Start(argv, dir_ + "/s3rver.log");
  if (!s.ok()) return s;
  return process_.WaitForPort(port_, std::chrono::seconds(30));
}

void S3Server::Stop() {
  process_.Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

std::string S3Server::endpoint() const { return absl::StrCat("http://127.0.0.1:", port_); }

}  // namespace hanse::testing
