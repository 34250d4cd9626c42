// The node's record of the highest sequence it has signed for its own documents, in a file of
// the home beside the store (DIR/sequences.json), written durably before each signed document
// is stored. A store that lost its tail (a damaged write-ahead log, a restore from an older
// backup) cannot make the node sign a sequence twice: the catalogue assigns past this record.
#ifndef HANSE_NODE_IDENTITY_SEQUENCE_LEDGER_H_
#define HANSE_NODE_IDENTITY_SEQUENCE_LEDGER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "catalog/catalog.h"

namespace hanse::node {

class FileSequenceLedger : public catalog::SequenceLedger {
 public:
  // Reads `path`; a missing file is an empty ledger (a home from before the ledger existed).
  // A damaged file is DataLoss: the node cannot know how far it has signed.
  static absl::StatusOr<std::unique_ptr<FileSequenceLedger>> Open(std::string path);

  std::uint64_t Highest(absl::string_view issuer) const override;
  absl::Status Record(absl::string_view issuer, std::uint64_t sequence) override;

 private:
  explicit FileSequenceLedger(std::string path) : path_(std::move(path)) {}

  std::string path_;
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t, std::less<>> highest_;
};

}  // namespace hanse::node

#endif  // HANSE_NODE_IDENTITY_SEQUENCE_LEDGER_H_
