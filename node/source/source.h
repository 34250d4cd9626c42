// Where a dataset's bytes come from: a file under a data root, a directory tree, an object (or
// prefix) in S3-compatible storage, an internal HTTP(S) API, a PostgreSQL query. Each kind turns
// into one byte stream that the exchange sends through the same policy-bound, resumable,
// digest-checked transfer (docs/data-sources.md). Publishing describes a source once (size and
// SHA-256 of its stream, read at disk speed); the provider opens it again at fetch time, at an
// offset when a transfer resumes. No gRPC and no catalogue here.
#ifndef HANSE_NODE_SOURCE_SOURCE_H_
#define HANSE_NODE_SOURCE_SOURCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace hanse::node::source {

// A pull-style reader of one source's stream from the offset it was opened at.
class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to `n` bytes into `buf`; 0 at the end of the stream. A source that sends more or
  // fewer bytes than it announced, or fails midway, is an error, never a short stream.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
};

// What publishing learns about a source.
struct Description {
  std::string kind;             // "file", "directory", "s3", "http", "postgresql"
  std::uint64_t byte_size = 0;  // of the stream (0 and unknown when live)
  std::string sha256;           // lower-case hex of the stream (empty when live)
  // A live source (an API, a database) may change between transfers: its self-description says
  // so, and each receipt records the digest of exactly what was sent.
  bool live = false;
  std::uint64_t file_count = 0;  // directory: the files in the manifest
  std::string root_digest;       // directory: SHA-256 (hex) of the manifest
  // What the provider keeps (unsigned, in its own store) to open the source again: the spec
  // as given plus what describing it found (a directory's manifest, an object's ETag). Never a
  // secret: credentials stay in the places the config names.
  nlohmann::json record;
};

// Progress while a source is described (bytes hashed so far, total when known).
using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

class Source {
 public:
  virtual ~Source() = default;
  // Reads the whole stream once: size, SHA-256 and whatever Open needs later.
  virtual absl::StatusOr<Description> Describe(const Progress& progress) = 0;
  // Opens the stream at `offset` (0 for a new transfer). For a source that is not live, the
  // bytes are those described; a source that has changed since is refused (FailedPrecondition
  // naming what changed) before anything is sent where the change can be seen without reading
  // (size, modification time, ETag), and by the digest check at the end otherwise.
  virtual absl::StatusOr<std::unique_ptr<Reader>> Open(std::uint64_t offset) = 0;
};

}  // namespace hanse::node::source

#endif  // HANSE_NODE_SOURCE_SOURCE_H_
