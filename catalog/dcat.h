// DCAT JSON-LD export, shaped like a Dataspace Protocol catalog response
// (dcat:Catalog with dcat:dataset entries, each with its ODRL offer as odrl:hasPolicy).
#ifndef HANSE_CATALOG_DCAT_H_
#define HANSE_CATALOG_DCAT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "catalog/document.h"

namespace hanse::catalog {

// The opening of the catalog object, up to and including `"dcat:dataset": [`.
std::string DcatCatalogHead(absl::string_view participant_did);
// One dataset as a JSON-LD object (no trailing comma).
std::string DcatDataset(const Document& dataset);
// The closing `]}`.
std::string DcatCatalogTail();

}  // namespace hanse::catalog

#endif  // HANSE_CATALOG_DCAT_H_
