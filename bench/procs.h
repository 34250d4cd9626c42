// Processes the benchmarks start and watch: `hanse` commands, `hanse node run` processes, and
// what /proc says about them (CPU, resident set). Shared by the benchmarks that run real nodes
// (exchange_benchmarks.cc, federation_benchmarks.cc).
#ifndef HANSE_BENCH_PROCS_H_
#define HANSE_BENCH_PROCS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hanse::bench {

struct Ran {
  int exit_code = -1;  // -1: killed (timeout) or could not run
  std::string out;     // stdout
};

// Runs `hanse args...` (HANSE_BINARY), capturing stdout; stderr is appended to `log`. With
// `timeout_seconds` > 0, a command still running after it is killed (exit_code -1). Safe to call
// from many threads at once.
Ran RunHanse(const std::vector<std::string>& args, const std::string& log,
             double timeout_seconds = 0);

// Starts `hanse node run --home HOME`, stdout and stderr appended to `log`. The node gets
// SIGTERM if the thread that started it ends (PR_SET_PDEATHSIG), so a benchmark that dies leaves
// no node behind: start nodes from a thread that outlives them (the benchmark's own).
pid_t StartNode(const std::string& home, const std::string& log);

// CPU seconds (user + system) a process has used so far; 0 when it is gone.
double ProcessCpu(pid_t pid);

// The resident set of `pid` in bytes now (VmRSS); 0 when it is gone.
std::uint64_t ProcessRss(pid_t pid);

}  // namespace hanse::bench

#endif  // HANSE_BENCH_PROCS_H_
