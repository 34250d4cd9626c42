// Servers the remote-source tests talk to, each a child process on a free 127.0.0.1 port that
// dies with the test process: s3rver (an S3 emulator from npm, installed by `make deps` into
// tests/support/node_modules) and any other command (the Python HTTP servers).
#ifndef HANSE_TESTS_SUPPORT_S3_SERVER_H_
#define HANSE_TESTS_SUPPORT_S3_SERVER_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hanse::testing {

// A free TCP port on 127.0.0.1 (free when asked: another process may take it before use).
absl::StatusOr<int> FreeTcpPort();

// One server process: stdout and stderr go to `log_path`; SIGKILL when the test process dies.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { Stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Runs argv[0] (looked up on PATH) with the rest as arguments.
  absl::Status Start(const std::vector<std::string>& argv, const std::string& log_path);
  // Until 127.0.0.1:port accepts a connection; fails when the process exits first.
  absl::Status WaitForPort(int port, std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after 5 s. Safe to call twice.
  void Stop();
  bool running() const { return pid_ > 0; }
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

class S3Server {
 public:
  // s3rver's built-in account (it checks the access key id, not the signature).
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";

  S3Server() = default;
  ~S3Server() { Stop(); }
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  // node (on PATH) and REPO/tests/support/node_modules/s3rver; NotFound naming what is missing.
  static absl::StatusOr<std::vector<std::string>> Command(const std::string& repo_root);

  // Starts s3rver on a free port over a fresh temporary directory, waits until it listens.
  absl::Status Start(const std::string& repo_root);
  void Stop();                   // stops the server, removes its directory
  std::string endpoint() const;  // http://127.0.0.1:PORT
  std::string Log() const { return process_.Log(); }

 private:
  ChildProcess process_;
  std::string dir_;
  int port_ = 0;
};

}  // namespace hanse::testing

#endif  // HANSE_TESTS_SUPPORT_S3_SERVER_H_
