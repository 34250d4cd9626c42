// Member cards: a participant's DID, CA certificate, endpoint, legal name and country,
// signed by the participant key. Peers trust each other by exchanging cards.
#ifndef HANSE_NODE_IDENTITY_CARD_H_
#define HANSE_NODE_IDENTITY_CARD_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "trust/keys.h"

namespace hanse::node {

inline constexpr absl::string_view kCardType = "hanse-card+jwt";

// Returns the trusted CA PEM for a DID, or an error (NotFound when the DID is not trusted).
// The node's trust list answers it (PeerRegistry::CaFor); TLS asks it on every handshake.
using CaLookup = std::function<absl::StatusOr<std::string>(absl::string_view did)>;

struct MemberCard {
  std::string did;
  std::string legal_name;
  std::string country;
  std::string endpoint;
  std::string ca_pem;
  absl::Time issued = absl::UnixEpoch();
};

// Signs `card` with the participant key (whose DID must be card.did).
absl::StatusOr<std::string> SignCard(const MemberCard& card, const trust::PrivateKey& key);

// Verifies a card JWS: signature by the DID's key, the DID in the payload equals the signer,
// and the CA certificate is valid now and derives the same DID.
absl::StatusOr<MemberCard> VerifyCard(absl::string_view jws, absl::Time now);

// The card file printed by `hanse card`: {"card": JWS, plus the claims for people to read}.
std::string CardFileJson(absl::string_view jws, const MemberCard& card);

// Reads a card file (or a bare JWS) and verifies it. Display fields, when present, must match
// the signed claims so an edited file cannot mislead.
absl::StatusOr<std::pair<std::string, MemberCard>> ParseCardFile(absl::string_view text,
                                                                 absl::Time now);

}  // namespace hanse::node

#endif  // HANSE_NODE_IDENTITY_CARD_H_
