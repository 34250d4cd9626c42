#include "node/identity/backup.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/file.h"
#include "base/ids.h"
#include "base/json.h"
#include "base/status.h"
#include "base/version.h"
#include "nlohmann/json.hpp"
#include "node/identity/config.h"

namespace hanse::node {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kManifest = "manifest.json";
constexpr std::size_t kChunk = 1 << 16;
// An archive with more entries than this is not a home (bounded work on a hostile file).
constexpr int kMaxEntries = 1'000'000;
constexpr std::uint64_t kMaxManifestBytes = 64 * 1024;

// What a home holds at its top level, and so what a backup may restore.
const std::set<std::string>& TopLevelNames() {
  static const auto* names =
      new std::set<std::string>{std::string(kManifest), "config.json", "participant.key",
                                "participant-ca.pem",   "node.key",    "node.pem",
                                "sequences.json",       "store",       "data",
                                "access.json"};
  return *names;
}

absl::Status ArchiveError(archive* a, absl::string_view what) {
  const char* msg = archive_error_string(a);
  return absl::InternalError(absl::StrCat(what, ": ", msg ? msg : "unknown archive error"));
}

struct WriteArchiveCloser {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ReadArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

class Writer {
 public:
  absl::Status Open(const std::string& path) {
    a_.reset(archive_write_new());
    if (!a_) return absl::ResourceExhaustedError("cannot allocate an archive");
    if (archive_write_add_filter_zstd(a_.get()) != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(a_.get()) != ARCHIVE_OK) {
      return ArchiveError(a_.get(), "backup format");
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoStatus(errno, path);
    fd_ = fd;
    if (archive_write_open_fd(a_.get(), fd_) != ARCHIVE_OK) return ArchiveError(a_.get(), path);
    return absl::OkStatus();
  }

  absl::Status AddBytes(const std::string& name, absl::string_view bytes, mode_t mode,
                        absl::Time mtime) {
    HANSE_RETURN_IF_ERROR(Header(name, AE_IFREG, mode, bytes.size(), mtime));
    if (!bytes.empty() && archive_write_data(a_.get(), bytes.data(), bytes.size()) !=
                              static_cast<la_ssize_t>(bytes.size())) {
      return ArchiveError(a_.get(), name);
    }
    summary.bytes += bytes.size();
    ++summary.files;
    return absl::OkStatus();
  }

  absl::Status AddFile(const std::string& name, const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, path);
    }
    absl::Status status =
        Header(name, AE_IFREG, st.st_mode & 07777, st.st_size, absl::FromUnixSeconds(st.st_mtime));
    std::vector<char> buf(kChunk);
    std::uint64_t left = static_cast<std::uint64_t>(st.st_size);
    while (status.ok() && left > 0) {
      ssize_t n = ::read(fd, buf.data(), std::min<std::uint64_t>(buf.size(), left));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        status = n < 0 ? ErrnoStatus(errno, path)
                       : absl::DataLossError(absl::StrCat(path, ": shrank while it was read"));
        break;
      }
      if (archive_write_data(a_.get(), buf.data(), n) != n) status = ArchiveError(a_.get(), name);
      left -= n;
    }
    ::close(fd);
    if (status.ok()) {
      summary.bytes += st.st_size;
      ++summary.files;
    }
    return status;
  }

  // Adds `dir` (as `name`) and everything below it, in a stable order.
  absl::Status AddTree(const std::string& name, const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return absl::OkStatus();
    HANSE_RETURN_IF_ERROR(Header(name, AE_IFDIR, 0700, 0, absl::Now()));
    std::vector<fs::path> entries;
    for (const auto& e : fs::directory_iterator(dir, ec)) entries.push_back(e.path());
    if (ec) return absl::InternalError(absl::StrCat(dir, ": ", ec.message()));
    std::sort(entries.begin(), entries.end());
    for (const auto& p : entries) {
      std::string child = absl::StrCat(name, "/", p.filename().string());
      if (fs::is_directory(fs::symlink_status(p, ec))) {
        HANSE_RETURN_IF_ERROR(AddTree(child, p.string()));
      } else if (fs::is_regular_file(fs::symlink_status(p, ec))) {
        HANSE_RETURN_IF_ERROR(AddFile(child, p.string()));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Close(const std::string& path) {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return ArchiveError(a_.get(), path);
    a_.reset();
    absl::Status status = ::fsync(fd_) == 0 ? absl::OkStatus() : ErrnoStatus(errno, path);
    ::close(fd_);
    fd_ = -1;
    return status;
  }

  ~Writer() {
    a_.reset();
    if (fd_ >= 0) ::close(fd_);
  }

  BackupSummary summary;

 private:
  absl::Status Header(const std::string& name, unsigned type, mode_t mode, std::uint64_t size,
                      absl::Time mtime) {
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), mode);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    archive_entry_set_mtime(e.get(), absl::ToUnixSeconds(mtime), 0);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) return ArchiveError(a_.get(), name);
    return absl::OkStatus();
  }

  std::unique_ptr<archive, WriteArchiveCloser> a_;
  int fd_ = -1;
};

std::string WithoutTrailingSlash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// The mode a restored file gets: what the archive says, without execute bits or write for
// others, and keys private whatever the archive says.
mode_t RestoredMode(absl::string_view name, mode_t archived) {
  if (absl::EndsWith(name, ".key") || name == "access.json") return 0600;
  return archived & 0644;
}

// A relative path of clean components below a name a home holds.
absl::Status CheckEntryPath(absl::string_view path) {
  if (path.empty() || path.front() == '/') {
    return absl::InvalidArgumentError(absl::StrCat("backup entry \"", path, "\" is not relative"));
  }
  absl::string_view trimmed = absl::StripSuffix(path, "/");
  std::vector<absl::string_view> parts = absl::StrSplit(trimmed, '/');
  for (absl::string_view p : parts) {
    if (p.empty() || p == "." || p == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("backup entry \"", path, "\" leaves its directory"));
    }
  }
  if (!TopLevelNames().count(std::string(parts.front()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("backup entry \"", path, "\" is not part of a node home"));
  }
  return absl::OkStatus();
}

absl::StatusOr<BackupSummary> ParseManifest(absl::string_view text) {
  HANSE_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(text), "backup manifest");
  auto text_of = [&](const char* key) -> std::string {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
  };
  if (!j.is_object() || text_of("format") != kBackupFormat) {
    return absl::InvalidArgumentError("not a hanse backup (its manifest has another format)");
  }
  if (!j.contains("version") || !j["version"].is_number_integer() ||
      j["version"].get<int>() != kBackupVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("this backup has format version ", j.value("version", nlohmann::json()).dump(),
                     "; this hanse restores version ", kBackupVersion));
  }
  if (!j.contains("home_format") || !j["home_format"].is_number_integer() ||
      j["home_format"].get<int>() != kHomeFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("this backup holds a home of format version ",
                     j.value("home_format", nlohmann::json()).dump(), "; this hanse reads version ",
                     kHomeFormatVersion,
                     " (restore it with the hanse release that made it: see docs/upgrade.md)"));
  }
  BackupSummary s;
  s.did = text_of("did");
  s.created = text_of("created");
  return s;
}

// Reads the data of the current entry into a new file `path` with `mode`.
absl::Status ExtractFile(archive* a, const std::string& path, mode_t mode, std::uint64_t* bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777);
  if (fd < 0) return ErrnoStatus(errno, path);
  std::vector<char> buf(kChunk);
  absl::Status status = absl::OkStatus();
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) {
      status = ArchiveError(a, path);
      break;
    }
    for (la_ssize_t off = 0; off < n && status.ok();) {
      ssize_t w = ::write(fd, buf.data() + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) status = ErrnoStatus(errno, path);
      off += std::max<ssize_t>(w, 0);
    }
    if (!status.ok()) break;
    *bytes += n;
  }
  if (status.ok() && ::fchmod(fd, mode & 0777) != 0) status = ErrnoStatus(errno, path);
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoStatus(errno, path);
  ::close(fd);
  return status;
}

}  // namespace

absl::StatusOr<std::string> CheckpointHome(const HomePaths& paths, catalog::Store& store,
                                           const std::string& dir) {
  std::string home = WithoutTrailingSlash(AbsolutePath(paths.dir));
  std::string target = WithoutTrailingSlash(AbsolutePath(dir));
  if (!absl::StartsWith(target, home + "/") ||
      target.find('/', home.size() + 1) != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("the checkpoint directory must be directly inside the home ", home));
  }
  if (PathExists(target)) {
    return absl::AlreadyExistsError(absl::StrCat(target, " exists already"));
  }
  HANSE_RETURN_IF_ERROR(store.Checkpoint(target), "store checkpoint");
  if (!PathExists(paths.sequences)) return std::string();
  return ReadFile(paths.sequences);
}

absl::StatusOr<BackupSummary> WriteBackup(const HomePaths& paths, const std::string& did,
                                          const std::string& checkpoint_dir,
                                          absl::string_view sequences, const std::string& out,
                                          absl::Time now) {
  if (out.empty()) return absl::InvalidArgumentError("--out is required");
  if (PathExists(out)) {
    return absl::AlreadyExistsError(absl::StrCat(out, " exists already: choose another --out"));
  }
  std::string partial = absl::StrCat(out, ".partial-", NewUuid().substr(0, 8));
  Writer w;
  absl::Status status = [&]() -> absl::Status {
    HANSE_RETURN_IF_ERROR(w.Open(partial));
    std::string created = absl::FormatTime(absl::RFC3339_sec, now, absl::UTCTimeZone());
    nlohmann::ordered_json manifest = {{"format", kBackupFormat},
                                       {"version", kBackupVersion},
                                       {"home_format", kHomeFormatVersion},
                                       {"did", did},
                                       {"created", created},
                                       {"hanse", VersionLine()}};
    HANSE_RETURN_IF_ERROR(w.AddBytes(std::string(kManifest), manifest.dump(2) + "\n", 0644, now));
    for (const auto& [name, path] : std::vector<std::pair<std::string, std::string>>{
             {"config.json", paths.config},
             {"participant.key", paths.participant_key},
             {"participant-ca.pem", paths.participant_ca},
             {"node.key", paths.node_key},
             {"node.pem", paths.node_cert}}) {
      HANSE_RETURN_IF_ERROR(w.AddFile(name, path));
    }
    if (!sequences.empty()) {
      HANSE_RETURN_IF_ERROR(w.AddBytes("sequences.json", sequences, 0600, now));
    }
    // The access grants (hashed tokens), when any were made.
    if (const std::string access = paths.dir + "/access.json"; PathExists(access)) {
      HANSE_RETURN_IF_ERROR(w.AddFile("access.json", access));
    }
    HANSE_RETURN_IF_ERROR(w.AddTree("store", checkpoint_dir));
    HANSE_RETURN_IF_ERROR(w.AddTree("data", paths.data));
    HANSE_RETURN_IF_ERROR(w.Close(partial));
    if (::rename(partial.c_str(), out.c_str()) != 0) return ErrnoStatus(errno, out);
    return SyncParentDirectory(out);
  }();
  if (!status.ok()) {
    ::unlink(partial.c_str());
    return status;
  }
  w.summary.did = did;
  w.summary.created = absl::FormatTime(absl::RFC3339_sec, now, absl::UTCTimeZone());
  return w.summary;
}

absl::StatusOr<BackupSummary> RestoreBackup(const std::string& archive_path,
                                            const std::string& home_dir) {
  if (home_dir.empty()) return absl::InvalidArgumentError("--home is required");
  std::error_code ec;
  std::string home = WithoutTrailingSlash(AbsolutePath(home_dir));
  if (fs::exists(home, ec) && !(fs::is_directory(home, ec) && fs::is_empty(home, ec))) {
    return absl::AlreadyExistsError(absl::StrCat(
        home,
        " exists and is not empty: restore into a new directory (a running node's home is "
        "never overwritten)"));
  }
  std::unique_ptr<archive, ReadArchiveCloser> a(archive_read_new());
  // zstd (what hanse backup writes) or none: no filter that runs an external program.
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), archive_path.c_str(), kChunk) != ARCHIVE_OK) {
    return ArchiveError(a.get(), archive_path);
  }
  std::string staging = absl::StrCat(home, ".restoring-", NewUuid().substr(0, 8));
  HANSE_RETURN_IF_ERROR(MakeDirectory(staging, 0700));
  BackupSummary summary;
  std::set<std::string> seen;
  absl::Status status = [&]() -> absl::Status {
    archive_entry* e = nullptr;
    bool manifest = false;
    int entries = 0;
    for (;;) {
      int rc = archive_read_next_header(a.get(), &e);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK) return ArchiveError(a.get(), archive_path);
      if (++entries > kMaxEntries) {
        return absl::ResourceExhaustedError("the archive has too many entries for a node home");
      }
      std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
      if (!manifest) {
        if (name != kManifest) {
          return absl::InvalidArgumentError(absl::StrCat(
              archive_path, " is not a hanse backup (it does not start with ", kManifest, ")"));
        }
        if (archive_entry_size(e) > static_cast<la_int64_t>(kMaxManifestBytes)) {
          return absl::InvalidArgumentError("backup manifest is too large");
        }
        std::string text(static_cast<std::size_t>(archive_entry_size(e)), '\0');
        if (archive_read_data(a.get(), text.data(), text.size()) !=
            static_cast<la_ssize_t>(text.size())) {
          return ArchiveError(a.get(), "backup manifest");
        }
        HANSE_ASSIGN_OR_RETURN(summary, ParseManifest(text));
        manifest = true;
        continue;
      }
      HANSE_RETURN_IF_ERROR(CheckEntryPath(name));
      std::string trimmed(absl::StripSuffix(name, "/"));
      if (!seen.insert(trimmed).second) {
        return absl::InvalidArgumentError(absl::StrCat("backup entry \"", name, "\" is twice"));
      }
      std::string path = absl::StrCat(staging, "/", trimmed);
      unsigned type = archive_entry_filetype(e);
      if (type == AE_IFDIR) {
        HANSE_RETURN_IF_ERROR(MakeDirectory(path, 0700));
      } else if (type == AE_IFREG) {
        std::string parent = fs::path(path).parent_path().string();
        if (!fs::is_directory(parent, ec)) {
          return absl::InvalidArgumentError(
              absl::StrCat("backup entry \"", name, "\" comes before its directory"));
        }
        HANSE_RETURN_IF_ERROR(ExtractFile(
            a.get(), path, RestoredMode(trimmed, archive_entry_perm(e)), &summary.bytes));
        ++summary.files;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("backup entry \"", name, "\" is neither a file nor a directory"));
      }
    }
    if (!manifest) return absl::InvalidArgumentError(absl::StrCat(archive_path, " is empty"));
    for (const char* needed : {"config.json", "participant.key", "participant-ca.pem", "store"}) {
      if (!seen.count(needed)) {
        return absl::InvalidArgumentError(
            absl::StrCat("the backup lacks ", needed, ": it cannot make a node home"));
      }
    }
    if (!seen.count("data")) HANSE_RETURN_IF_ERROR(MakeDirectory(staging + "/data", 0700));
    if (fs::exists(home, ec)) fs::remove(home, ec);  // empty, checked above
    if (::rename(staging.c_str(), home.c_str()) != 0) return ErrnoStatus(errno, home);
    return SyncParentDirectory(home);
  }();
  if (!status.ok()) {
    fs::remove_all(staging, ec);
    return status;
  }
  return summary;
}

}  // namespace hanse::node
