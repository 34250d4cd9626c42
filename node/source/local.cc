#include "node/source/local.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "node/source/tree.h"
#include "trust/sha256_stream.h"

namespace hanse::node::source {
namespace {

namespace fs = std::filesystem;

constexpr size_t kReadBytes = 1 << 20;

std::string Version(const struct stat& st) {
  const std::int64_t ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                          static_cast<std::int64_t>(st.st_mtim.tv_nsec);
  return absl::StrCat(st.st_size, ":", ns);
}

absl::StatusOr<std::string> RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  return std::string(buf);
}

bool Inside(const std::string& real_root, const std::string& real) {
  return real == real_root || absl::StartsWith(real, absl::StrCat(real_root, "/"));
}

class FdReader : public Reader {
 public:
  FdReader(int fd, std::uint64_t offset) : fd_(fd), offset_(offset) {}
  ~FdReader() override { ::close(fd_); }
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    ssize_t got = ::pread(fd_, buf, n, static_cast<off_t>(offset_));
    if (got < 0) return absl::DataLossError(absl::StrCat("reading failed: ", std::strerror(errno)));
    offset_ += static_cast<std::uint64_t>(got);
    return static_cast<size_t>(got);
  }

 private:
  int fd_;
  std::uint64_t offset_;
};

// Opens `path` for reading at `offset`, refusing it when it is not what was published.
// `root` (a real path; empty: no check) is where the opened file must really be: a path
// swapped for a symlink out of the root since publishing is refused, and a FIFO never blocks.
absl::StatusOr<std::unique_ptr<Reader>> OpenChecked(const std::string& path, absl::string_view name,
                                                    absl::string_view version, std::uint64_t offset,
                                                    const std::string& root = "") {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, " is gone since it was published: ", std::strerror(errno)));
  }
  if (!root.empty()) {
    auto real = RealPath(absl::StrCat("/proc/self/fd/", fd));
    if (!real.ok() || !Inside(root, *real)) {
      ::close(fd);
      return absl::FailedPreconditionError(
          absl::StrCat(name, " now leads outside its data root; republish the dataset"));
    }
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(name, " is no longer a regular file"));
  }
  if (!version.empty() && Version(st) != version) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat(name,
                     " changed since it was published (size or modification time); republish the "
                     "dataset"));
  }
  if (offset > static_cast<std::uint64_t>(st.st_size)) {
    ::close(fd);
    return absl::OutOfRangeError("offset beyond the end of the content");
  }
  return std::unique_ptr<Reader>(new FdReader(fd, offset));
}

// Hashes one open file into `update`, checking that it did not change while read.
absl::Status HashFile(const std::string& path, absl::string_view name,
                      const std::function<void(absl::string_view)>& update,
                      const std::function<void(std::uint64_t)>& advanced, struct stat* before) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open ", name));
  if (::fstat(fd, before) != 0 || !S_ISREG(before->st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(name, " is not a regular file"));
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::string buf(kReadBytes, '\0');
  std::uint64_t total = 0;
  while (true) {
    ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got < 0) {
      ::close(fd);
      return absl::DataLossError(absl::StrCat("reading ", name, " failed"));
    }
    if (got == 0) break;
    update(absl::string_view(buf.data(), static_cast<size_t>(got)));
    total += static_cast<std::uint64_t>(got);
    advanced(static_cast<std::uint64_t>(got));
  }
  struct stat after {};
  ::fstat(fd, &after);
  ::close(fd);
  if (total != static_cast<std::uint64_t>(before->st_size) || Version(after) != Version(*before)) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, " changed while it was read; publish it again when it is complete"));
  }
  return absl::OkStatus();
}

class FileSource : public Source {
 public:
  FileSource(std::string path, nlohmann::json found)
      : path_(std::move(path)), found_(std::move(found)) {}

  absl::StatusOr<Description> Describe(const Progress& progress) override {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError("content must be a regular file or a directory");
    }
    const std::uint64_t total = static_cast<std::uint64_t>(st.st_size);
    trust::Sha256Stream sha;
    std::uint64_t done = 0;
    HANSE_RETURN_IF_ERROR(HashFile(
        path_, "the content", [&](absl::string_view d) { sha.Update(d); },
        [&](std::uint64_t n) {
          done += n;
          if (progress) progress(done, total);
        },
        &st));
    Description d;
    d.kind = "file";
    d.byte_size = static_cast<std::uint64_t>(st.st_size);
    d.sha256 = sha.HexDigest();
    d.record = {{"version", Version(st)}};
    return d;
  }

  absl::StatusOr<std::unique_ptr<Reader>> Open(std::uint64_t offset) override {
    return OpenChecked(path_, "the content", found_.value("version", ""), offset);
  }

 private:
  std::string path_;
  nlohmann::json found_;
};

class DirectorySource : public Source {
 public:
  DirectorySource(std::string root, std::string dir, nlohmann::json found)
      : root_(std::move(root)), dir_(std::move(dir)), found_(std::move(found)) {}

  absl::StatusOr<Description> Describe(const Progress& progress) override {
    HANSE_ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, List());
    std::uint64_t total = 0;
    for (const auto& e : entries) total += e.size;
    TreeHasher hasher;
    std::uint64_t done = 0;
    for (auto& e : entries) {
      hasher.Begin(e);
      struct stat st {};
      HANSE_RETURN_IF_ERROR(HashFile(
          absl::StrCat(dir_, "/", e.path), e.path, [&](absl::string_view d) { hasher.Update(d); },
          [&](std::uint64_t n) {
            done += n;
            if (progress) progress(done, total);
          },
          &st));
      HANSE_RETURN_IF_ERROR(hasher.End().status());
    }
    Description d = hasher.Finish("directory");
    d.record = {{"manifest", ManifestJson(hasher.entries())}};
    return d;
  }

  absl::StatusOr<std::unique_ptr<Reader>> Open(std::uint64_t offset) override {
    auto manifest = found_.find("manifest");
    if (manifest == found_.end()) return absl::DataLossError("the directory has no manifest");
    HANSE_ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ParseManifest(*manifest));
    // Every file still to be sent is checked before the transfer starts (and so before a use
    // is counted); each is checked again, and confined to the root, when it is opened.
    std::uint64_t end = 0;
    for (const auto& e : entries) {
      end += TarHeader(e).size() + (e.size + 511) / 512 * 512;
      if (end <= offset) continue;
      struct stat st {};
      if (::stat(absl::StrCat(dir_, "/", e.path).c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
          Version(st) != e.version) {
        return absl::FailedPreconditionError(
            absl::StrCat(e.path,
                         " changed since it was published (size or modification time); republish "
                         "the dataset"));
      }
    }
    const std::string dir = dir_;
    const std::string root = root_;
    return OpenTreeStream(
        std::move(entries),
        [dir, root](const TreeEntry& e, std::uint64_t at) {
          return OpenChecked(absl::StrCat(dir, "/", e.path), e.path, e.version, at, root);
        },
        offset);
  }

 private:
  // Every file below the directory, sorted by path, each with its size and version.
  absl::StatusOr<std::vector<TreeEntry>> List() {
    std::vector<TreeEntry> out;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir_, fs::directory_options::none, ec);
    if (ec) return absl::NotFoundError(absl::StrCat("cannot list the directory: ", ec.message()));
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) return absl::DataLossError(absl::StrCat("listing failed: ", ec.message()));
      const fs::path& p = it->path();
      // Lexically: fs::relative would resolve symlinks and name their targets instead.
      std::string rel = p.lexically_relative(dir_).generic_string();
      HANSE_RETURN_IF_ERROR(CheckTreePath(rel));
      struct stat lst {};
      if (::lstat(p.c_str(), &lst) != 0) {
        return absl::DataLossError(absl::StrCat("cannot read ", rel));
      }
      if (S_ISDIR(lst.st_mode)) continue;
      struct stat st = lst;
      if (S_ISLNK(lst.st_mode)) {
        HANSE_ASSIGN_OR_RETURN(std::string real, RealPath(p.string()), rel);
        if (!Inside(root_, real)) {
          return absl::InvalidArgumentError(
              absl::StrCat(rel, " is a symlink that points outside its data root"));
        }
        if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
          return absl::InvalidArgumentError(absl::StrCat(
              rel, " is a symlink to something other than a regular file (not followed)"));
        }
      } else if (!S_ISREG(lst.st_mode)) {
        return absl::InvalidArgumentError(
            absl::StrCat(rel, " is not a regular file (a device, socket or pipe)"));
      }
      if (out.size() >= kMaxTreeFiles) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "the directory has more than ", kMaxTreeFiles,
            " files; publish its subdirectories as datasets of their own, or an archive"));
      }
      out.push_back({rel, static_cast<std::uint64_t>(st.st_size), "", Version(st)});
    }
    if (out.empty()) return absl::InvalidArgumentError("the directory holds no files");
    std::sort(out.begin(), out.end(),
              [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
    return out;
  }

  std::string root_;
  std::string dir_;
  nlohmann::json found_;
};

}  // namespace

absl::StatusOr<std::string> ResolveInRoot(const std::string& root, absl::string_view relative) {
  if (relative.empty()) return absl::InvalidArgumentError("content is empty");
  if (relative.front() == '/') {
    return absl::InvalidArgumentError("content must be a path relative to its data root");
  }
  HANSE_ASSIGN_OR_RETURN(std::string real_root, RealPath(root), "the data root");
  auto real = RealPath(absl::StrCat(real_root, "/", relative));
  if (!real.ok()) {
    return absl::NotFoundError(absl::StrCat("content \"", relative, "\" not found in ", root));
  }
  if (!Inside(real_root, *real) || *real == real_root) {
    return absl::InvalidArgumentError(
        absl::StrCat("content \"", relative, "\" points outside its data root"));
  }
  return *real;
}

std::unique_ptr<Source> MakeFileSource(std::string path, nlohmann::json found) {
  return std::make_unique<FileSource>(std::move(path), std::move(found));
}

std::unique_ptr<Source> MakeDirectorySource(std::string root, std::string dir,
                                            nlohmann::json found) {
  return std::make_unique<DirectorySource>(std::move(root), std::move(dir), std::move(found));
}

}  // namespace hanse::node::source
