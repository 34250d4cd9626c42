// Backups of a node home: one archive (pax tar, zstd-compressed, written with mode 0600 since it
// holds the participant key) with a manifest, the config and keys (file modes kept), a
// consistent RocksDB checkpoint of the store taken while the node runs, the sequence ledger read
// after that checkpoint, and the published data files. See docs/operations.md, "Backups".
#ifndef HANSE_NODE_IDENTITY_BACKUP_H_
#define HANSE_NODE_IDENTITY_BACKUP_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "catalog/store.h"
#include "node/identity/home.h"

namespace hanse::node {

inline constexpr absl::string_view kBackupFormat = "hanse-backup";
inline constexpr int kBackupVersion = 1;

// Takes a checkpoint of `store` in `dir` (a new directory inside the home, so its files can be
// hard links), then reads the sequence ledger. The ledger is written before each signed
// document is stored, so read after the checkpoint it covers every document in it. Returns the
// ledger's bytes (empty when the home has none yet).
absl::StatusOr<std::string> CheckpointHome(const HomePaths& paths, catalog::Store& store,
                                           const std::string& dir);

struct BackupSummary {
  std::string did;
  std::string created;  // RFC 3339, from the manifest
  int files = 0;
  std::uint64_t bytes = 0;  // file contents, before compression
};

// Writes the archive `out` (through a temporary file, fsynced, then renamed; mode 0600) from
// the home's files, the checkpoint in `checkpoint_dir` and the ledger bytes `sequences`.
absl::StatusOr<BackupSummary> WriteBackup(const HomePaths& paths, const std::string& did,
                                          const std::string& checkpoint_dir,
                                          absl::string_view sequences, const std::string& out,
                                          absl::Time now);

// Restores `archive` into `home_dir`, which must not exist or be an empty directory. Every entry
// is checked (a relative path below a name a home holds, a regular file or a directory) and the
// whole archive is unpacked beside the home before it is renamed into place: the home appears
// whole or not at all.
absl::StatusOr<BackupSummary> RestoreBackup(const std::string& archive,
                                            const std::string& home_dir);

}  // namespace hanse::node

#endif  // HANSE_NODE_IDENTITY_BACKUP_H_
