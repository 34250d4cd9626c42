// The contract benchmarks of PERFORMANCE.md, with real node processes on loopback:
//   transfer  — bytes/s of `hanse fetch` of one agreement's content over mTLS gRPC (policy
//               re-evaluated, use counted, SHA-256 checked, written and synced on the consumer),
//               vs C = 1/(1/T + 1/A): T raw loopback TCP bytes/s, A AES-128-GCM bytes/s (EVP, 16
//               KiB blocks), both measured in the same run.
//   negotiate — completed negotiations/s through the consumer's Contracts API (policy evaluated,
//               agreement signed by both, every state persisted with sync), vs the crypto floor
//               F = cores / (2/sign_rate + 2/verify_rate) measured in the same run.
#ifndef HANSE_BENCH_EXCHANGE_BENCHMARKS_H_
#define HANSE_BENCH_EXCHANGE_BENCHMARKS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/report.h"

namespace hanse::bench {

// transfer, transfer_grpc, transfer_disk and transfer_concurrent, from one pair of nodes.
absl::StatusOr<std::vector<BenchResult>> RunTransfer(const std::string& scratch_dir,
                                                     std::uint64_t bytes);
// A directory dataset of `files` files, `bytes` in all, against a plain hashed copy of the tree.
absl::StatusOr<BenchResult> RunTransferDir(const std::string& scratch_dir, std::uint64_t bytes,
                                           std::uint64_t files);
absl::StatusOr<BenchResult> RunNegotiate(const std::string& scratch_dir, int negotiations,
                                         int concurrency);

}  // namespace hanse::bench

#endif  // HANSE_BENCH_EXCHANGE_BENCHMARKS_H_
