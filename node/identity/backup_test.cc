#include "node/identity/backup.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "base/file.h"
#include "catalog/store.h"
#include "nlohmann/json.hpp"
#include "node/identity/config.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace hanse::node {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::HasSubstr;

struct Entry {
  std::string name;
  std::string content;
  unsigned type = AE_IFREG;
};

// Writes a tar (no compression) with `entries`, as a hostile or damaged backup would be.
void WriteTar(const std::string& path, const std::vector<Entry>& entries) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, 0600);
    if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.content.c_str());
    archive_entry_set_size(entry, e.type == AE_IFREG ? e.content.size() : 0);
    archive_write_header(a, entry);
    if (e.type == AE_IFREG) archive_write_data(a, e.content.data(), e.content.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
}

std::string Manifest() {
  return nlohmann::json{{"format", kBackupFormat},
                        {"version", kBackupVersion},
                        {"home_format", kHomeFormatVersion},
                        {"did", "did:key:z"}}
      .dump();
}

TEST(BackupTest, RoundTripKeepsEveryFileAndItsMode) {
  testing::TempDir tmp;
  InitOptions o;
  o.dir = tmp.Sub("home");
  o.legal_name = "Org";
  o.country = "FR";
  o.listen = "127.0.0.1:7400";
  HANSE_ASSERT_OK_AND_ASSIGN(std::string did, InitHome(o, absl::Now()));
  HomePaths paths(o.dir);
  ASSERT_THAT(WriteFileAtomic(paths.data + "/x.csv", "a,b\n", 0644), IsOk());
  std::string checkpoint = paths.dir + "/.backup-test";
  // A trailing slash on the home names the same home.
  HomePaths slashed(o.dir + "/");
  {
    HANSE_ASSERT_OK_AND_ASSIGN(auto store, catalog::OpenRocksStore(paths.store, {}));
    HANSE_ASSERT_OK_AND_ASSIGN(std::string ledger, CheckpointHome(slashed, *store, checkpoint));
    HANSE_ASSERT_OK_AND_ASSIGN(BackupSummary s, WriteBackup(paths, did, checkpoint, ledger,
                                                            tmp.Sub("b.tar.zst"), absl::Now()));
    EXPECT_GT(s.files, 6);
    EXPECT_THAT(CheckpointHome(paths, *store, tmp.Sub("elsewhere")).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inside the home")));
  }
  struct stat st {};
  ASSERT_EQ(::stat(tmp.Sub("b.tar.zst").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the archive holds the participant key";

  HANSE_ASSERT_OK_AND_ASSIGN(BackupSummary r,
                             RestoreBackup(tmp.Sub("b.tar.zst"), tmp.Sub("new") + "/"));
  EXPECT_EQ(r.did, did);
  HANSE_ASSERT_OK_AND_ASSIGN(Home restored, LoadHome(tmp.Sub("new"), absl::Now()));
  EXPECT_EQ(restored.identity.did, did);
  EXPECT_THAT(ReadFile(tmp.Sub("new/data/x.csv")), testing::IsOkAndHolds(std::string("a,b\n")));
  ASSERT_EQ(::stat(tmp.Sub("new/participant.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  HANSE_ASSERT_OK_AND_ASSIGN(auto store, catalog::OpenRocksStore(tmp.Sub("new/store"), {}));
  EXPECT_THAT(
      store->Get(catalog::Family::kMeta, "format_version"),
      testing::IsOkAndHolds(std::optional<std::string>(std::to_string(kHomeFormatVersion))));

  EXPECT_THAT(RestoreBackup(tmp.Sub("b.tar.zst"), tmp.Sub("new")).status(),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("not empty")));
}

TEST(BackupTest, HostileArchivesAreRefusedAndLeaveNothingBehind) {
  testing::TempDir tmp;
  const std::vector<std::pair<std::vector<Entry>, std::string>> cases = {
      {{{"config.json", "{}"}}, "does not start with manifest.json"},
      {{{"manifest.json", R"({"format": "other"})"}}, "not a hanse backup"},
      {{{"manifest.json", Manifest()}, {"../evil", "x"}}, "leaves its directory"},
      {{{"manifest.json", Manifest()}, {"/etc/evil", "x"}}, "not relative"},
      {{{"manifest.json", Manifest()}, {"store/../../evil", "x"}}, "leaves its directory"},
      {{{"manifest.json", Manifest()}, {"bin/evil", "x"}}, "not part of a node home"},
      {{{"manifest.json", Manifest()}, {"store", "", AE_IFDIR}, {"store/link", "/etc", AE_IFLNK}},
       "neither a file nor a directory"},
      {{{"manifest.json", Manifest()}, {"config.json", "{}"}}, "lacks participant.key"},
      {{{"manifest.json", R"({"format": "hanse-backup", "version": 1, "home_format": 1,
                               "did": 1})"},
        {"config.json", "{}"}},
       "lacks participant.key"},
  };
  int n = 0;
  for (const auto& [entries, error] : cases) {
    std::string file = tmp.Sub("case" + std::to_string(n) + ".tar");
    std::string home = tmp.Sub("home" + std::to_string(n++));
    WriteTar(file, entries);
    absl::StatusOr<BackupSummary> r = RestoreBackup(file, home);
    EXPECT_FALSE(r.ok()) << error;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(error));
    EXPECT_FALSE(PathExists(home)) << error;
  }
  EXPECT_FALSE(PathExists(tmp.Sub("evil")));
  // Nothing was left beside the homes either (only the archives).
  for (const auto& e : std::filesystem::directory_iterator(tmp.Sub(""))) {
    EXPECT_EQ(e.path().extension(), ".tar") << e.path();
  }
}

}  // namespace
}  // namespace hanse::node
