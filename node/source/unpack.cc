#include "node/source/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status.h"
#include "node/source/tree.h"
#include "trust/sha256_stream.h"

namespace hanse::node::source {
namespace {

namespace fs = std::filesystem;

struct ReadCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};

// Creates every missing directory of `rel`'s parent below `out` (0700), never following a
// symlink: the tree only ever holds what this unpack made.
absl::Status MakeParents(const std::string& out, absl::string_view rel) {
  std::vector<absl::string_view> parts = absl::StrSplit(rel, '/');
  std::string at = out;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    absl::StrAppend(&at, "/", parts[i]);
    if (::mkdir(at.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::InternalError(absl::StrCat("cannot create ", at, ": ", std::strerror(errno)));
    }
    struct stat st {};
    if (::lstat(at.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::DataLossError(absl::StrCat(at, " is not a directory"));
    }
  }
  return absl::OkStatus();
}

absl::Status Unpack(archive* a, const std::string& out, const std::string& root_digest,
                    std::uint64_t file_count, std::uint64_t stream_bytes) {
  std::vector<TreeEntry> entries;
  // Nothing Hanse sends unpacks to more than the stream itself (no sparse files, no links).
  std::uint64_t written = 0;
  std::string buf(1 << 20, '\0');
  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    // A warning is what libarchive gives for a UTF-8 path it cannot convert to the process's
    // locale; the path is read as UTF-8 below, so only errors stop the unpack.
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      return absl::DataLossError(
          absl::StrCat("the received tree is not a valid tar: ", archive_error_string(a)));
    }
    const char* name = archive_entry_pathname_utf8(e);
    if (name == nullptr) name = archive_entry_pathname(e);
    std::string rel = name ? name : "";
    HANSE_RETURN_IF_ERROR(CheckTreePath(rel), "the received tree");
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_sparse_count(e) > 0 ||
        archive_entry_hardlink(e) != nullptr) {
      return absl::DataLossError(
          absl::StrCat("the received tree holds ", rel, ", which is not a regular file"));
    }
    if (entries.size() >= file_count) {
      return absl::DataLossError("the received tree holds more files than were published");
    }
    if (!entries.empty() && !(entries.back().path < rel)) {
      return absl::DataLossError("the received tree is not in manifest order");
    }
    HANSE_RETURN_IF_ERROR(MakeParents(out, rel));
    const std::string path = absl::StrCat(out, "/", rel);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      return absl::InternalError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
    }
    trust::Sha256Stream sha;
    std::uint64_t size = 0;
    absl::Status status;
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
      if (n < 0) {
        status = absl::DataLossError(
            absl::StrCat("reading ", rel, " from the received tree: ", archive_error_string(a)));
        break;
      }
      if (n == 0) break;
      written += static_cast<std::uint64_t>(n);
      if (written > stream_bytes) {
        status = absl::DataLossError("the received tree unpacks to more bytes than it holds");
        break;
      }
      sha.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
      size += static_cast<std::uint64_t>(n);
      for (la_ssize_t done = 0; done < n;) {
        ssize_t w = ::write(fd, buf.data() + done, static_cast<size_t>(n - done));
        if (w < 0) {
          status = absl::ResourceExhaustedError(
              absl::StrCat("writing ", path, ": ", std::strerror(errno)));
          break;
        }
        done += w;
      }
      if (!status.ok()) break;
    }
    ::close(fd);
    HANSE_RETURN_IF_ERROR(status);
    entries.push_back({rel, size, sha.HexDigest(), ""});
  }
  if (entries.size() != file_count) {
    return absl::DataLossError(absl::StrCat("the received tree holds ", entries.size(), " files; ",
                                            file_count, " were published"));
  }
  trust::Sha256Stream root;
  root.Update(ManifestText(entries));
  if (root.HexDigest() != root_digest) {
    return absl::DataLossError("the received tree's manifest does not match its root digest");
  }
  // One flush of the filesystem for the whole tree instead of one fsync per file (thousands of
  // small files would each wait for the disk).
  int dir = ::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0 || ::syncfs(dir) != 0) {
    if (dir >= 0) ::close(dir);
    return absl::InternalError(absl::StrCat("cannot flush ", out, " to disk"));
  }
  ::close(dir);
  return absl::OkStatus();
}

}  // namespace

absl::Status UnpackTree(const std::string& tar_path, const std::string& out_dir,
                        const std::string& root_digest, std::uint64_t file_count) {
  if (::mkdir(out_dir.c_str(), 0700) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("cannot create ", out_dir,
                                                 " for the received tree: ", std::strerror(errno),
                                                 " (the directory must not exist yet)"));
  }
  std::unique_ptr<archive, ReadCloser> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  absl::Status status;
  if (archive_read_open_filename(a.get(), tar_path.c_str(), 1 << 20) != ARCHIVE_OK) {
    status = absl::DataLossError(
        absl::StrCat("cannot read ", tar_path, ": ", archive_error_string(a.get())));
  } else {
    struct stat st {};
    ::stat(tar_path.c_str(), &st);
    status =
        Unpack(a.get(), out_dir, root_digest, file_count, static_cast<std::uint64_t>(st.st_size));
  }
  if (!status.ok()) {
    std::error_code ec;
    fs::remove_all(out_dir, ec);
  }
  return status;
}

}  // namespace hanse::node::source
