// What a node signs about itself and its datasets: the participant self-description (at init,
// and again whenever its facts change) and dataset descriptions from the documented plain
// JSON publish format (docs/catalogue.md).
#ifndef HANSE_NODE_PUBLISHING_PUBLISHING_H_
#define HANSE_NODE_PUBLISHING_PUBLISHING_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "catalog/catalog.h"
#include "catalog/document.h"
#include "node/identity/home.h"
#include "node/source/factory.h"

namespace hanse::node {

// The participant facts this home states (config + the bound endpoint).
catalog::ParticipantFacts ParticipantFactsOf(const Home& home, absl::string_view endpoint);

// Signs and stores the participant self-description if the stored one differs from `facts`
// (or none exists). Returns true when a new version was signed.
absl::StatusOr<bool> EnsureParticipantDescription(const Home& home,
                                                  const catalog::ParticipantFacts& facts,
                                                  catalog::Catalog& catalog, absl::Time now);

// Builds, signs and stores a dataset description from the publish JSON. Its bytes come from
// `content` (a path under DIR/data, or under the data root named by `root`: a file or a
// directory) or `source` (docs/data-sources.md); the node reads them once for their size and
// SHA-256, reporting `progress`. The document and the record of where its content lives
// (contract::ContentKey) are written in one synced batch.
absl::StatusOr<catalog::IngestResult> PublishDataset(const Home& home, absl::string_view json,
                                                     catalog::Catalog& catalog, absl::Time now,
                                                     const source::Progress& progress = nullptr);

// Where this home's datasets may come from (DIR/data, the config's data roots and sources).
source::Context SourceContextOf(const Home& home);

// This node's datasets the provider refused to send because their source no longer matches
// what was published: id -> "REASON (since RFC 3339)". Cleared by republishing or unpublishing.
absl::StatusOr<std::map<std::string, std::string>> NeedingRepublication(catalog::Store& store);

// Signs and stores a tombstone for one of this node's datasets.
absl::StatusOr<catalog::IngestResult> UnpublishDataset(const Home& home, absl::string_view id,
                                                       catalog::Catalog& catalog, absl::Time now);

}  // namespace hanse::node

#endif  // HANSE_NODE_PUBLISHING_PUBLISHING_H_
