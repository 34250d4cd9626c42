// DCAT JSON-LD in the shape of the Dataspace Protocol 2025-1 catalog messages: the catalog a
// provider returns for a catalog request and the dataset it returns for a dataset request.
// docs/catalogue.md ("Export") describes the shape; tests/dsp/ validates it against the DSP
// 2025-1 JSON Schemas.
//
// The DSP context (@protected) defines the DSP terms and the dcat, dct, odrl, dspace and xsd
// prefixes only, so the rest of the DCAT metadata is written as dct:/dcat: compact IRIs and the
// few other terms (SPDX checksum, FOAF name, the Hanse sequence) as full IRIs: a JSON-LD processor
// reads the output with no context but the DSP one.
#ifndef HANSE_CATALOG_DCAT_H_
#define HANSE_CATALOG_DCAT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "catalog/document.h"
#include "nlohmann/json.hpp"

namespace hanse::catalog {

inline constexpr absl::string_view kDspContext = "https://w3id.org/dspace/2025/1/context.jsonld";
// The transfer type of a Hanse distribution (DSP `format`): `hanse fetch` pulls the content over
// the members' mutually authenticated gRPC channel once an agreement is signed.
inline constexpr absl::string_view kDspTransferFormat = "HanseGrpc-PULL";

// A participant's DSP data service: where consumers negotiate and fetch.
struct DataService {
  std::string id;            // "urn:hanse:dataservice:" + DID
  std::string endpoint_url;  // "https://HOST:PORT" (gRPC over mutual TLS); empty when unknown
};
// The data service of participant `did` reached at `endpoint` (HOST:PORT, or empty).
DataService ParticipantDataService(absl::string_view did, absl::string_view endpoint);

// The dataset's signed usage policy as a DSP Offer: compact ODRL terms, "@type": "Offer", "@id"
// the policy's uid or, when it has none, "urn:hanse:offer:DATASET_ID:SEQUENCE"; no policy-level
// target (in a catalog the target is the dataset). InvalidArgument when the policy cannot be a DSP
// offer: it does not parse, has no permission and no prohibition, or uses an unknown operator.
absl::StatusOr<nlohmann::ordered_json> DspOffer(const Document& dataset);

// One dataset as a DSP Dataset without @context. Its distribution's accessService is the service
// id (`embed_service` false, inside a catalog that lists the service) or the DataService object.
absl::StatusOr<nlohmann::ordered_json> DspDataset(const Document& dataset,
                                                  const DataService& service, bool embed_service);

// What a DSP dataset request returns: the dataset with the DSP @context and its service
// embedded, pretty-printed, ending with a newline.
absl::StatusOr<std::string> DspDatasetResponse(const Document& dataset, const DataService& service);

// Writes a DSP catalog in pieces, for streaming. The root catalog is the participant's: its
// service and its own datasets (`dataset`). Datasets other members published (replicated here)
// go in one nested catalog per publisher (`catalog`), with that publisher's participantId and
// service, so that every dataset points to the service that can actually negotiate it. All own
// datasets must come before any other's; another publisher's datasets must be consecutive.
// Empty arrays are left out (the schema wants at least one item).
class DspCatalogWriter {
 public:
  DspCatalogWriter(absl::string_view participant_did, DataService service);

  // The opening of the root catalog, up to its service.
  std::string Begin() const;
  // A dataset of the participant itself.
  absl::StatusOr<std::string> OwnDataset(const Document& dataset);
  // A dataset of another publisher, `publisher_service` its data service.
  absl::StatusOr<std::string> PublisherDataset(const Document& dataset,
                                               const DataService& publisher_service);
  // Closes whatever is open, then the root catalog; ends with a newline.
  std::string End();

 private:
  enum class State { kHead, kOwn, kNested };
  std::string participant_did_;
  DataService service_;
  State state_ = State::kHead;
  std::string nested_publisher_;
};

}  // namespace hanse::catalog

#endif  // HANSE_CATALOG_DCAT_H_
