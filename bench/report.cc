#include "bench/report.h"

#include <sqlite3.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "base/file.h"
#include "nlohmann/json.hpp"
#include "openssl/crypto.h"
#include "rocksdb/version.h"

namespace hanse::bench {
namespace {

using OJson = nlohmann::ordered_json;

// Three significant digits are all a noisy shared machine supports.
double Round3(double v) {
  if (v == 0 || !std::isfinite(v)) return v;
  double mag = std::pow(10.0, 2 - std::floor(std::log10(std::fabs(v))));
  return std::round(v * mag) / mag;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
    }
  }
  return "unknown";
}

double MemoryGib() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGE_SIZE);
  return Round3(static_cast<double>(pages) * page / (1024.0 * 1024 * 1024));
}

OJson Machine() {
  OJson m;
  m["cores"] = std::thread::hardware_concurrency();
  m["cpu_model"] = CpuModel();
  struct utsname u;
  if (uname(&u) == 0) {
    m["kernel"] = absl::StrCat(u.sysname, " ", u.release);
    m["arch"] = u.machine;
  }
  m["memory_gib"] = MemoryGib();
  m["compiler"] = absl::StrCat("gcc ", __VERSION__);
  m["openssl"] = OpenSSL_version(OPENSSL_VERSION);
  m["rocksdb"] = absl::StrCat(ROCKSDB_MAJOR, ".", ROCKSDB_MINOR, ".", ROCKSDB_PATCH);
  m["sqlite"] = sqlite3_libversion();
  return m;
}

}  // namespace

std::string MachineJson() { return Machine().dump(); }

std::string ReportJson(double scale, const std::vector<BenchResult>& results) {
  OJson root;
  root["machine"] = Machine();
  root["scale"] = scale;
  OJson list = OJson::array();
  for (const auto& r : results) {
    OJson b;
    b["id"] = r.id;
    b["value"] = Round3(r.value);
    b["unit"] = r.unit;
    b["reference"] = Round3(r.reference);
    b["reference_unit"] = r.reference_unit;
    b["ratio"] = Round3(r.ratio);
    b["target"] = r.target;
    b["meets"] = r.meets;
    b["notes"] = r.notes;
    list.push_back(std::move(b));
  }
  root["benchmarks"] = std::move(list);
  return root.dump(2) + "\n";
}

absl::Status WriteReport(const std::string& path, double scale,
                         const std::vector<BenchResult>& results) {
  return WriteFileAtomic(path, ReportJson(scale, results), 0644);
}

BenchResult MakeResult(std::string id, double value, std::string unit, double reference,
                       std::string reference_unit, std::string target, bool at_least,
                       double threshold) {
  BenchResult r;
  r.id = std::move(id);
  r.value = value;
  r.unit = std::move(unit);
  r.reference = reference;
  r.reference_unit = std::move(reference_unit);
  r.ratio = reference > 0 ? value / reference : 0;
  r.target = std::move(target);
  r.meets = at_least ? r.ratio >= threshold : r.ratio <= threshold;
  return r;
}

std::string ReportTable(double scale, const std::vector<BenchResult>& results) {
  std::string out = absl::StrFormat("Hanse benchmarks, scale %g, %d cores, %s\n", scale,
                                    std::thread::hardware_concurrency(), CpuModel());
  out += absl::StrFormat("%-8s %14s %-10s %14s %-12s %8s %-22s %s\n", "id", "value", "unit",
                         "reference", "ref unit", "ratio", "target", "meets");
  for (const auto& r : results) {
    out += absl::StrFormat("%-8s %14.6g %-10s %14.6g %-12s %8.3g %-22s %s\n", r.id, Round3(r.value),
                           r.unit, Round3(r.reference), r.reference_unit, Round3(r.ratio), r.target,
                           r.meets ? "yes" : "NO");
  }
  for (const auto& r : results) {
    if (!r.notes.empty()) out += absl::StrFormat("  %s: %s\n", r.id, r.notes);
  }
  return out;
}

double ThreadCpu() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void Progress(const std::string& message) {
  static const double start = Now();
  std::fprintf(stderr, "[bench %7.1fs] %s\n", Now() - start, message.c_str());
  std::fflush(stderr);
}

}  // namespace hanse::bench
