#include "node/rpc/channels.h"

namespace hanse::node {

std::shared_ptr<grpc::Channel> MemberChannel(const Identity& identity, const CaLookup& lookup,
                                             const std::string& endpoint, std::string expected_did,
                                             const Clock& clock, const ChannelOptions& options) {
  grpc::ChannelArguments args;
  if (options.own_connection) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (options.max_receive_bytes > 0) args.SetMaxReceiveMessageSize(options.max_receive_bytes);
  if (options.idle_timeout_ms > 0)
    args.SetInt(GRPC_ARG_CLIENT_IDLE_TIMEOUT_MS, options.idle_timeout_ms);
  if (options.bulk) {
    // Large windows let one stream fill the link.
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 1);
    args.SetInt(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, (1 << 24) - 1);
  }
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  return grpc::CreateCustomChannel(
      endpoint, FederationChannelCredentials(identity, lookup, std::move(expected_did), clock),
      args);
}

}  // namespace hanse::node
