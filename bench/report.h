// Results of `make bench`: the JSON of docs/benchmarks.md and PERFORMANCE.md, and the table.
#ifndef HANSE_BENCH_REPORT_H_
#define HANSE_BENCH_REPORT_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace hanse::bench {

struct BenchResult {
  std::string id;
  double value = 0;
  std::string unit;
  double reference = 0;
  std::string reference_unit;
  double ratio = 0;
  std::string target;  // ">= 0.9", "<= 2", ...
  bool meets = false;
  std::string notes;
};

// A result whose ratio is value / reference; it meets the target when the ratio is at least
// (`at_least`) or at most `threshold`. `target` is the text shown (">= 0.7").
BenchResult MakeResult(std::string id, double value, std::string unit, double reference,
                       std::string reference_unit, std::string target, bool at_least,
                       double threshold);

// Cores, CPU model, kernel, memory, library versions.
std::string MachineJson();

// {"machine": ..., "scale": ..., "benchmarks": [...]}, pretty-printed.
std::string ReportJson(double scale, const std::vector<BenchResult>& results);
absl::Status WriteReport(const std::string& path, double scale,
                         const std::vector<BenchResult>& results);
std::string ReportTable(double scale, const std::vector<BenchResult>& results);

// Monotonic seconds.
inline double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
// CPU seconds of the calling thread.
double ThreadCpu();

// Progress on stderr: "[bench 12.3s] message".
void Progress(const std::string& message);

}  // namespace hanse::bench

#endif  // HANSE_BENCH_REPORT_H_
