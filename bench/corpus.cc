#include "bench/corpus.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>
#include <unordered_set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "base/status.h"
#include "trust/did_key.h"

namespace hanse::bench {
namespace {

uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Per-document streams: independent of generation order, so any document regenerates alone.
uint64_t DocSeed(uint64_t seed, size_t index) {
  uint64_t x = seed ^ (0x5851f42d4c957f2dULL * (static_cast<uint64_t>(index) + 1));
  return SplitMix64(x);
}

constexpr absl::string_view kConsonants = "bdfgklmnprstvz";
constexpr absl::string_view kVowels = "aeiou";
constexpr absl::string_view kCountries[] = {"DE", "FR", "NL", "BE", "IT", "ES", "AT", "PL",
                                            "SE", "DK", "FI", "CZ", "PT", "IE", "LU", "EE"};
constexpr absl::string_view kLicences[] = {"CC-BY-4.0",    "CC0-1.0",      "ODbL-1.0",
                                           "CC-BY-SA-4.0", "DL-DE-BY-2.0", "Etalab-2.0"};
constexpr absl::string_view kMediaTypes[] = {"text/csv", "application/json",
                                             "application/vnd.apache.parquet",
                                             "application/geo+json", "application/xml"};
constexpr absl::string_view kOrgKinds[] = {"Data Services",    "Mobility Lab",
                                           "Open Data Office", "Research Institute",
                                           "Energy Networks",  "Statistics"};
// Language weights (per mille): a few large languages, a long tail.
constexpr int kLanguageWeights[] = {350, 150, 110, 80, 70, 60, 50, 40, 30, 25, 20, 15};
static_assert(std::size(kLanguageWeights) == std::size(kLanguages));

constexpr int64_t kFirstIssuedDay = 16436;  // 2015-01-01
constexpr int64_t kIssuedDays = 3652;       // ten years

std::string MakeWord(Rng& rng, int syllables) {
  std::string w;
  for (int i = 0; i < syllables; ++i) {
    w += kConsonants[rng.Below(kConsonants.size())];
    w += kVowels[rng.Below(kVowels.size())];
  }
  if (rng.Below(10) < 3) w += kConsonants[rng.Below(kConsonants.size())];
  return w;
}

std::string DayString(int64_t day) {
  absl::CivilDay d = absl::CivilDay(1970, 1, 1) + day;
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

// Appends `count` Zipf words separated by spaces, recording their ranks.
void AppendWords(const std::vector<std::string>& words, const Zipf& zipf, Rng& rng, int count,
                 bool sentences, std::string* out, std::vector<uint32_t>* ranks) {
  bool capital = true;
  for (int i = 0; i < count; ++i) {
    size_t r = zipf.Sample(rng);
    ranks->push_back(static_cast<uint32_t>(r));
    if (!out->empty()) out->push_back(' ');
    std::string w = words[r];
    if (capital) w[0] = absl::ascii_toupper(w[0]);
    capital = false;
    out->append(w);
    if (sentences && (i + 1 == count || rng.Below(12) == 0)) {
      out->push_back('.');
      capital = true;
    }
  }
}

}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = SplitMix64(seed);
}

uint64_t Rng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

uint64_t Rng::Below(uint64_t n) {
  // Multiply-shift; the bias for n << 2^64 is far below anything a benchmark could notice.
  __extension__ typedef unsigned __int128 U128;
  return static_cast<uint64_t>((static_cast<U128>(Next()) * n) >> 64);
}

double Rng::Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

Zipf::Zipf(size_t n, double s) : cdf_(n) {
  double sum = 0;
  for (size_t r = 0; r < n; ++r) {
    sum += 1.0 / std::pow(static_cast<double>(r + 1), s);
    cdf_[r] = sum;
  }
  for (auto& c : cdf_) c /= sum;
  cdf_.back() = 1.0;
}

size_t Zipf::Sample(Rng& rng) const {
  double u = rng.Unit();
  return static_cast<size_t>(std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
}

Corpus::Corpus(const CorpusParams& params)
    : params_(params), zipf_(params.vocabulary, params.zipf_s) {
  Rng rng(params.seed);
  std::unordered_set<std::string> seen;
  words_.reserve(params.vocabulary);
  while (words_.size() < params.vocabulary) {
    size_t r = words_.size();
    int syllables = r < 1000 ? 2 : r < 15000 ? 3 : 4;
    std::string w = MakeWord(rng, syllables);
    if (seen.insert(w).second) words_.push_back(std::move(w));
  }
}

std::string Corpus::DatasetName(size_t index) { return absl::StrFormat("ds-%07d", index); }

DatasetText Corpus::Text(size_t index) const {
  Rng rng(DocSeed(params_.seed, index));
  DatasetText t;
  t.issuer = rng.Below(params_.num_issuers);  // first draw: see DatasetIdOf
  AppendWords(words_, zipf_, rng, static_cast<int>(rng.Between(4, 10)), false, &t.title, &t.ranks);
  AppendWords(words_, zipf_, rng, static_cast<int>(rng.Between(20, 80)), true, &t.description,
              &t.ranks);
  int num_keywords = static_cast<int>(rng.Between(3, 8));
  while (static_cast<int>(t.keywords.size()) < num_keywords) {
    size_t r = zipf_.Sample(rng);
    if (std::find(t.keywords.begin(), t.keywords.end(), words_[r]) != t.keywords.end()) continue;
    t.keywords.push_back(words_[r]);
    t.ranks.push_back(static_cast<uint32_t>(r));
  }
  int num_themes = static_cast<int>(rng.Between(1, 3));
  while (static_cast<int>(t.themes.size()) < num_themes) {
    std::string theme(kThemes[rng.Below(std::size(kThemes))]);
    if (std::find(t.themes.begin(), t.themes.end(), theme) == t.themes.end()) {
      t.themes.push_back(std::move(theme));
    }
  }
  int pick = static_cast<int>(rng.Below(1000));
  size_t lang = 0;
  while (lang + 1 < std::size(kLanguageWeights) && pick >= kLanguageWeights[lang]) {
    pick -= kLanguageWeights[lang];
    ++lang;
  }
  t.language = std::string(kLanguages[lang]);
  t.issued_day = kFirstIssuedDay + rng.Between(0, kIssuedDays - 1);
  std::sort(t.ranks.begin(), t.ranks.end());
  t.ranks.erase(std::unique(t.ranks.begin(), t.ranks.end()), t.ranks.end());
  return t;
}

std::vector<uint32_t> Corpus::DocumentFrequencies(int threads) const {
  threads = std::max(1, threads);
  std::vector<std::vector<uint32_t>> partial(threads, std::vector<uint32_t>(words_.size()));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (size_t i = t; i < size(); i += threads) {
        for (uint32_t r : Text(i).ranks) ++partial[t][r];
      }
    });
  }
  for (auto& th : pool) th.join();
  for (int t = 1; t < threads; ++t) {
    for (size_t r = 0; r < words_.size(); ++r) partial[0][r] += partial[t][r];
  }
  return std::move(partial[0]);
}

namespace {
Issuer DescribeIssuer(size_t i, trust::PrivateKey key) {
  Issuer issuer{std::move(key), "", "", ""};
  issuer.did = trust::EncodeDidKey(issuer.key.Public());
  issuer.name = absl::StrFormat("Issuer %03d %s", i, kOrgKinds[i % std::size(kOrgKinds)]);
  issuer.country = std::string(kCountries[(i * 7) % std::size(kCountries)]);
  return issuer;
}
}  // namespace

absl::StatusOr<std::vector<Issuer>> GenerateIssuers(size_t n) {
  std::vector<Issuer> out;
  for (size_t i = 0; i < n; ++i) {
    HANSE_ASSIGN_OR_RETURN(trust::PrivateKey key,
                           trust::PrivateKey::Generate(trust::KeyType::kP256));
    out.push_back(DescribeIssuer(i, std::move(key)));
  }
  return out;
}

std::string IssuersToPem(const std::vector<Issuer>& issuers) {
  std::string out;
  for (const auto& i : issuers) out += i.key.ToPem();
  return out;
}

absl::StatusOr<std::vector<Issuer>> IssuersFromPem(absl::string_view pem) {
  constexpr absl::string_view kEnd = "-----END PRIVATE KEY-----";
  std::vector<Issuer> out;
  size_t pos = 0;
  while (true) {
    size_t end = pem.find(kEnd, pos);
    if (end == absl::string_view::npos) break;
    end += kEnd.size();
    HANSE_ASSIGN_OR_RETURN(trust::PrivateKey key,
                           trust::PrivateKey::FromPem(pem.substr(pos, end - pos)));
    out.push_back(DescribeIssuer(out.size(), std::move(key)));
    pos = end;
    while (pos < pem.size() && (pem[pos] == '\n' || pem[pos] == '\r')) ++pos;
  }
  return out;
}

catalog::Document ParticipantDocument(const Issuer& issuer) {
  catalog::Document doc;
  doc.kind = catalog::DocumentKind::kParticipant;
  doc.id = issuer.did;
  doc.issuer = issuer.did;
  doc.sequence = 1;
  doc.valid_from = absl::FromCivil(absl::CivilDay(2024, 1, 1), absl::UTCTimeZone());
  doc.participant.legal_name = issuer.name;
  doc.participant.registration_number = absl::StrCat("HRB ", 10000 + issuer.name.size() * 7);
  doc.participant.country = issuer.country;
  doc.participant.jurisdictions = {"EU", issuer.country};
  doc.participant.endpoints = {absl::StrCat(absl::AsciiStrToLower(issuer.country), "-",
                                            issuer.did.substr(issuer.did.size() - 8),
                                            ".example.org:7443")};
  return doc;
}

catalog::Document DatasetDocument(const Corpus& corpus, size_t index, const DatasetText& text,
                                  const Issuer& issuer) {
  Rng rng(DocSeed(corpus.params().seed ^ 0xa5a5a5a5ULL, index));  // non-text fields
  catalog::Document doc;
  doc.kind = catalog::DocumentKind::kDataset;
  doc.id = catalog::DatasetId(issuer.did, Corpus::DatasetName(index));
  doc.issuer = issuer.did;
  doc.sequence = Corpus::DatasetSequence(index);
  doc.valid_from = absl::FromCivil(absl::CivilDay(2024, 1, 1), absl::UTCTimeZone());
  auto& d = doc.dataset;
  d.title = text.title;
  d.description = text.description;
  d.keywords = text.keywords;
  d.themes = text.themes;
  d.publisher = issuer.name;
  d.license = std::string(kLicences[rng.Below(std::size(kLicences))]);
  d.media_type = std::string(kMediaTypes[rng.Below(std::size(kMediaTypes))]);
  d.byte_size = 1024 + rng.Below(uint64_t{1} << 32);
  for (int i = 0; i < 4; ++i) d.sha256 += absl::StrFormat("%016x", rng.Next());
  d.language = text.language;
  d.hosting_location = std::string(kCountries[rng.Below(std::size(kCountries))]);
  d.personal_data_class = rng.Below(10) == 0 ? "pseudonymised" : "none";
  d.issued = DayString(text.issued_day);
  if (rng.Below(2) == 0) d.modified = DayString(text.issued_day + rng.Between(0, 400));
  d.policy_json = absl::StrCat(
      R"({"@type":"Offer","permission":[{"action":"use","constraint":[{"leftOperand":"purpose",)",
      R"("operator":"eq","rightOperand":")", rng.Below(2) == 0 ? "research" : "commercial",
      R"("}]}],"prohibition":[{"action":"distribute"}]})");
  return doc;
}

std::string DatasetIdOf(const Corpus& corpus, const std::vector<Issuer>& issuers, size_t index) {
  Rng rng(DocSeed(corpus.params().seed, index));
  return catalog::DatasetId(issuers[rng.Below(corpus.params().num_issuers)].did,
                            Corpus::DatasetName(index));
}

absl::StatusOr<std::vector<std::string>> SignDatasets(const Corpus& corpus,
                                                      const std::vector<Issuer>& issuers,
                                                      size_t begin, size_t end, int threads) {
  threads = std::max(1, threads);
  std::vector<std::string> out(end - begin);
  std::vector<absl::Status> errors(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (size_t i = begin + t; i < end; i += threads) {
        DatasetText text = corpus.Text(i);
        auto jws = catalog::SignDocument(DatasetDocument(corpus, i, text, issuers[text.issuer]),
                                         issuers[text.issuer].key);
        if (!jws.ok()) {
          errors[t] = Annotate(jws.status(), absl::StrCat("signing dataset ", i));
          return;
        }
        out[i - begin] = *std::move(jws);
      }
    });
  }
  for (auto& th : pool) th.join();
  for (auto& e : errors) HANSE_RETURN_IF_ERROR(e);
  return out;
}

}  // namespace hanse::bench
