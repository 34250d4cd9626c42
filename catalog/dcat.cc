#include "catalog/dcat.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status.h"
#include "policy/policy.h"
#include "policy/values.h"

namespace hanse::catalog {
namespace {

using Json = nlohmann::ordered_json;

constexpr absl::string_view kHanseNs = "https://w3id.org/hanse/v1#";
constexpr absl::string_view kRdfNs = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
constexpr char kSpdxChecksum[] = "http://spdx.org/rdf/terms#checksum";
constexpr char kSpdxAlgorithm[] = "http://spdx.org/rdf/terms#algorithm";
constexpr char kSpdxValue[] = "http://spdx.org/rdf/terms#checksumValue";
constexpr char kSpdxSha256[] = "http://spdx.org/rdf/terms#checksumAlgorithm_sha256";
constexpr char kFoafName[] = "http://xmlns.com/foaf/0.1/name";

std::string Dump(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The policy module's short names ("use", "hanse:jurisdiction") as terms the DSP context reads:
// ODRL terms stay bare (the Dataset scope imports the ODRL profile), the Hanse and rdf prefixes,
// which the DSP context does not declare, are spelt out.
std::string Term(absl::string_view name) {
  if (absl::ConsumePrefix(&name, "hanse:")) return absl::StrCat(kHanseNs, name);
  if (absl::ConsumePrefix(&name, "rdf:")) return absl::StrCat(kRdfNs, name);
  return std::string(name);
}

// A right operand value, typed by what the left operand compares: IRIs as {"@id"}, counts as
// numbers, instants and durations as xsd literals, the rest as strings. (The DSP schema takes a
// string, an object or an array, so a bare number would not do.)
Json RightValue(policy::LeftOperand operand, const std::string& value) {
  switch (operand) {
    case policy::LeftOperand::kPurpose:
    case policy::LeftOperand::kRecipient:
      return {{"@id", value}};
    case policy::LeftOperand::kCount: {
      Json number = Json::parse(value, nullptr, false);
      return {{"@value", number.is_number() ? number : Json(value)}};
    }
    case policy::LeftOperand::kDateTime: {
      // A date alone means its first instant in UTC (docs/policies.md): say so as a dateTime.
      const std::optional<absl::Time> t = policy::ParseDateTime(value);
      return {{"@value", t ? policy::FormatInstant(*t) : value}, {"@type", "xsd:dateTime"}};
    }
    case policy::LeftOperand::kElapsedTime:
      return {{"@value", value}, {"@type", "xsd:duration"}};
    default:
      return value;
  }
}

absl::StatusOr<Json> ConstraintJson(const policy::Constraint& c) {
  if (c.logical != policy::LogicalOperator::kNone) {
    Json operands = Json::array();
    for (const policy::Constraint& child : c.children) {
      HANSE_ASSIGN_OR_RETURN(Json j, ConstraintJson(child));
      operands.push_back(std::move(j));
    }
    return Json{{std::string(policy::LogicalOperatorName(c.logical)), std::move(operands)}};
  }
  if (c.op == policy::Operator::kUnknown) {
    return absl::InvalidArgumentError(
        absl::StrCat(c.path, ": operator \"", c.operator_name, "\" is not an ODRL operator"));
  }
  Json right;
  if (c.right_is_list) {
    right = Json::array();
    for (const std::string& v : c.right) right.push_back(RightValue(c.left_operand, v));
  } else if (!c.right.empty()) {
    right = RightValue(c.left_operand, c.right.front());
  }
  Json j = {{"leftOperand", Term(c.left_operand_name)},
            {"operator", std::string(policy::OperatorName(c.op))},
            {"rightOperand", std::move(right)}};
  if (!c.issuers.empty()) j[absl::StrCat(kHanseNs, "issuer")] = c.issuers;
  if (c.has_time_zone) j[absl::StrCat(kHanseNs, "timeZone")] = c.time_zone;
  return j;
}

absl::StatusOr<Json> RuleJson(const policy::Rule& rule, const policy::Policy& p) {
  Json j = {{"action", Term(rule.action_name)}};
  // Rules inherit the policy's parties when parsed; only what a rule sets itself is written. A
  // collection keeps its type (its refinements are among the rule's constraints).
  auto party = [&j](const char* key, const policy::Subject& own, const std::string& inherited,
                    const char* collection_type) {
    if (own.iri.empty() || (own.iri == inherited && !own.collection)) return;
    j[key] = own.collection ? Json{{"@type", collection_type}, {"source", own.iri}} : Json(own.iri);
  };
  party("target", rule.target, p.target, "AssetCollection");
  party("assignee", rule.assignee, "", "PartyCollection");
  if (!rule.uid.empty()) j["@id"] = rule.uid;
  if (!rule.assigner.empty() && rule.assigner != p.assigner) j["assigner"] = rule.assigner;
  if (!rule.constraints.empty()) {
    Json constraints = Json::array();
    for (const policy::Constraint& c : rule.constraints) {
      HANSE_ASSIGN_OR_RETURN(Json cj, ConstraintJson(c));
      constraints.push_back(std::move(cj));
    }
    j["constraint"] = std::move(constraints);
  }
  if (!rule.duties.empty()) {
    Json duties = Json::array();
    for (const policy::Rule& duty : rule.duties) {
      HANSE_ASSIGN_OR_RETURN(Json dj, RuleJson(duty, p));
      duties.push_back(std::move(dj));
    }
    j["duty"] = std::move(duties);
  }
  return j;
}

absl::Status AddRules(const std::vector<policy::Rule>& rules, const char* key,
                      const policy::Policy& p, Json* offer) {
  if (rules.empty()) return absl::OkStatus();
  Json list = Json::array();
  for (const policy::Rule& rule : rules) {
    HANSE_ASSIGN_OR_RETURN(Json j, RuleJson(rule, p));
    list.push_back(std::move(j));
  }
  (*offer)[key] = std::move(list);
  return absl::OkStatus();
}

// An SPDX licence id ("CC-BY-4.0") as its IRI; an IRI as it is.
std::string LicenseIri(absl::string_view license) {
  if (absl::StrContains(license, ":")) return std::string(license);
  return absl::StrCat("http://spdx.org/licenses/", license);
}

Json ServiceJson(const DataService& service) {
  Json j = {{"@id", service.id}, {"@type", "DataService"}, {"endpointURL", service.endpoint_url}};
  j["endpointDescription"] =
      "Hanse federation API: gRPC (hanse.v1.Contracts, hanse.v1.Exchange) over mutual TLS, "
      "each side authenticated by its did:key DID";
  return j;
}

// "{...head" without its closing brace, so that arrays can be appended.
std::string OpenObject(const Json& head, int indent) {
  std::string text = Dump(head, indent);
  text.pop_back();  // '}'
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

DataService ParticipantDataService(absl::string_view did, absl::string_view endpoint) {
  DataService s;
  s.id = absl::StrCat("urn:hanse:dataservice:", did);
  if (!endpoint.empty()) s.endpoint_url = absl::StrCat("https://", endpoint);
  return s;
}

absl::StatusOr<nlohmann::ordered_json> DspOffer(const Document& dataset) {
  // Only a policy every part of which Hanse understands is re-expressed: anything it would drop
  // (an unknown property, a reference, an unevaluable refinement) could read wider than signed.
  HANSE_RETURN_IF_ERROR(policy::ValidatePolicyForPublishing(dataset.dataset.policy_json),
                        absl::StrCat(dataset.id, ": usage policy"));
  HANSE_ASSIGN_OR_RETURN(policy::Policy p, policy::ParsePolicy(dataset.dataset.policy_json),
                         absl::StrCat(dataset.id, ": usage policy"));
  if (p.permissions.empty() && p.prohibitions.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        dataset.id, ": usage policy has no permission and no prohibition (a DSP offer needs one)"));
  }
  Json offer = {
      {"@id",
       p.uid.empty() ? absl::StrCat("urn:hanse:offer:", dataset.id, ":", dataset.sequence) : p.uid},
      {"@type", "Offer"}};
  // Parties stay on the rules, where a collection keeps its type.
  if (!p.assigner.empty()) offer["assigner"] = p.assigner;
  absl::Status s = AddRules(p.permissions, "permission", p, &offer);
  if (s.ok()) s = AddRules(p.prohibitions, "prohibition", p, &offer);
  if (s.ok()) s = AddRules(p.obligations, "obligation", p, &offer);
  if (!s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(dataset.id, ": usage policy: ", s.message()));
  }
  return offer;
}

absl::StatusOr<nlohmann::ordered_json> DspDataset(const Document& doc, const DataService& service,
                                                  bool embed_service) {
  const DatasetFacts& d = doc.dataset;
  HANSE_ASSIGN_OR_RETURN(Json offer, DspOffer(doc));
  Json dist = {{"@type", "Distribution"}, {"format", kDspTransferFormat}};
  dist["accessService"] = embed_service ? ServiceJson(service) : Json(service.id);
  dist["dcat:mediaType"] = d.media_type;
  if (!d.live) {
    // A live distribution's bytes differ per transfer: no size, no checksum to promise.
    dist["dcat:byteSize"] = d.byte_size;
    dist[kSpdxChecksum] = {{kSpdxAlgorithm, {{"@id", kSpdxSha256}}}, {kSpdxValue, d.sha256}};
  }
  if (d.distribution_kind == "directory") {
    // A tree travels as one tar stream of its files (docs/data-sources.md).
    dist["dcat:packageFormat"] = "application/x-tar";
  }

  Json j = {{"@id", doc.id}, {"@type", "Dataset"}, {"dct:title", d.title}};
  if (!d.description.empty()) j["dct:description"] = d.description;
  if (!d.keywords.empty()) j["dcat:keyword"] = d.keywords;
  if (!d.themes.empty()) j["dcat:theme"] = d.themes;
  j["dct:publisher"] = {{"@id", doc.issuer}, {kFoafName, d.publisher}};
  j["dct:license"] = {{"@id", LicenseIri(d.license)}};
  j["dct:language"] = d.language;
  j["dct:issued"] = d.issued;
  if (!d.modified.empty()) j["dct:modified"] = d.modified;
  j["dct:spatial"] = d.hosting_location;
  j[absl::StrCat(kHanseNs, "sequence")] = doc.sequence;
  j["hasPolicy"] = Json::array({std::move(offer)});
  j["distribution"] = Json::array({std::move(dist)});
  return j;
}

absl::StatusOr<std::string> DspDatasetResponse(const Document& dataset,
                                               const DataService& service) {
  HANSE_ASSIGN_OR_RETURN(Json body, DspDataset(dataset, service, /*embed_service=*/true));
  Json j = {{"@context", Json::array({kDspContext})}};
  for (auto& [key, value] : body.items()) j[key] = std::move(value);
  return absl::StrCat(Dump(j, 2), "\n");
}

DspCatalogWriter::DspCatalogWriter(absl::string_view participant_did, DataService service)
    : participant_did_(participant_did), service_(std::move(service)) {}

std::string DspCatalogWriter::Begin() const {
  Json head = {{"@context", Json::array({kDspContext})},
               {"@id", absl::StrCat("urn:hanse:catalog:", participant_did_)},
               {"@type", "Catalog"},
               {"participantId", participant_did_},
               {"service", Json::array({ServiceJson(service_)})}};
  return OpenObject(head, 2);
}

absl::StatusOr<std::string> DspCatalogWriter::OwnDataset(const Document& dataset) {
  if (state_ == State::kNested) {
    return absl::FailedPreconditionError("own datasets must come before other publishers'");
  }
  HANSE_ASSIGN_OR_RETURN(Json j, DspDataset(dataset, service_, /*embed_service=*/false));
  std::string text = state_ == State::kHead ? ",\n  \"dataset\": [\n    " : ",\n    ";
  state_ = State::kOwn;
  absl::StrAppend(&text, Dump(j));
  return text;
}

absl::StatusOr<std::string> DspCatalogWriter::PublisherDataset(
    const Document& dataset, const DataService& publisher_service) {
  HANSE_ASSIGN_OR_RETURN(Json j, DspDataset(dataset, publisher_service, /*embed_service=*/false));
  std::string text;
  if (state_ == State::kNested && nested_publisher_ == dataset.issuer) {
    text = ",\n      ";
  } else {
    if (state_ == State::kOwn) text = "\n  ]";
    text += state_ == State::kNested ? "\n    ]},\n    " : ",\n  \"catalog\": [\n    ";
    Json head = {{"@id", absl::StrCat("urn:hanse:catalog:", dataset.issuer)},
                 {"@type", "Catalog"},
                 {"participantId", dataset.issuer}};
    if (!publisher_service.endpoint_url.empty()) {
      head["service"] = Json::array({ServiceJson(publisher_service)});
    }
    absl::StrAppend(&text, OpenObject(head, -1), ", \"dataset\": [\n      ");
    state_ = State::kNested;
    nested_publisher_ = dataset.issuer;
  }
  absl::StrAppend(&text, Dump(j));
  return text;
}

std::string DspCatalogWriter::End() {
  std::string text;
  if (state_ == State::kOwn) text = "\n  ]";
  if (state_ == State::kNested) text = "\n    ]}\n  ]";
  state_ = State::kHead;
  absl::StrAppend(&text, "\n}\n");
  return text;
}

}  // namespace hanse::catalog
