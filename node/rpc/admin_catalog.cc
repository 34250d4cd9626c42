#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/status.h"
#include "catalog/catalog.h"
#include "catalog/dcat.h"
#include "catalog/query.h"
#include "node/publishing/publishing.h"
#include "node/rpc/admin_handlers.h"
#include "trust/did_key.h"
#include "trust/jws.h"

namespace hanse::node {
namespace {

// Export chunks are about this size.
constexpr size_t kExportChunk = 256u << 10;

}  // namespace

absl::Status CatalogAdmin::Publish(
    const hanse::v1::PublishDatasetRequest& req, hanse::v1::PublishDatasetResponse* resp,
    const std::function<void(std::uint64_t done, std::uint64_t total)>& progress) {
  if (req.json().size() > 1 << 20) {
    return absl::ResourceExhaustedError("publish file larger than 1 MiB");
  }
  HANSE_ASSIGN_OR_RETURN(auto result, PublishDataset(*node_->home, req.json(), *node_->catalog,
                                                     node_->clock->Now(), progress));
  resp->set_id(result.id);
  resp->set_sequence(result.sequence);
  resp->set_outcome(std::string(catalog::IngestOutcomeName(result.outcome)));
  if (auto stored = node_->catalog->Get(result.id); stored.ok()) {
    node_->gossip->PushSoon(stored->jws);
  }
  log::Info("dataset published",
            {{"id", result.id}, {"sequence", std::to_string(result.sequence)}});
  return absl::OkStatus();
}

absl::Status CatalogAdmin::Unpublish(const hanse::v1::UnpublishDatasetRequest& req,
                                     hanse::v1::UnpublishDatasetResponse* resp) {
  HANSE_ASSIGN_OR_RETURN(
      auto result, UnpublishDataset(*node_->home, req.id(), *node_->catalog, node_->clock->Now()));
  resp->set_sequence(result.sequence);
  if (auto stored = node_->catalog->GetAny(req.id()); stored.ok() && stored->has_value()) {
    node_->gossip->PushSoon((*stored)->jws);
  }
  log::Info("dataset unpublished",
            {{"id", req.id()}, {"sequence", std::to_string(result.sequence)}});
  return absl::OkStatus();
}

absl::Status CatalogAdmin::List(const hanse::v1::ListDatasetsRequest& req,
                                hanse::v1::ListDatasetsResponse* resp) {
  size_t limit = req.limit() == 0 ? 100 : std::min<size_t>(req.limit(), 1000);
  std::string prefix = req.mine() ? node_->home->identity.did + "/datasets/" : "";
  absl::Status inner = absl::OkStatus();
  std::string last;
  bool more = false;
  HANSE_ASSIGN_OR_RETURN(auto republish, NeedingRepublication(*node_->store));
  HANSE_RETURN_IF_ERROR(node_->catalog->ForEach([&](const catalog::StoredDocument& d) {
    if (d.kind != catalog::DocumentKind::kDataset) return true;
    if (!req.after().empty() && d.id <= req.after()) return true;
    if (!prefix.empty() && !absl::StartsWith(d.id, prefix)) return true;
    if (static_cast<size_t>(resp->datasets_size()) >= limit) {
      more = true;
      return false;
    }
    hanse::v1::DatasetSummary* summary = resp->add_datasets();
    if (auto it = republish.find(d.id); it != republish.end()) {
      summary->set_needs_republication(it->second);
    }
    inner = SummarizeInto(d, summary);
    last = d.id;
    return inner.ok();
  }));
  HANSE_RETURN_IF_ERROR(inner);
  if (more) resp->set_next_after(last);
  return absl::OkStatus();
}

absl::Status CatalogAdmin::Get(const hanse::v1::GetDocumentRequest& req,
                               hanse::v1::GetDocumentResponse* resp) {
  HANSE_ASSIGN_OR_RETURN(catalog::StoredDocument d, node_->catalog->Get(req.id()));
  HANSE_ASSIGN_OR_RETURN(auto v, trust::DecodeUnverified(d.jws));
  resp->set_id(d.id);
  resp->set_kind(std::string(catalog::DocumentKindName(d.kind)));
  resp->set_sequence(d.sequence);
  resp->set_jws(d.jws);
  resp->set_payload_json(v.payload);
  if (req.format() == "dcat") {
    if (d.kind != catalog::DocumentKind::kDataset) {
      return absl::InvalidArgumentError(
          absl::StrCat(req.id(), " is a ", catalog::DocumentKindName(d.kind),
                       ", not a dataset: only datasets have a DCAT form"));
    }
    HANSE_ASSIGN_OR_RETURN(catalog::Document doc, catalog::DecodeDocument(d));
    HANSE_ASSIGN_OR_RETURN(std::string dcat,
                           catalog::DspDatasetResponse(doc, DataServiceOf(doc.issuer)));
    resp->set_dcat_json(std::move(dcat));
  } else if (!req.format().empty()) {
    return absl::InvalidArgumentError("format must be empty or dcat");
  }
  return absl::OkStatus();
}

absl::Status CatalogAdmin::Search(const hanse::v1::SearchRequest& req,
                                  hanse::v1::SearchResponse* resp) {
  size_t limit = req.limit() == 0 ? 10 : req.limit();
  const SearchTimer timer(node_->metrics, req.live() ? "live" : "local");
  if (req.live()) {
    std::unique_ptr<PeerSearch> peers = NewGrpcPeerSearch(node_);
    return node::LiveSearch(req.query(), limit, node_->peers->List(), *node_->catalog, *peers,
                            node_->clock->Now(), resp);
  }
  HANSE_ASSIGN_OR_RETURN(catalog::SearchPage page,
                         node_->catalog->Search(req.query(), limit, req.cursor()));
  for (const auto& hit : page.hits) {
    auto stored = node_->catalog->Get(hit.id);
    if (!stored.ok()) continue;  // unpublished between index read and fetch
    auto* out = resp->add_hits();
    out->set_score(hit.score);
    HANSE_RETURN_IF_ERROR(SummarizeInto(*stored, out->mutable_dataset()));
  }
  resp->set_next_cursor(page.next_cursor);
  resp->set_total_estimate(page.total_estimate);
  return absl::OkStatus();
}

absl::Status CatalogAdmin::Export(const hanse::v1::ExportCatalogRequest& req,
                                  const std::function<bool(std::string)>& write) {
  if (req.format() == "dcat") return ExportDsp(write);
  if (req.format() != "jws") return absl::InvalidArgumentError("format must be dcat or jws");
  std::string buffer;
  bool ok = true;
  HANSE_RETURN_IF_ERROR(node_->catalog->ForEach([&](const catalog::StoredDocument& d) {
    absl::StrAppend(&buffer, d.jws, "\n");
    if (buffer.size() >= kExportChunk) ok = write(std::exchange(buffer, {}));
    return ok;
  }));
  if (!ok) return absl::CancelledError("the client went away");
  write(std::move(buffer));
  return absl::OkStatus();
}

// Two passes over the catalogue: this node's datasets first (the root catalog's `dataset`), then
// every other publisher's (one nested catalog each; ids start with the issuer's DID, so a
// publisher's datasets are consecutive in id order). A dataset whose policy cannot be a DSP offer
// is left out and logged rather than failing the whole export.
absl::Status CatalogAdmin::ExportDsp(const std::function<bool(std::string)>& write) {
  const std::string& self = node_->home->identity.did;
  catalog::DspCatalogWriter writer(self, DataServiceOf(self));
  std::string buffer = writer.Begin();
  absl::Status inner = absl::OkStatus();
  bool ok = true;
  std::string publisher;
  catalog::DataService publisher_service;
  for (const bool own : {true, false}) {
    HANSE_RETURN_IF_ERROR(node_->catalog->ForEach([&](const catalog::StoredDocument& d) {
      if (d.kind != catalog::DocumentKind::kDataset) return true;
      auto doc = catalog::DecodeDocument(d);
      if (!doc.ok()) return (inner = doc.status()).ok();
      if ((doc->issuer == self) != own) return true;
      absl::StatusOr<std::string> text;
      if (own) {
        text = writer.OwnDataset(*doc);
      } else {
        if (doc->issuer != publisher) {
          publisher = doc->issuer;
          publisher_service = DataServiceOf(publisher);
        }
        text = writer.PublisherDataset(*doc, publisher_service);
      }
      if (!text.ok()) {
        log::Warn("dataset left out of the DCAT export",
                  {{"id", d.id}, {"reason", std::string(text.status().message())}});
        return true;
      }
      buffer += *text;
      if (buffer.size() >= kExportChunk) ok = write(std::exchange(buffer, {}));
      return ok;
    }));
    HANSE_RETURN_IF_ERROR(inner);
    if (!ok) return absl::CancelledError("the client went away");
  }
  buffer += writer.End();
  write(std::move(buffer));
  return absl::OkStatus();
}

// The participant's data service at the first endpoint its current self-description
// advertises; for this node, the configured endpoint when it has none yet.
catalog::DataService CatalogAdmin::DataServiceOf(const std::string& did) const {
  std::string endpoint;
  if (auto stored = node_->catalog->Get(did); stored.ok()) {
    if (auto doc = catalog::DecodeDocument(*stored);
        doc.ok() && doc->kind == catalog::DocumentKind::kParticipant &&
        !doc->participant.endpoints.empty()) {
      endpoint = doc->participant.endpoints.front();
    }
  }
  if (endpoint.empty() && did == node_->home->identity.did) {
    const Config& config = node_->home->config;
    endpoint = config.endpoint.empty() ? config.listen : config.endpoint;
  }
  return catalog::ParticipantDataService(did, endpoint);
}

}  // namespace hanse::node
