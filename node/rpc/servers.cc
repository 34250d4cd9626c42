#include "node/rpc/servers.h"

#include <grpc/support/log.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/support/server_interceptor.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "node/rpc/services.h"
#include "node/rpc/tls.h"

namespace hanse::node {
namespace {

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

// Counts every RPC the servers answer, by service, method and status code, with its latency.
class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info, CounterFamily* total,
                     HistogramFamily* latency)
      : started_(absl::Now()), total_(total), latency_(latency) {
    absl::string_view full = info->method() ? info->method() : "";
    absl::ConsumePrefix(&full, "/");
    size_t slash = full.find('/');
    service_ = std::string(full.substr(0, slash));
    method_ = slash == absl::string_view::npos ? "" : std::string(full.substr(slash + 1));
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      std::string code =
          absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
      total_->Add({{"service", service_}, {"method", method_}, {"code", code}});
      latency_->Observe({{"service", service_}, {"method", method_}},
                        absl::ToDoubleSeconds(absl::Now() - started_));
    }
    methods->Proceed();
  }

 private:
  absl::Time started_;
  CounterFamily* total_;
  HistogramFamily* latency_;
  std::string service_, method_;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(Metrics* metrics)
      : total_(metrics->Counter("hanse_rpc_total", "RPCs answered by this node, by status code")),
        latency_(metrics->Histogram("hanse_rpc_duration_seconds",
                                    "Time from an RPC's arrival to its status, in seconds")) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(info, total_, latency_);
  }

 private:
  CounterFamily* total_;
  HistogramFamily* latency_;
};

void AddMetrics(grpc::ServerBuilder& builder, Metrics* metrics) {
  if (metrics == nullptr) return;
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<MetricsInterceptorFactory>(metrics));
  builder.experimental().SetInterceptorCreators(std::move(creators));
}

}  // namespace

struct Servers::Impl {
  NodeParts parts;  // the services point here
  std::unique_ptr<grpc::Service> federation_service, exchange_service, admin_service,
      contracts_service, access_admin_service, access_contracts_service;
  std::unique_ptr<AccessControl> access;
  std::string access_socket;
  std::unique_ptr<grpc::Server> federation_server, admin_server, access_server;
  bool shut_down = false;
};

absl::Status StartAccessServer(Servers::Impl& s, const NodeParts& parts);

Servers::Servers(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Servers::~Servers() { Shutdown(absl::ZeroDuration()); }

const std::string& Servers::listen_address() const { return impl_->parts.listen_address; }

absl::StatusOr<std::unique_ptr<Servers>> Servers::Start(const NodeParts& parts,
                                                        const HostPort& listen) {
  static std::once_flag grpc_once;
  std::call_once(grpc_once, [] {
    gpr_set_log_function(GrpcLogToOurs);
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  });
  auto impl = std::make_unique<Impl>();
  impl->parts = parts;
  const Home& home = *parts.home;
  // From here on, a failure shuts down what has started (the destructor).
  std::unique_ptr<Servers> servers(new Servers(std::move(impl)));
  Impl& s = *servers->impl_;

  s.federation_service = NewFederationService(&s.parts);
  s.exchange_service = NewExchangeService(&s.parts);
  {
    grpc::ServerBuilder builder;
    ApplyServerLimits(builder, home.config);
    int port = 0;
    builder.AddListeningPort(listen.ToString(),
                             FederationServerCredentials(home.identity, parts.lookup, *parts.clock),
                             &port);
    builder.RegisterService(s.federation_service.get());
    builder.RegisterService(s.exchange_service.get());
    AddMetrics(builder, parts.metrics);
    s.federation_server = builder.BuildAndStart();
    if (!s.federation_server || port == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot listen on ", listen.ToString(), " (see the log above)"));
    }
    HostPort bound = listen;
    bound.port = port;
    s.parts.listen_address = bound.ToString();
  }

  s.admin_service = NewAdminService(&s.parts);
  s.contracts_service = NewContractsService(&s.parts);
  {
    const std::string& socket = home.paths.admin_socket;
    ::unlink(socket.c_str());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
    builder.RegisterService(s.admin_service.get());
    builder.RegisterService(s.contracts_service.get());
    AddMetrics(builder, parts.metrics);
    builder.SetMaxReceiveMessageSize(home.config.max_message_bytes);
    mode_t old = ::umask(077);
    s.admin_server = builder.BuildAndStart();
    ::umask(old);
    if (!s.admin_server) {
      return absl::FailedPreconditionError(absl::StrCat("cannot create the admin socket ", socket));
    }
    if (::chmod(socket.c_str(), 0600) != 0) return ErrnoStatus(errno, socket);
  }
  // The access socket: the same services for token holders, each call checked by role.
  s.access = std::make_unique<AccessControl>(AccessFilePath(home.paths.dir));
  s.access_admin_service = NewAdminService(&s.parts, s.access.get());
  s.access_contracts_service = NewContractsService(&s.parts, s.access.get());
  // Without it token holders cannot call, but the node and its operator can: a warning, not a
  // reason to stay down.
  if (absl::Status access = StartAccessServer(s, parts); !access.ok()) {
    log::Warn("no access socket: token holders cannot reach this node",
              {{"error", access.ToString()}});
  }
  return servers;
}

// The access socket: the same services for token holders, each call checked by role. Any local
// user may connect (mode 0666); a token decides what it may do.
absl::Status StartAccessServer(Servers::Impl& s, const NodeParts& parts) {
  const Home& home = *parts.home;
  s.access_socket = home.config.access_socket.empty() ? home.paths.dir + "/access.sock"
                                                      : home.config.access_socket;
  if (s.access_socket == home.paths.admin_socket) {
    return absl::InvalidArgumentError("access_socket is the admin socket's path");
  }
  if (s.access_socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat(s.access_socket, " is longer than a unix socket path may be"));
  }
  // Only an old socket is removed: a mistyped path must not delete a file.
  struct stat st;
  if (::lstat(s.access_socket.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(s.access_socket, " exists and is not a socket (config access_socket)"));
    }
    ::unlink(s.access_socket.c_str());
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + s.access_socket, grpc::InsecureServerCredentials());
  builder.RegisterService(s.access_admin_service.get());
  builder.RegisterService(s.access_contracts_service.get());
  AddMetrics(builder, parts.metrics);
  builder.SetMaxReceiveMessageSize(home.config.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 16);
  const mode_t old = ::umask(0111);  // bound 0666 at once: no chmod on a path one could swap
  s.access_server = builder.BuildAndStart();
  ::umask(old);
  if (!s.access_server) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the access socket ", s.access_socket,
                     " (config access_socket: does its directory exist?)"));
  }
  return absl::OkStatus();
}

void Servers::Shutdown(absl::Duration grace) {
  if (!impl_ || impl_->shut_down) return;
  impl_->shut_down = true;
  auto deadline = TransportDeadline(grace);
  grpc::Server* servers[] = {impl_->federation_server.get(), impl_->admin_server.get(),
                             impl_->access_server.get()};
  for (grpc::Server* server : servers) {
    if (server == nullptr) continue;
    if (auto* health = server->GetHealthCheckService()) health->Shutdown();
  }
  // Shutdown stops new calls at once and waits for those in flight until the deadline.
  for (grpc::Server* server : servers) {
    if (server != nullptr) server->Shutdown(deadline);
  }
  for (grpc::Server* server : servers) {
    if (server != nullptr) server->Wait();
  }
  if (impl_->admin_server) ::unlink(impl_->parts.home->paths.admin_socket.c_str());
  if (impl_->access_server) ::unlink(impl_->access_socket.c_str());
}

}  // namespace hanse::node
