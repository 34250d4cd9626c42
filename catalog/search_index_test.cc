#include "catalog/search_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "base/status.h"
#include "catalog/query.h"
#include "catalog/tokenizer.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace hanse::catalog {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// ---- A reference implementation: the whole corpus in memory, scored by brute force. ----------

struct ModelDoc {
  IndexedDoc doc;
  uint32_t docnum;
  std::map<std::string, uint32_t> tf;
  uint32_t length = 0;
};

class Model {
 public:
  void Add(const IndexedDoc& doc) {
    ModelDoc m{doc, next_docnum_++, {}, 0};
    auto add = [&](absl::string_view text, uint32_t weight) {
      for (const std::string& t : Tokenize(text)) {
        m.tf[t] += weight;
        m.length += weight;
      }
    };
    add(doc.title, 2);  // title words count twice, as documented in search_index.h
    add(doc.description, 1);
    for (const std::string& k : doc.keywords) add(k, 1);
    docs_[doc.id] = std::move(m);
  }
  void Remove(const std::string& id) { docs_.erase(id); }
  const IndexedDoc* Find(const std::string& id) const {
    auto it = docs_.find(id);
    return it == docs_.end() ? nullptr : &it->second.doc;
  }
  size_t size() const { return docs_.size(); }

  struct Expected {
    std::string id;
    double score;
    int64_t day;
    uint32_t docnum;
  };

  // Every match of q, in result order.
  std::vector<Expected> Run(const Query& q) const {
    // Statistics over live documents, computed independently of the index.
    std::map<std::string, uint64_t> df;
    uint64_t total_length = 0;
    for (const auto& [id, m] : docs_) {
      for (const std::string& t : q.terms) df[t] += m.tf.count(t);
      total_length += m.length;
    }
    const uint64_t n_docs = docs_.size();
    const double avg = n_docs > 0 && total_length > 0
                           ? static_cast<double>(total_length) / static_cast<double>(n_docs)
                           : 1.0;
    Query::Sort sort = q.sort;
    if (q.terms.empty() && sort == Query::Sort::kRelevance) sort = Query::Sort::kIssuedDesc;

    std::vector<Expected> out;
    for (const auto& [id, m] : docs_) {
      if (!PassesFilters(q, m.doc)) continue;
      double score = 0;
      bool matched = q.terms.empty();
      for (const std::string& t : q.terms) {  // query order, as the index sums
        auto it = m.tf.find(t);
        if (it == m.tf.end()) continue;
        matched = true;
        score += Bm25TermScore(Bm25Idf(n_docs, df[t]), it->second, m.length, avg);
      }
      if (!matched) continue;
      out.push_back({id, score, m.doc.issued_day, m.docnum});
    }
    std::sort(out.begin(), out.end(), [&](const Expected& a, const Expected& b) {
      switch (sort) {
        case Query::Sort::kRelevance:
          if (a.score != b.score) return a.score > b.score;
          return a.docnum < b.docnum;
        case Query::Sort::kIssuedAsc:
          if (a.day != b.day) return a.day < b.day;
          return a.docnum < b.docnum;
        case Query::Sort::kIssuedDesc:
          if (a.day != b.day) return a.day > b.day;
          return a.docnum > b.docnum;
      }
      return false;
    });
    return out;
  }

 private:
  static bool PassesFilters(const Query& q, const IndexedDoc& d) {
    if (q.issued_min_day && d.issued_day < *q.issued_min_day) return false;
    if (q.issued_max_day && d.issued_day > *q.issued_max_day) return false;
    for (const auto& [field, values] : q.filters) {
      std::vector<std::string> have;
      if (field == "publisher") have = {d.publisher};
      if (field == "licence") have = {d.licence};
      if (field == "mediatype") have = {d.media_type};
      if (field == "language") have = {d.language};
      if (field == "country") have = {d.country};
      if (field == "hosting") have = {d.hosting};
      if (field == "theme") have = d.themes;
      if (field == "keyword") have = d.keywords;
      bool any = false;
      for (const std::string& h : have) {
        const std::string n = NormalizeFilterValue(h);
        for (const std::string& v : values) any = any || (!n.empty() && n == v);
      }
      if (!any) return false;
    }
    return true;
  }

  std::map<std::string, ModelDoc> docs_;
  uint32_t next_docnum_ = 0;
};

// ---- Random corpus and queries ----------------------------------------------------------------

class Corpus {
 public:
  explicit Corpus(uint32_t seed) : rng_(seed) {
    for (int i = 0; i < 40; ++i) vocab_.push_back(absl::StrCat("w", i, "x"));
    // Zipf-ish: word i has weight 1/(i+1).
    std::vector<double> w;
    for (size_t i = 0; i < vocab_.size(); ++i) w.push_back(1.0 / static_cast<double>(i + 1));
    zipf_ = std::discrete_distribution<size_t>(w.begin(), w.end());
  }

  std::string Word() { return vocab_[zipf_(rng_)]; }
  std::string Words(int lo, int hi) {
    std::vector<std::string> words;
    for (int n = Int(lo, hi); n > 0; --n) {
      // Vary the surface form: case and punctuation must not matter.
      std::string w = Word();
      if (Int(0, 5) == 0) w = absl::AsciiStrToUpper(w);
      words.push_back(w);
    }
    return absl::StrJoin(words, Int(0, 3) == 0 ? ", " : " ");
  }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(0, static_cast<int>(v.size()) - 1))];
  }

  IndexedDoc Doc(const std::string& id) {
    IndexedDoc d;
    d.id = id;
    d.title = Words(0, 5);
    d.description = Int(0, 4) == 0 ? "" : Words(0, 30);
    for (int n = Int(0, 3); n > 0; --n) d.keywords.push_back(Words(1, 2));
    d.publisher = Pick(kPublishers);
    d.licence = Pick(kLicences);
    d.media_type = Pick(kMediaTypes);
    d.language = Pick(kLanguages);
    d.country = Pick(kCountries);
    d.hosting = Pick(kHostings);
    for (const std::string& t : kThemes) {
      if (Int(0, 2) == 0) d.themes.push_back(t);
    }
    d.issued_day = 19000 + Int(0, 60);  // few distinct days: many ties
    return d;
  }

  // A query in the query language, so the parser is exercised too.
  std::string QueryText(const Model& model) {
    std::vector<std::string> parts;
    for (int n = Int(0, 3); n > 0; --n) parts.push_back(Int(0, 9) == 0 ? "nosuchword" : Word());
    if (Int(0, 2) == 0) {
      const int fields = Int(1, 2);
      for (int f = 0; f < fields; ++f) {
        switch (Int(0, 7)) {
          case 0:
            parts.push_back(absl::StrCat("publisher:\"", Pick(kPublishers), "\""));
            break;
          case 1:
            parts.push_back(absl::StrCat("licence:", Pick(kLicences)));
            break;
          case 2: {
            const std::string& m = Pick(kMediaTypes);
            parts.push_back(absl::StrCat("mediatype:", m.empty() ? "text/csv" : m));
            break;
          }
          case 3:
            parts.push_back(absl::StrCat("language:", Pick(kLanguages)));
            break;
          case 4:
            parts.push_back(absl::StrCat("country:", Pick(kCountries)));
            parts.push_back(absl::StrCat("country:", Pick(kCountries)));
            break;
          case 5:
            parts.push_back(absl::StrCat("hosting:", Pick(kHostings)));
            break;
          case 6:
            parts.push_back(absl::StrCat("theme:", Pick(kThemes)));
            if (Int(0, 1)) parts.push_back(absl::StrCat("theme:", Pick(kThemes)));
            break;
          case 7:
            parts.push_back(absl::StrCat("keyword:\"", Words(1, 1), "\""));
            break;
        }
      }
    }
    if (Int(0, 3) == 0) {
      parts.push_back(absl::StrCat(
          Pick(std::vector<std::string>{"issued>=", "issued>", "issued<=", "issued<", "issued:"}),
          Date(19000 + Int(-2, 62))));
    }
    switch (Int(0, 4)) {
      case 0:
        parts.push_back("sort:relevance");
        break;
      case 1:
        parts.push_back("sort:issued");
        break;
      case 2:
        parts.push_back("sort:-issued");
        break;
      default:
        break;
    }
    std::shuffle(parts.begin(), parts.end(), rng_);
    (void)model;
    return absl::StrJoin(parts, " ");
  }

  static std::string Date(int64_t day) {
    const absl::CivilDay d = absl::CivilDay(1970, 1, 1) + day;
    return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
  }

  std::mt19937& rng() { return rng_; }

 private:
  const std::vector<std::string> kPublishers = {"Acme", "Beta Corp", "Météo France", "GAMMA"};
  const std::vector<std::string> kLicences = {"CC-BY", "cc0", "ODbL"};
  const std::vector<std::string> kMediaTypes = {"text/csv", "application/json", ""};
  const std::vector<std::string> kLanguages = {"en", "fr", "de"};
  const std::vector<std::string> kCountries = {"FR", "DE", "IT", "ES"};
  const std::vector<std::string> kHostings = {"eu", "de"};
  const std::vector<std::string> kThemes = {"environment", "health", "transport", "ÉNERGIE"};

  std::mt19937 rng_;
  std::vector<std::string> vocab_;
  std::discrete_distribution<size_t> zipf_;
};

struct Fixture {
  SearchIndexOptions options;
  ::hanse::testing::TempDir tmp;
  std::unique_ptr<Store> store;
  std::unique_ptr<SearchIndex> index;

  absl::Status OpenAll() {
    index.reset();
    if (store) HANSE_RETURN_IF_ERROR(store->Close());
    store.reset();
    HANSE_ASSIGN_OR_RETURN(store, OpenRocksStore(tmp.Sub("store"), {.create_if_missing = true}));
    HANSE_ASSIGN_OR_RETURN(index, SearchIndex::Open(store.get(), options));
    return absl::OkStatus();
  }

  // Writes a batch of changes (adds with optional previous, removes) and commits it.
  absl::Status Apply(const std::vector<std::pair<IndexedDoc, const IndexedDoc*>>& adds,
                     const std::vector<IndexedDoc>& removes = {}) {
    WriteBatch batch;
    for (const auto& [doc, previous] : adds) {
      absl::Status s = index->Add(doc, previous, &batch);
      if (!s.ok()) {
        index->Aborted();
        return s;
      }
    }
    for (const IndexedDoc& doc : removes) {
      absl::Status s = index->Remove(doc, &batch);
      if (!s.ok()) {
        index->Aborted();
        return s;
      }
    }
    absl::Status s = index->Flush(&batch);
    if (s.ok()) s = store->Write(batch, /*sync=*/false);
    if (!s.ok()) {
      index->Aborted();
      return s;
    }
    index->Committed();
    return absl::OkStatus();
  }
};

// Pages through q with `limit` until the end (or max_pages); returns the hits.
absl::StatusOr<std::vector<SearchHit>> AllPages(const SearchIndex& index, const Query& q,
                                                size_t limit, size_t max_pages, bool* exhausted) {
  std::vector<SearchHit> all;
  std::string cursor;
  *exhausted = false;
  for (size_t page = 0; page < max_pages; ++page) {
    HANSE_ASSIGN_OR_RETURN(SearchPage p, index.Search(q, limit, cursor));
    if (p.hits.size() > limit) return absl::InternalError("page larger than limit");
    if (!p.next_cursor.empty() && p.hits.size() != limit) {
      return absl::InternalError("short page with a next cursor");
    }
    for (SearchHit& h : p.hits) all.push_back(std::move(h));
    if (p.next_cursor.empty()) {
      *exhausted = true;
      break;
    }
    cursor = p.next_cursor;
  }
  return all;
}

void ExpectSameHits(const std::vector<SearchHit>& got, const std::vector<Model::Expected>& want,
                    size_t n, const std::string& context) {
  ASSERT_EQ(got.size(), n) << context;
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(got[i].id, want[i].id)
        << context << " at " << i << " (score " << got[i].score << " vs " << want[i].score << ")";
    EXPECT_EQ(got[i].issued_day, want[i].day) << context;
    EXPECT_NEAR(got[i].score, want[i].score, 1e-9 * std::max(1.0, std::abs(want[i].score)))
        << context;
  }
}

void CheckQueries(const SearchIndex& index, const Model& model, Corpus& corpus, int queries) {
  for (int qi = 0; qi < queries; ++qi) {
    const std::string text = corpus.QueryText(model);
    HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery(text));
    const std::vector<Model::Expected> want = model.Run(q);
    const std::string context = absl::StrCat("query [", text, "] with ", want.size(), " matches");

    // One big page: the whole list (up to the limit).
    HANSE_ASSERT_OK_AND_ASSIGN(SearchPage big, index.Search(q, kMaxSearchLimit, ""));
    const size_t n = std::min(want.size(), kMaxSearchLimit);
    ExpectSameHits(big.hits, want, n, context);
    EXPECT_EQ(big.next_cursor.empty(), want.size() <= kMaxSearchLimit) << context;
    if (q.sort != Query::Sort::kRelevance) {
      EXPECT_EQ(big.total_estimate, want.size()) << context;
    } else {
      EXPECT_GE(big.total_estimate, want.size()) << context;
    }

    // Small pages: concatenated they are the same list, no duplicates, no gaps.
    const size_t limit = static_cast<size_t>(corpus.Int(1, 7));
    bool exhausted = false;
    HANSE_ASSERT_OK_AND_ASSIGN(std::vector<SearchHit> paged,
                               AllPages(index, q, limit, /*max_pages=*/25, &exhausted));
    if (exhausted) {
      ExpectSameHits(paged, want, want.size(), absl::StrCat(context, ", limit ", limit));
    } else {
      ExpectSameHits(paged, want, 25 * limit, absl::StrCat(context, ", limit ", limit));
    }
    std::set<std::string> ids;
    for (const SearchHit& h : paged) EXPECT_TRUE(ids.insert(h.id).second) << "duplicate " << h.id;
  }
}

// Small blocks make the small corpus have many blocks with very different score bounds, so that
// block-max WAND skips a lot; the default size checks the production layout. The writer's term
// cache runs at its default size (everything stays cached), tiny (constant eviction) and off.
struct BruteForceParams {
  size_t block_size;
  size_t term_cache_bytes;
};
class BruteForceTest : public ::testing::TestWithParam<BruteForceParams> {};

TEST_P(BruteForceTest, MatchesBruteForceReference) {
  Fixture f;
  f.options.block_size = GetParam().block_size;
  f.options.term_cache_bytes = GetParam().term_cache_bytes;
  ASSERT_THAT(f.OpenAll(), IsOk());
  Corpus corpus(20240601 + static_cast<uint32_t>(GetParam().block_size));
  Model model;

  // Index in batches of several documents, so appends within one batch are exercised.
  int next_id = 0;
  for (int batch = 0; batch < 60; ++batch) {
    std::vector<std::pair<IndexedDoc, const IndexedDoc*>> adds;
    for (int n = corpus.Int(1, 40); n > 0; --n) {
      adds.emplace_back(corpus.Doc(absl::StrCat("urn:uuid:", next_id++)), nullptr);
    }
    ASSERT_THAT(f.Apply(adds), IsOk());
    for (const auto& [doc, prev] : adds) model.Add(doc);
  }
  ASSERT_GT(model.size(), 600u);
  EXPECT_EQ(f.index->live_docs(), model.size());
  CheckQueries(*f.index, model, corpus, 40);

  // Removals and replacements (some in the same batch as other adds), then check again.
  for (int round = 0; round < 20; ++round) {
    std::vector<std::pair<IndexedDoc, const IndexedDoc*>> adds;
    std::vector<IndexedDoc> removes;
    std::vector<IndexedDoc> previous_versions;
    previous_versions.reserve(16);
    std::set<std::string> touched;
    for (int n = corpus.Int(1, 8); n > 0; --n) {
      const std::string id = absl::StrCat("urn:uuid:", corpus.Int(0, next_id - 1));
      const IndexedDoc* existing = model.Find(id);
      if (existing == nullptr || !touched.insert(id).second) continue;
      if (corpus.Int(0, 1) == 0) {
        removes.push_back(*existing);
      } else {
        previous_versions.push_back(*existing);
        adds.emplace_back(corpus.Doc(id), &previous_versions.back());
      }
    }
    adds.emplace_back(corpus.Doc(absl::StrCat("urn:uuid:", next_id++)), nullptr);
    ASSERT_THAT(f.Apply(adds, removes), IsOk());
    for (const auto& [doc, prev] : adds) model.Add(doc);  // a replacement gets a new docnum
    for (const IndexedDoc& doc : removes) model.Remove(doc.id);
  }
  // A replaced document re-added under the same id twice in one batch.
  {
    const std::string id = "urn:uuid:twice";
    IndexedDoc v1 = corpus.Doc(id), v2 = corpus.Doc(id);
    ASSERT_THAT(f.Apply({{v1, nullptr}, {v2, &v1}}), IsOk());
    model.Add(v1);
    model.Add(v2);
  }
  // An aborted batch leaves no trace (also not in the writer's cache), flushed or not, and
  // whether it appended to cached terms or replaced a document.
  {
    WriteBatch batch;
    ASSERT_THAT(f.index->Add(corpus.Doc("urn:uuid:aborted"), nullptr, &batch), IsOk());
    f.index->Aborted();
  }
  {
    WriteBatch batch;
    for (int n = 0; n < 30; ++n) {
      ASSERT_THAT(f.index->Add(corpus.Doc(absl::StrCat("urn:uuid:aborted", n)), nullptr, &batch),
                  IsOk());
    }
    const IndexedDoc* existing = model.Find("urn:uuid:twice");
    ASSERT_NE(existing, nullptr);
    ASSERT_THAT(f.index->Add(corpus.Doc("urn:uuid:twice"), existing, &batch), IsOk());
    ASSERT_THAT(f.index->Flush(&batch), IsOk());
    f.index->Aborted();  // the batch is not written
  }
  EXPECT_EQ(f.index->live_docs(), model.size());
  CheckQueries(*f.index, model, corpus, 60);

  // Everything survives a restart.
  ASSERT_THAT(f.OpenAll(), IsOk());
  EXPECT_EQ(f.index->live_docs(), model.size());
  CheckQueries(*f.index, model, corpus, 40);

  // And the index keeps working after the restart.
  std::vector<std::pair<IndexedDoc, const IndexedDoc*>> adds;
  for (int n = 0; n < 50; ++n) {
    adds.emplace_back(corpus.Doc(absl::StrCat("urn:uuid:", next_id++)), nullptr);
  }
  ASSERT_THAT(f.Apply(adds), IsOk());
  for (const auto& [doc, prev] : adds) model.Add(doc);
  CheckQueries(*f.index, model, corpus, 40);
}

INSTANTIATE_TEST_SUITE_P(
    BlockSizes, BruteForceTest,
    ::testing::Values(BruteForceParams{4, SearchIndexOptions().term_cache_bytes},
                      BruteForceParams{16, SearchIndexOptions().term_cache_bytes},
                      BruteForceParams{kBlockSize, SearchIndexOptions().term_cache_bytes},
                      BruteForceParams{4, 3000}, BruteForceParams{16, 0},
                      BruteForceParams{kBlockSize, 3000}));

// Flush puts each changed key into the batch once, however many documents of the batch share a
// term; the batch holds exactly the keys the changes need.
TEST(SearchIndexTest, FlushWritesEachKeyOnce) {
  Fixture f;
  ASSERT_THAT(f.OpenAll(), IsOk());
  auto make_docs = [](int first, int n) {
    std::vector<std::pair<IndexedDoc, const IndexedDoc*>> adds;
    for (int i = first; i < first + n; ++i) {
      IndexedDoc d;
      d.id = absl::StrCat("doc", i);
      d.title = absl::StrCat("common shared u", i);  // two shared terms, one of its own
      d.publisher = "Same Publisher";                // a shared filter term
      d.issued_day = 19000 + i % 7;
      adds.emplace_back(std::move(d), nullptr);
    }
    return adds;
  };
  auto count_ops = [](const WriteBatch& batch, size_t* postings, size_t* fields) {
    std::set<std::pair<int, std::string>> keys;
    std::map<int, std::string> last;  // per family: keys come in order (fast memtable inserts)
    *postings = *fields = 0;
    for (const WriteBatch::Op& op : batch.ops()) {
      const int family = static_cast<int>(op.family);
      EXPECT_TRUE(keys.insert({family, op.key}).second)
          << "key written twice: " << absl::CEscape(op.key);
      if (last.count(family)) {
        EXPECT_LT(last[family], op.key) << absl::CEscape(op.key);
      }
      last[family] = op.key;
      (op.family == Family::kPostings ? *postings : *fields) += 1;
    }
  };

  for (int round = 0; round < 2; ++round) {  // the second round appends to cached terms
    WriteBatch batch;
    for (const auto& [doc, previous] : make_docs(256 * round, 256)) {
      ASSERT_THAT(f.index->Add(doc, previous, &batch), IsOk());
    }
    EXPECT_TRUE(batch.empty()) << "Add stages; only Flush writes";
    ASSERT_THAT(f.index->Flush(&batch), IsOk());
    size_t postings = 0, fields = 0;
    count_ops(batch, &postings, &fields);
    // common, shared, the publisher: 256 postings each, two full blocks of 128 (block + header
    // each) and the meta; each doc's own term: one block, its header and its meta.
    EXPECT_EQ(postings, 3 * (2 * 2 + 1) + 256 * 3u) << "round " << round;
    // One issued-day chunk (1024 doc numbers), id -> doc and doc -> id per doc, stats, version.
    EXPECT_EQ(fields, 1 + 2 * 256 + 2u) << "round " << round;
    ASSERT_THAT(f.store->Write(batch, /*sync=*/false), IsOk());
    f.index->Committed();
    EXPECT_GE(f.index->cached_terms(), 256 * (round + 1) + 3u);
  }

  EXPECT_EQ(f.index->live_docs(), 512u);
  HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery("shared publisher:\"same publisher\""));
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage page, f.index->Search(q, kMaxSearchLimit, ""));
  EXPECT_EQ(page.hits.size(), 512u);
  HANSE_ASSERT_OK_AND_ASSIGN(Query one, ParseQuery("u300"));
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage hit, f.index->Search(one, 10, ""));
  ASSERT_EQ(hit.hits.size(), 1u);
  EXPECT_EQ(hit.hits[0].id, "doc300");

  // The same after a restart (nothing cached): the blocks on disk are complete.
  ASSERT_THAT(f.OpenAll(), IsOk());
  EXPECT_EQ(f.index->cached_terms(), 0u);
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage again, f.index->Search(q, kMaxSearchLimit, ""));
  EXPECT_EQ(again.hits.size(), 512u);
  ASSERT_THAT(f.Apply(make_docs(512, 10)), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage more, f.index->Search(q, kMaxSearchLimit, ""));
  EXPECT_EQ(more.hits.size(), 522u);
}

// Counts the postings reads of the write path.
class CountingStore : public Store {
 public:
  explicit CountingStore(Store* base) : base_(base) {}
  absl::StatusOr<std::optional<std::string>> Get(Family family,
                                                 absl::string_view key) const override {
    if (family == Family::kPostings) ++postings_gets;
    return base_->Get(family, key);
  }
  absl::Status Write(const WriteBatch& batch, bool sync) override {
    return base_->Write(batch, sync);
  }
  absl::Status Scan(
      Family family, absl::string_view prefix,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) const override {
    return base_->Scan(family, prefix, visit);
  }
  absl::Status ScanFrom(
      Family family, absl::string_view prefix, absl::string_view start,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) const override {
    return base_->ScanFrom(family, prefix, start, visit);
  }
  std::uint64_t DiskBytes() const override { return base_->DiskBytes(); }
  absl::Status Close() override { return absl::OkStatus(); }

  mutable uint64_t postings_gets = 0;

 private:
  Store* base_;
};

// Appending to terms the writer used recently reads neither their meta nor their last block
// again; with the cache off (or after an aborted batch) it does.
TEST(SearchIndexTest, HotTermsAreNotReadAgain) {
  for (const size_t cache_bytes : {SearchIndexOptions().term_cache_bytes, size_t{0}}) {
    ::hanse::testing::TempDir tmp;
    HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> base,
                               OpenRocksStore(tmp.Sub("store"), {.create_if_missing = true}));
    CountingStore store(base.get());
    HANSE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SearchIndex> index,
                               SearchIndex::Open(&store, {.term_cache_bytes = cache_bytes}));
    int next = 0;
    auto apply = [&](bool commit) {
      WriteBatch batch;
      for (int i = 0; i < 256; ++i, ++next) {
        IndexedDoc d;
        d.id = absl::StrCat("doc", next);
        d.title = "common shared words";
        d.language = "en";
        ASSERT_THAT(index->Add(d, nullptr, &batch), IsOk());
      }
      ASSERT_THAT(index->Flush(&batch), IsOk());
      if (!commit) {
        index->Aborted();
        return;
      }
      ASSERT_THAT(store.Write(batch, false), IsOk());
      index->Committed();
    };
    apply(true);
    const uint64_t first = store.postings_gets;
    EXPECT_EQ(first, 4u);  // the four metas, none there yet
    apply(true);
    const uint64_t second = store.postings_gets - first;
    if (cache_bytes > 0) {
      EXPECT_EQ(second, 0u);
      EXPECT_EQ(index->cached_terms(), 4u);
    } else {
      EXPECT_EQ(second, 8u);  // four metas and four last blocks
      EXPECT_EQ(index->cached_terms(), 0u);
    }
    apply(false);  // an aborted batch drops the states it touched: they are read again
    const uint64_t before = store.postings_gets;
    apply(true);
    EXPECT_EQ(store.postings_gets - before, 8u);
    EXPECT_EQ(index->live_docs(), 768u);
    HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery("shared language:en"));
    HANSE_ASSERT_OK_AND_ASSIGN(SearchPage page, index->Search(q, kMaxSearchLimit, ""));
    EXPECT_EQ(page.hits.size(), 768u);
    index.reset();
    ASSERT_THAT(base->Close(), IsOk());
  }
}

// Committing changes that were never flushed is a caller bug: the written batch cannot hold
// them, so they are dropped and the index stays as on disk.
TEST(SearchIndexTest, UnflushedChangesAreNotCommitted) {
  Fixture f;
  ASSERT_THAT(f.OpenAll(), IsOk());
  IndexedDoc d;
  d.id = "x";
  d.title = "hello world";
  ASSERT_THAT(f.Apply({{d, nullptr}}), IsOk());
  IndexedDoc e;
  e.id = "y";
  e.title = "hello again";
  WriteBatch batch;
  ASSERT_THAT(f.index->Add(e, nullptr, &batch), IsOk());
  ASSERT_THAT(f.store->Write(batch, false), IsOk());  // without Flush: nothing of the index
  f.index->Committed();
  EXPECT_EQ(f.index->live_docs(), 1u);
  // The index is still consistent: "y" can be indexed later, and "hello" finds both.
  ASSERT_THAT(f.Apply({{e, nullptr}}), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery("hello"));
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage page, f.index->Search(q, 10, ""));
  EXPECT_EQ(page.hits.size(), 2u);
  ASSERT_THAT(f.OpenAll(), IsOk());
  EXPECT_EQ(f.index->live_docs(), 2u);
}

TEST(SearchIndexTest, TopKSkipsBlocks) {
  Fixture f;
  ASSERT_THAT(f.OpenAll(), IsOk());
  // 20,000 equal documents containing "common" once, and a few that say it many times.
  std::vector<std::pair<IndexedDoc, const IndexedDoc*>> adds;
  for (int i = 0; i < 20000; ++i) {
    IndexedDoc d;
    d.id = absl::StrCat("doc", i);
    d.title = "common filler";
    if (i % 5000 == 4999) d.title = "common common common common";
    d.issued_day = i % 100;
    adds.emplace_back(std::move(d), nullptr);
    if (adds.size() == 1000) {
      ASSERT_THAT(f.Apply(adds), IsOk());
      adds.clear();
    }
  }
  HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery("common"));
  const uint64_t before = f.index->blocks_decoded();
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage page, f.index->Search(q, 10, ""));
  const uint64_t decoded = f.index->blocks_decoded() - before;
  ASSERT_EQ(page.hits.size(), 10u);
  EXPECT_EQ(page.hits[0].id, "doc4999");
  EXPECT_EQ(page.hits[3].id, "doc19999");
  EXPECT_EQ(page.hits[4].id, "doc0");
  EXPECT_EQ(page.hits[9].id, "doc5");
  // 157 blocks hold the postings; only the first and the four with a strong doc need reading.
  EXPECT_LE(decoded, 8u) << "decoded " << decoded << " blocks";

  // A selective filter drives the ranked list: few blocks read.
  IndexedDoc special;
  special.id = "special";
  special.title = "common rare";
  special.publisher = "Rare Publisher";
  ASSERT_THAT(f.Apply({{special, nullptr}}), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Query fq, ParseQuery("common publisher:\"rare publisher\""));
  const uint64_t before_filter = f.index->blocks_decoded();
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage fpage, f.index->Search(fq, 10, ""));
  ASSERT_EQ(fpage.hits.size(), 1u);
  EXPECT_EQ(fpage.hits[0].id, "special");
  EXPECT_LE(f.index->blocks_decoded() - before_filter, 4u);
}

TEST(SearchIndexTest, BadCursorsAreRefused) {
  Fixture f;
  ASSERT_THAT(f.OpenAll(), IsOk());
  std::vector<std::pair<IndexedDoc, const IndexedDoc*>> adds;
  for (int i = 0; i < 10; ++i) {
    IndexedDoc d;
    d.id = absl::StrCat("d", i);
    d.title = "air quality";
    d.issued_day = i;
    adds.emplace_back(std::move(d), nullptr);
  }
  ASSERT_THAT(f.Apply(adds), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Query a, ParseQuery("air"));
  HANSE_ASSERT_OK_AND_ASSIGN(Query b, ParseQuery("quality"));
  HANSE_ASSERT_OK_AND_ASSIGN(Query a_by_date, ParseQuery("air sort:issued"));
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage page, f.index->Search(a, 3, ""));
  ASSERT_FALSE(page.next_cursor.empty());
  EXPECT_THAT(f.index->Search(a, 3, page.next_cursor), IsOk());
  for (const char* garbage : {"!!!", "abc", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                              "a-very-long-cursor-that-is-certainly-not-one-of-ours-at-all-ok"}) {
    EXPECT_THAT(f.index->Search(a, 3, garbage),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("malformed")))
        << garbage;
  }
  EXPECT_THAT(f.index->Search(b, 3, page.next_cursor),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("different query")));
  EXPECT_THAT(f.index->Search(a_by_date, 3, page.next_cursor),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("different query")));
  std::string tampered = page.next_cursor;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  EXPECT_THAT(f.index->Search(a, 3, tampered), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SearchIndexTest, LimitMustBeInRange) {
  Fixture f;
  ASSERT_THAT(f.OpenAll(), IsOk());
  Query q;
  EXPECT_THAT(f.index->Search(q, 0, ""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(f.index->Search(q, kMaxSearchLimit + 1, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage empty, f.index->Search(q, kMaxSearchLimit, ""));
  EXPECT_THAT(empty.hits, IsEmpty());
  EXPECT_TRUE(empty.next_cursor.empty());
}

TEST(SearchIndexTest, WriterMistakesAreRefused) {
  Fixture f;
  ASSERT_THAT(f.OpenAll(), IsOk());
  IndexedDoc d;
  d.id = "x";
  d.title = "hello world";
  ASSERT_THAT(f.Apply({{d, nullptr}}), IsOk());

  IndexedDoc other = d;
  other.title = "something else";
  WriteBatch batch;
  EXPECT_THAT(f.index->Add(d, nullptr, &batch), StatusIs(absl::StatusCode::kFailedPrecondition));
  f.index->Aborted();
  EXPECT_THAT(f.index->Add(d, &other, &batch), StatusIs(absl::StatusCode::kFailedPrecondition));
  f.index->Aborted();
  EXPECT_THAT(f.index->Remove(other, &batch), StatusIs(absl::StatusCode::kFailedPrecondition));
  f.index->Aborted();
  IndexedDoc missing;
  missing.id = "nope";
  EXPECT_THAT(f.index->Remove(missing, &batch), StatusIs(absl::StatusCode::kNotFound));
  f.index->Aborted();
  IndexedDoc no_id;
  EXPECT_THAT(f.index->Add(no_id, nullptr, &batch), StatusIs(absl::StatusCode::kInvalidArgument));
  IndexedDoc far = d;
  far.id = "far";
  far.issued_day = int64_t{1} << 40;
  EXPECT_THAT(f.index->Add(far, nullptr, &batch), StatusIs(absl::StatusCode::kInvalidArgument));
  f.index->Aborted();

  // Remove, then the id is free again.
  ASSERT_THAT(f.Apply({}, {d}), IsOk());
  EXPECT_EQ(f.index->live_docs(), 0u);
  ASSERT_THAT(f.Apply({{other, nullptr}}), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery("hello something"));
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage page, f.index->Search(q, 10, ""));
  ASSERT_EQ(page.hits.size(), 1u);
  EXPECT_EQ(page.hits[0].id, "x");
}

TEST(SearchIndexTest, UncommittedChangesAreInvisible) {
  Fixture f;
  ASSERT_THAT(f.OpenAll(), IsOk());
  IndexedDoc d;
  d.id = "x";
  d.title = "hello world";
  WriteBatch batch;
  ASSERT_THAT(f.index->Add(d, nullptr, &batch), IsOk());
  ASSERT_THAT(f.index->Flush(&batch), IsOk());
  ASSERT_THAT(f.store->Write(batch, false), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery("hello"));
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage before, f.index->Search(q, 10, ""));
  EXPECT_THAT(before.hits, IsEmpty());
  f.index->Committed();
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage after, f.index->Search(q, 10, ""));
  ASSERT_EQ(after.hits.size(), 1u);
}

TEST(SearchIndexTest, SearchesRunWhileTheWriterCommits) {
  Fixture f;
  f.options.block_size = 8;
  ASSERT_THAT(f.OpenAll(), IsOk());
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  auto reader = [&] {
    HANSE_ASSERT_OK_AND_ASSIGN(Query ranked, ParseQuery("alpha beta"));
    HANSE_ASSERT_OK_AND_ASSIGN(Query filtered, ParseQuery("alpha theme:even"));
    size_t last_seen = 0;
    while (!done.load()) {
      for (const Query* q : {&ranked, &filtered}) {
        absl::StatusOr<SearchPage> page = f.index->Search(*q, 5, "");
        if (!page.ok()) ++failures;
      }
      absl::StatusOr<SearchPage> all = f.index->Search(Query(), 1000, "");
      if (!all.ok() || all->total_estimate < last_seen) ++failures;  // commits only add here
      if (all.ok()) last_seen = all->total_estimate;
    }
  };
  std::thread r1(reader), r2(reader);
  for (int b = 0; b < 40; ++b) {
    std::vector<std::pair<IndexedDoc, const IndexedDoc*>> adds;
    for (int i = 0; i < 25; ++i) {
      IndexedDoc d;
      d.id = absl::StrCat("doc", b, "-", i);
      d.title = (i % 3 == 0) ? "alpha beta" : "alpha gamma";
      if (i % 2 == 0) d.themes = {"even"};
      d.issued_day = b;
      adds.emplace_back(std::move(d), nullptr);
    }
    ASSERT_THAT(f.Apply(adds), IsOk());
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(failures.load(), 0);
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage all, f.index->Search(Query(), 1000, ""));
  EXPECT_EQ(all.total_estimate, 1000u);
}

TEST(SearchIndexTest, ScoreFunctionIsBm25) {
  // The textbook form, against the rearranged one the index uses.
  const double idf = Bm25Idf(1000, 10);
  EXPECT_NEAR(idf, std::log(1 + (1000 - 10 + 0.5) / (10 + 0.5)), 1e-12);
  for (uint32_t tf : {1u, 2u, 7u}) {
    for (uint32_t len : {1u, 10u, 300u}) {
      const double avg = 42.5;
      const double textbook =
          idf * tf * (kBm25K1 + 1) / (tf + kBm25K1 * (1 - kBm25B + kBm25B * len / avg));
      EXPECT_NEAR(Bm25TermScore(idf, tf, len, avg), textbook, 1e-12 * textbook);
    }
  }
  EXPECT_EQ(Bm25TermScore(idf, 0, 10, 1.0), 0.0);
}

TEST(SearchIndexTest, TitleWeighsDouble) {
  Fixture f;
  ASSERT_THAT(f.OpenAll(), IsOk());
  IndexedDoc in_title, in_description;
  in_title.id = "t";
  in_title.title = "ozone";
  in_title.description = "measurements";
  in_description.id = "d";
  in_description.title = "measurements";
  in_description.description = "ozone";
  ASSERT_THAT(f.Apply({{in_description, nullptr}, {in_title, nullptr}}), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Query q, ParseQuery("ozone"));
  HANSE_ASSERT_OK_AND_ASSIGN(SearchPage page, f.index->Search(q, 10, ""));
  ASSERT_EQ(page.hits.size(), 2u);
  EXPECT_EQ(page.hits[0].id, "t");
}

}  // namespace
}  // namespace hanse::catalog
