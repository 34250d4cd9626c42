#include "node/ops/ops_server.h"

#include <httplib.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hanse::node {

struct OpsServer::Impl {
  httplib::Server http;
  std::thread thread;
  std::string address;
};

OpsServer::OpsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

OpsServer::~OpsServer() {
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string OpsServer::address() const { return impl_->address; }

absl::StatusOr<std::unique_ptr<OpsServer>> OpsServer::Start(const HostPort& listen,
                                                            Handlers handlers) {
  auto impl = std::make_unique<Impl>();
  httplib::Server& http = impl->http;
  http.set_keep_alive_max_count(16);
  http.set_read_timeout(5, 0);
  http.set_write_timeout(5, 0);
  http.set_payload_max_length(4096);  // probes and scrapes send no body
  http.Get("/livez", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  http.Get("/readyz", [handlers](const httplib::Request&, httplib::Response& res) {
    std::vector<std::string> reasons = handlers.not_ready();
    res.status = reasons.empty() ? 200 : 503;
    res.set_content(reasons.empty() ? "ready\n" : absl::StrCat(absl::StrJoin(reasons, "\n"), "\n"),
                    "text/plain; charset=utf-8");
  });
  http.Get("/metrics", [handlers](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) {
      res.set_content("not found: this endpoint serves /livez, /readyz and /metrics\n",
                      "text/plain; charset=utf-8");
    }
  });
  int port = listen.port;
  if (port == 0) {
    port = http.bind_to_any_port(listen.host);
    if (port < 0) port = 0;
  } else if (!http.bind_to_port(listen.host, port)) {
    port = 0;
  }
  if (port == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot listen on ops_listen ", listen.ToString(),
        " (the port is in use or the address is not this host's): change \"ops_listen\" in "
        "config.json"));
  }
  impl->address = HostPort{listen.host, port}.ToString();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->http.listen_after_bind(); });
  return std::unique_ptr<OpsServer>(new OpsServer(std::move(impl)));
}

}  // namespace hanse::node
