// The federation benchmarks of PERFORMANCE.md: ingest (gossiped documents verified, stored and
// indexed, vs raw verification), converge (rounds for one update to reach every live node of
// 256, 20% crashed, vs log2 N) and repair (bytes sent to heal a partition vs the bytes of the
// documents that differ). All run the real GossipEngine through the in-process simulator.
#ifndef HANSE_BENCH_GOSSIP_BENCHMARKS_H_
#define HANSE_BENCH_GOSSIP_BENCHMARKS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/corpus.h"
#include "bench/report.h"

namespace hanse::bench {

absl::StatusOr<BenchResult> RunIngest(const Corpus& corpus, const std::vector<Issuer>& issuers,
                                      const std::string& scratch_dir, size_t subset);
absl::StatusOr<BenchResult> RunConverge(int nodes, double crashed_fraction, int updates);
absl::StatusOr<BenchResult> RunRepair(int nodes, int documents_per_node);
// federation_sim: the gossip defaults at each of `sizes` simulated nodes (at least two): idle
// bytes and calls per node, members talked to, and under one publish per round the bytes,
// rounds to reach everyone and push calls per node per update. Idle bytes at the largest size
// against the smallest: growth at most logarithmic.
absl::StatusOr<BenchResult> RunFederationSim(const std::vector<int>& sizes, int updates);

}  // namespace hanse::bench

#endif  // HANSE_BENCH_GOSSIP_BENCHMARKS_H_
