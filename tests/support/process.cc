#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

#include "nlohmann/json.hpp"

namespace hanse::testing {
namespace {

std::vector<char*> Argv(const std::string& bin, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(bin.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

int DecodeWait(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

}  // namespace

std::string HanseBinary() {
#ifdef HANSE_BINARY
  return HANSE_BINARY;
#else
  return "hanse";
#endif
}

CommandResult RunHanse(const std::vector<std::string>& args, absl::Duration timeout) {
  CommandResult result;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) return result;
  std::string bin = HanseBinary();
  auto argv = Argv(bin, args);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  absl::Time deadline = absl::Now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    int n = ::poll(fds, 2, ms);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(r));
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = DecodeWait(status);
  return result;
}

NodeProcess::~NodeProcess() {
  if (pid_ > 0) Stop(SIGKILL);
}

absl::StatusOr<std::string> NodeProcess::Start(const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {"node", "run", "--home", home_};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::string bin = HanseBinary();
  auto argv = Argv(bin, args);
  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError("cannot open log file " + log_path_);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    for (const auto& [name, value] : env_) ::setenv(name.c_str(), value.c_str(), 1);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::FailedPreconditionError("node exited with " +
                                           std::to_string(DecodeWait(status)) + ": " + Log());
    }
    CommandResult r = RunHanse({"status", "--home", home_, "--json"}, absl::Seconds(10));
    if (r.exit_code == 0) {
      auto j = nlohmann::json::parse(r.out, nullptr, false);
      if (!j.is_discarded() && j.contains("listen")) return j["listen"].get<std::string>();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return absl::DeadlineExceededError("node did not become ready: " + Log());
}

int NodeProcess::Stop(int sig) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  int status = 0;
  // Bounded wait: a node that ignores SIGTERM for 60 s is a failure, then killed.
  for (int i = 0; i < 6000; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return DecodeWait(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1000;
}

std::string NodeProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace hanse::testing
