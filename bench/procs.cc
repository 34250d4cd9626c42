#include "bench/procs.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/report.h"

namespace hanse::bench {
namespace {
constexpr double kNoDeadline = 1e300;
}  // namespace

Ran RunHanse(const std::vector<std::string>& args, const std::string& log, double timeout_seconds) {
  // Everything the child needs is made before fork: other threads may hold locks.
  std::string bin = HANSE_BINARY;
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  argv.push_back(bin.data());
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return {};
  int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    if (err >= 0) ::dup2(err, 2);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  if (err >= 0) ::close(err);
  Ran r;
  if (pid < 0) {
    ::close(pipefd[0]);
    return r;
  }
  const double deadline = timeout_seconds > 0 ? Now() + timeout_seconds : kNoDeadline;
  bool killed = false;
  char buf[4096];
  while (true) {
    const double left = deadline - Now();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min(left, 1.0) * 1000) + 1);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::read(pipefd[0], buf, sizeof(buf));
    if (n <= 0) break;
    r.out.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = !killed && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

pid_t StartNode(const std::string& home, const std::string& log) {
  std::string bin = HANSE_BINARY;
  std::string a1 = "node", a2 = "run", a3 = "--home", a4 = home;
  char* argv[] = {bin.data(), a1.data(), a2.data(), a3.data(), a4.data(), nullptr};
  const pid_t parent = ::getpid();
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);  // the parent died before the prctl
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(bin.c_str(), argv);
    ::_exit(127);
  }
  if (fd >= 0) ::close(fd);
  return pid;
}

double ProcessCpu(pid_t pid) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(f, line);
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
  if (fields.size() < 13) return 0;  // utime and stime are fields 14 and 15 of the line
  return (std::stod(fields[11]) + std::stod(fields[12])) /
         static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::uint64_t ProcessRss(pid_t pid) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(f, line)) {
    if (absl::StartsWith(line, "VmRSS:")) {
      std::uint64_t kb = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::StripSuffix(line.substr(6), "kB")),
                           &kb)) {
        return kb << 10;
      }
    }
  }
  return 0;
}

}  // namespace hanse::bench
