// Builds (or reuses) the corpus store and the SQLite FTS5 reference database for one scale.
//
// Layout under the results directory (bench/results/, gitignored):
//   corpus-<N>/store/        the node store (RocksDB) holding the catalogue: 200 participant SDs
//   and
//                            N dataset SDs, ingested through Catalog::IngestMany
//   corpus-<N>/issuers.pem   the issuers' throwaway P-256 keys (the ids contain their DIDs)
//   corpus-<N>/fts.sqlite    the reference: the same N datasets in SQLite FTS5
//   corpus-<N>/COMPLETE      written last: the cache key (corpus parameters and a digest of the
//                            base/trust/catalog sources), sizes, the bulk ingest rate
// A store is reused only if COMPLETE's key matches: when the catalogue code changes, the store is
// built again (bench/CMakeLists.txt remakes the digest). BENCH_FRESH=1 forces a rebuild.
#ifndef HANSE_BENCH_SETUP_H_
#define HANSE_BENCH_SETUP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/corpus.h"

namespace hanse::bench {

struct CorpusStore {
  std::string dir;          // corpus-<N>
  std::string store_dir;    // corpus-<N>/store
  std::string sqlite_path;  // corpus-<N>/fts.sqlite; empty when not built
  std::vector<Issuer> issuers;
  uint64_t jws_bytes = 0;  // sum of the stored SDs' compact JWS bytes (participants included)
  uint64_t documents = 0;  // SDs stored (participants included)
  bool reused = false;
  double ingest_docs_per_s = 0;  // bulk build rate when built in this run
  size_t ingest_batch = 0;
};

struct SetupOptions {
  std::string results_dir;
  std::string exe_path;  // the running binary: the cache key when the source digest is missing
  bool need_sqlite = false;
  bool fresh = false;
  int threads = 2;
  size_t ingest_batch = 4096;
};

absl::StatusOr<CorpusStore> PrepareCorpusStore(const Corpus& corpus, const SetupOptions& options);

// Removes a directory tree (no error if it does not exist).
void RemoveTree(const std::string& path);

}  // namespace hanse::bench

#endif  // HANSE_BENCH_SETUP_H_
