// The catalogue (~700 lines): most of it is IngestLocked, one transaction whose checks
// (duplicate, equivocation, staleness, retired issuers, index and holder-index updates) must
// see the same overlay of the batch being built; the rest are reads over the same keys.
#include "catalog/catalog.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "catalog/query.h"
#include "nlohmann/json.hpp"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::catalog {
namespace {

// Key layout (docs/catalogue.md):
//   kDocuments  ID                  -> kind(1) seq(8, big-endian) n(1) country(n) JWS
//   kIssuerLog  "s|" ISSUER "|" seq(8)     -> payload-hash(32) ID   per-issuer sequence log
//   kIssuerLog  "h|" jws-hash(32)          -> ""               bytes already verified
//   kIssuerLog  "e|" ISSUER "|" seq(8) k(1) hash -> JWS        equivocation evidence; k=0 the
//                                                             held document, k=1 a conflicting one
//   kIssuerLog  "o|" ISSUER "|" seq(8)     -> JWS              superseded versions (evidence)
//   kIssuerLog  "x|" ISSUER                -> ""               retired (revoked) issuers
//   kIssuerLog  "f|" ISSUER                -> ""               flagged issuers
//   kIssuerLog  "t|" ISSUER                -> seq(8)           highest sequence held
//   kIssuerLog  "n|" KIND                  -> count(8)         current documents of a kind
//   kFields     "c|" SUBJECT "|" ID        -> ""               holder index: the current
//                                                             certification ID is about SUBJECT
// (The search index owns the other kFields keys; none of them starts with 'c'.)
std::string Be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::uint64_t FromBe64(absl::string_view s) {
  std::uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

std::string LogKey(absl::string_view issuer, std::uint64_t seq) {
  return absl::StrCat("s|", issuer, "|", Be64(seq));
}
std::string HashKey(absl::string_view hash) { return absl::StrCat("h|", hash); }
std::string EvidenceKey(absl::string_view issuer, std::uint64_t seq, bool held,
                        absl::string_view hash) {
  return absl::StrCat("e|", issuer, "|", Be64(seq), held ? absl::string_view("\0", 1) : "\1", hash);
}
std::string SupersededKey(absl::string_view issuer, std::uint64_t seq) {
  return absl::StrCat("o|", issuer, "|", Be64(seq));
}
std::string FlagKey(absl::string_view issuer) { return absl::StrCat("f|", issuer); }
std::string HeadKey(absl::string_view issuer) { return absl::StrCat("t|", issuer); }
constexpr DocumentKind kKinds[] = {DocumentKind::kParticipant, DocumentKind::kDataset,
                                   DocumentKind::kTombstone, DocumentKind::kCertification};
std::string CountKey(DocumentKind kind) { return absl::StrCat("n|", DocumentKindName(kind)); }
size_t KindIndex(DocumentKind kind) { return static_cast<size_t>(kind); }
// DIDs hold no '|', so "c|SUBJECT|" never prefixes another subject's keys.
std::string HolderKey(absl::string_view subject, absl::string_view id) {
  return absl::StrCat("c|", subject, "|", id);
}

// The issuer of a dataset, certification or tombstone id (the DID before the first '/'); a
// participant id is its DID.
absl::string_view IssuerOfId(absl::string_view id) { return id.substr(0, id.find('/')); }

// Documents whose issuer's retirement takes them out of Get, ForEach and the indexes.
bool GoesWithIssuer(DocumentKind kind) {
  return kind == DocumentKind::kDataset || kind == DocumentKind::kCertification;
}

char KindByte(DocumentKind kind) {
  switch (kind) {
    case DocumentKind::kParticipant:
      return 'P';
    case DocumentKind::kDataset:
      return 'D';
    case DocumentKind::kTombstone:
      return 'T';
    case DocumentKind::kCertification:
      return 'C';
  }
  return '?';
}

absl::StatusOr<StoredDocument> DecodeStored(absl::string_view id, absl::string_view value) {
  if (value.size() < 10 || value.size() < 10u + static_cast<unsigned char>(value[9])) {
    return absl::DataLossError(absl::StrCat("stored document ", id, " is truncated"));
  }
  StoredDocument d;
  switch (value[0]) {
    case 'P':
      d.kind = DocumentKind::kParticipant;
      break;
    case 'D':
      d.kind = DocumentKind::kDataset;
      break;
    case 'T':
      d.kind = DocumentKind::kTombstone;
      break;
    case 'C':
      d.kind = DocumentKind::kCertification;
      break;
    default:
      return absl::DataLossError(absl::StrCat("stored document ", id, " has an unknown kind"));
  }
  d.sequence = FromBe64(value.substr(1, 8));
  size_t n = static_cast<unsigned char>(value[9]);
  d.indexed_country = std::string(value.substr(10, n));
  d.id = std::string(id);
  d.jws = std::string(value.substr(10 + n));
  return d;
}

std::string EncodeStored(DocumentKind kind, std::uint64_t seq, absl::string_view country,
                         absl::string_view jws) {
  std::string out(1, KindByte(kind));
  absl::StrAppend(&out, Be64(seq));
  out.push_back(static_cast<char>(country.size()));
  absl::StrAppend(&out, country, jws);
  return out;
}

// The country of legal seat stated in a stored participant description ("" if none).
std::string CountryOf(const std::optional<std::string>& raw_participant, absl::string_view did) {
  if (!raw_participant.has_value()) return "";
  auto stored = DecodeStored(did, *raw_participant);
  if (!stored.ok() || stored->kind != DocumentKind::kParticipant) return "";
  auto pd = DecodeDocument(*stored);
  return pd.ok() ? pd->participant.country : "";
}

// Reads through the writes staged in this batch, then the store.
class Overlay {
 public:
  explicit Overlay(const Store* store) : store_(store) {}
  absl::StatusOr<std::optional<std::string>> Get(Family f, const std::string& key) const {
    auto it = staged_.find({f, key});
    if (it != staged_.end()) return std::optional<std::string>(it->second);
    return store_->Get(f, key);
  }
  void Put(WriteBatch* batch, Family f, const std::string& key, std::string value) {
    batch->Put(f, key, value);
    staged_[{f, key}] = std::move(value);
  }
  // Keys with `prefix` in the store and in this batch; staged values win.
  absl::Status Collect(Family f, const std::string& prefix,
                       std::map<std::string, std::string>* out) const {
    HANSE_RETURN_IF_ERROR(store_->Scan(f, prefix, [&](absl::string_view k, absl::string_view v) {
      (*out)[std::string(k)] = std::string(v);
      return true;
    }));
    for (auto it = staged_.lower_bound({f, prefix}); it != staged_.end(); ++it) {
      if (it->first.first != f || !absl::StartsWith(it->first.second, prefix)) break;
      (*out)[it->first.second] = it->second;
    }
    return absl::OkStatus();
  }

 private:
  const Store* store_;
  std::map<std::pair<Family, std::string>, std::string> staged_;
};

}  // namespace

absl::StatusOr<Document> DecodeDocument(const StoredDocument& stored) {
  HANSE_ASSIGN_OR_RETURN(auto v, trust::DecodeUnverified(stored.jws),
                         absl::StrCat("stored document ", stored.id));
  return ParseDocumentPayload(v.payload);
}

absl::string_view IngestOutcomeName(IngestOutcome outcome) {
  switch (outcome) {
    case IngestOutcome::kStored:
      return "stored";
    case IngestOutcome::kDuplicate:
      return "duplicate";
    case IngestOutcome::kStale:
      return "stale";
    case IngestOutcome::kEquivocation:
      return "equivocation";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<Catalog>> Catalog::Open(Store* store, const Clock* clock,
                                                       SequenceLedger* ledger) {
  HANSE_ASSIGN_OR_RETURN(auto index, SearchIndex::Open(store), "opening the search index");
  std::unique_ptr<Catalog> catalog(new Catalog(store, clock, ledger, std::move(index)));
  HANSE_RETURN_IF_ERROR(
      store->Scan(Family::kIssuerLog, "x|", [&](absl::string_view key, absl::string_view) {
        catalog->retired_.insert(std::string(key.substr(2)));
        return true;
      }));
  HANSE_RETURN_IF_ERROR(catalog->LoadCounts(), "counting the documents by kind");
  return catalog;
}

absl::Status Catalog::LoadCounts() {
  KindCounts counts{};
  size_t found = 0;
  for (DocumentKind kind : kKinds) {
    HANSE_ASSIGN_OR_RETURN(auto raw, store_->Get(Family::kIssuerLog, CountKey(kind)));
    if (!raw.has_value()) continue;
    if (raw->size() != 8) return absl::DataLossError(absl::StrCat(CountKey(kind), " is damaged"));
    counts[KindIndex(kind)] = FromBe64(*raw);
    ++found;
  }
  if (found != std::size(kKinds)) {
    // Written before the counts were kept (or empty), or their first write was refused and a
    // later batch stored only the kinds it changed: count once and keep them.
    counts = {};
    absl::Status inner = absl::OkStatus();
    HANSE_RETURN_IF_ERROR(
        store_->Scan(Family::kDocuments, "", [&](absl::string_view id, absl::string_view raw) {
          auto d = DecodeStored(id, raw);
          if (!d.ok()) return (inner = d.status()).ok();
          if (GoesWithIssuer(d->kind) && IsRetired(IssuerOfId(id))) return true;
          ++counts[KindIndex(d->kind)];
          return true;
        }));
    HANSE_RETURN_IF_ERROR(inner);
    WriteBatch batch;
    for (DocumentKind kind : kKinds) {
      batch.Put(Family::kIssuerLog, CountKey(kind), Be64(counts[KindIndex(kind)]));
    }
    // Not synced, and a refusal (a disk below its reserve) is no reason not to open: the counts
    // are only a cache of what the documents say; without them the next open counts again.
    store_->Write(batch, /*sync=*/false).IgnoreError();
  }
  std::lock_guard lock(counts_mu_);
  counts_ = counts;
  return absl::OkStatus();
}

Catalog::KindCounts Catalog::StageCounts(const std::array<std::int64_t, 4>& delta,
                                         WriteBatch* batch) const {
  KindCounts next;
  {
    std::lock_guard lock(counts_mu_);
    next = counts_;
  }
  for (DocumentKind kind : kKinds) {
    const size_t k = KindIndex(kind);
    if (delta[k] == 0) continue;
    const std::int64_t n = static_cast<std::int64_t>(next[k]) + delta[k];
    next[k] = static_cast<std::uint64_t>(std::max<std::int64_t>(n, 0));
    batch->Put(Family::kIssuerLog, CountKey(kind), Be64(next[k]));
  }
  return next;
}

Catalog::KindCounts Catalog::CountByKind() const {
  std::lock_guard lock(counts_mu_);
  return counts_;
}

IndexedDoc Catalog::ToIndexed(const Document& doc, absl::string_view country) {
  const DatasetFacts& d = doc.dataset;
  IndexedDoc x;
  x.id = doc.id;
  x.title = d.title;
  x.description = d.description;
  x.keywords = d.keywords;
  x.themes = d.themes;
  x.publisher = d.publisher;
  x.licence = d.license;
  x.media_type = d.media_type;
  x.language = d.language;
  x.hosting = d.hosting_location;
  x.issued_day = DayNumber(d.issued).value_or(0);
  // The country filter is the publisher's country of legal seat, from its participant
  // description (re-indexed when that arrives or changes).
  x.country = std::string(country);
  return x;
}

std::vector<absl::StatusOr<IngestResult>> Catalog::IngestMany(
    const std::vector<std::string>& jws_list) {
  std::lock_guard lock(write_mu_);
  return IngestLocked(jws_list, nullptr, nullptr);
}

std::vector<absl::StatusOr<IngestResult>> Catalog::IngestLocked(
    const std::vector<std::string>& jws_list, const WriteBatch* extra, const Expected* expected) {
  std::vector<absl::StatusOr<IngestResult>> results;
  results.reserve(jws_list.size());
  WriteBatch batch;
  Overlay overlay(store_);
  absl::Time now = clock_->Now();
  bool any_index_change = false;
  std::array<std::int64_t, 4> delta{};

  // Re-indexes an issuer's datasets under a new publisher country.
  auto reindex_issuer = [&](const std::string& issuer, const std::string& country) -> absl::Status {
    std::map<std::string, std::string> datasets;
    HANSE_RETURN_IF_ERROR(overlay.Collect(Family::kDocuments, DatasetId(issuer, ""), &datasets));
    for (const auto& [id, raw] : datasets) {
      HANSE_ASSIGN_OR_RETURN(StoredDocument stored, DecodeStored(id, raw));
      if (stored.kind != DocumentKind::kDataset || stored.indexed_country == country) continue;
      HANSE_ASSIGN_OR_RETURN(Document doc, DecodeDocument(stored));
      IndexedDoc before = ToIndexed(doc, stored.indexed_country);
      HANSE_RETURN_IF_ERROR(index_->Add(ToIndexed(doc, country), &before, &batch));
      any_index_change = true;
      overlay.Put(&batch, Family::kDocuments, id,
                  EncodeStored(stored.kind, stored.sequence, country, stored.jws));
    }
    return absl::OkStatus();
  };

  for (const std::string& jws : jws_list) {
    auto result = [&]() -> absl::StatusOr<IngestResult> {
      std::string jws_hash = trust::Sha256(jws);
      HANSE_ASSIGN_OR_RETURN(auto seen, overlay.Get(Family::kIssuerLog, HashKey(jws_hash)));
      if (seen.has_value()) {
        // These exact bytes were verified before: never verify twice.
        return IngestResult{IngestOutcome::kDuplicate, "", 0, DocumentKind::kDataset};
      }
      HANSE_ASSIGN_OR_RETURN(VerifiedDocument vd, VerifyDocument(jws, now));
      const Document& doc = vd.doc;
      if (expected != nullptr &&
          (doc.issuer != expected->issuer || doc.sequence != expected->sequence)) {
        return absl::InternalError(
            absl::StrCat("signed ", doc.issuer, " at sequence ", doc.sequence, " where ",
                         expected->issuer, " at sequence ", expected->sequence, " was assigned"));
      }
      if (IsRetired(doc.issuer)) {
        return absl::PermissionDeniedError(
            absl::StrCat(doc.issuer, " was revoked; its documents are no longer accepted"));
      }
      IngestResult r{IngestOutcome::kStored, doc.id, doc.sequence, doc.kind};

      std::string log_key = LogKey(doc.issuer, doc.sequence);
      HANSE_ASSIGN_OR_RETURN(auto logged, overlay.Get(Family::kIssuerLog, log_key));
      if (logged.has_value()) {
        if (logged->substr(0, 32) == vd.payload_hash) {
          // The same statement under another signature: nothing new.
          overlay.Put(&batch, Family::kIssuerLog, HashKey(jws_hash), "");
          r.outcome = IngestOutcome::kDuplicate;
          return r;
        }
        // Same issuer and sequence, a different statement: equivocation. Keep both.
        std::string first_id = logged->substr(32);
        std::optional<std::string> first_jws;
        HANSE_ASSIGN_OR_RETURN(auto first, overlay.Get(Family::kDocuments, first_id));
        if (first.has_value()) {
          auto stored = DecodeStored(first_id, *first);
          if (stored.ok() && stored->sequence == doc.sequence) first_jws = stored->jws;
        }
        if (!first_jws) {
          HANSE_ASSIGN_OR_RETURN(
              first_jws, overlay.Get(Family::kIssuerLog, SupersededKey(doc.issuer, doc.sequence)));
        }
        if (first_jws) {
          overlay.Put(&batch, Family::kIssuerLog,
                      EvidenceKey(doc.issuer, doc.sequence, true, trust::Sha256(*first_jws)),
                      *first_jws);
        }
        overlay.Put(&batch, Family::kIssuerLog,
                    EvidenceKey(doc.issuer, doc.sequence, false, jws_hash), jws);
        overlay.Put(&batch, Family::kIssuerLog, FlagKey(doc.issuer), "");
        r.outcome = IngestOutcome::kEquivocation;
        return r;
      }

      HANSE_ASSIGN_OR_RETURN(auto current_raw, overlay.Get(Family::kDocuments, doc.id));
      std::optional<StoredDocument> current;
      if (current_raw.has_value()) {
        HANSE_ASSIGN_OR_RETURN(current, DecodeStored(doc.id, *current_raw));
        if (current->sequence >= doc.sequence) {
          r.outcome = IngestOutcome::kStale;
          return r;
        }
        // A tombstone may follow a dataset or a certification, and either may follow its
        // tombstone; otherwise an id keeps its kind. (The id rules already keep the kinds'
        // ids apart; this guards the store.)
        const bool compatible =
            current->kind == doc.kind ||
            (current->kind == DocumentKind::kTombstone && doc.kind != DocumentKind::kParticipant) ||
            (doc.kind == DocumentKind::kTombstone && current->kind != DocumentKind::kParticipant);
        if (!compatible) {
          return absl::InvalidArgumentError(absl::StrCat("a ", DocumentKindName(current->kind),
                                                         " and a ", DocumentKindName(doc.kind),
                                                         " cannot share an id"));
        }
      }
      // The holder index entry of the certification being replaced (by a newer version or a
      // tombstone), from its subject as signed. Read before anything is staged for this document.
      std::optional<std::string> replaced_holder_key;
      if (current && current->kind == DocumentKind::kCertification) {
        HANSE_ASSIGN_OR_RETURN(Document pd, DecodeDocument(*current));
        replaced_holder_key = HolderKey(pd.certification.subject, doc.id);
      }

      std::string country;
      if (doc.kind == DocumentKind::kDataset) {
        HANSE_ASSIGN_OR_RETURN(auto participant, overlay.Get(Family::kDocuments, doc.issuer));
        country = CountryOf(participant, doc.issuer);
      }
      // Index: replace the previous dataset version (as it was indexed) with the new one.
      std::optional<IndexedDoc> previous;
      if (current && current->kind == DocumentKind::kDataset) {
        HANSE_ASSIGN_OR_RETURN(Document pd, DecodeDocument(*current));
        previous = ToIndexed(pd, current->indexed_country);
      }
      if (doc.kind == DocumentKind::kDataset) {
        HANSE_RETURN_IF_ERROR(
            index_->Add(ToIndexed(doc, country), previous ? &*previous : nullptr, &batch));
        any_index_change = true;
      } else if (previous) {
        HANSE_RETURN_IF_ERROR(index_->Remove(*previous, &batch));
        any_index_change = true;
      }

      // Holder index, in this order so that a key the new version keeps survives the batch.
      if (replaced_holder_key) batch.Delete(Family::kFields, *replaced_holder_key);
      if (doc.kind == DocumentKind::kCertification) {
        batch.Put(Family::kFields, HolderKey(doc.certification.subject, doc.id), "");
      }
      if (current) {
        // Keep the superseded version: it may be needed as equivocation evidence later.
        overlay.Put(&batch, Family::kIssuerLog, SupersededKey(doc.issuer, current->sequence),
                    current->jws);
      }
      overlay.Put(&batch, Family::kDocuments, doc.id,
                  EncodeStored(doc.kind, doc.sequence, country, jws));
      if (current) --delta[KindIndex(current->kind)];
      ++delta[KindIndex(doc.kind)];
      overlay.Put(&batch, Family::kIssuerLog, log_key, absl::StrCat(vd.payload_hash, doc.id));
      overlay.Put(&batch, Family::kIssuerLog, HashKey(jws_hash), "");
      HANSE_ASSIGN_OR_RETURN(auto head, overlay.Get(Family::kIssuerLog, HeadKey(doc.issuer)));
      if (!head.has_value() || FromBe64(*head) < doc.sequence) {
        overlay.Put(&batch, Family::kIssuerLog, HeadKey(doc.issuer), Be64(doc.sequence));
      }
      if (doc.kind == DocumentKind::kParticipant) {
        HANSE_RETURN_IF_ERROR(reindex_issuer(doc.issuer, doc.participant.country));
      }
      return r;
    }();
    results.push_back(std::move(result));
  }

  if (extra != nullptr) {
    bool all_stored = true;
    for (const auto& r : results)
      all_stored = all_stored && r.ok() && r->outcome == IngestOutcome::kStored;
    if (all_stored) {
      for (const auto& op : extra->ops()) {
        if (op.value) {
          batch.Put(op.family, op.key, *op.value);
        } else {
          batch.Delete(op.family, op.key);
        }
      }
    }
  }

  if (!batch.empty()) {
    const KindCounts counts = StageCounts(delta, &batch);
    absl::Status written = any_index_change ? index_->Flush(&batch) : absl::OkStatus();
    if (written.ok()) written = store_->Write(batch, /*sync=*/true);
    if (!written.ok()) {
      if (any_index_change) index_->Aborted();
      for (auto& r : results) {
        if (r.ok()) r = written;
      }
      return results;
    }
    std::lock_guard lock(counts_mu_);
    counts_ = counts;
  }
  if (any_index_change) index_->Committed();
  return results;
}

absl::StatusOr<IngestResult> Catalog::Ingest(absl::string_view jws) {
  auto results = IngestMany({std::string(jws)});
  return std::move(results.front());
}

absl::StatusOr<IngestResult> Catalog::SignAndIngest(absl::string_view issuer,
                                                    const SignAtSequence& sign,
                                                    const WriteBatch& extra) {
  if (before_signing_) HANSE_RETURN_IF_ERROR(before_signing_());
  // Nothing is signed that the store would refuse (a disk below its reserve): the refusal
  // comes first, before the sequence ledger is touched.
  HANSE_RETURN_IF_ERROR(store_->Writable());
  std::lock_guard lock(write_mu_);
  HANSE_ASSIGN_OR_RETURN(std::uint64_t sequence, NextSequence(issuer));
  HANSE_ASSIGN_OR_RETURN(std::string jws, sign(sequence));
  if (ledger_ != nullptr) {
    HANSE_RETURN_IF_ERROR(ledger_->Record(issuer, sequence), "recording the signed sequence");
  }
  const Expected expected{issuer, sequence};
  auto results = IngestLocked({jws}, &extra, &expected);
  HANSE_ASSIGN_OR_RETURN(IngestResult result, std::move(results.front()));
  if (result.outcome != IngestOutcome::kStored) {
    // Cannot happen for a fresh sequence past the highest held; nothing of `extra` was written.
    return absl::InternalError(
        absl::StrCat("own document signed at sequence ", sequence,
                     " was not stored: ", IngestOutcomeName(result.outcome)));
  }
  return result;
}

absl::StatusOr<std::optional<StoredDocument>> Catalog::GetAny(absl::string_view id) const {
  HANSE_ASSIGN_OR_RETURN(auto raw, store_->Get(Family::kDocuments, id));
  if (!raw.has_value()) return std::optional<StoredDocument>();
  HANSE_ASSIGN_OR_RETURN(StoredDocument d, DecodeStored(id, *raw));
  return std::optional<StoredDocument>(std::move(d));
}

bool Catalog::IsRetired(absl::string_view issuer) const {
  std::lock_guard lock(retired_mu_);
  return retired_.count(issuer) > 0;
}

absl::Status Catalog::RetireIssuer(absl::string_view issuer) {
  if (IsRetired(issuer)) return absl::OkStatus();
  std::lock_guard lock(write_mu_);
  WriteBatch batch;
  bool any_index_change = false;
  std::array<std::int64_t, 4> delta{};
  absl::Status inner = absl::OkStatus();
  HANSE_RETURN_IF_ERROR(store_->Scan(
      Family::kDocuments, DatasetId(issuer, ""), [&](absl::string_view id, absl::string_view raw) {
        auto stored = DecodeStored(id, raw);
        if (!stored.ok()) return (inner = stored.status()).ok();
        if (stored->kind != DocumentKind::kDataset) return true;
        --delta[KindIndex(DocumentKind::kDataset)];
        auto doc = DecodeDocument(*stored);
        if (!doc.ok()) return (inner = doc.status()).ok();
        inner = index_->Remove(ToIndexed(*doc, stored->indexed_country), &batch);
        any_index_change = true;
        return inner.ok();
      }));
  if (inner.ok()) {
    // Its certifications no longer count: out of the holder index.
    absl::Status scanned =
        store_->Scan(Family::kDocuments, absl::StrCat(issuer, "/certifications/"),
                     [&](absl::string_view id, absl::string_view raw) {
                       auto stored = DecodeStored(id, raw);
                       if (!stored.ok()) return (inner = stored.status()).ok();
                       if (stored->kind != DocumentKind::kCertification) return true;
                       --delta[KindIndex(DocumentKind::kCertification)];
                       auto doc = DecodeDocument(*stored);
                       if (!doc.ok()) return (inner = doc.status()).ok();
                       batch.Delete(Family::kFields, HolderKey(doc->certification.subject, id));
                       return true;
                     });
    if (inner.ok()) inner = scanned;
  }
  if (!inner.ok()) {
    if (any_index_change) index_->Aborted();
    return inner;
  }
  batch.Put(Family::kIssuerLog, absl::StrCat("x|", issuer), "");
  const KindCounts counts = StageCounts(delta, &batch);
  absl::Status written = any_index_change ? index_->Flush(&batch) : absl::OkStatus();
  if (written.ok()) written = store_->Write(batch, /*sync=*/true);
  if (!written.ok()) {
    if (any_index_change) index_->Aborted();
    return written;
  }
  {
    std::lock_guard lock(counts_mu_);
    counts_ = counts;
  }
  if (any_index_change) index_->Committed();
  std::lock_guard retired_lock(retired_mu_);
  retired_.insert(std::string(issuer));
  return absl::OkStatus();
}

absl::StatusOr<StoredDocument> Catalog::Get(absl::string_view id) const {
  HANSE_ASSIGN_OR_RETURN(auto d, GetAny(id));
  if (!d.has_value()) return absl::NotFoundError(absl::StrCat("no document ", id));
  if (GoesWithIssuer(d->kind) && IsRetired(IssuerOfId(id))) {
    return absl::NotFoundError(absl::StrCat(id, ": its issuer was revoked"));
  }
  if (d->kind == DocumentKind::kTombstone) {
    return absl::NotFoundError(absl::StrCat(id, " was unpublished (sequence ", d->sequence, ")"));
  }
  return *std::move(d);
}

absl::StatusOr<std::uint64_t> Catalog::NextSequence(absl::string_view issuer) const {
  HANSE_ASSIGN_OR_RETURN(auto head, store_->Get(Family::kIssuerLog, HeadKey(issuer)));
  std::uint64_t highest = head.has_value() ? FromBe64(*head) : 0;
  if (ledger_ != nullptr) highest = std::max(highest, ledger_->Highest(issuer));
  return highest + 1;
}

absl::StatusOr<std::map<std::string, std::uint64_t>> Catalog::Heads() const {
  std::map<std::string, std::uint64_t> heads;
  HANSE_RETURN_IF_ERROR(
      store_->Scan(Family::kIssuerLog, "t|", [&](absl::string_view key, absl::string_view value) {
        heads[std::string(key.substr(2))] = FromBe64(value);
        return true;
      }));
  return heads;
}

absl::StatusOr<std::map<std::string, Catalog::Head>> Catalog::HeadDigests() const {
  HANSE_ASSIGN_OR_RETURN(auto heads, Heads());
  std::map<std::string, Head> out;
  for (const auto& [issuer, seq] : heads) {
    HANSE_ASSIGN_OR_RETURN(auto logged, store_->Get(Family::kIssuerLog, LogKey(issuer, seq)));
    Head& h = out[issuer];
    h.sequence = seq;
    if (logged.has_value() && logged->size() >= 32) h.payload_hash = logged->substr(0, 32);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> Catalog::DocumentsAfter(absl::string_view issuer,
                                                                 std::uint64_t after,
                                                                 size_t max_docs, size_t max_bytes,
                                                                 bool* more) const {
  std::vector<std::string> out;
  size_t bytes = 0;
  *more = false;
  std::string prefix = absl::StrCat("s|", issuer, "|");
  absl::Status inner = absl::OkStatus();
  HANSE_RETURN_IF_ERROR(store_->ScanFrom(
      Family::kIssuerLog, prefix, absl::StrCat(prefix, Be64(after + 1)),
      [&](absl::string_view key, absl::string_view value) {
        std::uint64_t seq = FromBe64(key.substr(prefix.size()));
        if (seq <= after || value.size() < 32) return true;
        absl::string_view id = value.substr(32);
        auto raw = store_->Get(Family::kDocuments, id);
        if (!raw.ok()) {
          inner = raw.status();
          return false;
        }
        if (!raw->has_value()) return true;
        auto stored = DecodeStored(id, **raw);
        // Only the current version of each id travels; superseded ones are skipped.
        if (!stored.ok() || stored->sequence != seq) return true;
        if (out.size() >= max_docs || (bytes + stored->jws.size() > max_bytes && !out.empty())) {
          *more = true;
          return false;
        }
        bytes += stored->jws.size();
        out.push_back(std::move(stored->jws));
        return true;
      }));
  HANSE_RETURN_IF_ERROR(inner);
  return out;
}

absl::Status Catalog::ForEach(const std::function<bool(const StoredDocument&)>& visit) const {
  absl::Status inner = absl::OkStatus();
  HANSE_RETURN_IF_ERROR(
      store_->Scan(Family::kDocuments, "", [&](absl::string_view key, absl::string_view value) {
        auto d = DecodeStored(key, value);
        if (!d.ok()) {
          inner = d.status();
          return false;
        }
        if (d->kind == DocumentKind::kTombstone) return true;
        if (GoesWithIssuer(d->kind) && IsRetired(IssuerOfId(key))) return true;
        return visit(*d);
      }));
  return inner;
}

absl::StatusOr<std::vector<CertificationRecord>> Catalog::CertificationsOf(
    absl::string_view subject, absl::Time now) const {
  if (!trust::IsDidKey(subject)) {
    return absl::InvalidArgumentError("the holder of certifications must be a did:key DID");
  }
  const std::string prefix = HolderKey(subject, "");
  std::vector<std::string> ids;
  HANSE_RETURN_IF_ERROR(
      store_->Scan(Family::kFields, prefix, [&](absl::string_view key, absl::string_view) {
        ids.emplace_back(key.substr(prefix.size()));
        return true;
      }));
  std::vector<CertificationRecord> out;
  for (const std::string& id : ids) {
    if (IsRetired(IssuerOfId(id))) continue;
    HANSE_ASSIGN_OR_RETURN(std::optional<StoredDocument> stored, GetAny(id));
    // The index is written in the same batch as the documents; a key without its certification
    // (a damaged store) counts for nothing rather than failing every decision.
    if (!stored.has_value() || stored->kind != DocumentKind::kCertification) continue;
    HANSE_ASSIGN_OR_RETURN(Document doc, DecodeDocument(*stored));
    if (doc.certification.subject != subject) continue;
    // Counts while validFrom <= now < validUntil (the policy evaluator's rule for validUntil).
    if (now < doc.valid_from || now >= doc.valid_until) continue;
    out.push_back(CertificationRecord{std::move(doc.certification.certification),
                                      std::move(doc.issuer), doc.valid_until, id, stored->sequence,
                                      std::move(stored->jws)});
  }
  return out;
}

absl::StatusOr<SearchPage> Catalog::Search(absl::string_view query, size_t limit,
                                           absl::string_view cursor) const {
  HANSE_ASSIGN_OR_RETURN(Query q, ParseQuery(query));
  return index_->Search(q, limit, cursor);
}

bool Catalog::IsFlagged(absl::string_view issuer) const {
  auto v = store_->Get(Family::kIssuerLog, FlagKey(issuer));
  return v.ok() && v->has_value();
}

absl::StatusOr<std::vector<std::string>> Catalog::FlaggedIssuers() const {
  std::vector<std::string> out;
  HANSE_RETURN_IF_ERROR(
      store_->Scan(Family::kIssuerLog, "f|", [&](absl::string_view key, absl::string_view) {
        out.emplace_back(key.substr(2));
        return true;
      }));
  return out;
}

absl::StatusOr<std::vector<EquivocationEvidence>> Catalog::Evidence(
    absl::string_view issuer) const {
  std::map<std::pair<std::string, std::uint64_t>, std::vector<std::string>> groups;
  const std::string prefix = issuer.empty() ? "e|" : absl::StrCat("e|", issuer, "|");
  HANSE_RETURN_IF_ERROR(
      store_->Scan(Family::kIssuerLog, prefix, [&](absl::string_view key, absl::string_view value) {
        absl::string_view rest = key.substr(2);
        if (rest.size() < 1 + 8 + 1 + 32) return true;
        absl::string_view issuer = rest.substr(0, rest.size() - 1 - 8 - 1 - 32);
        std::uint64_t seq = FromBe64(rest.substr(rest.size() - 41, 8));
        groups[{std::string(issuer), seq}].emplace_back(value);
        return true;
      }));
  std::vector<EquivocationEvidence> out;
  for (auto& [k, docs] : groups) {
    EquivocationEvidence e{k.first, k.second, docs.size() > 0 ? docs[0] : "",
                           docs.size() > 1 ? docs[1] : ""};
    out.push_back(std::move(e));
  }
  return out;
}

std::uint64_t Catalog::document_count() const { return index_->live_docs(); }

}  // namespace hanse::catalog
