// Files and directory trees as sources: the tree stream is a tar that GNU tar and Python's
// tarfile read back into the same files, its digest is that of the bytes a transfer sends,
// every offset resumes into the same bytes, and a changed or escaping source is refused.
#include "node/source/local.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/source/factory.h"
#include "node/source/test_util.h"
#include "node/source/tree.h"
#include "node/source/unpack.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "trust/sha256_stream.h"

namespace hanse::node::source {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::TempDir;
using ::testing::HasSubstr;

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// An odd chunk size crosses every header, data and padding boundary.
std::string ReadAll(Reader& r) {
  auto all = testing::ReadAll(r, 7001);
  EXPECT_TRUE(all.ok()) << all.status();
  return all.value_or("");
}

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

class LocalSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() + "/data";
    ::mkdir(root_.c_str(), 0700);
    ctx_.data_dir = root_;
  }
  // A tree with small, empty, block-sized, long-named and non-ASCII files.
  std::map<std::string, std::string> MakeTree() {
    std::map<std::string, std::string> files = {
        {"a.csv", "x,y\n1,2\n"},
        {"empty", ""},
        {"sub/block", std::string(512, 'b')},
        {"sub/deeper/more", std::string(100000, 'm')},
        {std::string(150, 'l') + "/" + std::string(120, 'n'), "long name"},
        {"sub/r\xc3\xa9sum\xc3\xa9.txt", "accented"},
    };
    for (const auto& [path, bytes] : files) {
      std::string full = absl::StrCat(root_, "/tree/", path);
      std::string parent = full.substr(0, full.rfind('/'));
      EXPECT_EQ(std::system(absl::StrCat("mkdir -p '", parent, "'").c_str()), 0);
      Write(full, bytes);
    }
    return files;
  }

  TempDir dir_;
  std::string root_;
  Context ctx_;
};

TEST_F(LocalSourceTest, FileDescribesAndResumesAtEveryOffset) {
  std::string bytes(3 << 20, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 31 + 7);
  Write(root_ + "/f.bin", bytes);
  HANSE_ASSERT_OK_AND_ASSIGN(auto spec, SpecFromPublish({{"content", "f.bin"}}));
  std::uint64_t last = 0;
  HANSE_ASSERT_OK_AND_ASSIGN(
      Described d,
      DescribeSpec(ctx_, spec, [&](std::uint64_t done, std::uint64_t) { last = done; }));
  EXPECT_EQ(d.description.kind, "file");
  EXPECT_EQ(d.description.byte_size, bytes.size());
  EXPECT_EQ(d.description.sha256, testing::IndependentSha256(bytes));
  EXPECT_EQ(last, bytes.size());
  HANSE_ASSERT_OK_AND_ASSIGN(auto src, MakeSource(ctx_, d.record));
  for (std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1} << 20,
                               static_cast<std::uint64_t>(bytes.size())}) {
    HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(offset));
    EXPECT_EQ(ReadAll(*r), bytes.substr(offset)) << offset;
  }
}

TEST_F(LocalSourceTest, ChangedFileIsRefusedBeforeAnythingIsSent) {
  Write(root_ + "/f.csv", "one\n");
  HANSE_ASSERT_OK_AND_ASSIGN(Described d,
                             DescribeSpec(ctx_, {{"root", "data"}, {"path", "f.csv"}}, nullptr));
  Write(root_ + "/f.csv", "two, longer\n");
  HANSE_ASSERT_OK_AND_ASSIGN(auto src, MakeSource(ctx_, d.record));
  auto r = src->Open(0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("changed since it was published"));
}

TEST_F(LocalSourceTest, PathsEscapingTheRootAreRefused) {
  Write(dir_.path() + "/secret", "s");
  ASSERT_EQ(::symlink((dir_.path() + "/secret").c_str(), (root_ + "/link").c_str()), 0);
  for (const char* path : {"../secret", "link", "/etc/passwd"}) {
    auto s = MakeSource(ctx_, {{"root", "data"}, {"path", path}});
    EXPECT_FALSE(s.ok()) << path;
    EXPECT_THAT(s.status().message(),
                ::testing::AnyOf(HasSubstr("outside its data root"), HasSubstr("relative")))
        << path;
  }
  // A symlink inside the tree that leaves the root.
  MakeTree();
  ASSERT_EQ(::symlink((dir_.path() + "/secret").c_str(), (root_ + "/tree/sub/out").c_str()), 0);
  auto d = DescribeSpec(ctx_, {{"root", "data"}, {"path", "tree"}}, nullptr);
  EXPECT_THAT(d.status().message(), HasSubstr("outside its data root"));
}

TEST_F(LocalSourceTest, UnknownRootIsNamed) {
  auto s = MakeSource(ctx_, {{"root", "pacs"}, {"path", "x"}});
  EXPECT_THAT(s.status().message(), HasSubstr("data root \"pacs\" is not in config.json"));
  ctx_.data_roots["pacs"] = dir_.path();
  Write(dir_.path() + "/x", "x");
  EXPECT_TRUE(MakeSource(ctx_, {{"root", "pacs"}, {"path", "x"}}).ok());
}

TEST_F(LocalSourceTest, DirectoryIsATarThatOtherToolsReadBack) {
  auto files = MakeTree();
  // A symlink to a file inside the root is followed.
  ASSERT_EQ(::symlink((root_ + "/tree/a.csv").c_str(), (root_ + "/tree/z-link").c_str()), 0);
  files["z-link"] = files["a.csv"];
  HANSE_ASSERT_OK_AND_ASSIGN(Described d,
                             DescribeSpec(ctx_, {{"root", "data"}, {"path", "tree"}}, nullptr));
  EXPECT_EQ(d.description.kind, "directory");
  EXPECT_EQ(d.description.file_count, files.size());
  HANSE_ASSERT_OK_AND_ASSIGN(auto src, MakeSource(ctx_, d.record));
  HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(0));
  const std::string stream = ReadAll(*r);
  EXPECT_EQ(stream.size(), d.description.byte_size);
  EXPECT_EQ(testing::IndependentSha256(stream), d.description.sha256);
  HANSE_ASSERT_OK_AND_ASSIGN(auto entries, ParseManifest(d.record["found"]["manifest"]));
  EXPECT_EQ(testing::IndependentSha256(ManifestText(entries)), d.description.root_digest);
  EXPECT_EQ(TreeStreamSize(entries), stream.size());

  // GNU tar and Python's tarfile unpack the same tree.
  const std::string tar = dir_.path() + "/t.tar";
  Write(tar, stream);
  for (const std::string& tool : {std::string("gnu"), std::string("python")}) {
    const std::string out = absl::StrCat(dir_.path(), "/out-", tool);
    ::mkdir(out.c_str(), 0700);
    std::string cmd = tool == "gnu" ? absl::StrCat("tar -xf '", tar, "' -C '", out, "' 2>&1")
                                    : absl::StrCat(
                                          "python3 -c \"import tarfile,sys; "
                                          "tarfile.open(sys.argv[1]).extractall(sys.argv[2])\" '",
                                          tar, "' '", out, "' 2>&1");
    EXPECT_EQ(Shell(cmd), "") << tool;
    for (const auto& [path, bytes] : files) {
      std::ifstream in(absl::StrCat(out, "/", path), std::ios::binary);
      std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_EQ(got, bytes) << tool << " " << path;
    }
    EXPECT_EQ(Shell(absl::StrCat("find '", out, "' -type f | wc -l")),
              absl::StrCat(files.size(), "\n"))
        << tool;
  }

  // Every offset resumes into the same bytes, across headers, data and padding.
  for (std::uint64_t offset = 0; offset <= stream.size(); offset += 509) {
    HANSE_ASSERT_OK_AND_ASSIGN(auto at, src->Open(offset));
    ASSERT_EQ(ReadAll(*at), stream.substr(offset)) << offset;
  }
}

TEST_F(LocalSourceTest, ChangedFileInATreeStopsTheStream) {
  MakeTree();
  HANSE_ASSERT_OK_AND_ASSIGN(Described d,
                             DescribeSpec(ctx_, {{"root", "data"}, {"path", "tree"}}, nullptr));
  Write(root_ + "/tree/sub/block", std::string(600, 'c'));
  HANSE_ASSERT_OK_AND_ASSIGN(auto src, MakeSource(ctx_, d.record));
  // Refused before the transfer starts (before a use is counted).
  auto r = src->Open(0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("sub/block"));
  EXPECT_THAT(r.status().message(), HasSubstr("changed since it was published"));
}

TEST_F(LocalSourceTest, SpecialFilesAndEmptyTreesAreRefused) {
  ::mkdir((root_ + "/tree").c_str(), 0700);
  EXPECT_THAT(DescribeSpec(ctx_, {{"root", "data"}, {"path", "tree"}}, nullptr).status().message(),
              HasSubstr("holds no files"));
  ASSERT_EQ(::mkfifo((root_ + "/tree/pipe").c_str(), 0600), 0);
  EXPECT_THAT(DescribeSpec(ctx_, {{"root", "data"}, {"path", "tree"}}, nullptr).status().message(),
              HasSubstr("not a regular file"));
}

TEST_F(LocalSourceTest, PublishSpecsAreChecked) {
  EXPECT_FALSE(SpecFromPublish({{"name", "x"}}).ok());
  EXPECT_FALSE(SpecFromPublish({{"content", ""}}).ok());
  EXPECT_FALSE(SpecFromPublish({{"content", "a"}, {"source", {{"s3", "x"}}}}).ok());
  EXPECT_FALSE(SpecFromPublish({{"root", "pacs"}}).ok());
  HANSE_ASSERT_OK_AND_ASSIGN(auto spec, SpecFromPublish({{"content", "a"}, {"root", "pacs"}}));
  EXPECT_EQ(spec, nlohmann::json({{"root", "pacs"}, {"path", "a"}}));
  // Records from before distributions are a bare path under data/.
  HANSE_ASSERT_OK_AND_ASSIGN(auto legacy, ParseRecord("icu.csv"));
  EXPECT_EQ(legacy["path"], "icu.csv");
  EXPECT_EQ(legacy["root"], "data");
}

TEST_F(LocalSourceTest, RemoteSourcesNameTheirConnection) {
  EXPECT_FALSE(SpecFromPublish({{"source", {{"view", "v"}}}}).ok());
  EXPECT_FALSE(SpecFromPublish({{"source", {{"postgresql", "a"}, {"s3", "b"}}}}).ok());
  HANSE_ASSERT_OK_AND_ASSIGN(
      auto spec, SpecFromPublish({{"source", {{"postgresql", "registry"}, {"view", "v"}}}}));
  auto s = MakeSource(ctx_, spec);
  EXPECT_THAT(s.status().message(),
              HasSubstr("postgresql connection \"registry\" is not in config.json"));
  ctx_.connections = {{"postgresql", {{"registry", {{"conninfo", "host=/nowhere"}, {"pw", "x"}}}}}};
  EXPECT_THAT(MakeSource(ctx_, spec).status().message(), HasSubstr("unknown key \"pw\""));
  ctx_.connections = {{"postgresql", {{"registry", {{"conninfo", "host=/nowhere"}}}}}};
  EXPECT_THAT(MakeSource(ctx_, {{"postgresql", "registry"}}).status().message(),
              HasSubstr("either \"view\" or \"query\""));
  EXPECT_THAT(MakeSource(ctx_, {{"postgresql", "registry"}, {"view", "v"}, {"table", "t"}})
                  .status()
                  .message(),
              HasSubstr("unknown key \"table\""));
  // An HTTP source names a "path" below its URL: it is the connection's, not a local file.
  ctx_.connections = {{"http", {{"api", {{"url", "http://127.0.0.1:1"}}}}}};
  HANSE_ASSERT_OK_AND_ASSIGN(
      auto http,
      SpecFromPublish({{"source", {{"http", "api"}, {"path", "/feed"}, {"live", true}}}}));
  EXPECT_THAT(MakeSource(ctx_, http).status(), IsOk());
  EXPECT_THAT(
      MakeSource(ctx_, {{"http", "api"}, {"path", "/x"}, {"root", "data"}}).status().message(),
      HasSubstr("unknown key \"root\""));
}

TEST_F(LocalSourceTest, UnpackRebuildsTheTreeAndRefusesWhatHanseNeverSends) {
  auto files = MakeTree();
  HANSE_ASSERT_OK_AND_ASSIGN(Described d,
                             DescribeSpec(ctx_, {{"root", "data"}, {"path", "tree"}}, nullptr));
  HANSE_ASSERT_OK_AND_ASSIGN(auto src, MakeSource(ctx_, d.record));
  HANSE_ASSERT_OK_AND_ASSIGN(auto r, src->Open(0));
  const std::string tar = dir_.path() + "/stream.tar";
  Write(tar, ReadAll(*r));
  const std::string out = dir_.path() + "/unpacked";
  const auto& desc = d.description;
  absl::Status unpacked = UnpackTree(tar, out, desc.root_digest, desc.file_count);
  ASSERT_TRUE(unpacked.ok()) << unpacked;
  for (const auto& [path, bytes] : files) {
    std::ifstream in(absl::StrCat(out, "/", path), std::ios::binary);
    std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(got, bytes) << path;
  }
  // The directory must not exist yet; another root digest or count removes what was unpacked.
  EXPECT_EQ(UnpackTree(tar, out, desc.root_digest, desc.file_count).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(UnpackTree(tar, out + "2", std::string(64, '0'), desc.file_count).ok());
  EXPECT_FALSE(std::filesystem::exists(out + "2"));
  EXPECT_FALSE(UnpackTree(tar, out + "3", desc.root_digest, desc.file_count - 1).ok());

  // A sparse file (a few KiB of tar, gigabytes of zeros) and a symlink entry are refused.
  const std::string hostile = dir_.path() + "/hostile";
  ::mkdir(hostile.c_str(), 0700);
  ASSERT_EQ(Shell(absl::StrCat("truncate -s 1G '", hostile, "/sparse' && cd '", hostile,
                               "' && tar --sparse --format=pax -cf ../sparse.tar sparse && "
                               "ln -s /etc/passwd link && tar -cf ../link.tar link 2>&1")),
            "");
  EXPECT_THAT(UnpackTree(dir_.path() + "/sparse.tar", out + "4", desc.root_digest, 1).message(),
              HasSubstr("not a regular file"));
  EXPECT_THAT(UnpackTree(dir_.path() + "/link.tar", out + "5", desc.root_digest, 1).message(),
              HasSubstr("not a regular file"));
}

TEST(TreeTest, PathsAreChecked) {
  for (const char* bad : {"", "/a", "a//b", "a/./b", "../a", "a/..", "a\nb", "caf\xe9.csv"}) {
    EXPECT_FALSE(CheckTreePath(bad).ok()) << bad;
  }
  EXPECT_TRUE(CheckTreePath("a/b c/d.csv").ok());
}

TEST(TreeTest, HeadersAreWholeBlocksAndLargeSizesUsePax) {
  TreeEntry small{"a", 1, "", ""};
  EXPECT_EQ(TarHeader(small).size(), 512u);
  TreeEntry big{"a", 10ULL << 30, "", ""};
  std::string h = TarHeader(big);
  EXPECT_EQ(h.size() % 512, 0u);
  EXPECT_THAT(h, HasSubstr(absl::StrCat("size=", 10ULL << 30, "\n")));
}

}  // namespace
}  // namespace hanse::node::source
