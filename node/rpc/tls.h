// Mutual TLS for federation traffic. The trust bundle is not a file: every handshake asks the
// peer registry for the CA of the DID named in the peer's certificate, so trust changes apply
// to the next handshake with no restart. Only node/rpc sees grpcpp.
#ifndef HANSE_NODE_RPC_TLS_H_
#define HANSE_NODE_RPC_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_context.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/clock.h"
#include "node/identity/card.h"
#include "node/identity/home.h"

namespace hanse::node {

// Peer certificates are checked for validity at `clock`'s time (which must outlive the
// credentials).
std::shared_ptr<grpc::ServerCredentials> FederationServerCredentials(const Identity& identity,
                                                                     CaLookup ca_for_did,
                                                                     const Clock& clock);

// Channel credentials for dialing another node. With a non-empty `expected_did` the server
// must prove that DID; otherwise any trusted peer is accepted.
std::shared_ptr<grpc::ChannelCredentials> FederationChannelCredentials(const Identity& identity,
                                                                       CaLookup ca_for_did,
                                                                       std::string expected_did,
                                                                       const Clock& clock);

// Client certificate, but the server is not checked: only for fetching data that verifies
// itself (membership records when joining), where a lying server can only withhold.
std::shared_ptr<grpc::ChannelCredentials> UnverifiedServerChannelCredentials(
    const Identity& identity);

// The caller's DID, read from its verified certificate in the auth context (never from the
// request). Unauthenticated when there is none.
absl::StatusOr<std::string> CallerDid(const grpc::ServerContext& context);

// The server's DID after a call on a channel made with FederationChannelCredentials.
absl::StatusOr<std::string> ServerDid(const grpc::ClientContext& context);

// The one place where absl::Status becomes grpc::Status and back. Internal details are not
// sent to peers: with `for_peer`, internal errors travel as a bare code (and are logged here).
grpc::Status ToGrpc(const absl::Status& status, bool for_peer = false);
absl::Status FromGrpc(const grpc::Status& status);

}  // namespace hanse::node

#endif  // HANSE_NODE_RPC_TLS_H_
