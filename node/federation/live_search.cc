#include "node/federation/live_search.h"

#include <algorithm>
#include <map>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "catalog/document.h"
#include "catalog/query.h"

namespace hanse::node {

inline constexpr size_t kMaxLiveHits = 100;

absl::Status SummarizeInto(const catalog::StoredDocument& stored, hanse::v1::DatasetSummary* out) {
  HANSE_ASSIGN_OR_RETURN(catalog::Document doc, catalog::DecodeDocument(stored));
  const auto& d = doc.dataset;
  out->set_id(doc.id);
  out->set_title(d.title);
  out->set_publisher(d.publisher);
  out->set_issuer(doc.issuer);
  out->set_sequence(doc.sequence);
  out->set_issued(d.issued);
  for (const auto& t : d.themes) out->add_themes(t);
  for (const auto& k : d.keywords) out->add_keywords(k);
  out->set_media_type(d.media_type);
  out->set_byte_size(d.byte_size);
  out->set_language(d.language);
  out->set_license(d.license);
  out->set_hosting_location(d.hosting_location);
  return absl::OkStatus();
}

absl::Status ServePeerSearch(const catalog::Catalog& catalog,
                             const hanse::v1::PeerSearchRequest& request,
                             hanse::v1::PeerSearchResponse* response) {
  size_t limit = std::clamp<size_t>(request.limit(), 1, kMaxLiveHits);
  HANSE_ASSIGN_OR_RETURN(catalog::SearchPage page, catalog.Search(request.query(), limit, ""));
  for (const auto& hit : page.hits) {
    auto stored = catalog.Get(hit.id);
    if (!stored.ok()) continue;  // unpublished between the index read and the fetch
    auto* h = response->add_hits();
    h->set_id(hit.id);
    h->set_score(hit.score);
    h->set_jws(stored->jws);
  }
  return absl::OkStatus();
}

absl::Status LiveSearch(const std::string& query, size_t limit,
                        const std::vector<MemberCard>& members, const catalog::Catalog& catalog,
                        PeerSearch& peers, absl::Time now, hanse::v1::SearchResponse* response) {
  HANSE_RETURN_IF_ERROR(catalog::ParseQuery(query).status());
  limit = std::clamp<size_t>(limit, 1, kMaxLiveHits);
  struct Answer {
    absl::Status status;
    hanse::v1::PeerSearchResponse response;
  };
  std::vector<Answer> answers(members.size());
  {
    hanse::v1::PeerSearchRequest request;
    request.set_query(query);
    request.set_limit(static_cast<uint32_t>(limit));
    std::vector<std::thread> threads;
    threads.reserve(members.size());
    for (size_t i = 0; i < members.size(); ++i) {
      threads.emplace_back([&, i] {
        auto r = peers.Search(members[i], request);
        if (r.ok()) {
          answers[i].response = *std::move(r);
        } else {
          answers[i].status = r.status();
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  // Our own catalogue answers too.
  std::map<std::string, std::pair<double, std::string>> merged;  // id -> (score, jws)
  HANSE_ASSIGN_OR_RETURN(catalog::SearchPage local, catalog.Search(query, limit, ""));
  for (const auto& hit : local.hits) {
    if (auto stored = catalog.Get(hit.id); stored.ok()) merged[hit.id] = {hit.score, stored->jws};
  }
  for (size_t i = 0; i < members.size(); ++i) {
    const Answer& a = answers[i];
    if (!a.status.ok()) {
      response->add_failed(absl::StrCat(members[i].did, " (", a.status.message(), ")"));
      continue;
    }
    response->add_answered(members[i].did);
    for (const auto& h : a.response.hits()) {
      // Never show a peer's answer unverified.
      auto vd = catalog::VerifyDocument(h.jws(), now);
      if (!vd.ok() || vd->doc.id != h.id() || vd->doc.kind != catalog::DocumentKind::kDataset) {
        continue;
      }
      auto it = merged.find(h.id());
      if (it == merged.end() || it->second.first < h.score()) merged[h.id()] = {h.score(), h.jws()};
    }
  }
  std::vector<std::pair<double, std::string>> order;  // (-score, id): best first, then by id
  for (const auto& [id, v] : merged) order.emplace_back(-v.first, id);
  std::sort(order.begin(), order.end());
  for (size_t i = 0; i < order.size() && i < limit; ++i) {
    const auto& [neg_score, id] = order[i];
    auto* out = response->add_hits();
    out->set_score(-neg_score);
    catalog::StoredDocument sd{catalog::DocumentKind::kDataset, 0, id, merged[id].second, ""};
    HANSE_RETURN_IF_ERROR(SummarizeInto(sd, out->mutable_dataset()));
  }
  response->set_total_estimate(merged.size());
  return absl::OkStatus();
}

}  // namespace hanse::node
