#include "policy/request.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "policy/json_ld.h"
#include "policy/values.h"

namespace hanse::policy {
namespace {

using internal::Json;

absl::Status FieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("request.", field, ": ", message));
}

absl::StatusOr<std::string> String(const Json& v, absl::string_view field) {
  if (!v.is_string()) return FieldError(field, "expected a string");
  return v.get<std::string>();
}

absl::StatusOr<absl::Time> Time(const Json& v, absl::string_view field) {
  HANSE_ASSIGN_OR_RETURN(std::string s, String(v, field));
  std::optional<absl::Time> t = ParseDateTime(s);
  if (!t)
    return FieldError(field, absl::StrCat("\"", Printable(s), "\" is not an RFC 3339 date-time"));
  return *t;
}

absl::StatusOr<std::vector<std::string>> Strings(const Json& v, absl::string_view field) {
  if (!v.is_array()) return FieldError(field, "expected an array of strings");
  if (v.size() > kMaxRequestListItems) {
    return absl::ResourceExhaustedError(
        absl::StrCat("request.", field, ": more than ", kMaxRequestListItems, " items"));
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    HANSE_ASSIGN_OR_RETURN(std::string s, String(v[i], absl::StrCat(field, "[", i, "]")));
    out.push_back(std::move(s));
  }
  return out;
}

absl::Status Country(const std::string& code, absl::string_view field, bool allow_group) {
  const bool group = CountryGroup(code) != nullptr;
  if (group ? allow_group : IsCountryCode(code)) return absl::OkStatus();
  return FieldError(field,
                    absl::StrCat("\"", Printable(code), "\" is not an ISO 3166-1 alpha-2 code",
                                 allow_group ? " or a group (EU, EEA)" : ""));
}

}  // namespace

std::string ExpandPurposeIri(absl::string_view iri) {
  static const internal::Terms* terms = new internal::Terms();
  return terms->Expand(iri, /*vocab=*/false);
}

absl::StatusOr<Request> ParseRequest(absl::string_view json,
                                     std::optional<absl::Time> default_now) {
  if (json.size() > kMaxRequestBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "request: ", json.size(), " bytes, more than the limit of ", kMaxRequestBytes));
  }
  HANSE_ASSIGN_OR_RETURN(Json root, internal::ParseJson(json, 8), "request");
  if (!root.is_object()) return absl::InvalidArgumentError("request: expected a JSON object");
  internal::Terms terms;
  Request r;
  bool have_now = false;
  for (const auto& [key, value] : root.items()) {
    if (key == "action") {
      HANSE_ASSIGN_OR_RETURN(r.action, String(value, key));
    } else if (key == "now") {
      HANSE_ASSIGN_OR_RETURN(r.now, Time(value, key));
      have_now = true;
    } else if (key == "consumer") {
      HANSE_ASSIGN_OR_RETURN(r.consumer, String(value, key));
    } else if (key == "country") {
      HANSE_ASSIGN_OR_RETURN(std::string c, String(value, key));
      r.country = NormalizeCountry(c);
      HANSE_RETURN_IF_ERROR(Country(r.country, key, /*allow_group=*/false));
    } else if (key == "jurisdictions") {
      HANSE_ASSIGN_OR_RETURN(r.jurisdictions, Strings(value, key));
      for (size_t i = 0; i < r.jurisdictions.size(); ++i) {
        r.jurisdictions[i] = NormalizeCountry(r.jurisdictions[i]);
        HANSE_RETURN_IF_ERROR(
            Country(r.jurisdictions[i], absl::StrCat(key, "[", i, "]"), /*allow_group=*/true));
      }
    } else if (key == "certifications") {
      if (!value.is_array()) return FieldError(key, "expected an array of objects");
      if (value.size() > kMaxRequestListItems) {
        return absl::ResourceExhaustedError(
            absl::StrCat("request.certifications: more than ", kMaxRequestListItems, " items"));
      }
      for (size_t i = 0; i < value.size(); ++i) {
        const std::string path = absl::StrCat(key, "[", i, "]");
        const Json& item = value[i];
        if (!item.is_object()) return FieldError(path, "expected an object");
        Certification c;
        for (const auto& [k, v] : item.items()) {
          const std::string field = absl::StrCat(path, ".", k);
          if (k == "name") {
            HANSE_ASSIGN_OR_RETURN(c.name, String(v, field));
          } else if (k == "issuer") {
            HANSE_ASSIGN_OR_RETURN(c.issuer, String(v, field));
          } else if (k == "validUntil") {
            HANSE_ASSIGN_OR_RETURN(c.valid_until, Time(v, field));
          } else {
            return FieldError(field, "unknown field (name, issuer, validUntil)");
          }
        }
        if (c.name.empty()) return FieldError(path, "missing name");
        if (c.issuer.empty()) return FieldError(path, "missing issuer");
        r.certifications.push_back(std::move(c));
      }
    } else if (key == "purpose") {
      HANSE_ASSIGN_OR_RETURN(std::string p, String(value, key));
      r.purpose = terms.Expand(p, /*vocab=*/false);
    } else if (key == "purposeClasses") {
      HANSE_ASSIGN_OR_RETURN(r.purpose_classes, Strings(value, key));
      for (std::string& p : r.purpose_classes) p = terms.Expand(p, /*vocab=*/false);
    } else if (key == "useCount") {
      if (!value.is_number_unsigned()) return FieldError(key, "expected a non-negative integer");
      const uint64_t n = value.get<uint64_t>();
      if (n > static_cast<uint64_t>(INT64_MAX / 2)) return FieldError(key, "too large");
      r.use_count = static_cast<int64_t>(n);
    } else if (key == "agreementStart") {
      HANSE_ASSIGN_OR_RETURN(absl::Time t, Time(value, key));
      r.agreement_start = t;
    } else if (key == "target") {
      HANSE_ASSIGN_OR_RETURN(r.target, String(value, key));
    } else if (key == "partyCollections" || key == "assetCollections") {
      HANSE_ASSIGN_OR_RETURN(std::vector<std::string> list, Strings(value, key));
      for (std::string& iri : list) iri = terms.Expand(iri, /*vocab=*/false);
      (key == "partyCollections" ? r.party_collections : r.asset_collections) = std::move(list);
    } else if (key == "fulfilledDuties") {
      HANSE_ASSIGN_OR_RETURN(r.fulfilled_duties, Strings(value, key));
    } else {
      return FieldError(key,
                        "unknown field (action, now, consumer, country, jurisdictions, "
                        "certifications, purpose, purposeClasses, useCount, agreementStart, "
                        "target, partyCollections, assetCollections, fulfilledDuties)");
    }
  }
  if (!have_now) {
    if (!default_now) return FieldError("now", "missing");
    r.now = *default_now;
  }
  return r;
}

}  // namespace hanse::policy
