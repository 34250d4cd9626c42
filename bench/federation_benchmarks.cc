#include "bench/federation_benchmarks.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/file.h"
#include "base/status.h"
#include "bench/procs.h"
#include "bench/setup.h"
#include "node/rpc/admin_client.h"

namespace hanse::bench {

absl::StatusOr<std::vector<int>> ParseFederationSizes(const std::string& text) {
  std::vector<int> sizes;
  for (absl::string_view item : absl::StrSplit(text, absl::ByAnyChar(", "), absl::SkipEmpty())) {
    int n = 0;
    if (!absl::SimpleAtoi(item, &n) || n < kFederationMinSize || n > kFederationMaxSize) {
      return absl::InvalidArgumentError(
          absl::StrFormat("BENCH_FEDERATION_SIZES: '%s' is not a federation size (%d to %d)",
                          std::string(item), kFederationMinSize, kFederationMaxSize));
    }
    sizes.push_back(n);
  }
  if (sizes.empty()) return absl::InvalidArgumentError("BENCH_FEDERATION_SIZES is empty");
  return sizes;
}

namespace {

constexpr int kFounders = 3;
constexpr int kThreshold = 2;  // admission and revocation
constexpr int kPublishes = 5;
constexpr double kPollSeconds = 0.05;     // how often a waiting thread asks its node
constexpr double kWaitSeconds = 120;      // the longest any step may take
constexpr double kSettleSeconds = 10;     // quiet time before the idle window
constexpr double kIdleSeconds = 20;       // the idle window
constexpr double kSampleSeconds = 1;      // `ss` samples in the window
constexpr double kStopGraceSeconds = 20;  // SIGTERM, then SIGKILL

constexpr double kIdleBytesTarget = 5000;  // B/s per node at N = 32
constexpr double kIdleCpuTarget = 10;      // % of one core, federation-wide, at N = 32
constexpr double kArrivalTarget = 2;       // s, p99
constexpr double kAdmissionTarget = 5;     // s after the last endorsement

const double kNever = std::numeric_limits<double>::infinity();

// Nearest rank.
double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}
double Mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}
double Max(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}
const char* YesNo(bool b) { return b ? "yes" : "no"; }

// Runs f(i) for i in `indices`, each in its own thread (each works on its own node); the first
// error.
absl::Status Parallel(const std::vector<int>& indices, const std::function<absl::Status(int)>& f) {
  std::vector<absl::Status> status(indices.size());
  std::vector<std::thread> threads;
  for (size_t k = 0; k < indices.size(); ++k) {
    threads.emplace_back([&, k] { status[k] = f(indices[k]); });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : status) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

std::vector<int> Range(int from, int to) {
  std::vector<int> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}

std::string FirstLine(const std::string& out) {
  return std::string(absl::StripAsciiWhitespace(out.substr(0, out.find('\n'))));
}

// One member: its home, its node process and a client of its admin socket (the client
// `hanse member list` and `hanse dataset show` use, without starting a process per question:
// 31 nodes asked every 50 ms through the CLI would take more CPU than these two cores have).
struct Member {
  std::string name, home, log, card;
  std::string did, listen;
  pid_t pid = -1;
  std::optional<node::AdminClient> admin;

  int Members() {
    auto r = admin->ListMembers();
    return r.ok() ? r->members_size() : -1;
  }
  bool Pending(const std::string& did) {
    auto r = admin->ListMembers();
    if (!r.ok()) return false;
    for (const auto& m : r->pending_admissions()) {
      if (m.peer().did() == did) return true;
    }
    return false;
  }
  bool Holds(const std::string& id) { return admin->GetDocument(id).ok(); }
};

// The federation's processes and homes: every node stopped and every home removed however the
// benchmark ends.
class Federation {
 public:
  Federation(std::string dir, std::string logs, int n)
      : dir_(std::move(dir)), logs_(std::move(logs)), cli_log_(logs_ + "/cli.log") {
    RemoveTree(dir_);
    RemoveTree(logs_);
    std::filesystem::create_directories(dir_);
    std::filesystem::create_directories(logs_);
    for (int i = 0; i < n; ++i) {
      Member m;
      m.name = absl::StrFormat("m%02d", i);
      m.home = absl::StrCat(dir_, "/", m.name);
      m.log = absl::StrCat(logs_, "/", m.name, ".log");
      m.card = absl::StrCat(dir_, "/", m.name, ".card");
      members_.push_back(std::move(m));
    }
  }
  ~Federation() {
    Stop();
    RemoveTree(dir_);
  }
  Federation(const Federation&) = delete;
  Federation& operator=(const Federation&) = delete;

  struct Stopped {
    std::vector<double> seconds;  // per node, from the SIGTERM to its exit
    int killed = 0;               // still running after the grace: SIGKILL
    int unclean = 0;              // exited otherwise than with 0 (killed included)
  };
  // SIGTERM to every node at once, SIGKILL to those still running after the grace.
  Stopped Stop() {
    Stopped out;
    for (auto& m : members_) {
      m.admin.reset();
      if (m.pid > 0) ::kill(m.pid, SIGTERM);
    }
    const double t0 = Now();
    while (true) {
      bool running = false;
      for (auto& m : members_) {
        if (m.pid <= 0) continue;
        int status = 0;
        const pid_t got = ::waitpid(m.pid, &status, WNOHANG);
        if (got == 0 && Now() - t0 > kStopGraceSeconds) {
          ::kill(m.pid, SIGKILL);
          ::waitpid(m.pid, &status, 0);
          ++out.killed;
          ++out.unclean;
        } else if (got == 0) {
          running = true;
          continue;
        } else if (got != m.pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
          ++out.unclean;
        }
        out.seconds.push_back(Now() - t0);
        m.pid = -1;
      }
      if (!running) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return out;
  }

  int size() const { return static_cast<int>(members_.size()); }
  Member& operator[](int i) { return members_[i]; }
  const std::string& dir() const { return dir_; }
  const std::string& cli_log() const { return cli_log_; }
  std::vector<pid_t> Pids() const {
    std::vector<pid_t> pids;
    for (const auto& m : members_) pids.push_back(m.pid);
    return pids;
  }

  // `hanse args... --home <member i>`; an error names the command and its log.
  absl::StatusOr<std::string> Hanse(int i, std::vector<std::string> args) {
    args.push_back("--home");
    args.push_back(members_[i].home);
    Ran r = RunHanse(args, cli_log_, kWaitSeconds);
    if (r.exit_code != 0) {
      return absl::InternalError(absl::StrFormat("`hanse %s` on %s exited with %d; see %s",
                                                 absl::StrJoin(args, " "), members_[i].name,
                                                 r.exit_code, cli_log_));
    }
    return r.out;
  }

 private:
  std::string dir_, logs_, cli_log_;
  std::vector<Member> members_;
};

// Asks every node in `indices`, each from its own thread every kPollSeconds, until `done(i)`
// holds; returns when each first did (kNever for those that had not within `timeout`).
std::vector<double> FirstTimes(const std::vector<int>& indices,
                               const std::function<bool(int)>& done, double timeout) {
  std::vector<double> at(indices.size(), kNever);
  const double deadline = Now() + timeout;
  std::vector<std::thread> threads;
  for (size_t k = 0; k < indices.size(); ++k) {
    threads.emplace_back([&, k] {
      while (Now() < deadline) {
        if (done(indices[k])) {
          at[k] = Now();
          return;
        }
        absl::SleepFor(absl::Seconds(kPollSeconds));
      }
    });
  }
  for (auto& t : threads) t.join();
  return at;
}

// The names of the nodes in `indices` whose time is kNever.
std::string Missing(Federation& fed, const std::vector<int>& indices,
                    const std::vector<double>& at) {
  std::vector<std::string> names;
  for (size_t k = 0; k < indices.size(); ++k) {
    if (at[k] == kNever) names.push_back(fed[indices[k]].name);
  }
  return absl::StrJoin(names, ", ");
}

// ---- Wire bytes from `ss -tinpH`: per TCP socket (4-tuple and owning process) the kernel's
// byte counters of the connection's payload (TLS records of HTTP/2 frames; TCP/IP headers not
// included).

struct SocketSample {
  std::string state;
  pid_t pid = -1;
  std::uint64_t received = 0, acked = 0, retrans = 0;
};
using SsSample = std::map<std::string, SocketSample>;  // key: pid local peer

std::uint64_t Counter(absl::string_view info, absl::string_view name) {
  size_t at = 0;
  while ((at = info.find(name, at)) != absl::string_view::npos) {
    // A whole field, not the tail of another ("bytes_acked" in "...xbytes_acked").
    if (at == 0 || info[at - 1] == ' ' || info[at - 1] == '\t') break;
    at += name.size();
  }
  if (at == absl::string_view::npos) return 0;
  absl::string_view rest = info.substr(at + name.size());
  std::uint64_t v = 0;
  (void)absl::SimpleAtoi(rest.substr(0, rest.find_first_of(" \t")), &v);
  return v;
}

absl::StatusOr<SsSample> SampleSockets() {
  FILE* pipe = ::popen("ss -tinpH 2>/dev/null", "r");
  if (pipe == nullptr) return absl::InternalError("cannot run ss");
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  if (::pclose(pipe) != 0) return absl::InternalError("ss -tinpH failed (iproute2 installed?)");
  SsSample sample;
  std::string key;
  SocketSample current;
  auto flush = [&] {
    if (!key.empty() && current.pid > 0) sample[key] = current;
    key.clear();
  };
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (line.empty()) continue;
    if (line[0] == ' ' || line[0] == '\t') {  // the -i line of the socket above
      if (key.empty()) continue;
      current.received = Counter(line, "bytes_received:");
      current.acked = Counter(line, "bytes_acked:");
      current.retrans = Counter(line, "bytes_retrans:");  // shown only when not 0
      continue;
    }
    flush();
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 6) continue;
    current = SocketSample{};
    current.state = std::string(f[0]);
    const size_t p = line.find("pid=");
    if (p == absl::string_view::npos) continue;  // not ours to see
    int pid = -1;
    absl::string_view rest = line.substr(p + 4);
    if (!absl::SimpleAtoi(rest.substr(0, rest.find_first_of(",)")), &pid)) continue;
    current.pid = pid;
    key = absl::StrCat(pid, " ", f[3], " ", f[4]);
  }
  flush();
  return sample;
}

struct Idle {
  double seconds = 0;
  std::vector<double> received, sent;    // B/s per node
  std::vector<double> connections_mean;  // established, per node, mean over the samples
  double connections_max = 0;
  double cpu_percent = 0;  // all nodes together, % of one core
  std::vector<double> rss_mib;
  double connections_first = 0, connections_last = 0;  // mean per node, first and last sample
  double received_new = 0;  // B/s per node (mean) on sockets opened during the window
  int opened = 0, closed = 0, samples = 0;
  std::uint64_t retransmitted = 0;  // bytes_retrans growth, all nodes
};

absl::StatusOr<Idle> MeasureIdle(Federation& fed) {
  const std::vector<pid_t> pids = fed.Pids();
  std::map<pid_t, int> node_of;
  for (int i = 0; i < static_cast<int>(pids.size()); ++i) node_of[pids[i]] = i;
  const int n = fed.size();
  Idle idle;
  std::vector<double> rx(n, 0), tx(n, 0), conn_sum(n, 0);
  std::vector<double> cpu0(n);
  for (int i = 0; i < n; ++i) cpu0[i] = ProcessCpu(pids[i]);
  const double t0 = Now();
  HANSE_ASSIGN_OR_RETURN(SsSample prev, SampleSockets());
  std::set<std::string> at_start;
  for (const auto& [key, sock] : prev) at_start.insert(key);
  double rx_new = 0;
  auto count_connections = [&](const SsSample& s) {
    std::vector<double> c(n, 0);
    for (const auto& [key, sock] : s) {
      auto it = node_of.find(sock.pid);
      if (it != node_of.end() && sock.state == "ESTAB") c[it->second] += 1;
    }
    for (int i = 0; i < n; ++i) {
      conn_sum[i] += c[i];
      idle.connections_max = std::max(idle.connections_max, c[i]);
    }
    if (idle.samples == 0) idle.connections_first = Mean(c);
    idle.connections_last = Mean(c);
    ++idle.samples;
  };
  count_connections(prev);
  const int steps = static_cast<int>(std::lround(kIdleSeconds / kSampleSeconds));
  double t1 = t0;
  for (int step = 1; step <= steps; ++step) {
    const double wake = t0 + step * kSampleSeconds;
    if (wake > Now()) absl::SleepFor(absl::Seconds(wake - Now()));
    HANSE_ASSIGN_OR_RETURN(SsSample cur, SampleSockets());
    t1 = Now();
    for (const auto& [key, sock] : cur) {
      auto node = node_of.find(sock.pid);
      if (node == node_of.end()) continue;
      SocketSample before;  // a socket that appeared counts from 0
      auto it = prev.find(key);
      if (it != prev.end()) {
        before = it->second;
      } else {
        ++idle.opened;
      }
      if (sock.received < before.received || sock.acked < before.acked ||
          sock.retrans < before.retrans) {
        before = SocketSample{};
      }
      rx[node->second] += static_cast<double>(sock.received - before.received);
      if (!at_start.count(key)) rx_new += static_cast<double>(sock.received - before.received);
      tx[node->second] += static_cast<double>(sock.acked - before.acked);
      idle.retransmitted += sock.retrans - before.retrans;
    }
    for (const auto& [key, sock] : prev) {
      if (node_of.count(sock.pid) && !cur.count(key)) ++idle.closed;
    }
    count_connections(cur);
    prev = std::move(cur);
  }
  idle.seconds = t1 - t0;
  double cpu = 0;
  for (int i = 0; i < n; ++i) {
    cpu += ProcessCpu(pids[i]) - cpu0[i];
    idle.received.push_back(rx[i] / idle.seconds);
    idle.sent.push_back(tx[i] / idle.seconds);
    idle.connections_mean.push_back(conn_sum[i] / idle.samples);
    idle.rss_mib.push_back(static_cast<double>(ProcessRss(pids[i])) / 1048576.0);
  }
  idle.cpu_percent = cpu / idle.seconds * 100;
  idle.received_new = rx_new / n / idle.seconds;
  return idle;
}

// Warnings and errors in the node logs (text lines "TIME LEVEL message key=value ..."), by
// message, most frequent first: "12 x warn gossip call failed; ...".
std::string LogSummary(Federation& fed, int* lines_out) {
  std::map<std::string, int> counts;
  int lines = 0;
  for (int i = 0; i < fed.size(); ++i) {
    std::ifstream in(fed[i].log);
    std::string line;
    while (std::getline(in, line)) {
      std::vector<absl::string_view> w = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (w.size() < 3 || (w[1] != "warn" && w[1] != "error")) continue;
      ++lines;
      std::vector<absl::string_view> message;
      for (size_t k = 2; k < w.size() && !absl::StrContains(w[k], '='); ++k) {
        message.push_back(w[k]);
      }
      ++counts[absl::StrCat(w[1], " ", absl::StrJoin(message, " "))];
    }
  }
  std::vector<std::pair<int, std::string>> sorted;
  for (const auto& [m, c] : counts) sorted.emplace_back(-c, m);
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string> parts;
  for (size_t k = 0; k < sorted.size() && k < 5; ++k) {
    parts.push_back(absl::StrFormat("%d x %s", -sorted[k].first, sorted[k].second));
  }
  if (sorted.size() > 5) parts.push_back(absl::StrFormat("%d more kinds", sorted.size() - 5));
  *lines_out = lines;
  return absl::StrJoin(parts, "; ");
}

}  // namespace

absl::StatusOr<BenchResult> RunFederation(const std::string& scratch_dir,
                                          const std::string& logs_dir, int n) {
  if (n < kFederationMinSize) return absl::InvalidArgumentError("too few members");
  Progress(absl::StrFormat("federation: %d nodes", n));
  Federation fed(scratch_dir, logs_dir, n);
  const std::vector<int> all = Range(0, n);
  const std::vector<int> founders = Range(0, kFounders);
  constexpr const char* kCountries[] = {"DE", "FR", "NL", "IT", "ES", "AT", "BE", "PL"};

  // Homes.
  const double t_begin = Now();
  std::vector<double> init_done(n, kNever);
  HANSE_RETURN_IF_ERROR(Parallel(all, [&](int i) -> absl::Status {
    Ran r = RunHanse({"init", "--home", fed[i].home, "--name", absl::StrCat("Member ", i),
                      "--country", kCountries[i % 8], "--listen", "127.0.0.1:0"},
                     fed.cli_log());
    if (r.exit_code != 0) return absl::InternalError("hanse init failed; see " + fed.cli_log());
    fed[i].did = FirstLine(r.out);
    init_done[i] = Now();
    return absl::OkStatus();
  }));
  const double t0 = *std::min_element(init_done.begin(), init_done.end());

  // Nodes, started from this thread (they outlive every worker thread), then their cards.
  for (int i = 0; i < n; ++i) fed[i].pid = StartNode(fed[i].home, fed[i].log);
  HANSE_RETURN_IF_ERROR(Parallel(all, [&](int i) -> absl::Status {
    const double deadline = Now() + 60;
    while (Now() < deadline) {
      if (::waitpid(fed[i].pid, nullptr, WNOHANG) == fed[i].pid) {
        fed[i].pid = -1;
        return absl::InternalError(
            absl::StrFormat("node %s exited at start; see %s", fed[i].name, fed[i].log));
      }
      auto client = node::AdminClient::Connect(fed[i].home);
      if (client.ok()) {
        auto status = client->GetStatus();
        if (status.ok()) {
          fed[i].listen = status->listen();
          fed[i].admin = *std::move(client);
          break;
        }
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    if (!fed[i].admin) {
      return absl::DeadlineExceededError(
          absl::StrFormat("node %s did not answer; see %s", fed[i].name, fed[i].log));
    }
    return fed.Hanse(i, {"card", "--out", fed[i].card}).status();
  }));
  const double t_up = Now();

  // The charter: drafted from the founders' cards, signed by each in turn, joined by each.
  std::vector<std::string> draft = {"federation",
                                    "draft",
                                    "--name",
                                    "Bench federation",
                                    "--admission-threshold",
                                    std::to_string(kThreshold),
                                    "--revocation-threshold",
                                    std::to_string(kThreshold)};
  for (int f : founders) draft.insert(draft.end(), {"--founder", fed[f].card});
  Ran drafted = RunHanse(draft, fed.cli_log());
  if (drafted.exit_code != 0) return absl::InternalError("federation draft failed");
  const std::string charter = fed.dir() + "/charter.json";
  HANSE_RETURN_IF_ERROR(WriteFileAtomic(charter, drafted.out, 0644));
  for (int f : founders) {
    HANSE_RETURN_IF_ERROR(fed.Hanse(f, {"federation", "sign", charter, "--out", charter}).status());
  }
  HANSE_RETURN_IF_ERROR(Parallel(founders, [&](int f) {
    return fed.Hanse(f, {"federation", "join", charter}).status();
  }));
  const double t_founded = Now();

  // One applicant: `proposer` proposes it, `endorser` endorses it once the proposal has reached
  // it, and the applicant joins through the endorser. Returns when the endorsement was signed.
  auto admit = [&](int applicant, int proposer, int endorser) -> absl::StatusOr<double> {
    HANSE_RETURN_IF_ERROR(fed.Hanse(proposer, {"member", "propose", fed[applicant].card}).status());
    const std::string did = fed[applicant].did;
    if (FirstTimes(
            {endorser}, [&](int e) { return fed[e].Pending(did); }, kWaitSeconds)[0] == kNever) {
      return absl::DeadlineExceededError(absl::StrFormat("the proposal of %s did not reach %s",
                                                         fed[applicant].name, fed[endorser].name));
    }
    HANSE_RETURN_IF_ERROR(fed.Hanse(endorser, {"member", "endorse", did}).status());
    const double endorsed = Now();
    HANSE_RETURN_IF_ERROR(
        fed.Hanse(applicant, {"federation", "join", charter, "--bootstrap", fed[endorser].listen})
            .status());
    return endorsed;
  };

  // Every applicant but the last at once, each proposed by one founder and endorsed by the next.
  const std::vector<int> applicants = Range(kFounders, n - 1);
  HANSE_RETURN_IF_ERROR(Parallel(applicants, [&](int a) {
    return admit(a, founders[a % kFounders], founders[(a + 1) % kFounders]).status();
  }));
  const std::vector<int> grown = Range(0, n - 1);
  std::vector<double> at = FirstTimes(
      grown, [&](int i) { return fed[i].Members() == n - 1; }, kWaitSeconds);
  if (Max(at) == kNever) {
    return absl::DeadlineExceededError(
        absl::StrFormat("%d members were not listed everywhere within %.0f s: not on %s", n - 1,
                        kWaitSeconds, Missing(fed, grown, at)));
  }
  const double t_grown = Max(at);
  Progress(absl::StrFormat("federation: %d members everywhere %.1f s after the first init", n - 1,
                           t_grown - t0));

  // The last member alone, proposed and endorsed by two members admitted above (or founders).
  const int last = n - 1;
  const double last_start = Now();
  HANSE_ASSIGN_OR_RETURN(const double endorsed, admit(last, n - 2, n - 3));
  const double joined = Now();
  at = FirstTimes(
      all, [&](int i) { return fed[i].Members() == n; }, kWaitSeconds);
  if (Max(at) == kNever) {
    return absl::DeadlineExceededError(
        absl::StrFormat("the last member was not listed everywhere within %.0f s: not on %s",
                        kWaitSeconds, Missing(fed, all, at)));
  }
  std::vector<double> last_admission;
  for (double t : at) last_admission.push_back(t - endorsed);
  const double founding = Max(at) - t0;
  Progress(absl::StrFormat(
      "federation: %d members everywhere %.1f s after the first init; the last one %.2f s (p50) "
      "/ %.2f s (max) after its last endorsement",
      n, founding, Percentile(last_admission, 0.5), Max(last_admission)));

  // Publishes on different members; every other node asked for the id until it holds it.
  std::vector<double> arrivals, all_reached, publish_seconds;
  std::vector<std::string> slowest;  // per publish: "m02 -> m07"
  for (int k = 0; k < kPublishes; ++k) {
    const int publisher = (2 + 7 * k) % n;
    const std::string name = absl::StrCat("bench-", k);
    HANSE_RETURN_IF_ERROR(WriteFileAtomic(absl::StrCat(fed[publisher].home, "/data/", name, ".csv"),
                                          "a,b\n1,2\n", 0644));
    const std::string file = absl::StrCat(fed.dir(), "/", name, ".json");
    HANSE_RETURN_IF_ERROR(WriteFileAtomic(
        file,
        absl::StrCat(R"({"name": ")", name, R"(", "title": "Benchmark dataset )", k,
                     R"(", "license": "CC-BY-4.0", "media_type": "text/csv", "language": "en",
                        "content": ")",
                     name,
                     R"(.csv", "policy": {"@type": "Offer", "permission": [{"action": "use"}]}})"),
        0644));
    const double p0 = Now();
    HANSE_ASSIGN_OR_RETURN(std::string out, fed.Hanse(publisher, {"dataset", "publish", file}));
    const double published = Now();
    publish_seconds.push_back(published - p0);
    const std::string id = FirstLine(out);
    std::vector<int> others;
    for (int i : all) {
      if (i != publisher) others.push_back(i);
    }
    at = FirstTimes(
        others, [&](int i) { return fed[i].Holds(id); }, kWaitSeconds);
    if (Max(at) == kNever) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "dataset %s did not reach %s within %.0f s", id, Missing(fed, others, at), kWaitSeconds));
    }
    for (double t : at) arrivals.push_back(std::max(0.0, t - published));
    all_reached.push_back(std::max(0.0, Max(at) - published));
    const size_t worst = std::max_element(at.begin(), at.end()) - at.begin();
    slowest.push_back(absl::StrFormat("%.2f s, %s -> %s", all_reached.back(), fed[publisher].name,
                                      fed[others[worst]].name));
    absl::SleepFor(absl::Milliseconds(500));
  }
  Progress(
      absl::StrFormat("federation: datasets reached every member in median %.2f s, p99 %.2f "
                      "s, max %.2f s",
                      Percentile(arrivals, 0.5), Percentile(arrivals, 0.99), Max(arrivals)));

  // Idle.
  Progress(absl::StrFormat("federation: settling %.0f s, then idle for %.0f s", kSettleSeconds,
                           kIdleSeconds));
  absl::SleepFor(absl::Seconds(kSettleSeconds));
  HANSE_ASSIGN_OR_RETURN(Idle idle, MeasureIdle(fed));
  // Every node still running (none crashed while measured).
  for (int i : all) {
    if (::waitpid(fed[i].pid, nullptr, WNOHANG) == fed[i].pid) {
      fed[i].pid = -1;
      return absl::InternalError(
          absl::StrFormat("node %s exited during the run; see %s", fed[i].name, fed[i].log));
    }
  }
  const Federation::Stopped stopped = fed.Stop();
  const double stop_seconds = Max(stopped.seconds);
  int log_lines = 0;
  const std::string log_summary = LogSummary(fed, &log_lines);
  const double run_seconds = Now() - t_begin;
  Progress(absl::StrFormat(
      "federation: idle %.0f B/s received per node (max %.0f), %.0f B/s sent, CPU %.1f%% of one "
      "core; %d warn/error log lines%s%s; %d nodes stopped in %.1f s (%d not cleanly); %.0f s in "
      "all",
      Mean(idle.received), Max(idle.received), Mean(idle.sent), idle.cpu_percent, log_lines,
      log_lines > 0 ? ": " : "", log_summary, n, stop_seconds, stopped.unclean, run_seconds));

  const double idle_rx = Mean(idle.received);
  const bool bytes_ok = idle_rx <= kIdleBytesTarget;
  const bool cpu_ok = idle.cpu_percent <= kIdleCpuTarget;
  const bool arrival_ok = Percentile(arrivals, 0.99) <= kArrivalTarget;
  const bool admission_ok = Max(last_admission) <= kAdmissionTarget;
  BenchResult r = MakeResult(absl::StrCat("federation_", n), idle_rx, "B/s", kIdleBytesTarget,
                             "budget B/s", "<= 5,000 B/s", /*at_least=*/false, 1.0);
  // The notes, part by part (one format each, so that each is checked against its arguments).
  std::string& notes = r.notes;
  absl::StrAppendFormat(
      &notes,
      "%d `hanse node run` processes on 127.0.0.1, default gossip settings (every 2 s, fanout 2, "
      "a view of 8, publishes and records along the push tree), founded through the CLI as "
      "docs/federation.md says: %d "
      "founders, admission and revocation thresholds %d, %d applicants proposed and endorsed by "
      "two founders all at once, then the last one alone, proposed and endorsed by two admitted "
      "members; each applicant joins with --bootstrap its endorser. ",
      n, kFounders, kThreshold, static_cast<int>(applicants.size()));
  absl::StrAppendFormat(
      &notes,
      "FOUNDING + ADMISSION: %.1f s from the first `hanse init` done to every node listing %d "
      "members (nodes up and cards written at %.1f s, founders joined at %.1f s, %d members "
      "everywhere at %.1f s, then the last admission). ",
      founding, n, t_up - t0, t_founded - t0, n - 1, t_grown - t0);
  absl::StrAppendFormat(&notes,
                        "LAST ADMISSION: every node lists the last member p50 %.2f s / max %.2f s "
                        "after its last endorsement (its `federation join` returned %.2f s after "
                        "it; %.1f s from its proposal to that endorsement). ",
                        Percentile(last_admission, 0.5), Max(last_admission), joined - endorsed,
                        endorsed - last_start);
  absl::StrAppendFormat(
      &notes,
      "DATASET ARRIVAL (%d publishes on different members; the other %d nodes asked every %.0f "
      "ms over the admin socket with GetDocument, what `hanse dataset show` asks), from the "
      "return of `hanse dataset publish` (itself %.2f s, median): median %.2f s, p99 %.2f s, "
      "max %.2f s; all reached per publish, and the slowest receiver: %s. ",
      kPublishes, n - 1, kPollSeconds * 1000, Percentile(publish_seconds, 0.5),
      Percentile(arrivals, 0.5), Percentile(arrivals, 0.99), Max(arrivals),
      absl::StrJoin(slowest, " / "));
  absl::StrAppendFormat(
      &notes,
      "IDLE (after %.0f s settled, %.1f s window, `ss -tinpH` every %.0f s, TCP payload bytes "
      "per socket): received %.0f B/s per node (max %.0f), sent %.0f B/s (max %.0f); "
      "federation-wide CPU %.1f%% of one core (%.2f%% per node); established TCP connections "
      "per node mean %.1f (%.1f at the window's start, %.1f at its end), max %.0f; RSS per node "
      "mean %.1f MiB, max %.1f MiB. ",
      kSettleSeconds, idle.seconds, kSampleSeconds, idle_rx, Max(idle.received), Mean(idle.sent),
      Max(idle.sent), idle.cpu_percent, idle.cpu_percent / n, Mean(idle.connections_mean),
      idle.connections_first, idle.connections_last, idle.connections_max, Mean(idle.rss_mib),
      Max(idle.rss_mib));
  absl::StrAppendFormat(
      &notes,
      "%d sockets opened in the window (%.0f B/s per node of the received bytes were on them: "
      "gossip channels still being opened, their TLS handshakes and first calls), %d closed "
      "(their bytes after the sample before are not counted), %d bytes retransmitted. ",
      idle.opened, idle.received_new, idle.closed, static_cast<int>(idle.retransmitted));
  absl::StrAppendFormat(&notes,
                        "TARGETS (stated for N = 32): idle traffic <= 5 kB/s per node %s; idle "
                        "CPU <= 10%% of one core %s; arrival p99 <= 2 s %s; last admission <= 5 s "
                        "after its last endorsement %s. ",
                        YesNo(bytes_ok), YesNo(cpu_ok), YesNo(arrival_ok), YesNo(admission_ok));
  absl::StrAppendFormat(&notes, "Node logs: %d warn/error lines%s%s. ", log_lines,
                        log_lines > 0 ? ": " : "", log_summary);
  absl::StrAppendFormat(&notes,
                        "%.0f s in all; stopping every node at once (SIGTERM) took median %.1f s, "
                        "max %.1f s%s",
                        run_seconds, Percentile(stopped.seconds, 0.5), stop_seconds,
                        stopped.unclean > 0
                            ? absl::StrFormat(" (%d exited otherwise than with 0, %d killed)",
                                              stopped.unclean, stopped.killed)
                            : "");
  r.meets = bytes_ok;
  return r;
}

}  // namespace hanse::bench
