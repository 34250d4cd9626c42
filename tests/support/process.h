// Runs the real `hanse` binary from tests: one-shot commands and long-running nodes.
#ifndef HANSE_TESTS_SUPPORT_PROCESS_H_
#define HANSE_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hanse::testing {

struct CommandResult {
  int exit_code = -1;  // -signal when killed by a signal
  std::string out;
  std::string err;
};

// The `hanse` binary under test (HANSE_BINARY, set by CMake).
std::string HanseBinary();

// Runs `hanse args...` to completion (killed after `timeout`).
CommandResult RunHanse(const std::vector<std::string>& args,
                       absl::Duration timeout = absl::Seconds(60));

// A `hanse node run` process. Its stderr goes to `log_path`.
class NodeProcess {
 public:
  NodeProcess(std::string home, std::string log_path)
      : home_(std::move(home)), log_path_(std::move(log_path)) {}
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // Starts the node and waits until `hanse status` answers. Returns the listen address.
  absl::StatusOr<std::string> Start(const std::vector<std::string>& extra_args = {});
  // Sends `sig` and waits for the exit; returns the exit code (-signal if killed).
  int Stop(int sig);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::string Log() const;
  const std::string& home() const { return home_; }
  // Environment variables for the next Start (e.g. grpc_proxy for the partition tests).
  void SetEnv(std::string name, std::string value) {
    env_.emplace_back(std::move(name), std::move(value));
  }

 private:
  std::string home_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::vector<std::pair<std::string, std::string>> env_;
};

}  // namespace hanse::testing

#endif  // HANSE_TESTS_SUPPORT_PROCESS_H_
