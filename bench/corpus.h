// The benchmark corpus: a deterministic synthetic catalogue of dataset self-descriptions.
//
// Text is a pure function of (seed, document index): the same scale always yields the same titles,
// descriptions, keywords, themes, languages and dates, on any machine, and any document can be
// regenerated alone (each one draws from its own PRNG stream). Only the ~200 issuer keys are
// random (OpenSSL key generation cannot be seeded); they are generated once per corpus store and
// kept next to it, so ids stay stable while a cached store is reused.
//
// Vocabulary: 50,000 synthetic lower-case words (consonant-vowel syllables), ranked; each text word
// is drawn from a Zipf distribution over the ranks (s = 1.0), so frequent words are short, as in
// natural language. With ~60 ranked tokens per document a word of rank r lands in roughly
// 60 / (r * H) of the documents (H ~ 11.4): ranks ~300-1100 are the "mid-frequency" terms
// (0.5-2% of documents) that PERFORMANCE.md's search benchmark queries.
#ifndef HANSE_BENCH_CORPUS_H_
#define HANSE_BENCH_CORPUS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "catalog/document.h"
#include "trust/keys.h"

namespace hanse::bench {

// splitmix64-seeded xoshiro256**: fast, good enough, identical everywhere (unlike std::
// distributions, whose output is implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  // Uniform in [0, n).
  uint64_t Below(uint64_t n);
  // Uniform in [lo, hi] (inclusive).
  int64_t Between(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(Below(hi - lo + 1)); }
  // Uniform in [0, 1).
  double Unit();

 private:
  uint64_t s_[4];
};

// Zipf over ranks 0..n-1 with P(r) proportional to 1 / (r + 1)^s, by inverse CDF.
class Zipf {
 public:
  Zipf(size_t n, double s);
  size_t Sample(Rng& rng) const;

 private:
  std::vector<double> cdf_;
};

struct CorpusParams {
  uint64_t seed = 20240601;
  size_t num_docs = 1000000;
  size_t vocabulary = 50000;
  double zipf_s = 1.0;
  size_t num_issuers = 200;
};

// The searchable and filterable text of one dataset, as generated.
struct DatasetText {
  std::string title;                  // 4-10 words
  std::string description;            // 20-80 words
  std::vector<std::string> keywords;  // 3-8 distinct words
  std::vector<std::string> themes;    // 1-3 distinct of kThemes
  std::string language;               // one of kLanguages (skewed towards en, de, fr)
  size_t issuer = 0;                  // index into the issuers
  int64_t issued_day = 0;             // days since 1970-01-01, 2015-01-01 .. 2024-12-30
  // Distinct vocabulary ranks that occur in title, description or keywords (for document
  // frequencies).
  std::vector<uint32_t> ranks;
};

inline constexpr absl::string_view kThemes[] = {
    "agriculture", "energy",     "environment", "transport",  "health",   "education",
    "economy",     "finance",    "justice",     "population", "science",  "technology",
    "culture",     "tourism",    "housing",     "climate",    "water",    "mobility",
    "industry",    "trade",      "employment",  "security",   "defence",  "government",
    "geography",   "statistics", "maritime",    "aviation",   "forestry", "fisheries"};
inline constexpr absl::string_view kLanguages[] = {"en", "de", "fr", "es", "it", "nl",
                                                   "pl", "pt", "sv", "da", "fi", "cs"};

class Corpus {
 public:
  explicit Corpus(const CorpusParams& params);

  const CorpusParams& params() const { return params_; }
  size_t size() const { return params_.num_docs; }
  // Vocabulary by rank (0 = most frequent).
  const std::vector<std::string>& words() const { return words_; }

  DatasetText Text(size_t index) const;
  // "ds-0000123": the dataset's name under its issuer.
  static std::string DatasetName(size_t index);
  // Dataset sequence numbers are index + 2: unique per issuer (the issuer log rejects a second
  // document at a held sequence as equivocation), and 1 is the participant description's.
  static uint64_t DatasetSequence(size_t index) { return index + 2; }

  // Exact document frequency of every rank over documents [0, size()), computed by regenerating
  // the text with up to `threads` threads.
  std::vector<uint32_t> DocumentFrequencies(int threads) const;

 private:
  CorpusParams params_;
  std::vector<std::string> words_;
  Zipf zipf_;
};

// A participant that issues datasets.
struct Issuer {
  trust::PrivateKey key;
  std::string did;
  std::string name;     // legal name, also the datasets' publisher
  std::string country;  // ISO 3166-1 alpha-2
};

// `n` fresh P-256 issuers (random keys, deterministic names and countries).
absl::StatusOr<std::vector<Issuer>> GenerateIssuers(size_t n);
// One PKCS#8 PEM per issuer, concatenated, and back (names and countries are re-derived).
std::string IssuersToPem(const std::vector<Issuer>& issuers);
absl::StatusOr<std::vector<Issuer>> IssuersFromPem(absl::string_view pem);

catalog::Document ParticipantDocument(const Issuer& issuer);
catalog::Document DatasetDocument(const Corpus& corpus, size_t index, const DatasetText& text,
                                  const Issuer& issuer);
// The dataset id of document `index` (needs only its issuer, which the text determines).
std::string DatasetIdOf(const Corpus& corpus, const std::vector<Issuer>& issuers, size_t index);

// Signs dataset documents [begin, end) with up to `threads` threads, in index order.
absl::StatusOr<std::vector<std::string>> SignDatasets(const Corpus& corpus,
                                                      const std::vector<Issuer>& issuers,
                                                      size_t begin, size_t end, int threads);

}  // namespace hanse::bench

#endif  // HANSE_BENCH_CORPUS_H_
