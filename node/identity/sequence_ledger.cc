#include "node/identity/sequence_ledger.h"

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"
#include "nlohmann/json.hpp"

namespace hanse::node {

absl::StatusOr<std::unique_ptr<FileSequenceLedger>> FileSequenceLedger::Open(std::string path) {
  std::unique_ptr<FileSequenceLedger> ledger(new FileSequenceLedger(path));
  if (!PathExists(path)) return ledger;
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 1 << 20));
  auto damaged = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat(
        path, " is damaged (", why,
        "): it records how far this node has signed its own documents, so the node will not "
        "sign without it; restore it from the backup taken with the store"));
  };
  absl::StatusOr<nlohmann::json> parsed = ParseJson(text);
  if (!parsed.ok()) return damaged(parsed.status().message());
  const nlohmann::json& j = *parsed;
  if (!j.is_object()) return damaged("not a JSON object");
  for (const auto& [issuer, value] : j.items()) {
    if (!value.is_number_unsigned()) return damaged(absl::StrCat(issuer, ": not a sequence"));
    ledger->highest_[issuer] = value.get<std::uint64_t>();
  }
  return ledger;
}

std::uint64_t FileSequenceLedger::Highest(absl::string_view issuer) const {
  std::lock_guard lock(mu_);
  auto it = highest_.find(issuer);
  return it == highest_.end() ? 0 : it->second;
}

absl::Status FileSequenceLedger::Record(absl::string_view issuer, std::uint64_t sequence) {
  std::lock_guard lock(mu_);
  auto it = highest_.find(issuer);
  if (it != highest_.end() && it->second >= sequence) return absl::OkStatus();
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [did, seq] : highest_) j[did] = seq;
  j[std::string(issuer)] = sequence;
  HANSE_RETURN_IF_ERROR(WriteFileAtomic(path_, j.dump() + "\n", 0600));
  highest_[std::string(issuer)] = sequence;
  return absl::OkStatus();
}

}  // namespace hanse::node
