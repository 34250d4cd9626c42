#include "bench/setup.h"

#include <sys/stat.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/status.h"
#include "bench/fts_reference.h"
#include "bench/report.h"
#include "catalog/catalog.h"
#include "nlohmann/json.hpp"
#include "trust/encoding.h"

namespace hanse::bench {
namespace {

using Json = nlohmann::json;

constexpr int kCorpusFormat = 1;  // bump when the generator's output changes

// What the store's content depends on: the corpus parameters and the code that ingested it. The
// build writes a digest of the base/trust/catalog sources (bench/CMakeLists.txt); without it (a
// binary moved away from its build tree), the binary's own size and mtime stand in.
Json CacheKey(const Corpus& corpus, const std::string& exe_path) {
  const CorpusParams& p = corpus.params();
  Json key{{"format", kCorpusFormat},    {"seed", p.seed},     {"num_docs", p.num_docs},
           {"vocabulary", p.vocabulary}, {"zipf_s", p.zipf_s}, {"num_issuers", p.num_issuers}};
#ifdef HANSE_BENCH_FINGERPRINT_FILE
  auto sums = ReadFile(HANSE_BENCH_FINGERPRINT_FILE);
  if (sums.ok() && !sums->empty()) {
    key["sources_sha256"] = trust::HexEncode(trust::Sha256(*sums));
    return key;
  }
#endif
  struct stat st {};
  stat(exe_path.c_str(), &st);
  key["exe_size"] = static_cast<uint64_t>(st.st_size);
  key["exe_mtime_ns"] = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return key;
}

absl::Status CheckIngested(const std::vector<absl::StatusOr<catalog::IngestResult>>& results,
                           size_t first_index) {
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) {
      return Annotate(results[i].status(), absl::StrCat("ingesting document ", first_index + i));
    }
    if (results[i]->outcome != catalog::IngestOutcome::kStored) {
      return absl::InternalError(absl::StrCat("document ", first_index + i, " was ",
                                              catalog::IngestOutcomeName(results[i]->outcome),
                                              ", not stored"));
    }
  }
  return absl::OkStatus();
}

// Signed documents handed from the signing thread to the ingesting one.
struct Chunk {
  size_t begin = 0;
  std::vector<std::string> jws;
};

class ChunkQueue {
 public:
  explicit ChunkQueue(size_t capacity) : capacity_(capacity) {}
  // False once the queue is closed (the consumer gave up): stop producing.
  bool Push(Chunk c) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < capacity_ || closed_; });
    if (closed_) return false;
    q_.push_back(std::move(c));
    not_empty_.notify_one();
    return true;
  }
  std::optional<Chunk> Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return std::nullopt;
    Chunk c = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return c;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Chunk> q_;
  size_t capacity_;
  bool closed_ = false;
};

absl::Status BuildSqliteOnly(const Corpus& corpus, const std::vector<Issuer>& issuers,
                             const std::string& path) {
  HANSE_ASSIGN_OR_RETURN(auto fts, FtsBuilder::Create(path));
  for (size_t i = 0; i < corpus.size(); ++i) {
    DatasetText text = corpus.Text(i);
    HANSE_RETURN_IF_ERROR(
        fts->Add(i, catalog::DatasetId(issuers[text.issuer].did, Corpus::DatasetName(i)), text));
    if ((i + 1) % 20000 == 0) {
      HANSE_RETURN_IF_ERROR(fts->Commit());
      if ((i + 1) % 100000 == 0) Progress(absl::StrFormat("sqlite: %d documents", i + 1));
    }
  }
  Progress("sqlite: merging the FTS5 index");
  return fts->Finish();
}

}  // namespace

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

absl::StatusOr<CorpusStore> PrepareCorpusStore(const Corpus& corpus, const SetupOptions& options) {
  CorpusStore cs;
  cs.dir = absl::StrCat(options.results_dir, "/corpus-", corpus.size());
  cs.store_dir = cs.dir + "/store";
  const std::string marker_path = cs.dir + "/COMPLETE";
  const std::string sqlite_path = cs.dir + "/fts.sqlite";
  const Json key = CacheKey(corpus, options.exe_path);

  if (!options.fresh && PathExists(marker_path)) {
    auto text = ReadFile(marker_path);
    Json marker = text.ok() ? Json::parse(*text, nullptr, false) : Json();
    if (marker.is_object() && marker.value("key", Json()) == key) {
      HANSE_ASSIGN_OR_RETURN(std::string pem, ReadFile(cs.dir + "/issuers.pem"));
      HANSE_ASSIGN_OR_RETURN(cs.issuers, IssuersFromPem(pem));
      cs.jws_bytes = marker.value("jws_bytes", uint64_t{0});
      cs.documents = marker.value("documents", uint64_t{0});
      cs.reused = true;
      Progress(absl::StrCat("reusing the corpus store in ", cs.dir, " (BENCH_FRESH=1 rebuilds)"));
      if (options.need_sqlite) {
        if (!marker.value("sqlite", false) || !PathExists(sqlite_path)) {
          Progress("building the SQLite FTS5 reference");
          HANSE_RETURN_IF_ERROR(BuildSqliteOnly(corpus, cs.issuers, sqlite_path));
          marker["sqlite"] = true;
          HANSE_RETURN_IF_ERROR(WriteFileAtomic(marker_path, marker.dump(2), 0644));
        }
        cs.sqlite_path = sqlite_path;
      }
      return cs;
    }
  }

  Progress(
      absl::StrFormat("building the corpus store for %d datasets in %s", corpus.size(), cs.dir));
  RemoveTree(cs.dir);
  std::filesystem::create_directories(cs.dir);
  HANSE_ASSIGN_OR_RETURN(cs.issuers, GenerateIssuers(corpus.params().num_issuers));
  HANSE_RETURN_IF_ERROR(WriteFileAtomic(cs.dir + "/issuers.pem", IssuersToPem(cs.issuers), 0600));

  HANSE_ASSIGN_OR_RETURN(auto store,
                         catalog::OpenRocksStore(cs.store_dir, {.create_if_missing = true}));
  HANSE_ASSIGN_OR_RETURN(auto cat, catalog::Catalog::Open(store.get(), &Clock::Real()));
  {
    std::vector<std::string> participants;
    for (const auto& issuer : cs.issuers) {
      HANSE_ASSIGN_OR_RETURN(std::string jws,
                             catalog::SignDocument(ParticipantDocument(issuer), issuer.key));
      cs.jws_bytes += jws.size();
      participants.push_back(std::move(jws));
    }
    HANSE_RETURN_IF_ERROR(CheckIngested(cat->IngestMany(participants), 0), "participants");
    cs.documents += participants.size();
  }

  // One thread generates, signs and loads SQLite; this one ingests. Signing plus the SQLite
  // insert cost about what verifying plus storing plus indexing costs, so the two keep pace.
  const size_t chunk_size = std::max<size_t>(options.ingest_batch, 1024);
  ChunkQueue queue(4);
  absl::Status producer_status;
  std::thread producer([&] {
    std::unique_ptr<FtsBuilder> fts;
    if (options.need_sqlite) {
      auto b = FtsBuilder::Create(sqlite_path);
      if (!b.ok()) {
        producer_status = b.status();
        queue.Close();
        return;
      }
      fts = *std::move(b);
    }
    for (size_t begin = 0; begin < corpus.size(); begin += chunk_size) {
      Chunk chunk{begin, {}};
      const size_t end = std::min(corpus.size(), begin + chunk_size);
      for (size_t i = begin; i < end; ++i) {
        DatasetText text = corpus.Text(i);
        const Issuer& issuer = cs.issuers[text.issuer];
        catalog::Document doc = DatasetDocument(corpus, i, text, issuer);
        auto jws = catalog::SignDocument(doc, issuer.key);
        if (!jws.ok()) {
          producer_status = Annotate(jws.status(), absl::StrCat("signing dataset ", i));
          queue.Close();
          return;
        }
        chunk.jws.push_back(*std::move(jws));
        if (fts != nullptr) {
          absl::Status s = fts->Add(i, doc.id, text);
          if (!s.ok()) {
            producer_status = s;
            queue.Close();
            return;
          }
        }
      }
      if (fts != nullptr) {
        absl::Status s = fts->Commit();
        if (!s.ok()) {
          producer_status = s;
          queue.Close();
          return;
        }
      }
      if (!queue.Push(std::move(chunk))) return;
    }
    queue.Close();
    if (fts != nullptr) {
      Progress("sqlite: merging the FTS5 index");
      producer_status = fts->Finish();
    }
  });

  absl::Status consumer_status;
  double ingest_seconds = 0;
  size_t ingested = 0, next_report = corpus.size() / 20;
  const double build_start = Now();
  while (auto chunk = queue.Pop()) {
    for (size_t off = 0; off < chunk->jws.size() && consumer_status.ok();
         off += options.ingest_batch) {
      const size_t n = std::min(options.ingest_batch, chunk->jws.size() - off);
      std::vector<std::string> batch(chunk->jws.begin() + off, chunk->jws.begin() + off + n);
      for (const auto& j : batch) cs.jws_bytes += j.size();
      double t0 = Now();
      auto results = cat->IngestMany(batch);
      ingest_seconds += Now() - t0;
      consumer_status = CheckIngested(results, chunk->begin + off);
      ingested += n;
    }
    if (!consumer_status.ok()) {
      queue.Close();  // the producer stops at its next chunk
      break;
    }
    if (ingested >= next_report) {
      const double elapsed = Now() - build_start;
      Progress(
          absl::StrFormat("ingested %d / %d datasets (%.0f docs/s ingesting; about %.0f min to go)",
                          ingested, corpus.size(), ingested / std::max(ingest_seconds, 1e-9),
                          elapsed / ingested * (corpus.size() - ingested) / 60));
      next_report += std::max<size_t>(corpus.size() / 20, 1);
    }
  }
  producer.join();
  HANSE_RETURN_IF_ERROR(consumer_status);
  HANSE_RETURN_IF_ERROR(producer_status);
  cs.documents += ingested;
  cs.ingest_docs_per_s = ingested / std::max(ingest_seconds, 1e-9);
  cs.ingest_batch = options.ingest_batch;
  cat.reset();
  HANSE_RETURN_IF_ERROR(store->Close());
  store.reset();

  Json marker{{"key", key},
              {"jws_bytes", cs.jws_bytes},
              {"documents", cs.documents},
              {"sqlite", options.need_sqlite},
              {"ingest_docs_per_s", cs.ingest_docs_per_s}};
  HANSE_RETURN_IF_ERROR(WriteFileAtomic(marker_path, marker.dump(2), 0644));
  if (options.need_sqlite) cs.sqlite_path = sqlite_path;
  Progress(absl::StrFormat("corpus store ready: %d SDs, %.1f MiB of JWS", cs.documents,
                           cs.jws_bytes / 1048576.0));
  return cs;
}

}  // namespace hanse::bench
