#include "bench/exchange_benchmarks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/status.h"
#include "bench/procs.h"
#include "bench/setup.h"
#include "hanse/v1/exchange.grpc.pb.h"
#include "hanse/v1/federation.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "node/identity/home.h"
#include "node/rpc/channels.h"
#include "node/rpc/tls.h"
#include "trust/keys.h"

namespace hanse::bench {
namespace {

// Two members on loopback: a provider that published one dataset with a permissive offer and
// a consumer that trusts it; stopped on destruction.
class Pair {
 public:
  // `files` > 1: the content is a directory tree of that many files of equal size.
  static absl::StatusOr<std::unique_ptr<Pair>> Create(const std::string& dir,
                                                      std::uint64_t content_bytes,
                                                      std::uint64_t files = 1) {
    auto p = std::unique_ptr<Pair>(new Pair(dir));
    RemoveTree(dir);
    std::filesystem::create_directories(dir);
    for (const char* n : {"provider", "consumer"}) {
      Ran r = RunHanse(
          {"init", "--home", p->Home(n), "--name", n, "--country", "DE", "--listen", "127.0.0.1:0"},
          p->log_);
      if (r.exit_code != 0)
        return absl::InternalError(absl::StrCat("hanse init failed: ", p->log_));
    }
    Progress(absl::StrFormat("writing %d MiB of content", content_bytes >> 20));
    std::uint64_t x = 88172645463325252ull;
    auto write_random = [&x](const std::string& path, std::uint64_t bytes) {
      std::ofstream f(path, std::ios::binary);
      std::string block(1 << 20, '\0');
      for (std::uint64_t done = 0; done < bytes; done += block.size()) {
        for (size_t i = 0; i < block.size(); i += 8) {
          x ^= x << 13, x ^= x >> 7, x ^= x << 17;
          std::memcpy(&block[i], &x, 8);
        }
        f.write(block.data(),
                static_cast<std::streamsize>(std::min<std::uint64_t>(block.size(), bytes - done)));
      }
    };
    const std::string content = files > 1 ? "tree" : "content.bin";
    if (files > 1) {
      for (std::uint64_t i = 0; i < files; ++i) {
        const std::string sub = absl::StrFormat("%s/data/tree/%02d", p->Home("provider"), i % 16);
        std::filesystem::create_directories(sub);
        write_random(absl::StrFormat("%s/f%06d.bin", sub, i), content_bytes / files);
      }
    } else {
      write_random(p->Home("provider") + "/data/content.bin", content_bytes);
    }
    for (const char* n : {"provider", "consumer"}) {
      p->pids_.push_back(StartNode(p->Home(n), p->log_));
    }
    for (const char* n : {"provider", "consumer"}) {
      bool up = false;
      for (int i = 0; i < 100 && !up; ++i) {
        up = RunHanse({"status", "--home", p->Home(n)}, p->log_).exit_code == 0;
        if (!up) absl::SleepFor(absl::Milliseconds(100));
      }
      if (!up) return absl::InternalError(absl::StrCat("node did not start; see ", p->log_));
      RunHanse({"card", "--home", p->Home(n), "--out", p->Home(n) + ".card"}, p->log_);
    }
    RunHanse({"peer", "add", "--home", p->Home("provider"), p->Home("consumer") + ".card"},
             p->log_);
    RunHanse({"peer", "add", "--home", p->Home("consumer"), p->Home("provider") + ".card"},
             p->log_);
    std::ofstream(dir + "/publish.json")
        << R"({"name": "bench", "title": "Benchmark content", "license": "CC-BY-4.0",
              "media_type": "application/octet-stream", "language": "en",
              "content": ")"
        << content << R"(",
              "policy": {"@type": "Offer", "permission": [{"action": "use"}]}})";
    Ran pub = RunHanse({"dataset", "publish", "--home", p->Home("provider"), dir + "/publish.json"},
                       p->log_);
    if (pub.exit_code != 0) return absl::InternalError(absl::StrCat("publish failed; ", p->log_));
    p->dataset_ = std::string(absl::StripAsciiWhitespace(pub.out.substr(0, pub.out.find('\n'))));
    bool replicated = false;
    for (int i = 0; i < 200 && !replicated; ++i) {
      replicated =
          RunHanse({"dataset", "show", "--home", p->Home("consumer"), p->dataset_}, p->log_)
              .exit_code == 0;
      if (!replicated) absl::SleepFor(absl::Milliseconds(100));
    }
    if (!replicated) return absl::InternalError("the dataset did not replicate");
    return p;
  }
  ~Pair() {
    for (pid_t pid : pids_) ::kill(pid, SIGTERM);
    for (pid_t pid : pids_) ::waitpid(pid, nullptr, 0);
  }
  std::string Home(const std::string& n) const { return dir_ + "/" + n; }
  const std::string& dataset() const { return dataset_; }
  const std::string& log() const { return log_; }
  const std::vector<pid_t>& pids() const { return pids_; }  // provider, consumer

 private:
  explicit Pair(std::string dir) : dir_(std::move(dir)), log_(dir_ + ".log") {}
  std::string dir_, log_, dataset_;
  std::vector<pid_t> pids_;
};

// Raw loopback TCP: one connection, 256 KiB writes, reader discarding.
absl::StatusOr<double> LoopbackTcp(std::uint64_t bytes) {
  int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(ls, 1) != 0) {
    return absl::InternalError("cannot listen on loopback");
  }
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
  std::thread reader([ls] {
    int c = ::accept(ls, nullptr, nullptr);
    std::vector<char> buf(256 << 10);
    while (::read(c, buf.data(), buf.size()) > 0) {
    }
    ::close(c);
  });
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    return absl::InternalError("cannot connect on loopback");
  }
  std::vector<char> buf(256 << 10, 'x');
  double t0 = Now();
  for (std::uint64_t sent = 0; sent < bytes;) {
    ssize_t w = ::write(s, buf.data(), buf.size());
    if (w <= 0) break;
    sent += static_cast<std::uint64_t>(w);
  }
  ::close(s);
  reader.join();
  double elapsed = Now() - t0;
  ::close(ls);
  return bytes / elapsed;
}

// AES-128-GCM encryption in 16 KiB records (what TLS does per record).
double AesGcm(std::uint64_t bytes) {
  unsigned char key[16] = {1}, iv[12] = {2}, tag[16];
  std::vector<unsigned char> in(16 << 10, 7), out((16 << 10) + 32);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  double t0 = Now();
  for (std::uint64_t done = 0; done < bytes; done += in.size()) {
    int n = 0;
    EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, key, iv);
    EVP_EncryptUpdate(ctx, out.data(), &n, in.data(), static_cast<int>(in.size()));
    EVP_EncryptFinal_ex(ctx, out.data() + n, &n);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
    ++iv[0];
  }
  double elapsed = Now() - t0;
  EVP_CIPHER_CTX_free(ctx);
  return bytes / elapsed;
}

// What gRPC alone does here: one server stream of `bytes` in FetchChunk messages of
// `chunk_bytes`, between the two nodes' identities over the same mutual TLS, the channel built
// as the consumer node builds its transfer channel (node/rpc/channels.h, bulk) and the server
// with the node's limits; client and server in this process, the bytes prebuilt and discarded.
constexpr size_t kChunkBytes = 1 << 20;  // as node/exchange sends

// The two nodes' identities, loaded from their homes, for a gRPC reference run in this
// process between them: each trusts the other.
struct ReferencePair {
  static absl::StatusOr<std::unique_ptr<ReferencePair>> Load(const std::string& provider_home,
                                                             const std::string& consumer_home) {
    const absl::Time now = absl::Now();
    HANSE_ASSIGN_OR_RETURN(node::Home provider, node::LoadHome(provider_home, now));
    HANSE_ASSIGN_OR_RETURN(node::Home consumer, node::LoadHome(consumer_home, now));
    return std::unique_ptr<ReferencePair>(
        new ReferencePair{std::move(provider), std::move(consumer)});
  }
  // Valid while this pair lives.
  node::CaLookup Lookup() const {
    return [this](absl::string_view did) -> absl::StatusOr<std::string> {
      if (did == provider.identity.did) return provider.identity.ca_pem;
      if (did == consumer.identity.did) return consumer.identity.ca_pem;
      return absl::NotFoundError("not a member");
    };
  }
  node::Home provider, consumer;
};

class StreamService final : public hanse::v1::Exchange::Service {
 public:
  StreamService(std::uint64_t bytes, size_t chunk_bytes) : bytes_(bytes) {
    chunk_.mutable_data()->assign(chunk_bytes, 'x');
  }
  grpc::Status Fetch(grpc::ServerContext* ctx, const hanse::v1::FetchRequest*,
                     grpc::ServerWriter<hanse::v1::FetchChunk>* writer) override {
    if (!node::CallerDid(*ctx).ok()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "");
    for (std::uint64_t sent = 0; sent < bytes_; sent += chunk_.data().size()) {
      if (!writer->Write(chunk_)) return grpc::Status(grpc::StatusCode::CANCELLED, "");
    }
    return grpc::Status::OK;
  }

 private:
  std::uint64_t bytes_;
  hanse::v1::FetchChunk chunk_;
};

absl::StatusOr<double> GrpcStreamRate(const std::string& provider_home,
                                      const std::string& consumer_home, std::uint64_t bytes,
                                      size_t chunk_bytes) {
  HANSE_ASSIGN_OR_RETURN(std::unique_ptr<ReferencePair> pair,
                         ReferencePair::Load(provider_home, consumer_home));
  const node::Home& provider = pair->provider;
  const node::Home& consumer = pair->consumer;
  const node::CaLookup lookup = pair->Lookup();
  StreamService service(bytes, chunk_bytes);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(
      "127.0.0.1:0", node::FederationServerCredentials(provider.identity, lookup, Clock::Real()),
      &port);
  // The node's transfer settings (node/rpc/servers.cc): large frames, its message limits.
  builder.SetMaxSendMessageSize(provider.config.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, (1 << 24) - 1);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) return absl::InternalError("gRPC reference server");
  auto stub = hanse::v1::Exchange::NewStub(node::MemberChannel(
      consumer.identity, lookup, absl::StrCat("127.0.0.1:", port), provider.identity.did,
      Clock::Real(), {.bulk = true, .max_receive_bytes = 8 << 20}));
  auto stream = [&]() -> absl::StatusOr<double> {
    grpc::ClientContext ctx;
    hanse::v1::FetchRequest req;
    hanse::v1::FetchChunk chunk;
    std::uint64_t got = 0;
    const double t0 = Now();
    auto reader = stub->Fetch(&ctx, req);
    while (reader->Read(&chunk)) got += chunk.data().size();
    grpc::Status st = reader->Finish();
    const double elapsed = Now() - t0;
    if (!st.ok() || got < bytes) return absl::InternalError("gRPC reference stream failed");
    return bytes / elapsed;
  };
  std::vector<double> rates;
  for (int run = 0; run < 3; ++run) {
    HANSE_ASSIGN_OR_RETURN(double rate, stream());
    rates.push_back(rate);
  }
  server->Shutdown();
  std::sort(rates.begin(), rates.end());
  return rates[1];
}

double SelfCpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The peak resident set of each of `pids` while it lives, sampled every 20 ms.
class RssPeaks {
 public:
  explicit RssPeaks(std::vector<pid_t> pids) : pids_(std::move(pids)), peaks_(pids_.size()) {
    thread_ = std::thread([this] {
      while (!stop_) {
        for (size_t i = 0; i < pids_.size(); ++i) {
          peaks_[i] = std::max<std::uint64_t>(peaks_[i], ProcessRss(pids_[i]));
        }
        absl::SleepFor(absl::Milliseconds(20));
      }
    });
  }
  ~RssPeaks() { Stop(); }
  const std::vector<std::uint64_t>& Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return peaks_;
  }

 private:
  std::vector<pid_t> pids_;
  std::vector<std::uint64_t> peaks_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// What this disk does for a durable file: `bytes` written in 1 MiB writes, then one fsync.
absl::StatusOr<double> DurableWrite(const std::string& dir, std::uint64_t bytes) {
  const std::string path = dir + "/durable-write.bin";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", path));
  std::string block(1 << 20, 'x');
  const double t0 = Now();
  for (std::uint64_t done = 0; done < bytes; done += block.size()) {
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) {
      ::close(fd);
      return absl::InternalError(absl::StrCat("writing ", path, " failed"));
    }
  }
  ::fsync(fd);
  const double elapsed = Now() - t0;
  ::close(fd);
  std::filesystem::remove(path);
  return bytes / elapsed;
}

// A RAM-backed directory for fetched files when one has `need` bytes free (the network path
// measured without this machine's disk), else "".
std::string TmpfsDir(std::uint64_t need) {
  struct statvfs v {};
  if (::statvfs("/dev/shm", &v) != 0) return "";
  if (static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize < need) return "";
  const std::string dir = absl::StrCat("/dev/shm/hanse-bench-", ::getpid());
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return ec ? "" : dir;
}

// SHA-256 of 1 MiB blocks (what each side of a transfer does per byte), EVP.
double Sha256Rate(std::uint64_t bytes) {
  std::vector<unsigned char> in(1 << 20, 7);
  unsigned char digest[32];
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  const double t0 = Now();
  for (std::uint64_t done = 0; done < bytes; done += in.size()) {
    EVP_DigestUpdate(md, in.data(), in.size());
  }
  EVP_DigestFinal_ex(md, digest, nullptr);
  const double elapsed = Now() - t0;
  EVP_MD_CTX_free(md);
  return bytes / elapsed;
}

}  // namespace

absl::StatusOr<std::vector<BenchResult>> RunTransfer(const std::string& scratch_dir,
                                                     std::uint64_t bytes) {
  constexpr int kConcurrent = 8;
  Progress(absl::StrFormat("transfer: two nodes, %d MiB of content", bytes >> 20));
  HANSE_ASSIGN_OR_RETURN(auto pair, Pair::Create(scratch_dir + "/nodes", bytes));
  std::vector<std::string> agreements;
  for (int i = 0; i < kConcurrent; ++i) {
    Ran agreed = RunHanse({"contract", "request", "--home", pair->Home("consumer"), pair->dataset(),
                           "--purpose", "hanse:Benchmark"},
                          pair->log());
    if (agreed.exit_code != 0) return absl::InternalError("the negotiation failed");
    agreements.push_back(
        std::string(absl::StripAsciiWhitespace(agreed.out.substr(0, agreed.out.find('\n')))));
  }
  // The fetched file goes to a RAM-backed file system where there is room: what is measured
  // against C is the exchange, not this machine's disk (measured apart, below).
  const std::string tmpfs = TmpfsDir(kConcurrent * bytes + (1ull << 30));
  const std::string out_dir = tmpfs.empty() ? scratch_dir : tmpfs;
  // RAM is given back however this ends (a failed fetch leaves its .part behind).
  struct RemoveOnExit {
    std::string dir;
    ~RemoveOnExit() {
      if (!dir.empty()) RemoveTree(dir);
    }
  } tmpfs_guard{tmpfs};
  const pid_t provider = pair->pids()[0], consumer = pair->pids()[1];
  struct Run {
    double rate, cpu_provider, cpu_consumer;
  };
  auto fetch = [&](const std::string& agreement, const std::string& out) -> absl::StatusOr<Run> {
    std::filesystem::remove(out);
    const double c0 = ProcessCpu(provider), c1 = ProcessCpu(consumer);
    const double t0 = Now();
    Ran r =
        RunHanse({"fetch", "--home", pair->Home("consumer"), agreement, "--out", out}, pair->log());
    const double elapsed = Now() - t0;
    if (r.exit_code != 0) return absl::InternalError(absl::StrCat("fetch failed; ", pair->log()));
    Run run{bytes / elapsed, ProcessCpu(provider) - c0, ProcessCpu(consumer) - c1};
    std::filesystem::remove(out);
    return run;
  };
  std::vector<Run> runs;
  RssPeaks single_rss({provider, consumer});
  for (int run = 0; run < 3; ++run) {
    HANSE_ASSIGN_OR_RETURN(Run r, fetch(agreements[0], out_dir + "/fetched.bin"));
    runs.push_back(r);
    Progress(absl::StrFormat("transfer: run %d: %.0f MB/s", run + 1, r.rate / 1e6));
  }
  const std::vector<std::uint64_t> rss1 = single_rss.Stop();
  std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.rate < b.rate; });
  const Run median = runs[1];

  // The same fetch onto this machine's disk, beside what the disk does for a durable file.
  HANSE_ASSIGN_OR_RETURN(Run on_disk, fetch(agreements[0], scratch_dir + "/fetched.bin"));
  Progress(absl::StrFormat("transfer: onto the disk: %.0f MB/s", on_disk.rate / 1e6));
  HANSE_ASSIGN_OR_RETURN(double disk, DurableWrite(scratch_dir, bytes));

  // Eight fetches at once from the one provider, each under its own agreement.
  RssPeaks concurrent_rss({provider, consumer});
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  const double cc0 = ProcessCpu(provider), cc1 = ProcessCpu(consumer);
  const double t0 = Now();
  for (int i = 0; i < kConcurrent; ++i) {
    threads.emplace_back([&, i] {
      Ran r = RunHanse({"fetch", "--home", pair->Home("consumer"), agreements[i], "--out",
                        absl::StrCat(out_dir, "/concurrent-", i, ".bin")},
                       pair->log());
      if (r.exit_code != 0) ++failed;
    });
  }
  for (auto& t : threads) t.join();
  const double concurrent_elapsed = Now() - t0;
  const double concurrent_cpu = ProcessCpu(provider) - cc0 + ProcessCpu(consumer) - cc1;
  const std::vector<std::uint64_t> rss8 = concurrent_rss.Stop();
  for (int i = 0; i < kConcurrent; ++i) {
    std::filesystem::remove(absl::StrCat(out_dir, "/concurrent-", i, ".bin"));
  }
  if (failed > 0)
    return absl::InternalError(absl::StrCat(failed.load(), " concurrent fetches failed"));
  const double aggregate = kConcurrent * bytes / concurrent_elapsed;
  Progress(absl::StrFormat("transfer: %d at once: %.0f MB/s in all", kConcurrent, aggregate / 1e6));

  // References: raw TCP, AES-GCM, SHA-256 and plain gRPC, in this run.
  HANSE_ASSIGN_OR_RETURN(double tcp, LoopbackTcp(bytes));
  const double aes = AesGcm(std::min<std::uint64_t>(bytes, 512ull << 20));
  const double sha = Sha256Rate(std::min<std::uint64_t>(bytes, 512ull << 20));
  const double ceiling = 1.0 / (1.0 / tcp + 1.0 / aes);
  const double g_cpu0 = SelfCpu();
  HANSE_ASSIGN_OR_RETURN(
      double grpc_stream,
      GrpcStreamRate(pair->Home("provider"), pair->Home("consumer"), bytes, kChunkBytes),
      "gRPC stream reference");
  const double grpc_cpu_ns = (SelfCpu() - g_cpu0) / (3.0 * bytes) * 1e9;
  Progress(absl::StrFormat("transfer: plain gRPC stream %.0f MB/s", grpc_stream / 1e6));
  pair.reset();
  RemoveTree(scratch_dir);

  const double cores = std::thread::hardware_concurrency();
  const double hanse_cpu_ns = (median.cpu_provider + median.cpu_consumer) / bytes * 1e9;
  const double sha_ns = 1e9 / sha;
  // Both nodes share this machine's cores: a stream cannot go faster than the cores divided by
  // the CPU it costs per byte. With gRPC's own cost and two SHA-256 passes (one per side):
  const double cpu_bound = cores / ((grpc_cpu_ns + 2 * sha_ns) * 1e-9);
  const std::string where =
      tmpfs.empty() ? "onto this machine's disk (no tmpfs with room)"
                    : "into a tmpfs (RAM-backed, so this machine's disk is measured apart: "
                      "transfer_disk)";
  const std::string arithmetic = absl::StrFormat(
      "CPU per byte, both nodes together: Hanse %.2f ns (provider %.2f, consumer %.2f), plain "
      "gRPC %.2f ns (client and server), one SHA-256 pass %.2f ns (EVP, %.0f MB/s). With both "
      "nodes on %.0f cores, gRPC plus the two SHA-256 passes (provider: the published bytes are "
      "checked before the last chunk; consumer: the signed digest) allow at most %.0f MB/s "
      "(%.2f of the plain stream)",
      hanse_cpu_ns, median.cpu_provider / bytes * 1e9, median.cpu_consumer / bytes * 1e9,
      grpc_cpu_ns, sha_ns, sha / 1e6, cores, cpu_bound / 1e6, cpu_bound / grpc_stream);

  std::vector<BenchResult> results;
  BenchResult r = MakeResult("transfer", median.rate, "bytes/s", ceiling, "C bytes/s", ">= 0.75",
                             /*at_least=*/true, 0.75);
  r.notes = absl::StrFormat(
      "`hanse fetch` of a %d MiB agreement over mTLS gRPC between two node processes on loopback, "
      "%s (median of 3 whole commands, %.0f / %.0f / %.0f MB/s): policy re-evaluated and the use "
      "counted, 1 MiB chunks, read and SHA-256 on the provider overlapping the send, write and "
      "SHA-256 on the consumer overlapping the receive, fsynced once, receipt co-signed. C from "
      "T = %.0f MB/s raw loopback TCP and A = %.0f MB/s AES-128-GCM (EVP, 16 KiB records), "
      "measured in this run. %s",
      bytes >> 20, where, runs[0].rate / 1e6, runs[1].rate / 1e6, runs[2].rate / 1e6, tcp / 1e6,
      aes / 1e6, arithmetic);
  results.push_back(r);
  r = MakeResult("transfer_grpc", median.rate, "bytes/s", grpc_stream, "gRPC stream bytes/s",
                 ">= 0.9", /*at_least=*/true, 0.9);
  r.notes = absl::StrFormat(
      "the transfer above against a plain gRPC mTLS server stream of the same %d MiB in 1 MiB "
      "FetchChunk messages, between the same identities with the node's channel settings (BDP "
      "probing, 16 MiB frames; 256 KiB messages were no faster), client and server in "
      "one process, median of 3. %s",
      bytes >> 20, arithmetic);
  results.push_back(r);
  r = MakeResult("transfer_disk", on_disk.rate, "bytes/s", disk, "durable write bytes/s", ">= 0.75",
                 /*at_least=*/true, 0.75);
  r.notes = absl::StrFormat(
      "the same fetch with --out on this machine's disk (one run), against the same bytes "
      "written to that disk in 1 MiB writes and fsynced once, in this run: a durable fetch cannot "
      "beat the disk (C is %.0f MB/s)",
      ceiling / 1e6);
  results.push_back(r);
  r = MakeResult("transfer_concurrent", aggregate, "bytes/s", median.rate, "single stream bytes/s",
                 ">= 1.0", /*at_least=*/true, 1.0);
  r.notes = absl::StrFormat(
      "%d fetches of the %d MiB dataset at once from one provider, each under its own agreement, "
      "%s: %.1f s for all, aggregate against the single stream above. Peak RSS, sampled every 20 "
      "ms: provider %.0f MiB, consumer %.0f MiB (single stream: %.0f / %.0f MiB). CPU of both "
      "nodes %.2f ns per byte",
      kConcurrent, bytes >> 20, tmpfs.empty() ? "onto the disk" : "into a tmpfs",
      concurrent_elapsed, rss8[0] / 1048576.0, rss8[1] / 1048576.0, rss1[0] / 1048576.0,
      rss1[1] / 1048576.0, concurrent_cpu / (kConcurrent * bytes) * 1e9);
  results.push_back(r);
  return results;
}

namespace {

// What gRPC alone does here: unary calls/s of an empty Ping between the two nodes' identities
// over the same mutual TLS (node/rpc/tls.h credentials, peer DID read per call), `concurrency`
// calls at a time, client and server in this process. A negotiation makes three unary calls.
class PingService final : public hanse::v1::Federation::Service {
  grpc::Status Ping(grpc::ServerContext* ctx, const hanse::v1::PingRequest* req,
                    hanse::v1::PingResponse* resp) override {
    if (!node::CallerDid(*ctx).ok()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "");
    (void)req;
    (void)resp;
    return grpc::Status::OK;
  }
};

absl::StatusOr<double> GrpcUnaryRate(const std::string& provider_home,
                                     const std::string& consumer_home, int calls, int concurrency) {
  HANSE_ASSIGN_OR_RETURN(std::unique_ptr<ReferencePair> pair,
                         ReferencePair::Load(provider_home, consumer_home));
  const node::Home& provider = pair->provider;
  const node::Home& consumer = pair->consumer;
  const node::CaLookup lookup = pair->Lookup();
  PingService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(
      "127.0.0.1:0", node::FederationServerCredentials(provider.identity, lookup, Clock::Real()),
      &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) return absl::InternalError("gRPC reference server");
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                          node::FederationChannelCredentials(consumer.identity, lookup,
                                                             provider.identity.did, Clock::Real()));
  auto stub = hanse::v1::Federation::NewStub(channel);
  auto ping = [&] {
    hanse::v1::PingRequest req;
    hanse::v1::PingResponse resp;
    grpc::ClientContext ctx;
    return stub->Ping(&ctx, req, &resp).ok();
  };
  for (int i = 0; i < 10; ++i) {
    if (!ping()) return absl::InternalError("gRPC reference ping failed");
  }
  std::atomic<int> next{0}, failed{0};
  const double t0 = Now();
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency; ++i) {
    threads.emplace_back([&] {
      while (next.fetch_add(1) < calls) {
        if (!ping()) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double rate = calls / (Now() - t0);
  server->Shutdown();
  if (failed > 0) return absl::InternalError("gRPC reference pings failed");
  return rate;
}

}  // namespace

absl::StatusOr<BenchResult> RunNegotiate(const std::string& scratch_dir, int negotiations,
                                         int concurrency) {
  Progress(absl::StrFormat("negotiate: %d negotiations, %d at a time", negotiations, concurrency));
  HANSE_ASSIGN_OR_RETURN(auto pair, Pair::Create(scratch_dir + "/nodes", 4096));
  auto channel = grpc::CreateChannel("unix:" + pair->Home("consumer") + "/admin.sock",
                                     grpc::InsecureChannelCredentials());
  auto stub = hanse::v1::Contracts::NewStub(channel);
  // One negotiation through the consumer's API; its latency in seconds, or why it failed.
  auto negotiate = [&]() -> absl::StatusOr<double> {
    hanse::v1::RequestContractRequest req;
    req.set_dataset_id(pair->dataset());
    req.set_purpose("hanse:Benchmark");
    hanse::v1::ContractInfo info;
    grpc::ClientContext ctx;
    const double t0 = Now();
    grpc::Status st = stub->RequestContract(&ctx, req, &info);
    const double latency = Now() - t0;
    if (!st.ok()) return absl::InternalError(st.error_message());
    if (info.state() != "FINALIZED") return absl::InternalError(info.state());
    return latency;
  };
  auto percentile = [](std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
  };
  // Untimed negotiations warm the channels; then some alone, one after another.
  for (int i = 0; i < 3; ++i) HANSE_RETURN_IF_ERROR(negotiate().status(), "negotiation");
  std::vector<double> alone;
  for (int i = 0; i < 100; ++i) {
    HANSE_ASSIGN_OR_RETURN(double latency, negotiate(), "negotiation");
    alone.push_back(latency);
  }

  std::atomic<int> next{0}, failed{0};
  std::string first_error;
  std::mutex mu;
  std::vector<double> loaded;
  auto worker = [&] {
    while (next.fetch_add(1) < negotiations) {
      absl::StatusOr<double> latency = negotiate();
      std::lock_guard lock(mu);
      if (latency.ok()) {
        loaded.push_back(*latency);
      } else {
        ++failed;
        if (first_error.empty()) first_error = std::string(latency.status().message());
      }
    }
  };
  double t0 = Now();
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  double elapsed = Now() - t0;
  if (failed > 0) {
    return absl::InternalError(absl::StrCat(failed.load(), " negotiations failed: ", first_error));
  }
  const double rate = negotiations / elapsed;
  HANSE_ASSIGN_OR_RETURN(
      const double grpc_rate,
      GrpcUnaryRate(pair->Home("provider"), pair->Home("consumer"), 5 * negotiations, concurrency),
      "gRPC reference");
  pair.reset();
  RemoveTree(scratch_dir);

  // The crypto floor: P-256 (the nodes' key type) sign and verify rates, raw EVP, one core.
  HANSE_ASSIGN_OR_RETURN(trust::PrivateKey key, trust::PrivateKey::Generate(trust::KeyType::kP256));
  const std::string msg(300, 'a');
  std::vector<std::string> sigs;
  double s0 = Now();
  for (int i = 0; i < 4000; ++i) {
    HANSE_ASSIGN_OR_RETURN(std::string sig, key.SignJose(msg));
    sigs.push_back(std::move(sig));
  }
  const double sign_rate = 4000 / (Now() - s0);
  double v0 = Now();
  for (const auto& sig : sigs) HANSE_RETURN_IF_ERROR(key.Public().VerifyJose(msg, sig));
  const double verify_rate = 4000 / (Now() - v0);
  const double cores = std::thread::hardware_concurrency();
  const double floor = cores / (2 / sign_rate + 2 / verify_rate);
  BenchResult r = MakeResult("negotiate", rate, "negotiations/s", floor, "crypto floor/s", ">= 0.5",
                             /*at_least=*/true, 0.5);
  r.notes = absl::StrFormat(
      "%d negotiations, %d concurrent, through the consumer node's Contracts API to a provider "
      "node over mTLS: request, policy evaluation, agreement signed by the provider, "
      "countersigned, finalized on both sides; each step and its audit entry one synced batch, "
      "concurrent steps sharing one write (group commit). Latency alone p50 %.1f ms / p99 %.1f "
      "ms (100 one after another); at %d concurrent p50 %.1f ms / p99 %.1f ms. Floor from P-256 "
      "sign %.0f/s and verify %.0f/s (EVP, one core) x %.0f cores. gRPC alone: %.0f empty "
      "unary mTLS calls/s at %d concurrent between the same identities; a negotiation makes "
      "three calls, so gRPC by itself caps it near %.0f/s (%.2f of the floor), and gRPC plus the "
      "signatures, on the same cores, near %.0f/s (%.2f of the floor)",
      negotiations, concurrency, percentile(alone, 0.5) * 1e3, percentile(alone, 0.99) * 1e3,
      concurrency, percentile(loaded, 0.5) * 1e3, percentile(loaded, 0.99) * 1e3, sign_rate,
      verify_rate, cores, grpc_rate, concurrency, grpc_rate / 3, grpc_rate / 3 / floor,
      1 / (1 / floor + 3 / grpc_rate), 1 / (1 / floor + 3 / grpc_rate) / floor);
  return r;
}

}  // namespace hanse::bench

namespace hanse::bench {
namespace {

// Reads every file below `from`, hashes it and writes a copy below `to`, then flushes the
// filesystem once: what a plain copy with an integrity check of the same tree costs on this disk
// (as durable as the fetch, which also ends with one syncfs).
absl::StatusOr<double> CopyTree(const std::string& from, const std::string& to) {
  std::vector<char> buf(1 << 20);
  std::uint64_t bytes = 0;
  double t0 = Now();
  for (const auto& e : std::filesystem::recursive_directory_iterator(from)) {
    if (!e.is_regular_file()) continue;
    std::filesystem::path dest =
        std::filesystem::path(to) / std::filesystem::relative(e.path(), from);
    std::filesystem::create_directories(dest.parent_path());
    int in = ::open(e.path().c_str(), O_RDONLY);
    int out = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0) return absl::InternalError("cannot copy the tree");
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
    ssize_t n;
    while ((n = ::read(in, buf.data(), buf.size())) > 0) {
      EVP_DigestUpdate(md, buf.data(), static_cast<size_t>(n));
      if (::write(out, buf.data(), static_cast<size_t>(n)) != n) {
        return absl::InternalError("cannot write the copy");
      }
      bytes += static_cast<std::uint64_t>(n);
    }
    unsigned char digest[32];
    EVP_DigestFinal_ex(md, digest, nullptr);
    EVP_MD_CTX_free(md);
    ::close(in);
    ::close(out);
  }
  int dir = ::open(to.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::syncfs(dir);
    ::close(dir);
  }
  return bytes / (Now() - t0);
}

}  // namespace

absl::StatusOr<BenchResult> RunTransferDir(const std::string& scratch_dir, std::uint64_t bytes,
                                           std::uint64_t files) {
  Progress(
      absl::StrFormat("transfer_dir: two nodes, a tree of %d files, %d MiB", files, bytes >> 20));
  HANSE_ASSIGN_OR_RETURN(auto pair, Pair::Create(scratch_dir + "/nodes", bytes, files));
  Ran agreed = RunHanse({"contract", "request", "--home", pair->Home("consumer"), pair->dataset(),
                         "--purpose", "hanse:Benchmark"},
                        pair->log());
  if (agreed.exit_code != 0) return absl::InternalError("the negotiation failed");
  const std::string agreement =
      std::string(absl::StripAsciiWhitespace(agreed.out.substr(0, agreed.out.find('\n'))));
  const std::string out = scratch_dir + "/fetched";
  std::vector<double> rates;
  for (int run = 0; run < 3; ++run) {
    RemoveTree(out);
    double t0 = Now();
    Ran r =
        RunHanse({"fetch", "--home", pair->Home("consumer"), agreement, "--out", out}, pair->log());
    double elapsed = Now() - t0;
    if (r.exit_code != 0) {
      return absl::InternalError(absl::StrCat("fetch failed; ", pair->log()));
    }
    rates.push_back(bytes / elapsed);
    Progress(absl::StrFormat("transfer_dir: run %d: %.0f MB/s", run + 1, bytes / elapsed / 1e6));
  }
  std::sort(rates.begin(), rates.end());
  RemoveTree(out);
  HANSE_ASSIGN_OR_RETURN(double copy,
                         CopyTree(pair->Home("provider") + "/data/tree", scratch_dir + "/copy"));
  pair.reset();
  RemoveTree(scratch_dir);
  BenchResult r = MakeResult("transfer_dir", rates[1], "bytes/s", copy, "copy bytes/s", ">= 0.75",
                             /*at_least=*/true, 0.75);
  r.notes = absl::StrFormat(
      "`hanse fetch` of a directory dataset (%d files, %d MiB, 16 subdirectories) between two "
      "node processes on loopback, median of 3 (%.0f / %.0f / %.0f MB/s): the tar stream over "
      "mTLS gRPC, SHA-256 on both sides, unpacked into a new tree, flushed once (syncfs). "
      "Reference: the "
      "same tree read, hashed and copied file by file, then one syncfs, on the same disk in this "
      "run",
      files, bytes >> 20, rates[0] / 1e6, rates[1] / 1e6, rates[2] / 1e6);
  return r;
}

}  // namespace hanse::bench
