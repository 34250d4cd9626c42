// The contracts column family, whole: every key node/contract, node/exchange and
// node/publishing keep there, in one place so that no two owners can collide. (Two styles for
// historical reasons; changing them would be a store-format change.)
//   n/<p|c>/<negotiation id>  -> the negotiation (contract_store.cc)
//   a/<p|c>/<agreement id>    -> its negotiation id
//   u/<agreement id>          -> use count {"count": n, "lastUse": time}
//   d/<duty id>               -> a scheduled duty (duties.cc)
//   open|<agreement id>       -> the provider's open use of a transfer {"use": n, "resumes": k}
//   card|<did>                -> a member's card, kept for evidence bundles
//   content|<dataset id>      -> where a published dataset's content lives (relative to DIR/data)
#ifndef HANSE_NODE_CONTRACT_KEYS_H_
#define HANSE_NODE_CONTRACT_KEYS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "node/contract/negotiation.h"

namespace hanse::contract {

std::string NegotiationKey(Role role, absl::string_view id);
// The prefix of every NegotiationKey (of `role`, or of both).
std::string NegotiationPrefix(const Role* role);
std::string AgreementKey(Role role, absl::string_view agreement_id);
std::string UseKey(absl::string_view agreement_id);
std::string DutyKey(absl::string_view duty_id);
inline constexpr absl::string_view kDutyPrefix = "d/";
std::string OpenUseKey(absl::string_view agreement_id);
std::string CardKey(absl::string_view did);
std::string ContentKey(absl::string_view dataset_id);
// An own dataset whose source no longer matches what was published (JSON: reason, since);
// written by the provider when it refuses to send, removed by republishing or unpublishing.
std::string RepublishKey(absl::string_view dataset_id);
inline constexpr absl::string_view kRepublishPrefix = "republish|";

}  // namespace hanse::contract

#endif  // HANSE_NODE_CONTRACT_KEYS_H_
