// The federation benchmark: a federation of real `hanse node run` processes on loopback with the
// node's default gossip settings, founded and grown through the CLI as docs/federation.md says
// (three founders, admission and revocation thresholds 2, every other member proposed and
// endorsed by two members), then:
//   - founding + admission: seconds from the first `hanse init` done to every node listing all
//     members, and from the last member's last endorsement to every node listing it;
//   - a dataset published on one member reaching all others (median / p99 / max over publishes);
//   - idle, after everything settled: TCP bytes per node per second (from `ss -tinpH`), CPU of
//     the whole federation, established connections and resident set per node.
// One result per federation size: federation_8, federation_16, federation_32.
#ifndef HANSE_BENCH_FEDERATION_BENCHMARKS_H_
#define HANSE_BENCH_FEDERATION_BENCHMARKS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/report.h"

namespace hanse::bench {

// The sizes run by default and the bounds BENCH_FEDERATION_SIZES may ask for.
inline constexpr int kFederationSizes[] = {8, 16, 32};
inline constexpr int kFederationMinSize = 4;  // three founders and one applicant
inline constexpr int kFederationMaxSize = 64;

// "8,16,32" -> {8, 16, 32}; InvalidArgument for anything outside the bounds above.
absl::StatusOr<std::vector<int>> ParseFederationSizes(const std::string& text);

// One federation of `members` nodes, homes under `scratch_dir` (removed at the end, however it
// ends; the node logs of the last run stay in `logs_dir`). Result id "federation_<members>".
absl::StatusOr<BenchResult> RunFederation(const std::string& scratch_dir,
                                          const std::string& logs_dir, int members);

}  // namespace hanse::bench

#endif  // HANSE_BENCH_FEDERATION_BENCHMARKS_H_
