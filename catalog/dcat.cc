#include "catalog/dcat.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace hanse::catalog {

std::string DcatCatalogHead(absl::string_view participant_did) {
  nlohmann::ordered_json ctx = {
      {"@vocab", "https://w3id.org/dspace/v0.8/"}, {"dcat", "http://www.w3.org/ns/dcat#"},
      {"dct", "http://purl.org/dc/terms/"},        {"odrl", "http://www.w3.org/ns/odrl/2/"},
      {"dspace", "https://w3id.org/dspace/v0.8/"}, {"spdx", "http://spdx.org/rdf/terms#"},
      {"foaf", "http://xmlns.com/foaf/0.1/"}};
  nlohmann::ordered_json head = {{"@context", ctx},
                                 {"@id", absl::StrCat("urn:hanse:catalog:", participant_did)},
                                 {"@type", "dcat:Catalog"},
                                 {"dspace:participantId", std::string(participant_did)}};
  std::string text = head.dump(2);
  // Reopen the object to append the dataset array.
  text.pop_back();  // '}'
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  absl::StrAppend(&text, ",\n  \"dcat:dataset\": [\n");
  return text;
}

std::string DcatDataset(const Document& doc) {
  const DatasetFacts& d = doc.dataset;
  nlohmann::ordered_json dist = {
      {"@type", "dcat:Distribution"},
      {"dcat:mediaType", d.media_type},
      {"dcat:byteSize", d.byte_size},
      {"spdx:checksum",
       {{"spdx:algorithm", "spdx:checksumAlgorithm_sha256"}, {"spdx:checksumValue", d.sha256}}},
      {"dct:format", d.media_type}};
  nlohmann::ordered_json j = {
      {"@id", doc.id},
      {"@type", "dcat:Dataset"},
      {"dct:title", d.title},
      {"dct:description", d.description},
      {"dcat:keyword", d.keywords},
      {"dcat:theme", d.themes},
      {"dct:publisher", {{"@id", doc.issuer}, {"foaf:name", d.publisher}}},
      {"dct:license", d.license},
      {"dct:language", d.language},
      {"dct:issued", d.issued},
      {"dct:spatial", d.hosting_location},
      {"dspace:sequence", doc.sequence},
      {"odrl:hasPolicy", nlohmann::ordered_json::parse(d.policy_json, nullptr, false)},
      {"dcat:distribution", {dist}}};
  if (!d.modified.empty()) j["dct:modified"] = d.modified;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string DcatCatalogTail() { return "\n  ]\n}\n"; }

}  // namespace hanse::catalog
