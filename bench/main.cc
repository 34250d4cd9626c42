// hanse_bench: the benchmarks of PERFORMANCE.md (verify, ingest, search, lookup, memory,
// startup, converge, repair, federation), each against its reference in the same run. See
// docs/benchmarks.md.
//
//   hanse_bench [--results DIR] [--out FILE]
// Environment: BENCH=verify,search (default: all built), BENCH_SCALE=0.1 (default 1.0:
// 1,000,000 dataset SDs), BENCH_FRESH=1 (rebuild the cached corpus store), BENCH_MIN_SECONDS
// (per measured search class, default 1), BENCH_FEDERATION_SIZES=8,16,32 (the federation
// benchmark's sizes; one result each, federation_8, ...). Writes the JSON report to --out (default
// DIR/latest.json), the table to stdout, progress to stderr.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/benchmarks.h"
#include "bench/corpus.h"
#include "bench/exchange_benchmarks.h"
#include "bench/federation_benchmarks.h"
#include "bench/gossip_benchmarks.h"
#include "bench/report.h"
#include "bench/setup.h"

namespace hanse::bench {
namespace {

// In PERFORMANCE.md's order; the report lists them so.
constexpr absl::string_view kBuilt[] = {
    "verify",       "ingest",         "search",        "lookup",
    "transfer",     "transfer_grpc",  "transfer_disk", "transfer_concurrent",
    "transfer_dir", "negotiate",      "converge",      "repair",
    "federation",   "federation_sim", "memory",        "startup"};
constexpr size_t kVerifySubset = 20000;
constexpr size_t kQueriesPerClass = 48;
constexpr size_t kLookupGets = 200000;
constexpr int kStartupRuns = 7;
constexpr int kConvergeUpdates = 20;
constexpr int kRepairDocumentsPerNode = 40;
constexpr int kFederationSimUpdates = 10;

std::string Env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::string SelfExe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

int Main(int argc, char** argv) {
  std::string results_dir = "bench/results";
  std::string out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--memory-child" && i + 2 < argc) return MemoryChildMain(argv[i + 1], argv[i + 2]);
    if (a == "--results" && i + 1 < argc) {
      results_dir = argv[++i];
    } else if (a == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: hanse_bench [--results DIR] [--out FILE]\n"
                   "env: "
                   "BENCH=verify,ingest,search,lookup,transfer,transfer_grpc,transfer_disk,"
                   "transfer_concurrent,transfer_dir,negotiate,converge,"
                   "repair,federation,federation_sim,memory,"
                   "startup BENCH_SCALE=1.0 "
                   "BENCH_FRESH=1 BENCH_MIN_SECONDS=1 BENCH_FEDERATION_SIZES=8,16,32 "
                   "BENCH_SIM_SIZES=1000,10000\n");
      return 2;
    }
  }
  if (out.empty()) out = results_dir + "/latest.json";

  // Selection.
  std::set<std::string> selected;
  std::string bench_env = absl::AsciiStrToLower(Env("BENCH", "all"));
  for (absl::string_view item :
       absl::StrSplit(bench_env, absl::ByAnyChar(", "), absl::SkipEmpty())) {
    if (item == "all") {
      for (auto id : kBuilt) selected.insert(std::string(id));
    } else if (std::find(std::begin(kBuilt), std::end(kBuilt), item) != std::end(kBuilt)) {
      selected.insert(std::string(item));
    } else {
      std::fprintf(stderr, "hanse_bench: unknown benchmark '%s' (built: %s)\n",
                   std::string(item).c_str(), absl::StrJoin(kBuilt, ", ").c_str());
      return 2;
    }
  }
  if (selected.empty()) {
    std::fprintf(stderr, "hanse_bench: nothing to run (built: %s)\n",
                 absl::StrJoin(kBuilt, ", ").c_str());
    return 2;
  }
  double scale = 1.0;
  if (!absl::SimpleAtod(Env("BENCH_SCALE", "1.0"), &scale) || !(scale > 0) || scale > 10) {
    std::fprintf(stderr, "hanse_bench: BENCH_SCALE must be a number in (0, 10]\n");
    return 2;
  }
  double min_seconds = 1.0;
  if (!absl::SimpleAtod(Env("BENCH_MIN_SECONDS", "1"), &min_seconds) || !(min_seconds > 0)) {
    min_seconds = 1.0;
  }
  const bool fresh = Env("BENCH_FRESH") == "1";
  absl::StatusOr<std::vector<int>> federation_sizes =
      ParseFederationSizes(Env("BENCH_FEDERATION_SIZES", absl::StrJoin(kFederationSizes, ",")));
  if (!federation_sizes.ok()) {
    std::fprintf(stderr, "hanse_bench: %s\n",
                 std::string(federation_sizes.status().message()).c_str());
    return 2;
  }
  const std::string exe = SelfExe();
  std::filesystem::create_directories(results_dir);

  CorpusParams params;
  params.num_docs = std::max<size_t>(1000, static_cast<size_t>(std::llround(1e6 * scale)));
  Progress(absl::StrFormat("scale %g: %d dataset SDs; running %s", scale, params.num_docs,
                           absl::StrJoin(selected, ", ")));
  Corpus corpus(params);

  std::vector<BenchResult> results;
  bool failed = false;
  auto record = [&](absl::string_view id, absl::StatusOr<BenchResult> r) {
    if (r.ok()) {
      results.push_back(*std::move(r));
    } else {
      failed = true;
      std::fprintf(stderr, "hanse_bench: %s failed: %s\n", std::string(id).c_str(),
                   r.status().ToString().c_str());
    }
  };

  const bool need_store = selected.count("search") || selected.count("lookup") ||
                          selected.count("memory") || selected.count("startup");
  absl::StatusOr<CorpusStore> cs = absl::UnavailableError("not built");
  if (need_store) {
    cs = PrepareCorpusStore(corpus, {.results_dir = results_dir,
                                     .exe_path = exe,
                                     .need_sqlite = selected.count("search") > 0,
                                     .fresh = fresh});
    if (!cs.ok()) {
      std::fprintf(stderr, "hanse_bench: building the corpus store failed: %s\n",
                   cs.status().ToString().c_str());
      return 1;
    }
  }

  QuerySets queries;
  const std::string queries_file = results_dir + "/queries.txt";
  if (selected.count("search") || selected.count("memory")) {
    Progress("choosing mid-frequency query terms");
    queries = MakeQueries(corpus, corpus.DocumentFrequencies(2), kQueriesPerClass);
    std::ofstream q(queries_file);
    for (const auto* set :
         {&queries.term, &queries.term_filter, &queries.two, &queries.two_filter}) {
      for (const auto& query : *set) q << query.HanseText() << "\n";
    }
  }

  if (selected.count("verify")) {
    absl::StatusOr<std::vector<Issuer>> issuers =
        cs.ok() ? absl::StatusOr<std::vector<Issuer>>(cs->issuers)
                : GenerateIssuers(params.num_issuers);
    if (!issuers.ok()) {
      record("verify", issuers.status());
    } else {
      record("verify", RunVerify(corpus, *issuers, results_dir + "/verify-scratch", kVerifySubset,
                                 cs.ok() ? &*cs : nullptr));
    }
  }
  if (selected.count("ingest")) {
    absl::StatusOr<std::vector<Issuer>> issuers =
        cs.ok() ? absl::StatusOr<std::vector<Issuer>>(cs->issuers)
                : GenerateIssuers(params.num_issuers);
    if (!issuers.ok()) {
      record("ingest", issuers.status());
    } else {
      record("ingest", RunIngest(corpus, *issuers, results_dir + "/ingest-scratch", kVerifySubset));
    }
  }
  if (selected.count("search")) record("search", RunSearch(*cs, queries, min_seconds));
  if (selected.count("lookup")) record("lookup", RunLookup(corpus, *cs, kLookupGets));
  if (selected.count("startup")) record("startup", RunStartup(*cs, kStartupRuns));
  if (selected.count("memory")) record("memory", RunMemory(exe, *cs, queries_file));
  // One pair of nodes measures the four transfer figures; any of them selects all four.
  if (selected.count("transfer") || selected.count("transfer_grpc") ||
      selected.count("transfer_disk") || selected.count("transfer_concurrent")) {
    const std::uint64_t bytes = std::max<std::uint64_t>(
        64ull << 20, static_cast<std::uint64_t>((1ull << 30) * std::min(scale, 1.0)));
    auto transfers = RunTransfer(results_dir + "/transfer-scratch", bytes);
    if (!transfers.ok()) {
      record("transfer", transfers.status());
    } else {
      for (auto& t : *transfers) record(t.id, std::move(t));
    }
  }
  if (selected.count("transfer_dir")) {
    const std::uint64_t bytes = std::max<std::uint64_t>(
        64ull << 20, static_cast<std::uint64_t>((1ull << 30) * std::min(scale, 1.0)));
    const std::uint64_t files =
        std::max<std::uint64_t>(64, static_cast<std::uint64_t>(4096 * std::min(scale, 1.0)));
    record("transfer_dir", RunTransferDir(results_dir + "/transfer-dir-scratch", bytes, files));
  }
  if (selected.count("negotiate")) {
    const int negotiations = std::max(200, static_cast<int>(2000 * std::min(scale, 1.0)));
    record("negotiate", RunNegotiate(results_dir + "/negotiate-scratch", negotiations, 16));
  }
  if (selected.count("converge")) record("converge", RunConverge(256, 0.2, kConvergeUpdates));
  if (selected.count("repair")) record("repair", RunRepair(16, kRepairDocumentsPerNode));
  // The simulator at BENCH_SIM_SIZES (default 1000,10000) nodes.
  if (selected.count("federation_sim")) {
    std::vector<int> sizes;
    for (absl::string_view part : absl::StrSplit(Env("BENCH_SIM_SIZES", "1000,10000"), ',')) {
      int n = 0;
      if (absl::SimpleAtoi(part, &n) && n >= 16 && n <= 100000) sizes.push_back(n);
    }
    record("federation_sim", RunFederationSim(sizes, kFederationSimUpdates));
  }
  // Real node processes at each size (BENCH_SCALE scales nothing here): federation_8, ...
  if (selected.count("federation")) {
    for (int n : *federation_sizes) {
      const std::string id = absl::StrCat("federation_", n);
      record(id, RunFederation(results_dir + "/federation-scratch",
                               absl::StrCat(results_dir, "/federation-logs/", n), n));
    }
    RemoveTree(results_dir + "/federation-scratch");
  }

  // federation_8, federation_16, ... sit where federation is, in the order they ran.
  std::stable_sort(results.begin(), results.end(), [](const BenchResult& a, const BenchResult& b) {
    auto pos = [](const std::string& id) {
      const std::string base = absl::StartsWith(id, "federation_") ? "federation" : id;
      return std::find(std::begin(kBuilt), std::end(kBuilt), base) - std::begin(kBuilt);
    };
    return pos(a.id) < pos(b.id);
  });
  absl::Status written = WriteReport(out, scale, results);
  if (!written.ok()) {
    std::fprintf(stderr, "hanse_bench: %s\n", written.ToString().c_str());
    failed = true;
  }
  std::cout << ReportTable(scale, results) << "JSON: " << out << "\n";
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace hanse::bench

int main(int argc, char** argv) { return hanse::bench::Main(argc, argv); }
