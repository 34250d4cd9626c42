// Live search: a query asked of every member's node at once, each answer verified here, merged
// by best score with this node's own hits. Transport-free like the gossip engine: node/rpc asks
// peers over mutual TLS, tests ask catalogues in the same process.
#ifndef HANSE_NODE_FEDERATION_LIVE_SEARCH_H_
#define HANSE_NODE_FEDERATION_LIVE_SEARCH_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "catalog/catalog.h"
#include "hanse/v1/admin.pb.h"
#include "hanse/v1/federation.pb.h"
#include "node/identity/card.h"

namespace hanse::node {

// Asks one member's node for its best matches. Called from several threads at once.
class PeerSearch {
 public:
  virtual ~PeerSearch() = default;
  virtual absl::StatusOr<hanse::v1::PeerSearchResponse> Search(
      const MemberCard& member, const hanse::v1::PeerSearchRequest& request) = 0;
};

// Answers a member's live search from `catalog`: at most 100 hits, each with its stored JWS.
absl::Status ServePeerSearch(const catalog::Catalog& catalog,
                             const hanse::v1::PeerSearchRequest& request,
                             hanse::v1::PeerSearchResponse* response);

// Asks every member in parallel (each call bounded by the transport's deadline), verifies
// every returned document at `now` (a forged, expired or mislabelled hit is dropped, never
// shown), merges with this node's own hits by best score, and names who answered and who did
// not. `limit` is capped at 100.
absl::Status LiveSearch(const std::string& query, size_t limit,
                        const std::vector<MemberCard>& members, const catalog::Catalog& catalog,
                        PeerSearch& peers, absl::Time now, hanse::v1::SearchResponse* response);

// The summary of a stored dataset document that search results and listings carry.
absl::Status SummarizeInto(const catalog::StoredDocument& stored, hanse::v1::DatasetSummary* out);

}  // namespace hanse::node

#endif  // HANSE_NODE_FEDERATION_LIVE_SEARCH_H_
