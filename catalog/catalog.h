// The catalogue: verified self-descriptions in the store, with per-issuer sequence log,
// equivocation evidence, the search index (datasets) and the holder index (certifications).
// Every logical change is one WriteBatch.
#ifndef HANSE_CATALOG_CATALOG_H_
#define HANSE_CATALOG_CATALOG_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/clock.h"
#include "catalog/document.h"
#include "catalog/search_index.h"
#include "catalog/store.h"

namespace hanse::catalog {

enum class IngestOutcome {
  kStored,        // new current version
  kDuplicate,     // exactly this document is already held
  kStale,         // a version with an equal or higher sequence is current
  kEquivocation,  // same issuer and sequence as a different document: kept as evidence
};
absl::string_view IngestOutcomeName(IngestOutcome outcome);

struct IngestResult {
  IngestOutcome outcome;
  std::string id;
  std::uint64_t sequence = 0;
  DocumentKind kind = DocumentKind::kDataset;
};

// A stored document as kept: the signed form plus what is needed without re-parsing.
struct StoredDocument {
  DocumentKind kind;
  std::uint64_t sequence;
  std::string id;
  std::string jws;
  // Datasets: the publisher country the search index used (so the entry can be removed exactly).
  std::string indexed_country;
};

// A certification credential that counts now (see Catalog::CertificationsOf).
struct CertificationRecord {
  std::string name;                                 // the certification, e.g. "health-data-hosting"
  std::string issuer;                               // the issuer's DID
  absl::Time valid_until = absl::InfiniteFuture();  // InfiniteFuture: no expiry
  std::string id;
  std::uint64_t sequence = 0;
  std::string jws;  // the signed credential, for a peer that wants to check it itself
};

struct EquivocationEvidence {
  std::string issuer;
  std::uint64_t sequence;
  std::string first_jws;   // the one held as current (or that was) at that sequence
  std::string second_jws;  // the conflicting one
};

// The highest sequence each of the node's own issuers has signed, kept outside the store, so
// that a store which lost its tail (a damaged write-ahead log, a restore from an older backup)
// never makes the node sign one sequence twice. node/ keeps it in a file of the home.
class SequenceLedger {
 public:
  virtual ~SequenceLedger() = default;
  // The highest sequence recorded for `issuer` (0 when none).
  virtual std::uint64_t Highest(absl::string_view issuer) const = 0;
  // Records, durably, that `sequence` is signed for `issuer` (before it is stored or sent).
  virtual absl::Status Record(absl::string_view issuer, std::uint64_t sequence) = 0;
};

// Signs a document of one of the node's own issuers at the sequence it is given.
using SignAtSequence = std::function<absl::StatusOr<std::string>(std::uint64_t sequence)>;

// The document inside a stored JWS (verified when it was ingested, so not verified again).
absl::StatusOr<Document> DecodeDocument(const StoredDocument& stored);

class Catalog {
 public:
  // `store`, `clock` and `ledger` (optional) must outlive the catalogue.
  static absl::StatusOr<std::unique_ptr<Catalog>> Open(Store* store, const Clock* clock,
                                                       SequenceLedger* ledger = nullptr);

  // Assigns the issuer's next sequence, signs at it and stores the result in one critical
  // section, so concurrent signers (CLI, automation, the node itself) never share a sequence.
  // The sequence is past both the highest held and the ledger's record; the ledger records it
  // before the document is stored. `extra` writes go into the same synced batch as the
  // document (e.g. where a dataset's content lives), and only if it is stored. Anything but a
  // newly stored document is an error.
  // Runs `check` at the start of every SignAndIngest, outside the writer lock; an error refuses
  // the signature. The node holds its signatures there until it has heard from a member since
  // it started (a restored store may lack documents it signed). Set it before the catalogue is
  // shared between threads.
  void SetBeforeSigning(std::function<absl::Status()> check) { before_signing_ = std::move(check); }
  absl::StatusOr<IngestResult> SignAndIngest(absl::string_view issuer, const SignAtSequence& sign,
                                             const WriteBatch& extra = WriteBatch());

  // Verifies, then stores with indexes in one synced batch. A bad document is an error
  // (InvalidArgument / Unauthenticated / FailedPrecondition / ResourceExhausted) and
  // changes nothing.
  absl::StatusOr<IngestResult> Ingest(absl::string_view jws);
  // The same for several documents, verified one by one and written in one batch; the
  // outcome or error per document, in order.
  std::vector<absl::StatusOr<IngestResult>> IngestMany(const std::vector<std::string>& jws);

  // The current version of a document (any kind: participant, dataset, certification);
  // NotFound when unknown, unpublished/revoked (tombstone), or a dataset or certification of a
  // retired issuer.
  absl::StatusOr<StoredDocument> Get(absl::string_view id) const;
  // Like Get, but also returns tombstones.
  absl::StatusOr<std::optional<StoredDocument>> GetAny(absl::string_view id) const;

  // The next sequence for documents this issuer signs: 1 + the highest held (and, for the
  // node's own issuers, recorded in the ledger). Only a hint for display and tests: signing
  // goes through SignAndIngest, which assigns the sequence under the writer lock.
  absl::StatusOr<std::uint64_t> NextSequence(absl::string_view issuer) const;

  // Visits current documents (tombstones skipped; datasets and certifications of retired issuers
  // skipped) in id order until `visit` returns false. Callers that want datasets only must check
  // `kind`: participants and certifications are visited too.
  absl::Status ForEach(const std::function<bool(const StoredDocument&)>& visit) const;

  // The certifications `subject` (a did:key DID) holds at `now`: the current version of each
  // certification credential about it that is not revoked (tombstoned), whose issuer is not
  // retired, and with validFrom <= now < validUntil. In id order. Reads the holder index, not the
  // whole catalogue. InvalidArgument if `subject` is not a did:key DID.
  absl::StatusOr<std::vector<CertificationRecord>> CertificationsOf(absl::string_view subject,
                                                                    absl::Time now) const;

  // Ranked search in the documented query syntax (docs/catalogue.md). Datasets only.
  absl::StatusOr<SearchPage> Search(absl::string_view query, size_t limit,
                                    absl::string_view cursor) const;

  // Anti-entropy digests: the highest sequence held per issuer.
  absl::StatusOr<std::map<std::string, std::uint64_t>> Heads() const;
  // The same with the SHA-256 of the signed statement at that sequence, so two nodes at the
  // same sequence can tell whether they hold the same statement (equivocation shows here).
  struct Head {
    std::uint64_t sequence = 0;
    std::string payload_hash;  // 32 raw bytes
  };
  absl::StatusOr<std::map<std::string, Head>> HeadDigests() const;
  // The current documents of `issuer` with sequence > `after`, in sequence order, until
  // `max_docs` or `max_bytes` is reached. `*more` tells whether more remain.
  absl::StatusOr<std::vector<std::string>> DocumentsAfter(absl::string_view issuer,
                                                          std::uint64_t after, size_t max_docs,
                                                          size_t max_bytes, bool* more) const;

  // Takes a revoked member's datasets and certifications out of the catalogue: datasets leave
  // the search index, certifications the holder index (they no longer count), Get and ForEach no
  // longer return either, and its new documents are refused. Permanent.
  absl::Status RetireIssuer(absl::string_view issuer);
  bool IsRetired(absl::string_view issuer) const;

  bool IsFlagged(absl::string_view issuer) const;
  // Issuers caught equivocating (evidence held), in order.
  absl::StatusOr<std::vector<std::string>> FlaggedIssuers() const;
  // The equivocation evidence held, for every issuer or only `issuer`.
  absl::StatusOr<std::vector<EquivocationEvidence>> Evidence(absl::string_view issuer = {}) const;

  // Datasets in the search index (what search sees).
  std::uint64_t document_count() const;
  // Current documents by kind (indexed by DocumentKind): participants, datasets and
  // certifications as Get returns them (a retired issuer's datasets and certifications left
  // out), and tombstones. Kept in the store in the same batch as the documents, so reading it
  // costs nothing.
  using KindCounts = std::array<std::uint64_t, 4>;
  KindCounts CountByKind() const;

 private:
  Catalog(Store* store, const Clock* clock, SequenceLedger* ledger,
          std::unique_ptr<SearchIndex> index)
      : store_(store), clock_(clock), ledger_(ledger), index_(std::move(index)) {}

  // What SignAndIngest expects the signed document to be.
  struct Expected {
    absl::string_view issuer;
    std::uint64_t sequence;
  };
  // IngestMany with write_mu_ held; `extra` joins the batch when every document is stored;
  // with `expected`, a document of another issuer or sequence is refused.
  std::vector<absl::StatusOr<IngestResult>> IngestLocked(const std::vector<std::string>& jws_list,
                                                         const WriteBatch* extra,
                                                         const Expected* expected);

  static IndexedDoc ToIndexed(const Document& doc, absl::string_view country);
  // Reads the counts by kind, or counts once (a store written before they were kept).
  absl::Status LoadCounts();
  // Stages counts_ + `delta` into `batch` (write_mu_ held); returns the new counts.
  KindCounts StageCounts(const std::array<std::int64_t, 4>& delta, WriteBatch* batch) const;

  Store* store_;
  const Clock* clock_;
  SequenceLedger* ledger_;
  std::function<absl::Status()> before_signing_;
  std::unique_ptr<SearchIndex> index_;
  std::mutex write_mu_;  // one writer at a time; readers do not take it
  mutable std::mutex counts_mu_;
  KindCounts counts_{};  // as stored; changed with write_mu_ held
  mutable std::mutex retired_mu_;
  std::set<std::string, std::less<>> retired_;
};

}  // namespace hanse::catalog

#endif  // HANSE_CATALOG_CATALOG_H_
