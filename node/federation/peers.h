// The static trust list: peers whose member cards this node accepts. Thread-safe; the TLS
// verifier consults it on every handshake, so changes apply with no restart.
// (The federation issue replaces it with k-of-n membership.)
#ifndef HANSE_NODE_FEDERATION_PEERS_H_
#define HANSE_NODE_FEDERATION_PEERS_H_

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "catalog/store.h"
#include "node/identity/card.h"

namespace hanse::node {

class PeerRegistry {
 public:
  // `self` is always trusted, so a node can reach itself (useful for checks).
  PeerRegistry(catalog::Store* store, MemberCard self) : store_(store), self_(std::move(self)) {}

  // Loads the persisted peers, re-verifying each card.
  absl::Status Load(absl::Time now);

  // Trusts a verified card, persisted (synced) before returning. Returns false when the same
  // card was already trusted. A newer card for a known DID replaces the older one.
  absl::StatusOr<bool> Add(const std::string& jws, const MemberCard& card);

  std::optional<MemberCard> Find(absl::string_view did) const;
  // The CA PEM for a trusted DID, or NotFound.
  absl::StatusOr<std::string> CaFor(absl::string_view did) const;
  std::vector<MemberCard> List() const;

  // Once the node has joined a federation, trust follows membership: the current members
  // (from the charter and the records) replace the static list, and revoked DIDs are refused
  // for good. Applies to the next handshake and the next RPC, with no restart.
  void SetMembers(std::map<std::string, MemberCard> members, std::set<std::string> revoked);
  bool IsRevoked(absl::string_view did) const;

 private:
  bool federated_ = false;
  std::map<std::string, MemberCard, std::less<>> members_;
  std::set<std::string, std::less<>> revoked_;
  catalog::Store* store_;
  MemberCard self_;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::string, MemberCard>, std::less<>> peers_;
};

// Adds a card to a store directly (when no node is running).
absl::StatusOr<bool> AddPeerToStore(catalog::Store& store, const std::string& jws,
                                    const MemberCard& card);

}  // namespace hanse::node

#endif  // HANSE_NODE_FEDERATION_PEERS_H_
