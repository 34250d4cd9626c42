// The catalogue benchmarks of PERFORMANCE.md: verify, search, lookup, memory, startup. Each
// measures Hanse and its reference in the same run, single-threaded, and returns one result.
#ifndef HANSE_BENCH_BENCHMARKS_H_
#define HANSE_BENCH_BENCHMARKS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/corpus.h"
#include "bench/fts_reference.h"
#include "bench/report.h"
#include "bench/setup.h"

namespace hanse::bench {

struct QuerySets {
  std::vector<BenchQuery> term, term_filter, two, two_filter;
  std::vector<BenchQuery> two_and;  // SQLite only, for context
  size_t band_lo_rank = 0, band_hi_rank = 0, band_size = 0;
  double band_df_lo = 0, band_df_hi = 0;  // document frequency range of the chosen terms
};

// Mid-frequency terms: words in 0.5-2% of the documents; `per_class` queries per class.
QuerySets MakeQueries(const Corpus& corpus, const std::vector<uint32_t>& df, size_t per_class);

// Verified + stored SDs/s through Catalog::IngestMany (batches of 256) into a fresh store in
// `scratch_dir`, vs raw EVP ES256 verifies/s of the same signing inputs with the same keys.
absl::StatusOr<BenchResult> RunVerify(const Corpus& corpus, const std::vector<Issuer>& issuers,
                                      const std::string& scratch_dir, size_t subset,
                                      const CorpusStore* store_info);

// Raw EVP ES256 verifies/s over the signing inputs of `jws`, the corpus documents 0..n-1 signed
// by `issuers` (the reference of verify and ingest).
absl::StatusOr<double> RawVerifyRate(const Corpus& corpus, const std::vector<Issuer>& issuers,
                                     const std::vector<std::string>& jws);

absl::StatusOr<BenchResult> RunSearch(const CorpusStore& cs, const QuerySets& queries,
                                      double min_seconds);

absl::StatusOr<BenchResult> RunLookup(const Corpus& corpus, const CorpusStore& cs, size_t gets);

absl::StatusOr<BenchResult> RunStartup(const CorpusStore& cs, int runs);

// Runs `exe --memory-child STORE QUERIES` and reads its peak RSS.
absl::StatusOr<BenchResult> RunMemory(const std::string& exe, const CorpusStore& cs,
                                      const std::string& queries_file);
// The child side: opens the store and catalogue, runs every query of the file once, prints
// {"hwm_kib":..,"rss_after_open_kib":..,"rss_kib":..,"disk_bytes":..} on stdout.
int MemoryChildMain(const std::string& store_dir, const std::string& queries_file);

}  // namespace hanse::bench

#endif  // HANSE_BENCH_BENCHMARKS_H_
