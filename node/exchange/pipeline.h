// What lets a transfer's disk and SHA-256 work overlap its network I/O: a one-task background
// thread, and the consumer's writer of the received bytes. Internal to node/exchange.
#ifndef HANSE_NODE_EXCHANGE_PIPELINE_H_
#define HANSE_NODE_EXCHANGE_PIPELINE_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "trust/sha256_stream.h"

namespace hanse::node::exchange_internal {

// Runs one task at a time on a thread of its own, started on first use. Start() waits for the
// task before; Wait() returns once the last one is done, and orders what it wrote before what
// the caller reads next. The destructor waits too.
class Overlap {
 public:
  Overlap() = default;
  Overlap(const Overlap&) = delete;
  Overlap& operator=(const Overlap&) = delete;
  ~Overlap();

  void Start(absl::AnyInvocable<void()> task);
  void Wait();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable changed_;
  absl::AnyInvocable<void()> task_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

// Writes a transfer's bytes to its file and hashes them on a thread of its own while the next
// chunk arrives. Dirty pages are handed to the disk every few MiB (sync_file_range), so the one
// fsync at the end waits for the last of them rather than for the whole file.
class PartWriter {
 public:
  // `fd` is positioned at `offset`; `sha` has seen the bytes before it. Both outlive this.
  PartWriter(int fd, std::string path, std::uint64_t offset, trust::Sha256Stream* sha)
      : fd_(fd), path_(std::move(path)), written_(offset), flushed_(offset), sha_(sha) {}

  // Takes over `*data` (which comes back holding a spare buffer of the same capacity, or
  // empty), waiting while the chunk before is still being written. False once a write failed.
  bool Add(std::string* data);
  // Waits for every chunk, then fsyncs: the first failure, naming the file and the reason.
  absl::Status Finish();
  // The first failure so far (after Add returned false).
  absl::Status error();

 private:
  void WriteOne();

  const int fd_;
  const std::string path_;
  std::uint64_t written_, flushed_;
  trust::Sha256Stream* sha_;
  std::string writing_;
  absl::Status error_;
  Overlap overlap_;
};

}  // namespace hanse::node::exchange_internal

#endif  // HANSE_NODE_EXCHANGE_PIPELINE_H_
