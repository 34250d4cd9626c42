// The search index in one file (~1.3k lines) on purpose: the posting-block format, the block
// maxima and the WAND traversal that reads them are one algorithm whose invariants span all
// three; split apart, each half would have to restate the other's layout.
#include "catalog/search_index.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <queue>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "catalog/tokenizer.h"

// Query evaluation
//
// Relevance (sort:relevance with terms) is block-max WAND (Ding & Suel 2011) over one cursor per
// term, with a bounded heap of the best limit+1 hits:
//  1. Cursors are kept sorted by their current doc. The pivot is the first cursor at which the
//     sum of the terms' global score bounds (max over their blocks) could beat the heap's
//     threshold (the worst score in a full heap); docs before the pivot doc cannot.
//  2. Block-max check: for each cursor up to the pivot, find (from headers only, without reading
//     the block) the block that would hold the pivot doc, and sum those blocks' bounds. If that
//     cannot beat the threshold, no doc up to the end of the shortest of these blocks (nor up to
//     the next cursor's doc) can: all those cursors jump past it, skipping whole blocks unread.
//  3. Filters: each filter field is a union of value posting lists, the fields are intersected by
//     leap-frogging. If the pivot doc fails them, every cursor jumps to the next doc that passes.
//     A selective filter therefore drives the ranked cursors (skipping their blocks via headers),
//     and an unselective one costs a header walk and a few block reads.
//  4. Otherwise the cursors before the pivot are moved to the pivot doc; once all are on it, the
//     doc is scored (if live, in the issued range, and after the page cursor) and offered to the
//     heap.
// Docs are visited in increasing doc-number order, so a doc whose score only ties the threshold
// loses (ties go to the lower doc number): a block is skipped when its bound is <= the threshold.
// Bounds and scores are summed in query-term order, so with the monotone Bm25TermScore the bound
// is >= the score bit for bit and no epsilon is needed.
//
// sort:issued/-issued enumerate every match (union of the terms, intersected with the filters; or
// the filter intersection; or all live docs) and keep the best limit+1 in a heap by (day, doc).
// That is linear in the matches: fine for browsing, not the ranked top-k path.

namespace hanse::catalog {
namespace {

constexpr int32_t kDeadDay = std::numeric_limits<int32_t>::min();
constexpr uint32_t kEnd = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kDaysPerChunk = 1024;
constexpr absl::string_view kFormatVersion = "1";
constexpr uint8_t kCursorVersion = 1;

// ---- Encoding --------------------------------------------------------------------------------

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(absl::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool GetVarint32(absl::string_view* in, uint32_t* v) {
  uint64_t x;
  if (!GetVarint(in, &x) || x > std::numeric_limits<uint32_t>::max()) return false;
  *v = static_cast<uint32_t>(x);
  return true;
}

void PutFixed(std::string* out, uint64_t v, int bytes) {  // big-endian, so keys sort by number
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t GetFixed(absl::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::string Be32(uint32_t v) {
  std::string s;
  PutFixed(&s, v, 4);
  return s;
}

// ---- Keys ------------------------------------------------------------------------------------
// Terms never contain NUL (the tokenizer splits on it, NormalizeFilterValue drops it), so
// term + "\0" is a prefix of exactly one term's keys.

std::string MetaKey(absl::string_view term) { return absl::StrCat("m", term); }
std::string HeaderPrefix(absl::string_view term) {
  return absl::StrCat("h", term, absl::string_view("\0", 1));
}
std::string BlockKey(absl::string_view term, uint32_t seq) {
  return absl::StrCat("b", term, absl::string_view("\0", 1), Be32(seq));
}
std::string HeaderKey(absl::string_view term, uint32_t seq) {
  return absl::StrCat(HeaderPrefix(term), Be32(seq));
}
std::string IdKey(absl::string_view id) { return absl::StrCat("i", id); }
std::string DocKey(uint32_t docnum) { return absl::StrCat("n", Be32(docnum)); }
std::string DayChunkKey(uint32_t chunk) { return absl::StrCat("a", Be32(chunk)); }
constexpr absl::string_view kStatsKey = "s";
constexpr absl::string_view kVersionKey = "v";

// A filter value's posting list is that of a pseudo-term no text token can equal (tokens hold no
// control characters).
std::optional<char> FieldCode(absl::string_view field) {
  static constexpr struct {
    absl::string_view name;
    char code;
  } kCodes[] = {{"publisher", 'p'}, {"theme", 't'},    {"keyword", 'k'}, {"licence", 'l'},
                {"mediatype", 'm'}, {"language", 'g'}, {"country", 'c'}, {"hosting", 'h'}};
  for (const auto& c : kCodes) {
    if (c.name == field) return c.code;
  }
  return std::nullopt;
}

std::string FilterTerm(char code, absl::string_view normalized_value) {
  return absl::StrCat("\x01", absl::string_view(&code, 1), normalized_value);
}

// ---- Documents -------------------------------------------------------------------------------

struct Analysis {
  std::map<std::string, uint32_t> tf;  // ranked terms
  uint32_t length = 0;
  std::set<std::string> filter_terms;
};

Analysis Analyze(const IndexedDoc& doc) {
  Analysis a;
  auto count = [&](const std::vector<std::string>& tokens, uint32_t weight) {
    for (const std::string& t : tokens) a.tf[t] += weight;
    a.length += static_cast<uint32_t>(tokens.size()) * weight;
  };
  // Title tokens count twice: a word in the title says more about a dataset than one in its
  // description.
  count(Tokenize(doc.title), 2);
  count(Tokenize(doc.description), 1);
  std::vector<std::string> keyword_tokens;
  for (const std::string& k : doc.keywords) {
    if (keyword_tokens.size() >= kMaxTokensPerField) break;
    Tokenize(k, &keyword_tokens, kMaxTokensPerField - keyword_tokens.size());
  }
  count(keyword_tokens, 1);

  auto filter = [&](char code, absl::string_view value) {
    std::string v = NormalizeFilterValue(value);
    if (!v.empty()) a.filter_terms.insert(FilterTerm(code, v));
  };
  filter('p', doc.publisher);
  filter('l', doc.licence);
  filter('m', doc.media_type);
  filter('g', doc.language);
  filter('c', doc.country);
  filter('h', doc.hosting);
  for (const std::string& t : doc.themes) filter('t', t);
  for (const std::string& k : doc.keywords) filter('k', k);
  return a;
}

// FNV-1a over every indexed field, length-prefixed. Stored with the id so that Remove and
// replacement can check that the caller's idea of the indexed document is the index's: the
// statistics would drift silently otherwise. Stable across runs and builds (unlike absl::Hash).
class Fnv {
 public:
  void Add(absl::string_view s) {
    AddInt(s.size());
    for (char c : s) Byte(static_cast<unsigned char>(c));
  }
  void AddInt(uint64_t v) {
    for (int i = 0; i < 8; ++i) Byte(static_cast<unsigned char>(v >> (8 * i)));
  }
  uint64_t value() const { return h_; }

 private:
  void Byte(unsigned char b) {
    h_ ^= b;
    h_ *= 1099511628211ull;
  }
  uint64_t h_ = 14695981039346656037ull;
};

uint64_t Fingerprint(const IndexedDoc& doc) {
  Fnv f;
  for (const std::string* s : {&doc.title, &doc.description, &doc.publisher, &doc.licence,
                               &doc.media_type, &doc.language, &doc.country, &doc.hosting}) {
    f.Add(*s);
  }
  f.AddInt(doc.keywords.size());
  for (const std::string& k : doc.keywords) f.Add(k);
  f.AddInt(doc.themes.size());
  for (const std::string& t : doc.themes) f.Add(t);
  f.AddInt(static_cast<uint64_t>(doc.issued_day));
  return f.value();
}

// ---- Posting blocks --------------------------------------------------------------------------

struct BlockHeader {
  uint32_t seq = 0;
  uint32_t last_doc = 0;
  uint32_t count = 0;
  uint32_t max_tf = 0;
  uint32_t min_length = 0;
};

std::string EncodeHeader(const BlockHeader& h) {
  std::string out;
  PutVarint(&out, h.last_doc);
  PutVarint(&out, h.count);
  PutVarint(&out, h.max_tf);
  PutVarint(&out, h.min_length);
  return out;
}

bool DecodeHeader(absl::string_view in, BlockHeader* h) {
  return GetVarint32(&in, &h->last_doc) && GetVarint32(&in, &h->count) &&
         GetVarint32(&in, &h->max_tf) && GetVarint32(&in, &h->min_length);
}

absl::Status CorruptPostings(absl::string_view term, absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat("search index: corrupt ", what, " for term \"", absl::CEscape(term), "\""));
}

}  // namespace

double Bm25Idf(uint64_t live_docs, uint64_t df) {
  const double n = static_cast<double>(live_docs), d = static_cast<double>(df);
  return std::log(1.0 + (n - d + 0.5) / (d + 0.5));
}

double Bm25TermScore(double idf, uint32_t tf, uint32_t doc_length, double avg_doc_length) {
  if (tf == 0) return 0.0;
  // tf * (k1 + 1) / (tf + norm), rearranged so that every floating-point step is monotone in a
  // single direction (tf appears once, doc_length once).
  const double norm =
      kBm25K1 * ((1.0 - kBm25B) + kBm25B * (static_cast<double>(doc_length) / avg_doc_length));
  return idf * ((kBm25K1 + 1.0) / (1.0 + norm / static_cast<double>(tf)));
}

namespace {

struct BlockCodec {
  template <typename P>
  static std::string Encode(const std::vector<P>& postings) {
    std::string out;
    PutVarint(&out, postings.size());
    uint32_t prev = 0;
    for (size_t i = 0; i < postings.size(); ++i) {
      PutVarint(&out, i == 0 ? postings[i].doc : postings[i].doc - prev);
      prev = postings[i].doc;
    }
    for (const P& p : postings) PutVarint(&out, p.tf);
    for (const P& p : postings) PutVarint(&out, p.length);
    return out;
  }
  // Decodes into parallel arrays; false if malformed.
  static bool Decode(absl::string_view in, std::vector<uint32_t>* docs, std::vector<uint32_t>* tfs,
                     std::vector<uint32_t>* lengths) {
    uint32_t n;
    if (!GetVarint32(&in, &n) || n > kMaxBlockSize) return false;
    docs->resize(n);
    tfs->resize(n);
    lengths->resize(n);
    uint64_t doc = 0;
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t delta;
      if (!GetVarint32(&in, &delta)) return false;
      if (i > 0 && delta == 0) return false;  // doc numbers strictly increase
      doc = (i == 0) ? delta : doc + delta;
      if (doc >= kEnd) return false;
      (*docs)[i] = static_cast<uint32_t>(doc);
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (!GetVarint32(&in, &(*tfs)[i])) return false;
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (!GetVarint32(&in, &(*lengths)[i])) return false;
    }
    return in.empty();
  }
};

// Iterates one posting list. Reads every header at Init (they are small), a block only when the
// iteration has to look inside it. SkipTo() is lazy: it only records a lower bound for the
// position, so that block-max WAND can jump over a run of blocks (and the filters can drive the
// ranked lists) without reading them; Materialize() reads the block when the exact doc is needed.
// Errors make the cursor end and are reported by status().
class PostingCursor {
 public:
  absl::Status Init(const Store* store, std::string term, std::atomic<uint64_t>* decoded) {
    store_ = store;
    term_ = std::move(term);
    decoded_ = decoded;
    absl::Status inner;
    HANSE_RETURN_IF_ERROR(
        store_->Scan(Family::kPostings, HeaderPrefix(term_),
                     [&](absl::string_view key, absl::string_view value) {
                       BlockHeader h;
                       if (!DecodeHeader(value, &h) || key.size() < 4) {
                         inner = CorruptPostings(term_, "block header");
                         return false;
                       }
                       h.seq = static_cast<uint32_t>(GetFixed(key.substr(key.size() - 4), 4));
                       headers_.push_back(h);
                       return true;
                     }),
        "reading search postings");
    HANSE_RETURN_IF_ERROR(inner);
    for (size_t i = 1; i < headers_.size(); ++i) {
      if (headers_[i].last_doc <= headers_[i - 1].last_doc) {
        return CorruptPostings(term_, "block order");
      }
    }
    if (headers_.empty()) End();
    return status_;
  }

  // Computes per-block score bounds for a ranked term.
  void SetScoring(double idf, double avg_length) {
    idf_ = idf;
    avg_length_ = avg_length;
    bounds_.resize(headers_.size());
    max_bound_ = 0;
    for (size_t i = 0; i < headers_.size(); ++i) {
      bounds_[i] = Bm25TermScore(idf, headers_[i].max_tf, headers_[i].min_length, avg_length);
      max_bound_ = std::max(max_bound_, bounds_[i]);
    }
  }

  // The current doc, or (after SkipTo) a lower bound of it; kEnd when exhausted.
  uint32_t doc() const { return doc_; }
  bool exact() const { return !lazy_; }
  // Only when exact() and doc() != kEnd.
  double Score() const { return Bm25TermScore(idf_, tfs_[pos_], lengths_[pos_], avg_length_); }
  double max_bound() const { return max_bound_; }
  const absl::Status& status() const { return status_; }
  size_t num_blocks() const { return headers_.size(); }
  // Bound and last doc of block b (b == num_blocks(): past the end).
  double bound(size_t b) const { return b < bounds_.size() ? bounds_[b] : 0.0; }
  uint32_t block_last(size_t b) const { return b < headers_.size() ? headers_[b].last_doc : kEnd; }

  void Next() {
    if (doc_ == kEnd) return;
    if (lazy_) Materialize();
    if (doc_ == kEnd) return;
    if (pos_ + 1 < docs_.size()) {
      doc_ = docs_[++pos_];
      return;
    }
    Seek(doc_ + 1);
  }

  // Moves to the first doc >= target, exactly.
  void NextGeq(uint32_t target) {
    if (lazy_) {
      lazy_ = false;
      Seek(std::max(doc_, target));
      return;
    }
    if (doc_ >= target) return;  // also at kEnd
    Seek(target);
  }

  // Moves to the first doc >= target, reading nothing unless the target is in the block already
  // decoded.
  void SkipTo(uint32_t target) {
    if (doc_ == kEnd || target <= doc_) return;
    if (target > headers_.back().last_doc) {
      End();
      return;
    }
    if (block_ < headers_.size() && target <= headers_[block_].last_doc) {
      lazy_ = false;
      Seek(target);
      return;
    }
    doc_ = target;
    lazy_ = true;
  }

  void Materialize() {
    if (!lazy_) return;
    lazy_ = false;
    Seek(doc_);
  }

  // The block that would hold `target` (>= doc()), found from the headers alone.
  size_t ShallowBlock(uint32_t target) {
    const size_t base = block_ == kNoBlock ? 0 : block_;
    if (shallow_ < base || (shallow_ > base && headers_[shallow_ - 1].last_doc >= target)) {
      shallow_ = base;
    }
    while (shallow_ < headers_.size() && headers_[shallow_].last_doc < target) ++shallow_;
    return shallow_;
  }

 private:
  static constexpr size_t kNoBlock = std::numeric_limits<size_t>::max();

  void Seek(uint32_t target) {
    size_t b = block_ == kNoBlock ? 0 : block_;
    while (true) {
      while (b < headers_.size() && headers_[b].last_doc < target) ++b;
      if (b >= headers_.size()) {
        End();
        return;
      }
      if (b != block_) {
        if (!Load(b)) {
          End();
          return;
        }
        pos_ = 0;
      }
      while (pos_ < docs_.size() && docs_[pos_] < target) ++pos_;
      if (pos_ < docs_.size()) {
        doc_ = docs_[pos_];
        return;
      }
      ++b;  // fewer postings than the header promised: a concurrent append is not visible yet
    }
  }

  bool Load(size_t b) {
    absl::StatusOr<std::optional<std::string>> value =
        store_->Get(Family::kPostings, BlockKey(term_, headers_[b].seq));
    if (!value.ok()) {
      status_ = Annotate(value.status(), "reading search postings");
      return false;
    }
    if (!value->has_value() || !BlockCodec::Decode(**value, &docs_, &tfs_, &lengths_)) {
      status_ = CorruptPostings(term_, "posting block");
      return false;
    }
    decoded_->fetch_add(1, std::memory_order_relaxed);
    block_ = b;
    return true;
  }

  void End() {
    doc_ = kEnd;
    lazy_ = false;
  }

  const Store* store_ = nullptr;
  std::string term_;
  std::atomic<uint64_t>* decoded_ = nullptr;
  std::vector<BlockHeader> headers_;
  std::vector<double> bounds_;
  double max_bound_ = 0, idf_ = 0, avg_length_ = 1;
  size_t block_ = kNoBlock, shallow_ = 0, pos_ = 0;
  std::vector<uint32_t> docs_, tfs_, lengths_;
  uint32_t doc_ = 0;
  bool lazy_ = true;  // doc_ is a lower bound; nothing read yet for it
  absl::Status status_;
};

struct Candidate {
  double score = 0;
  int64_t day = 0;
  uint32_t doc = 0;
};

// Strict "comes before in the result order".
struct Order {
  Query::Sort sort;
  bool operator()(const Candidate& a, const Candidate& b) const {
    switch (sort) {
      case Query::Sort::kRelevance:
        if (a.score != b.score) return a.score > b.score;
        return a.doc < b.doc;
      case Query::Sort::kIssuedAsc:
        if (a.day != b.day) return a.day < b.day;
        return a.doc < b.doc;
      case Query::Sort::kIssuedDesc:
        if (a.day != b.day) return a.day > b.day;
        return a.doc > b.doc;
    }
    return false;
  }
};

// Keeps the best k candidates; top() is the worst of them.
class TopK {
 public:
  TopK(Order order, size_t k, std::optional<Candidate> after)
      : order_(order), k_(k), after_(after), heap_(order) {}
  bool full() const { return heap_.size() >= k_; }
  double threshold() const { return heap_.top().score; }
  void Offer(const Candidate& c) {
    if (after_ && !order_(*after_, c)) return;  // on an earlier page
    if (!full()) {
      heap_.push(c);
    } else if (order_(c, heap_.top())) {
      heap_.pop();
      heap_.push(c);
    }
  }
  std::vector<Candidate> Sorted() && {
    std::vector<Candidate> out;
    while (!heap_.empty()) {
      out.push_back(heap_.top());
      heap_.pop();
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

 private:
  Order order_;
  size_t k_;
  std::optional<Candidate> after_;
  std::priority_queue<Candidate, std::vector<Candidate>, Order> heap_;
};

uint64_t QueryHash(const Query& q) {
  Fnv f;
  f.AddInt(q.terms.size());
  for (const std::string& t : q.terms) f.Add(t);  // order matters: it is the summation order
  f.AddInt(q.filters.size());
  for (const auto& [field, values] : q.filters) {
    f.Add(field);
    std::vector<std::string> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    f.AddInt(sorted.size());
    for (const std::string& v : sorted) f.Add(v);
  }
  f.AddInt(q.issued_min_day.has_value());
  f.AddInt(static_cast<uint64_t>(q.issued_min_day.value_or(0)));
  f.AddInt(q.issued_max_day.has_value());
  f.AddInt(static_cast<uint64_t>(q.issued_max_day.value_or(0)));
  f.AddInt(static_cast<uint64_t>(q.sort));
  return f.value();
}

// Cursor: version, sort, query hash, score bits, day, doc number; base64url without padding.
std::string EncodeCursor(const Query& q, uint64_t hash, const Candidate& last) {
  std::string raw;
  raw.push_back(static_cast<char>(kCursorVersion));
  raw.push_back(static_cast<char>(q.sort));
  PutFixed(&raw, hash, 8);
  uint64_t bits;
  std::memcpy(&bits, &last.score, sizeof bits);
  PutFixed(&raw, bits, 8);
  PutFixed(&raw, static_cast<uint64_t>(last.day), 8);
  PutFixed(&raw, last.doc, 4);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<Candidate> DecodeCursor(const Query& q, uint64_t hash, absl::string_view cursor) {
  std::string raw;
  if (cursor.size() > 64 || !absl::WebSafeBase64Unescape(cursor, &raw) || raw.size() != 30 ||
      static_cast<uint8_t>(raw[0]) != kCursorVersion) {
    return absl::InvalidArgumentError("malformed search cursor");
  }
  if (static_cast<uint8_t>(raw[1]) != static_cast<uint8_t>(q.sort) ||
      GetFixed(absl::string_view(raw).substr(2), 8) != hash) {
    return absl::InvalidArgumentError(
        "search cursor belongs to a different query; start again without a cursor");
  }
  Candidate c;
  uint64_t bits = GetFixed(absl::string_view(raw).substr(10), 8);
  std::memcpy(&c.score, &bits, sizeof bits);
  c.day = static_cast<int64_t>(GetFixed(absl::string_view(raw).substr(18), 8));
  c.doc = static_cast<uint32_t>(GetFixed(absl::string_view(raw).substr(26), 4));
  return c;
}

}  // namespace

// Runs one query against the committed state; the caller holds the reader lock.
class SearchIndex::Evaluator {
 public:
  Evaluator(const SearchIndex& index, const Query& query)
      : index_(index), query_(query), sort_(query.sort) {
    if (query_.terms.empty() && sort_ == Query::Sort::kRelevance) {
      sort_ = Query::Sort::kIssuedDesc;  // nothing to rank by
    }
  }

  absl::StatusOr<SearchPage> Run(size_t limit, absl::string_view cursor_text) {
    Query hashed_query = query_;
    hashed_query.sort = sort_;
    const uint64_t hash = QueryHash(hashed_query);
    std::optional<Candidate> after;
    if (!cursor_text.empty()) {
      HANSE_ASSIGN_OR_RETURN(after, DecodeCursor(hashed_query, hash, cursor_text));
    }
    HANSE_RETURN_IF_ERROR(OpenFilters());
    HANSE_RETURN_IF_ERROR(OpenTerms());

    TopK top(Order{sort_}, limit + 1, after);
    uint64_t total = 0;
    if (sort_ == Query::Sort::kRelevance) {
      RankTopK(&top);
      total = RelevanceEstimate();
    } else {
      total = EnumerateAll(&top);
    }
    for (const auto& t : terms_) HANSE_RETURN_IF_ERROR(t.cursor.status());
    for (const auto& g : groups_) {
      for (const auto& c : g) HANSE_RETURN_IF_ERROR(c.status());
    }

    std::vector<Candidate> best = std::move(top).Sorted();
    SearchPage page;
    page.total_estimate = total;
    const size_t n = std::min(best.size(), limit);
    for (size_t i = 0; i < n; ++i) {
      HANSE_ASSIGN_OR_RETURN(std::optional<std::string> id,
                             index_.store_->Get(Family::kFields, DocKey(best[i].doc)),
                             "reading search index");
      if (!id.has_value()) {
        return absl::DataLossError(
            absl::StrCat("search index: no id for doc number ", best[i].doc));
      }
      page.hits.push_back({std::move(*id), best[i].score, best[i].day});
    }
    if (best.size() > limit) page.next_cursor = EncodeCursor(hashed_query, hash, best[limit - 1]);
    return page;
  }

 private:
  struct Term {
    PostingCursor cursor;
    size_t index;  // position in query order
    uint64_t df;
  };

  absl::Status OpenFilters() {
    for (const auto& [field, values] : query_.filters) {
      std::optional<char> code = FieldCode(field);
      if (!code) return absl::InvalidArgumentError(absl::StrCat("unknown filter field ", field));
      if (values.empty()) continue;
      std::vector<PostingCursor>& group = groups_.emplace_back();
      uint64_t df = 0;
      group.reserve(values.size());
      for (const std::string& v : values) {
        const std::string term = FilterTerm(*code, NormalizeFilterValue(v));
        HANSE_ASSIGN_OR_RETURN(TermMeta meta, ReadMeta(term));
        df += meta.df;
        HANSE_RETURN_IF_ERROR(
            group.emplace_back().Init(index_.store_, term, &index_.blocks_decoded_));
      }
      filter_df_ = std::min(filter_df_, df);
    }
    return absl::OkStatus();
  }

  absl::Status OpenTerms() {
    const Stats& stats = index_.stats_;
    const double avg =
        stats.live_docs > 0 && stats.total_length > 0
            ? static_cast<double>(stats.total_length) / static_cast<double>(stats.live_docs)
            : 1.0;
    terms_.reserve(query_.terms.size());
    for (size_t i = 0; i < query_.terms.size(); ++i) {
      HANSE_ASSIGN_OR_RETURN(TermMeta meta, ReadMeta(query_.terms[i]));
      if (meta.num_blocks == 0) continue;
      Term& t = terms_.emplace_back();
      t.index = i;
      t.df = meta.df;
      HANSE_RETURN_IF_ERROR(t.cursor.Init(index_.store_, query_.terms[i], &index_.blocks_decoded_));
      t.cursor.SetScoring(Bm25Idf(stats.live_docs, meta.df), avg);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<TermMeta> ReadMeta(const std::string& term) {
    HANSE_ASSIGN_OR_RETURN(std::optional<std::string> value,
                           index_.store_->Get(Family::kPostings, MetaKey(term)),
                           "reading search index");
    TermMeta meta;
    if (!value) return meta;
    absl::string_view in = *value;
    if (!GetVarint(&in, &meta.df) || !GetVarint32(&in, &meta.num_blocks)) {
      return CorruptPostings(term, "term meta");
    }
    return meta;
  }

  // Live, within the issued range; sets *day.
  bool Visible(uint32_t doc, int64_t* day) const {
    if (doc >= index_.days_.size()) return false;  // not committed yet
    const int32_t d = index_.days_[doc];
    if (d == kDeadDay) return false;
    if (query_.issued_min_day && d < *query_.issued_min_day) return false;
    if (query_.issued_max_day && d > *query_.issued_max_day) return false;
    *day = d;
    return true;
  }

  // The first doc >= x in every filter field (kEnd if none); x when there are no filters.
  uint32_t FilterNextGeq(uint32_t x) {
    if (groups_.empty()) return x;
    size_t agreed = 0;
    for (size_t g = 0;; g = (g + 1) % groups_.size()) {
      uint32_t y = kEnd;
      for (PostingCursor& c : groups_[g]) {
        c.NextGeq(x);
        y = std::min(y, c.doc());
      }
      if (y == kEnd) return kEnd;
      if (y != x) {  // this field moved the target: the others must agree again
        x = y;
        agreed = 0;
      }
      if (++agreed == groups_.size()) return x;
    }
  }

  // Sums per-term values in query-term order (see the file comment on why the order matters).
  template <typename F>
  double SumInTermOrder(const std::vector<Term*>& order, size_t upto, F value) {
    std::fill(scratch_.begin(), scratch_.end(), 0.0);
    for (size_t i = 0; i <= upto; ++i) scratch_[order[i]->index] = value(order[i]);
    double sum = 0;
    for (double v : scratch_) sum += v;
    return sum;
  }

  void RankTopK(TopK* top) {
    std::vector<Term*> order;
    for (Term& t : terms_) order.push_back(&t);
    scratch_.assign(query_.terms.size(), 0.0);
    auto may_beat = [&](double bound) { return !top->full() || bound > top->threshold(); };
    auto by_doc = [](const Term* a, const Term* b) { return a->cursor.doc() < b->cursor.doc(); };
    while (true) {
      std::sort(order.begin(), order.end(), by_doc);  // nearly sorted, at most 32 entries
      // 1. Pivot.
      size_t pivot = order.size();
      for (size_t i = 0; i < order.size() && order[i]->cursor.doc() != kEnd; ++i) {
        if (may_beat(SumInTermOrder(order, i, [](Term* t) { return t->cursor.max_bound(); }))) {
          pivot = i;
          break;
        }
      }
      if (pivot == order.size()) return;
      const uint32_t d = order[pivot]->cursor.doc();
      while (pivot + 1 < order.size() && order[pivot + 1]->cursor.doc() == d) ++pivot;

      // 2. Block-max check, headers only.
      uint32_t min_last = kEnd;
      const double block_bound = SumInTermOrder(order, pivot, [&](Term* t) {
        const size_t b = t->cursor.ShallowBlock(d);
        min_last = std::min(min_last, t->cursor.block_last(b));
        return t->cursor.bound(b);
      });
      if (!may_beat(block_bound)) {
        uint32_t next = min_last == kEnd ? kEnd : min_last + 1;
        if (pivot + 1 < order.size()) next = std::min(next, order[pivot + 1]->cursor.doc());
        for (size_t i = 0; i <= pivot; ++i) order[i]->cursor.SkipTo(next);
        continue;
      }

      // 3. Filters.
      const uint32_t allowed = FilterNextGeq(d);
      if (allowed != d) {
        if (allowed == kEnd) return;
        for (Term* t : order) t->cursor.SkipTo(allowed);
        continue;
      }

      // 4. Align on the pivot doc (reading the blocks that passed the check), then score it.
      bool aligned = true;
      for (size_t i = 0; i <= pivot; ++i) {
        PostingCursor& c = order[i]->cursor;
        c.SkipTo(d);
        c.Materialize();
        aligned = aligned && c.doc() == d;
      }
      if (!aligned) continue;
      int64_t day;
      if (Visible(d, &day)) {
        const double score =
            SumInTermOrder(order, pivot, [](Term* t) { return t->cursor.Score(); });
        top->Offer({score, day, d});
      }
      for (size_t i = 0; i <= pivot; ++i) order[i]->cursor.Next();
    }
  }

  uint64_t EnumerateAll(TopK* top) {
    uint64_t total = 0;
    int64_t day;
    if (!terms_.empty()) {
      for (Term& t : terms_) t.cursor.NextGeq(0);  // exact positions from here on
      std::vector<Term*> at;
      scratch_.assign(query_.terms.size(), 0.0);
      while (true) {
        uint32_t d = kEnd;
        for (Term& t : terms_) d = std::min(d, t.cursor.doc());
        if (d == kEnd) break;
        const uint32_t allowed = FilterNextGeq(d);
        if (allowed != d) {
          if (allowed == kEnd) break;
          for (Term& t : terms_) t.cursor.NextGeq(allowed);
          continue;
        }
        at.clear();
        for (Term& t : terms_) {
          if (t.cursor.doc() == d) at.push_back(&t);
        }
        if (Visible(d, &day)) {
          ++total;
          top->Offer({SumInTermOrder(at, at.size() - 1, [](Term* t) { return t->cursor.Score(); }),
                      day, d});
        }
        for (Term* t : at) t->cursor.Next();
      }
      return total;
    }
    if (!query_.terms.empty()) return 0;  // terms, none of them indexed
    if (!groups_.empty()) {
      for (uint32_t x = FilterNextGeq(0); x != kEnd; x = FilterNextGeq(x + 1)) {
        if (Visible(x, &day)) {
          ++total;
          top->Offer({0.0, day, x});
        }
        if (x + 1 == kEnd) break;
      }
      return total;
    }
    for (uint32_t x = 0; x < index_.days_.size(); ++x) {
      if (Visible(x, &day)) {
        ++total;
        top->Offer({0.0, day, x});
      }
    }
    return total;
  }

  uint64_t RelevanceEstimate() const {
    uint64_t sum = 0;
    for (const Term& t : terms_) sum += t.df;
    return std::min({sum, filter_df_, index_.stats_.live_docs});
  }

  const SearchIndex& index_;
  const Query& query_;
  Query::Sort sort_;
  std::vector<Term> terms_;
  std::vector<std::vector<PostingCursor>> groups_;
  uint64_t filter_df_ = std::numeric_limits<uint64_t>::max();
  std::vector<double> scratch_;
};

// ---- SearchIndex -----------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<SearchIndex>> SearchIndex::Open(Store* store,
                                                               const SearchIndexOptions& options) {
  if (options.block_size < 1 || options.block_size > kMaxBlockSize) {
    return absl::InvalidArgumentError(absl::StrCat("search index block size ", options.block_size,
                                                   " is outside 1..", kMaxBlockSize));
  }
  std::unique_ptr<SearchIndex> index(new SearchIndex(store, options));
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> version,
                         store->Get(Family::kFields, kVersionKey), "opening search index");
  if (version && *version != kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("search index format ", absl::CEscape(*version), " is not supported (want ",
                     kFormatVersion, "); rebuild the index"));
  }
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> stats, store->Get(Family::kFields, kStatsKey),
                         "opening search index");
  if (stats) {
    absl::string_view in = *stats;
    if (!GetVarint32(&in, &index->stats_.next_docnum) ||
        !GetVarint(&in, &index->stats_.live_docs) || !GetVarint(&in, &index->stats_.total_length)) {
      return absl::DataLossError("search index: corrupt stats record");
    }
  }
  index->days_.assign(index->stats_.next_docnum, kDeadDay);
  absl::Status inner;
  HANSE_RETURN_IF_ERROR(
      store->Scan(Family::kFields, "a",
                  [&](absl::string_view key, absl::string_view value) {
                    if (key.size() != 5 || value.size() != kDaysPerChunk * 4) {
                      inner = absl::DataLossError("search index: corrupt issued-day chunk");
                      return false;
                    }
                    const uint64_t base = GetFixed(key.substr(1), 4) * kDaysPerChunk;
                    for (uint32_t i = 0; i < kDaysPerChunk && base + i < index->days_.size(); ++i) {
                      uint32_t u = 0;
                      for (int b = 3; b >= 0; --b) {
                        u = (u << 8) | static_cast<unsigned char>(value[4 * i + b]);
                      }
                      index->days_[base + i] = static_cast<int32_t>(u);
                    }
                    return true;
                  }),
      "opening search index");
  HANSE_RETURN_IF_ERROR(inner);
  const uint64_t live = static_cast<uint64_t>(std::count_if(
      index->days_.begin(), index->days_.end(), [](int32_t d) { return d != kDeadDay; }));
  if (live != index->stats_.live_docs) {
    return absl::DataLossError(absl::StrCat("search index: stats count ", index->stats_.live_docs,
                                            " live documents, the "
                                            "issued-day table ",
                                            live));
  }
  return index;
}

uint64_t SearchIndex::live_docs() const {
  absl::ReaderMutexLock lock(&mu_);
  return stats_.live_docs;
}

void SearchIndex::BeginWrite() {
  if (pending_.active) return;
  pending_.active = true;
  pending_.stats = stats_;  // the writer is the only mutator of stats_, no lock needed to read
}

absl::StatusOr<std::optional<SearchIndex::IdEntry>> SearchIndex::LookupId(const std::string& id) {
  if (auto it = pending_.ids.find(id); it != pending_.ids.end()) return it->second;
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> value, store_->Get(Family::kFields, IdKey(id)),
                         "reading search index");
  if (!value) return std::optional<IdEntry>();
  if (value->size() != 12) return absl::DataLossError("search index: corrupt id record");
  return std::optional<IdEntry>(IdEntry{static_cast<uint32_t>(GetFixed(*value, 4)),
                                        GetFixed(absl::string_view(*value).substr(4), 8)});
}

// ---- The writer's term table -----------------------------------------------------------------

size_t SearchIndex::TermTable::Cost(const TermState& state) {
  // The list node, the hash map's node and bucket, the term's heap buffer and the postings: an
  // estimate of the heap held, not an exact count.
  size_t bytes = sizeof(TermState) + 2 * sizeof(void*) +
                 sizeof(std::pair<const std::string_view, List::iterator>) + 4 * sizeof(void*);
  if (state.term.capacity() > 15) bytes += state.term.capacity() + 1;
  if (state.tail) bytes += state.tail->postings.capacity() * sizeof(Posting);
  return bytes;
}

void SearchIndex::TermTable::Erase(List* list, List::iterator it) {
  map_.erase(std::string_view(it->term));
  list->erase(it);
}

SearchIndex::TermState* SearchIndex::TermTable::FindForWrite(const std::string& term) {
  auto found = map_.find(std::string_view(term));
  if (found == map_.end()) return nullptr;
  const List::iterator it = found->second;
  if (!it->pending) {
    bytes_ -= it->bytes;
    it->pending = true;
    pending_.splice(pending_.end(), lru_, it);  // iterators (and the map's view) stay valid
  }
  return &*it;
}

SearchIndex::TermState* SearchIndex::TermTable::AddPending(const std::string& term,
                                                           const TermMeta& meta) {
  pending_.emplace_back();
  TermState& state = pending_.back();  // list nodes never move: the map's view stays valid
  state.term = term;
  state.meta = meta;
  state.pending = true;
  map_.emplace(std::string_view(state.term), std::prev(pending_.end()));
  return &state;
}

std::vector<SearchIndex::TermState*> SearchIndex::TermTable::PendingSorted() {
  std::vector<TermState*> out;
  out.reserve(pending_.size());
  for (TermState& state : pending_) out.push_back(&state);
  std::sort(out.begin(), out.end(),
            [](const TermState* a, const TermState* b) { return a->term < b->term; });
  return out;
}

void SearchIndex::TermTable::CommitPending() {
  for (TermState& state : pending_) {
    state.pending = false;
    state.sealed.clear();
    state.sealed.shrink_to_fit();
    if (state.tail) state.tail->dirty = false;
    state.bytes = Cost(state);
    bytes_ += state.bytes;
  }
  lru_.splice(lru_.begin(), pending_);
  while (!lru_.empty() && (bytes_ > budget_ || budget_ == 0)) {
    bytes_ -= lru_.back().bytes;
    Erase(&lru_, std::prev(lru_.end()));
  }
}

void SearchIndex::TermTable::DropPending() {
  while (!pending_.empty()) Erase(&pending_, pending_.begin());
}

// ---- Writing ---------------------------------------------------------------------------------
// Add/Remove only change memory: the term states (meta and last block) of the terms they touch
// (terms_), the issued-day chunks, the ids (pending_). Flush() encodes each changed key once into
// the batch, in key order (RocksDB's memtable inserts keys that arrive in order much faster). A
// term's state is pending, else cached, else read from the store.

absl::StatusOr<SearchIndex::TermState*> SearchIndex::StateFor(const std::string& term) {
  if (TermState* state = terms_.FindForWrite(term)) return state;
  HANSE_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         store_->Get(Family::kPostings, MetaKey(term)), "reading search index");
  TermMeta meta;
  if (value) {
    absl::string_view in = *value;
    if (!GetVarint(&in, &meta.df) || !GetVarint32(&in, &meta.num_blocks)) {
      return CorruptPostings(term, "term meta");
    }
  }
  return terms_.AddPending(term, meta);
}

absl::Status SearchIndex::Append(const std::string& term, const Posting& posting) {
  HANSE_ASSIGN_OR_RETURN(TermState * state, StateFor(term));
  TermMeta& meta = state->meta;
  if (!state->tail) {
    Tail tail;
    if (meta.num_blocks > 0) {
      tail.seq = meta.num_blocks - 1;
      HANSE_ASSIGN_OR_RETURN(std::optional<std::string> value,
                             store_->Get(Family::kPostings, BlockKey(term, tail.seq)),
                             "reading search index");
      std::vector<uint32_t> docs, tfs, lengths;
      if (!value || !BlockCodec::Decode(*value, &docs, &tfs, &lengths)) {
        return CorruptPostings(term, "last posting block");
      }
      tail.postings.reserve(docs.size() + 1);
      for (size_t i = 0; i < docs.size(); ++i)
        tail.postings.push_back({docs[i], tfs[i], lengths[i]});
    }
    state->tail = std::move(tail);
  }
  Tail& tail = *state->tail;
  if (!tail.postings.empty() && tail.postings.back().doc >= posting.doc) {
    return absl::InternalError("search index: doc numbers must increase");
  }
  if (tail.postings.size() >= options_.block_size) {
    // The full block is final: written once at Flush if this batch appended to it.
    if (tail.dirty) state->sealed.push_back(std::move(tail));
    tail.postings = {};
    tail.seq += 1;
    tail.dirty = false;
  }
  tail.postings.push_back(posting);
  tail.dirty = true;
  meta.num_blocks = std::max(meta.num_blocks, tail.seq + 1);
  meta.df += 1;
  pending_.unflushed = true;
  return absl::OkStatus();
}

absl::Status SearchIndex::AdjustDf(const std::string& term, int64_t delta) {
  HANSE_ASSIGN_OR_RETURN(TermState * state, StateFor(term));
  TermMeta& meta = state->meta;
  if (delta < 0 && meta.df < static_cast<uint64_t>(-delta)) {
    return absl::DataLossError(absl::StrCat("search index: document frequency of \"",
                                            absl::CEscape(term), "\" would go negative"));
  }
  meta.df = static_cast<uint64_t>(static_cast<int64_t>(meta.df) + delta);
  pending_.unflushed = true;
  return absl::OkStatus();
}

void SearchIndex::SetDay(uint32_t docnum, int32_t day) {
  const uint32_t chunk = docnum / kDaysPerChunk;
  auto it = pending_.day_chunks.find(chunk);
  if (it == pending_.day_chunks.end()) {
    std::vector<int32_t> values(kDaysPerChunk, kDeadDay);
    for (uint32_t i = 0; i < kDaysPerChunk; ++i) {
      const uint64_t n = static_cast<uint64_t>(chunk) * kDaysPerChunk + i;
      if (n < days_.size()) values[i] = days_[n];
    }
    it = pending_.day_chunks.emplace(chunk, std::move(values)).first;
  }
  it->second[docnum % kDaysPerChunk] = day;
  pending_.unflushed = true;
}

absl::Status SearchIndex::Flush(WriteBatch* batch) {
  if (!pending_.active) return absl::OkStatus();
  const std::vector<TermState*> terms = terms_.PendingSorted();
  // kPostings in key order: blocks ("b" term \0 seq), headers ("h" ...), metas ("m" term).
  // Sorting terms sorts their keys: term + "\0" orders like term, as no term holds a NUL.
  auto blocks = [](const TermState& state, auto&& visit) {
    for (const Tail& block : state.sealed) visit(block);
    if (state.tail && state.tail->dirty && !state.tail->postings.empty()) visit(*state.tail);
  };
  for (const TermState* state : terms) {
    blocks(*state, [&](const Tail& block) {
      batch->Put(Family::kPostings, BlockKey(state->term, block.seq),
                 BlockCodec::Encode(block.postings));
    });
  }
  for (const TermState* state : terms) {
    blocks(*state, [&](const Tail& block) {
      BlockHeader h;
      h.last_doc = block.postings.back().doc;
      h.count = static_cast<uint32_t>(block.postings.size());
      h.min_length = std::numeric_limits<uint32_t>::max();
      for (const Posting& p : block.postings) {
        h.max_tf = std::max(h.max_tf, p.tf);
        h.min_length = std::min(h.min_length, p.length);
      }
      batch->Put(Family::kPostings, HeaderKey(state->term, block.seq), EncodeHeader(h));
    });
  }
  std::string value;
  for (const TermState* state : terms) {
    value.clear();
    PutVarint(&value, state->meta.df);
    PutVarint(&value, state->meta.num_blocks);
    batch->Put(Family::kPostings, MetaKey(state->term), value);
  }
  // kFields, also in key order: "a" day chunks, "i" ids, "n" doc numbers, "s" stats, "v".
  for (const auto& [chunk, values] : pending_.day_chunks) {
    value.clear();
    value.reserve(kDaysPerChunk * 4);
    for (int32_t v : values) {
      const auto u = static_cast<uint32_t>(v);
      for (int b = 0; b < 4; ++b) value.push_back(static_cast<char>((u >> (8 * b)) & 0xFF));
    }
    batch->Put(Family::kFields, DayChunkKey(chunk), value);
  }
  for (const auto& [id, entry] : pending_.ids) {
    if (entry) {
      value = Be32(entry->docnum);
      PutFixed(&value, entry->fingerprint, 8);
      batch->Put(Family::kFields, IdKey(id), value);
    } else {
      batch->Delete(Family::kFields, IdKey(id));
    }
  }
  for (const auto& [docnum, id] : pending_.docs) batch->Put(Family::kFields, DocKey(docnum), id);
  value.clear();
  PutVarint(&value, pending_.stats.next_docnum);
  PutVarint(&value, pending_.stats.live_docs);
  PutVarint(&value, pending_.stats.total_length);
  batch->Put(Family::kFields, kStatsKey, value);
  batch->Put(Family::kFields, kVersionKey, kFormatVersion);
  pending_.unflushed = false;
  return absl::OkStatus();
}

absl::Status SearchIndex::RemoveInternal(const IndexedDoc& doc, const IdEntry& entry) {
  if (Fingerprint(doc) != entry.fingerprint) {
    return absl::FailedPreconditionError(
        absl::StrCat("search index: the document given for ", doc.id,
                     " is not the one that was indexed; pass the stored version"));
  }
  const Analysis a = Analyze(doc);
  for (const auto& [term, tf] : a.tf) HANSE_RETURN_IF_ERROR(AdjustDf(term, -1));
  for (const std::string& term : a.filter_terms) HANSE_RETURN_IF_ERROR(AdjustDf(term, -1));
  SetDay(entry.docnum, kDeadDay);
  pending_.ids[doc.id] = std::nullopt;
  if (pending_.stats.live_docs == 0 || pending_.stats.total_length < a.length) {
    return absl::DataLossError("search index: live document statistics would go negative");
  }
  pending_.stats.live_docs -= 1;
  pending_.stats.total_length -= a.length;
  return absl::OkStatus();
}

absl::Status SearchIndex::Add(const IndexedDoc& doc, const IndexedDoc* previous,
                              WriteBatch* /*batch: written by Flush*/) {
  if (doc.id.empty()) return absl::InvalidArgumentError("search index: document without an id");
  if (doc.issued_day <= std::numeric_limits<int32_t>::min() ||
      doc.issued_day > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("search index: issued day ", doc.issued_day,
                                                   " of ", doc.id, " is out of range"));
  }
  if (previous != nullptr && previous->id != doc.id) {
    return absl::InvalidArgumentError("search index: previous document has a different id");
  }
  BeginWrite();
  HANSE_ASSIGN_OR_RETURN(std::optional<IdEntry> existing, LookupId(doc.id));
  if (existing) {
    if (previous == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "search index: ", doc.id, " is already indexed; pass the previous version to replace"));
    }
    HANSE_RETURN_IF_ERROR(RemoveInternal(*previous, *existing));
  }
  if (pending_.stats.next_docnum >= kEnd - 1) {
    return absl::ResourceExhaustedError("search index: out of doc numbers; rebuild the index");
  }
  const uint32_t docnum = pending_.stats.next_docnum++;
  const Analysis a = Analyze(doc);
  for (const auto& [term, tf] : a.tf) {
    HANSE_RETURN_IF_ERROR(Append(term, {docnum, tf, a.length}));
  }
  for (const std::string& term : a.filter_terms) {
    HANSE_RETURN_IF_ERROR(Append(term, {docnum, 1, 0}));
  }
  SetDay(docnum, static_cast<int32_t>(doc.issued_day));
  pending_.ids[doc.id] = IdEntry{docnum, Fingerprint(doc)};
  pending_.docs.emplace_back(docnum, doc.id);
  pending_.stats.live_docs += 1;
  pending_.stats.total_length += a.length;
  return absl::OkStatus();
}

absl::Status SearchIndex::Remove(const IndexedDoc& doc, WriteBatch* /*batch: written by Flush*/) {
  BeginWrite();
  HANSE_ASSIGN_OR_RETURN(std::optional<IdEntry> existing, LookupId(doc.id));
  if (!existing) {
    return absl::NotFoundError(absl::StrCat("search index: ", doc.id, " is not indexed"));
  }
  return RemoveInternal(doc, *existing);
}

void SearchIndex::Committed() {
  if (!pending_.active) return;
  if (pending_.unflushed) {
    // The written batch cannot hold these changes: keep the index as it is on disk.
    std::fprintf(stderr,
                 "search index: Committed() with changes that were not flushed into the batch; "
                 "they are dropped (call Flush before writing the batch)\n");
    Aborted();
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    stats_ = pending_.stats;
    days_.resize(stats_.next_docnum, kDeadDay);
    for (const auto& [chunk, values] : pending_.day_chunks) {
      for (uint32_t i = 0; i < kDaysPerChunk; ++i) {
        const uint64_t n = static_cast<uint64_t>(chunk) * kDaysPerChunk + i;
        if (n < days_.size()) days_[n] = values[i];
      }
    }
  }
  // The batch's term states are now the committed ones: into the cache, most recent first.
  terms_.CommitPending();
  pending_ = Pending();
}

void SearchIndex::Aborted() {
  terms_.DropPending();
  pending_ = Pending();
}

absl::StatusOr<SearchPage> SearchIndex::Search(const Query& query, size_t limit,
                                               absl::string_view cursor) const {
  if (limit < 1 || limit > kMaxSearchLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("search limit ", limit, " is outside 1..", kMaxSearchLimit));
  }
  if (query.terms.size() > kMaxQueryTerms) {
    return absl::InvalidArgumentError("too many search terms");
  }
  absl::ReaderMutexLock lock(&mu_);
  return Evaluator(*this, query).Run(limit, cursor);
}

}  // namespace hanse::catalog
