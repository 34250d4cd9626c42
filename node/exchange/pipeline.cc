#include "node/exchange/pipeline.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace hanse::node::exchange_internal {

// Dirty pages of a received file are handed to the disk in steps of this size.
constexpr std::uint64_t kWritebackBytes = 8 << 20;

Overlap::~Overlap() {
  {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return !busy_; });
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Overlap::Start(absl::AnyInvocable<void()> task) {
  {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return !busy_; });
    task_ = std::move(task);
    busy_ = true;
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  changed_.notify_all();
}

void Overlap::Wait() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return !busy_; });
}

void Overlap::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || (busy_ && task_); });
    if (stopping_) return;
    absl::AnyInvocable<void()> task = std::move(task_);
    task_ = nullptr;
    lock.unlock();
    task();
    lock.lock();
    busy_ = false;
    changed_.notify_all();
  }
}

bool PartWriter::Add(std::string* data) {
  overlap_.Wait();
  if (!error_.ok()) return false;
  writing_.swap(*data);
  data->clear();
  overlap_.Start([this] { WriteOne(); });
  return true;
}

void PartWriter::WriteOne() {
  size_t done = 0;
  while (done < writing_.size()) {
    ssize_t w = ::write(fd_, writing_.data() + done, writing_.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = w < 0 ? errno : ENOSPC;
      error_ = absl::Status(err == ENOSPC || err == EDQUOT ? absl::StatusCode::kResourceExhausted
                                                           : absl::StatusCode::kInternal,
                            absl::StrCat("writing ", path_, " failed: ", std::strerror(err)));
      return;
    }
    done += static_cast<size_t>(w);
  }
  sha_->Update(writing_);
  written_ += writing_.size();
  if (written_ - flushed_ >= kWritebackBytes) {
    // Start the disk on what is written; a file system without it flushes at the fsync.
    ::sync_file_range(fd_, static_cast<off_t>(flushed_), static_cast<off_t>(written_ - flushed_),
                      SYNC_FILE_RANGE_WRITE);
    flushed_ = written_;
  }
}

absl::Status PartWriter::Finish() {
  overlap_.Wait();
  if (!error_.ok()) return error_;
  if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) {
    const int err = errno;
    error_ =
        absl::Status(err == ENOSPC || err == EDQUOT ? absl::StatusCode::kResourceExhausted
                                                    : absl::StatusCode::kInternal,
                     absl::StrCat("writing ", path_, " to the disk failed: ", std::strerror(err)));
  }
  return error_;
}

absl::Status PartWriter::error() {
  overlap_.Wait();
  return error_;
}

}  // namespace hanse::node::exchange_internal
