#include "node/contract/keys.h"

#include "absl/strings/str_cat.h"

namespace hanse::contract {
namespace {

absl::string_view RoleTag(Role role) { return role == Role::kProvider ? "p" : "c"; }

}  // namespace

std::string NegotiationKey(Role role, absl::string_view id) {
  return absl::StrCat("n/", RoleTag(role), "/", id);
}
std::string NegotiationPrefix(const Role* role) {
  return role ? absl::StrCat("n/", RoleTag(*role), "/") : "n/";
}
std::string AgreementKey(Role role, absl::string_view agreement_id) {
  return absl::StrCat("a/", RoleTag(role), "/", agreement_id);
}
std::string UseKey(absl::string_view agreement_id) { return absl::StrCat("u/", agreement_id); }
std::string DutyKey(absl::string_view duty_id) { return absl::StrCat(kDutyPrefix, duty_id); }
std::string OpenUseKey(absl::string_view agreement_id) {
  return absl::StrCat("open|", agreement_id);
}
std::string CardKey(absl::string_view did) { return absl::StrCat("card|", did); }
std::string ContentKey(absl::string_view dataset_id) {
  return absl::StrCat("content|", dataset_id);
}
std::string RepublishKey(absl::string_view dataset_id) {
  return absl::StrCat(kRepublishPrefix, dataset_id);
}

}  // namespace hanse::contract
