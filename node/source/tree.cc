#include "node/source/tree.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/status.h"
#include "trust/sha256_stream.h"

namespace hanse::node::source {
namespace {

constexpr std::uint64_t kBlock = 512;
// 11 octal digits: the largest size a ustar header holds.
constexpr std::uint64_t kMaxUstarSize = 077777777777ULL;

std::uint64_t Padded(std::uint64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

void PutOctal(char* field, size_t width, std::uint64_t value) {
  // width includes the terminating NUL.
  std::string digits = absl::StrFormat("%0*o", static_cast<int>(width - 1), value);
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

// One ustar header block.
std::string UstarBlock(absl::string_view name, std::uint64_t size, char type) {
  std::string h(kBlock, '\0');
  std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
  PutOctal(&h[100], 8, 0644);
  PutOctal(&h[108], 8, 0);
  PutOctal(&h[116], 8, 0);
  PutOctal(&h[124], 12, std::min(size, kMaxUstarSize));
  PutOctal(&h[136], 12, 0);
  std::memset(&h[148], ' ', 8);
  h[156] = type;
  std::memcpy(&h[257], "ustar", 6);
  h[263] = '0';
  h[264] = '0';
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::string chk = absl::StrFormat("%06o", sum);
  std::memcpy(&h[148], chk.data(), 6);
  h[154] = '\0';
  h[155] = ' ';
  return h;
}

// "LEN key=value\n", where LEN counts the whole record, its own digits included.
std::string PaxRecord(absl::string_view key, absl::string_view value) {
  size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t len = body + 1;
  while (absl::StrCat(len).size() + body != len) len = absl::StrCat(len).size() + body;
  return absl::StrCat(len, " ", key, "=", value, "\n");
}

bool NeedsPax(const TreeEntry& e) {
  if (e.path.size() >= 100 || e.size > kMaxUstarSize) return true;
  return std::any_of(e.path.begin(), e.path.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

class TreeReader : public Reader {
 public:
  TreeReader(std::vector<TreeEntry> entries, EntryOpener open, std::uint64_t offset)
      : entries_(std::move(entries)), open_(std::move(open)) {
    // Find the entry `offset` falls in; `pos_` is the offset within that entry's part.
    std::uint64_t at = 0;
    for (index_ = 0; index_ < entries_.size(); ++index_) {
      std::uint64_t len = TarHeader(entries_[index_]).size() + Padded(entries_[index_].size);
      if (offset < at + len) break;
      at += len;
    }
    pos_ = offset - at;
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (true) {
      if (index_ == entries_.size()) {
        // The two zero blocks that end an archive.
        if (pos_ >= 2 * kBlock) return 0;
        size_t k = static_cast<size_t>(std::min<std::uint64_t>(n, 2 * kBlock - pos_));
        std::memset(buf, 0, k);
        pos_ += k;
        return k;
      }
      const TreeEntry& e = entries_[index_];
      if (header_.empty()) header_ = TarHeader(e);
      const std::uint64_t header = header_.size();
      const std::uint64_t data_end = header + e.size;
      const std::uint64_t end = header + Padded(e.size);
      if (pos_ < header) {
        size_t k = static_cast<size_t>(std::min<std::uint64_t>(n, header - pos_));
        std::memcpy(buf, header_.data() + pos_, k);
        pos_ += k;
        return k;
      }
      if (pos_ < data_end) {
        if (!data_) {
          HANSE_ASSIGN_OR_RETURN(data_, open_(e, pos_ - header), e.path);
        }
        size_t want = static_cast<size_t>(std::min<std::uint64_t>(n, data_end - pos_));
        HANSE_ASSIGN_OR_RETURN(size_t got, data_->Read(buf, want), e.path);
        if (got == 0) {
          return absl::DataLossError(
              absl::StrCat(e.path, " ended early: it is shorter than when it was published"));
        }
        pos_ += got;
        return got;
      }
      if (pos_ == data_end && data_) {
        // The entry must end exactly at its size.
        char extra;
        HANSE_ASSIGN_OR_RETURN(size_t more, data_->Read(&extra, 1), e.path);
        if (more != 0) {
          return absl::DataLossError(
              absl::StrCat(e.path, " is longer than when it was published; republish it"));
        }
        data_.reset();
      }
      if (pos_ < end) {
        size_t k = static_cast<size_t>(std::min<std::uint64_t>(n, end - pos_));
        std::memset(buf, 0, k);
        pos_ += k;
        return k;
      }
      data_.reset();
      header_.clear();
      ++index_;
      pos_ = 0;
    }
  }

 private:
  std::vector<TreeEntry> entries_;
  EntryOpener open_;
  size_t index_ = 0;
  std::uint64_t pos_ = 0;
  std::string header_;
  std::unique_ptr<Reader> data_;
};

}  // namespace

absl::Status CheckTreePath(absl::string_view path) {
  if (path.empty() || path.size() > kMaxTreePathBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a path in a tree must be 1-", kMaxTreePathBytes, " bytes"));
  }
  if (path.front() == '/') return absl::InvalidArgumentError("a path in a tree is relative");
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("path \"", path, "\" has an empty, \".\" or \"..\" segment"));
    }
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat("path \"", absl::CHexEscape(path), "\" holds a control character"));
    }
  }
  try {
    (void)nlohmann::json(std::string(path)).dump();  // throws on invalid UTF-8
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError(
        absl::StrCat("path \"", absl::CHexEscape(path), "\" is not valid UTF-8; rename it"));
  }
  return absl::OkStatus();
}

std::string TarHeader(const TreeEntry& e) {
  if (!NeedsPax(e)) return UstarBlock(e.path, e.size, '0');
  std::string records = PaxRecord("path", e.path);
  if (e.size > kMaxUstarSize) records += PaxRecord("size", absl::StrCat(e.size));
  std::string out = UstarBlock("PaxHeaders/entry", records.size(), 'x');
  out += records;
  out.resize(Padded(out.size()), '\0');
  // The ustar name is a deterministic stand-in; the pax path is what readers use.
  std::string stand_in = e.path.substr(0, 99);
  out += UstarBlock(stand_in, e.size, '0');
  return out;
}

std::uint64_t TreeStreamSize(const std::vector<TreeEntry>& entries) {
  std::uint64_t n = 2 * kBlock;
  for (const auto& e : entries) n += TarHeader(e).size() + Padded(e.size);
  return n;
}

std::string ManifestText(const std::vector<TreeEntry>& entries) {
  std::string out;
  for (const auto& e : entries) absl::StrAppend(&out, e.sha256, " ", e.size, " ", e.path, "\n");
  return out;
}

nlohmann::json ManifestJson(const std::vector<TreeEntry>& entries) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& e : entries) {
    files.push_back({{"path", e.path}, {"size", e.size}, {"sha256", e.sha256}, {"v", e.version}});
  }
  return files;
}

absl::StatusOr<std::vector<TreeEntry>> ParseManifest(const nlohmann::json& manifest) {
  if (!manifest.is_array()) return absl::DataLossError("the stored manifest is not a list");
  std::vector<TreeEntry> out;
  out.reserve(manifest.size());
  for (const auto& f : manifest) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("size") ||
        !f["size"].is_number_unsigned()) {
      return absl::DataLossError("a stored manifest entry is malformed");
    }
    TreeEntry e;
    e.path = f["path"].get<std::string>();
    e.size = f["size"].get<std::uint64_t>();
    e.sha256 = f.value("sha256", "");
    e.version = f.value("v", "");
    out.push_back(std::move(e));
  }
  return out;
}

TreeHasher::TreeHasher() : stream_(std::make_unique<trust::Sha256Stream>()) {}
TreeHasher::~TreeHasher() = default;

void TreeHasher::Begin(const TreeEntry& entry) {
  entries_.push_back(entry);
  std::string header = TarHeader(entry);
  stream_->Update(header);
  stream_bytes_ += header.size();
  file_ = std::make_unique<trust::Sha256Stream>();
  got_ = 0;
}

void TreeHasher::Update(absl::string_view data) {
  stream_->Update(data);
  file_->Update(data);
  got_ += data.size();
  stream_bytes_ += data.size();
}

absl::StatusOr<std::string> TreeHasher::End() {
  TreeEntry& e = entries_.back();
  if (got_ != e.size) {
    return absl::FailedPreconditionError(absl::StrCat(e.path, " changed while it was read (", got_,
                                                      " bytes, ", e.size, " expected)"));
  }
  const std::string pad(Padded(e.size) - e.size, '\0');
  stream_->Update(pad);
  stream_bytes_ += pad.size();
  e.sha256 = file_->HexDigest();
  file_.reset();
  return e.sha256;
}

Description TreeHasher::Finish(std::string kind) {
  const std::string trailer(2 * kBlock, '\0');
  stream_->Update(trailer);
  stream_bytes_ += trailer.size();
  Description d;
  d.kind = std::move(kind);
  d.byte_size = stream_bytes_;
  d.sha256 = stream_->HexDigest();
  d.file_count = entries_.size();
  trust::Sha256Stream root;
  root.Update(ManifestText(entries_));
  d.root_digest = root.HexDigest();
  return d;
}

absl::StatusOr<std::unique_ptr<Reader>> OpenTreeStream(std::vector<TreeEntry> entries,
                                                       EntryOpener open, std::uint64_t offset) {
  if (offset > TreeStreamSize(entries)) {
    return absl::OutOfRangeError("offset beyond the end of the tree");
  }
  return std::unique_ptr<Reader>(new TreeReader(std::move(entries), std::move(open), offset));
}

}  // namespace hanse::node::source
