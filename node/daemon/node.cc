#include "node/daemon/node.h"

#include <arpa/inet.h>
#include <grpc/support/log.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/status.h"
#include "catalog/catalog.h"
#include "catalog/store.h"
#include "node/daemon/node_impl.h"
#include "node/daemon/version.h"
#include "node/federation/membership.h"
#include "node/federation/peers.h"
#include "node/identity/card.h"
#include "node/identity/home.h"
#include "node/publishing/publishing.h"
#include "node/rpc/gossip.h"
#include "node/rpc/grpc_exchange_peer.h"
#include "node/rpc/tls.h"

namespace hanse::node {
namespace {

// Binds the address once ourselves so "port in use" gets a precise message; gRPC's own
// failure does not say why.
absl::Status CheckCanListen(const HostPort& hp) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(hp.port);
  int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve listen host \"", hp.host, "\": ", ::gai_strerror(rc)));
  }
  absl::Status status = absl::OkStatus();
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      int err = errno;
      if (err == EADDRINUSE) {
        status = absl::FailedPreconditionError(absl::StrCat(
            "cannot listen on ", hp.ToString(),
            ": address already in use (another node or program has the port; stop it or set "
            "\"listen\" in config.json)"));
      } else {
        status = absl::FailedPreconditionError(
            absl::StrCat("cannot listen on ", hp.ToString(), ": ", std::strerror(err)));
      }
    }
    ::close(fd);
    break;
  }
  ::freeaddrinfo(res);
  return status;
}

// gRPC core logs through gpr_log; route it into our log so text/JSON formats hold for every
// line. Per-handshake failures are already logged by our verifier with the reason, so gRPC's
// own handshake chatter goes to debug.
void GrpcLogToOurs(gpr_log_func_args* args) {
  absl::string_view msg = args->message ? args->message : "";
  bool handshake_noise = absl::StrContains(msg, "No match found for server name") ||
                         absl::StrContains(msg, "Handshake failed") ||
                         absl::StrContains(msg, "ssl_transport_security");
  std::initializer_list<log::Field> fields = {{"source", "grpc"},
                                              {"file", absl::StrCat(args->file, ":", args->line)}};
  if (handshake_noise || args->severity == GPR_LOG_SEVERITY_DEBUG) {
    log::Debug(msg, fields);
  } else if (args->severity == GPR_LOG_SEVERITY_INFO) {
    log::Info(msg, fields);
  } else {
    log::Warn(msg, fields);
  }
}

}  // namespace

namespace {

void ApplyServerLimits(grpc::ServerBuilder& builder, const Config& config) {
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, 16 * 1024);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 15 * 60'000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 60 * 60'000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 60'000);
  // Transfers are long streams of 1 MiB messages: large HTTP/2 frames. The window stays with
  // gRPC's BDP estimate, so a slow consumer holds the provider back (and a policy window that
  // closes mid-stream stops what has not been sent).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, (1 << 24) - 1);
  grpc::ResourceQuota quota("hanse-server");
  quota.Resize(512u << 20);
  quota.SetMaxThreads(128);
  builder.SetResourceQuota(quota);
}

}  // namespace

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Node::~Node() { (void)Shutdown(absl::ZeroDuration()); }

const std::string& Node::did() const { return impl_->home.identity.did; }
std::string Node::listen_address() const { return impl_->listen_address; }
std::string Node::admin_socket() const { return impl_->home.paths.admin_socket; }
absl::Duration Node::shutdown_grace() const {
  return absl::Seconds(impl_->home.config.shutdown_grace_seconds);
}

absl::StatusOr<std::unique_ptr<Node>> Node::Start(const Options& options) {
  const Clock* clock = options.clock;
  static std::once_flag grpc_once;
  std::call_once(grpc_once, [] {
    gpr_set_log_function(GrpcLogToOurs);
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  });

  absl::Time now = clock->Now();
  HANSE_ASSIGN_OR_RETURN(Home loaded, LoadHome(options.home, now));
  auto impl = std::make_unique<Impl>(std::move(loaded), clock);
  const Home& home = impl->home;
  HANSE_ASSIGN_OR_RETURN(HostPort listen, ParseHostPort(home.config.listen));

  if (home.paths.admin_socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the home path is too long for a unix socket (", home.paths.admin_socket.size(),
        " bytes; at most ", sizeof(sockaddr_un{}.sun_path) - 1, "): use a shorter --home"));
  }

  // The store lock is the single-instance guard: once we hold it, an old socket is stale.
  HANSE_ASSIGN_OR_RETURN(impl->store, catalog::OpenRocksStore(home.paths.store, {}));
  HANSE_ASSIGN_OR_RETURN(auto format, impl->store->Get(catalog::Family::kMeta, "format_version"));
  if (!format || *format != std::to_string(kHomeFormatVersion)) {
    return absl::FailedPreconditionError(
        absl::StrCat("store ", home.paths.store, " has format version ", format.value_or("(none)"),
                     "; this hanse reads version ", kHomeFormatVersion));
  }

  HANSE_ASSIGN_OR_RETURN(impl->sequences, FileSequenceLedger::Open(home.paths.sequences));
  HANSE_ASSIGN_OR_RETURN(impl->catalog,
                         catalog::Catalog::Open(impl->store.get(), clock, impl->sequences.get()));
  {
    // The store holds less of our own log than we have signed: it lost its tail (a damaged
    // write-ahead log recovered up to the damage, or a restore from an older backup). New
    // documents continue past the ledger, so no sequence is signed twice; peers send back what
    // they hold of the lost documents by gossip.
    HANSE_ASSIGN_OR_RETURN(auto heads, impl->catalog->Heads());
    std::uint64_t held = heads.count(home.identity.did) ? heads[home.identity.did] : 0;
    std::uint64_t signed_up_to = impl->sequences->Highest(home.identity.did);
    if (held < signed_up_to) {
      log::Warn("the store holds fewer of this node's own documents than it signed",
                {{"held_up_to", std::to_string(held)},
                 {"signed_up_to", std::to_string(signed_up_to)},
                 {"next_sequence", std::to_string(signed_up_to + 1)}});
    }
  }

  MemberCard self{home.identity.did,    home.config.legal_name,
                  home.config.country,  "",
                  home.identity.ca_pem, now};
  impl->peers = std::make_shared<PeerRegistry>(impl->store.get(), self);
  HANSE_RETURN_IF_ERROR(impl->peers->Load(now));
  impl->membership = std::make_unique<Membership>(impl->store.get());
  {
    std::weak_ptr<PeerRegistry> weak = impl->peers;
    catalog::Catalog* catalog = impl->catalog.get();
    impl->membership->OnChange([weak, catalog](const MembershipState& state) {
      auto peers = weak.lock();
      if (!peers) return;
      std::set<std::string> revoked;
      for (const auto& [did, voters] : state.revoked) {
        revoked.insert(did);
        if (!catalog->IsRetired(did)) {
          absl::Status s = catalog->RetireIssuer(did);
          log::Info("revoked member's datasets retired",
                    {{"did", did}, {"result", s.ok() ? "ok" : s.ToString()}});
        }
      }
      peers->SetMembers(state.members, revoked);
      log::Info("membership", {{"members", std::to_string(state.members.size())},
                               {"revoked", std::to_string(revoked.size())}});
    });
  }
  HANSE_RETURN_IF_ERROR(impl->membership->Load(now), "loading federation membership");

  HANSE_RETURN_IF_ERROR(CheckCanListen(listen));

  GossipOptions gossip_options;
  gossip_options.interval = absl::Milliseconds(home.config.gossip_interval_ms);
  gossip_options.fanout = home.config.gossip_fanout;
  gossip_options.push_fanout = home.config.gossip_push_fanout;
  gossip_options.max_batch_bytes = std::min(2 << 20, home.config.max_message_bytes / 2);
  impl->gossip =
      std::make_unique<Gossip>(gossip_options, &impl->home.identity, impl->peers.get(),
                               impl->catalog.get(), impl->membership.get(), impl->Lookup(), clock);

  {
    Node::Impl* raw = impl.get();
    impl->exchange_peer = NewGrpcExchangePeer(&impl->home.identity, impl->Lookup(), clock);
    HANSE_ASSIGN_OR_RETURN(
        impl->exchange, Exchange::Open(
                            &impl->home, impl->store.get(), impl->catalog.get(), impl->peers.get(),
                            impl->exchange_peer.get(), [raw] { return raw->Card(); }, clock));
    impl->exchange->Recover();
  }

  // Federation server.
  impl->federation_service = NewFederationService(impl.get());
  impl->exchange_service = NewExchangeService(impl.get());
  {
    grpc::ServerBuilder builder;
    ApplyServerLimits(builder, home.config);
    int port = 0;
    builder.AddListeningPort(listen.ToString(),
                             FederationServerCredentials(home.identity, impl->Lookup(), *clock),
                             &port);
    builder.RegisterService(impl->federation_service.get());
    builder.RegisterService(impl->exchange_service.get());
    impl->federation_server = builder.BuildAndStart();
    if (!impl->federation_server || port == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot listen on ", listen.ToString(), " (see the log above)"));
    }
    HostPort bound = listen;
    bound.port = port;
    impl->listen_address = bound.ToString();
  }

  // Admin server on a private unix socket.
  impl->admin_service = NewAdminService(impl.get());
  impl->contracts_service = NewContractsService(impl.get());
  {
    ::unlink(home.paths.admin_socket.c_str());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + home.paths.admin_socket, grpc::InsecureServerCredentials());
    builder.RegisterService(impl->admin_service.get());
    builder.RegisterService(impl->contracts_service.get());
    builder.SetMaxReceiveMessageSize(home.config.max_message_bytes);
    mode_t old = ::umask(077);
    impl->admin_server = builder.BuildAndStart();
    ::umask(old);
    if (!impl->admin_server) {
      impl->federation_server->Shutdown();
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create the admin socket ", home.paths.admin_socket));
    }
    if (::chmod(home.paths.admin_socket.c_str(), 0600) != 0) {
      impl->federation_server->Shutdown();
      impl->admin_server->Shutdown();
      return ErrnoStatus(errno, home.paths.admin_socket);
    }
  }

  self.endpoint = home.config.endpoint.empty() ? impl->listen_address : home.config.endpoint;
  HANSE_ASSIGN_OR_RETURN(impl->card_jws, SignCard(self, home.identity.participant_key));
  HANSE_ASSIGN_OR_RETURN(bool resigned,
                         EnsureParticipantDescription(home, ParticipantFactsOf(home, self.endpoint),
                                                      *impl->catalog, now));
  if (resigned) {
    log::Info("participant self-description re-signed (facts changed)",
              {{"did", home.identity.did}, {"endpoint", self.endpoint}});
  }

  impl->gossip->Start();
  impl->duty_thread = std::thread([raw = impl.get()] {
    raw->exchange->consumer().ResumeInterrupted();
    std::unique_lock lock(raw->duty_mu);
    while (!raw->duty_stop) {
      lock.unlock();
      for (const auto& line : raw->exchange->consumer().RunDueDuties()) {
        log::Info("duty", {{"result", line}});
      }
      lock.lock();
      raw->duty_wake.wait_for(lock, std::chrono::seconds(1), [raw] { return raw->duty_stop; });
    }
  });
  log::Info("node started", {{"did", home.identity.did},
                             {"listen", impl->listen_address},
                             {"endpoint", self.endpoint},
                             {"admin", home.paths.admin_socket},
                             {"peers", std::to_string(impl->peers->List().size())},
                             {"version", kVersion}});
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

absl::Status Node::Shutdown(absl::Duration grace) {
  if (!impl_ || impl_->shut_down) return absl::OkStatus();
  impl_->shut_down = true;
  log::Info("shutting down", {{"grace", absl::FormatDuration(grace)}});
  if (impl_->gossip) impl_->gossip->Stop();
  {
    std::lock_guard lock(impl_->duty_mu);
    impl_->duty_stop = true;
  }
  impl_->duty_wake.notify_all();
  if (impl_->duty_thread.joinable()) impl_->duty_thread.join();
  auto deadline = TransportDeadline(grace);
  for (auto* server : {impl_->federation_server.get(), impl_->admin_server.get()}) {
    if (server == nullptr) continue;
    if (auto* health = server->GetHealthCheckService()) health->Shutdown();
  }
  // Shutdown stops new calls at once and waits for those in flight until the deadline.
  if (impl_->federation_server) impl_->federation_server->Shutdown(deadline);
  if (impl_->admin_server) impl_->admin_server->Shutdown(deadline);
  if (impl_->federation_server) impl_->federation_server->Wait();
  if (impl_->admin_server) impl_->admin_server->Wait();
  ::unlink(impl_->home.paths.admin_socket.c_str());
  impl_->exchange.reset();
  impl_->catalog.reset();
  absl::Status status = impl_->store ? impl_->store->Close() : absl::OkStatus();
  log::Info("node stopped", {{"did", impl_->home.identity.did},
                             {"store", status.ok() ? "closed" : status.ToString()}});
  return status;
}

}  // namespace hanse::node