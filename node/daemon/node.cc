#include "node/daemon/node.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/status.h"
#include "base/version.h"
#include "catalog/catalog.h"
#include "catalog/store.h"
#include "node/contract/negotiation.h"
#include "node/daemon/node_impl.h"
#include "node/exchange/exchange.h"
#include "node/federation/membership.h"
#include "node/federation/peers.h"
#include "node/identity/card.h"
#include "node/identity/home.h"
#include "node/identity/sequence_ledger.h"
#include "node/ops/ops_server.h"
#include "node/publishing/publishing.h"
#include "node/rpc/gossip.h"
#include "node/rpc/grpc_exchange_peer.h"
#include "node/rpc/servers.h"

namespace hanse::node {
namespace {

// How long the first own signature waits for members to answer the start-up catch-up.
constexpr absl::Duration kCatchUpWait = absl::Seconds(15);

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

}  // namespace

void Node::Impl::CheckCertificate() {
  if (cert_tick++ % 10 != 0) return;
  absl::Time now = clock->Now();
  auto files = ReadNodeCertificateFiles(home.paths);
  absl::Time seen_not_after = absl::InfinitePast();
  std::string problem;
  if (files.ok()) {
    seen_not_after = files->not_after;
    if (!files->key_matches) problem = "node.pem does not certify node.key";
    std::lock_guard lock(cert_mu);
    cert_not_after = files->not_after;
  } else {
    problem = files.status().ToString();
  }
  if (NodeCertificateDue(seen_not_after, problem, home.config, now)) {
    auto renewed = RenewNodeCertificate(home, now);
    if (!renewed.ok()) {
      log::Error("node certificate renewal failed", {{"error", renewed.status().ToString()}});
    } else {
      {
        std::lock_guard lock(cert_mu);
        cert_not_after = *renewed;
      }
      log::Info("node certificate renewed", {{"reason", problem.empty() ? "due" : problem},
                                             {"valid_until", absl::FormatTime(*renewed)}});
      return;
    }
  }
  absl::Duration left = CertNotAfter() - now;
  absl::Duration warn =
      std::max(absl::Hours(24 * 60), absl::Hours(24) * home.config.node_cert_renew_days);
  if (left <= warn && now - cert_warned >= absl::Hours(24)) {
    cert_warned = now;
    log::Warn("node certificate expires soon",
              {{"valid_until", absl::FormatTime(CertNotAfter())},
               {"days_left", std::to_string(absl::ToInt64Hours(left) / 24)}});
  }
}

void Node::Impl::EnsureParticipant() {
  std::string at = Endpoint();
  auto resigned =
      EnsureParticipantDescription(home, ParticipantFactsOf(home, at), *catalog, clock->Now());
  if (!resigned.ok()) {
    if (!participant_warned) {
      log::Warn("participant self-description not re-signed yet",
                {{"error", resigned.status().ToString()}});
      participant_warned = true;
    }
    return;
  }
  // A card update while this signed sets it false again: sign once more with the new facts.
  participant_current = Endpoint() == at;
  if (*resigned) {
    log::Info("participant self-description re-signed (facts changed)",
              {{"did", home.identity.did}, {"endpoint", at}});
  }
}

absl::StatusOr<std::string> Node::Impl::UpdateCard(const std::string& new_endpoint) {
  std::lock_guard serial(update_mu);  // one card update at a time: the held card stays ours
  HANSE_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(new_endpoint));
  HANSE_RETURN_IF_ERROR(CheckDialable(hp, "the endpoint"));
  absl::Time now = clock->Now();
  MemberCard card{home.identity.did, home.config.legal_name, home.config.country,
                  new_endpoint,      home.identity.ca_pem,   now};
  std::optional<MemberCard> held;
  if (auto members = membership->state().members; members.count(home.identity.did)) {
    held = members[home.identity.did];
  }
  if (held && card.issued <= held->issued) card.issued = held->issued + absl::Microseconds(1);
  HANSE_ASSIGN_OR_RETURN(std::string jws, SignCard(card, home.identity.participant_key));
  std::string record;
  if (held) {
    HANSE_ASSIGN_OR_RETURN(
        record, SignEndorsement(*membership->charter(), MembershipAction::kCard, home.identity.did,
                                jws, "", home.identity.participant_key, now));
    HANSE_RETURN_IF_ERROR(membership->AddRecord(record, now).status(), "recording the card");
  }
  {
    std::lock_guard lock(card_mu);
    card_jws = jws;
    endpoint = new_endpoint;
  }
  participant_current = false;
  if (held) {
    log::Info("member card updated: the members learn the new endpoint by gossip",
              {{"endpoint", new_endpoint}, {"was", held->endpoint}});
    gossip->PushRecordSoon(std::move(record));
  }
  return jws;
}

std::vector<std::string> Node::Impl::NotReady() const {
  std::vector<std::string> reasons;
  if (absl::Status writable = store->Writable(); !writable.ok()) {
    reasons.push_back(absl::StrCat("store writes refused: ", writable.message()));
  }
  MembershipState state = membership->state();
  if (membership->joined()) {
    if (state.left.count(home.identity.did)) reasons.push_back("this node left its federation");
    if (!state.members.count(home.identity.did) && !state.left.count(home.identity.did)) {
      reasons.push_back("this node is not a member of its federation (yet)");
    }
    if (state.members.size() > 1 && !gossip->engine().synced()) {
      reasons.push_back("no member reached since the start");
    }
  }
  return reasons;
}

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
  absl::Time now = clock->Now();
  HANSE_ASSIGN_OR_RETURN(Home loaded, LoadHome(options.home, now));
  auto impl = std::make_unique<Impl>(std::move(loaded), clock);
  const Home& home = impl->home;
  impl->cert_not_after = home.identity.node_cert_not_after;
  if (NodeCertificateDue(home.identity.node_cert_not_after, home.identity.node_cert_problem,
                         home.config, now)) {
    std::string reason =
        home.identity.node_cert_problem.empty()
            ? absl::StrCat("it expires at ", absl::FormatTime(home.identity.node_cert_not_after))
            : home.identity.node_cert_problem;
    HANSE_ASSIGN_OR_RETURN(impl->cert_not_after, RenewNodeCertificate(home, now),
                           "renewing the node certificate");
    log::Info("node certificate renewed",
              {{"reason", reason}, {"valid_until", absl::FormatTime(impl->cert_not_after)}});
  }
  HANSE_ASSIGN_OR_RETURN(HostPort listen, ParseHostPort(home.config.listen));
  if (home.config.endpoint.empty() && IsUnspecifiedHost(listen.host)) {
    // The card would tell every peer to dial 0.0.0.0, that is, itself.
    return absl::FailedPreconditionError(absl::StrCat(
        home.paths.config, ": \"listen\" is ", home.config.listen,
        " (every interface) and no \"endpoint\" is set, so peers would have no address to "
        "dial: set \"endpoint\" to this host's name or address as the other members reach it "
        "(e.g. \"node1.example.org:",
        listen.port == 0 ? 7400 : listen.port, "\")"));
  }

  if (home.paths.admin_socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the home path is too long for a unix socket (", home.paths.admin_socket.size(),
        " bytes; at most ", sizeof(sockaddr_un{}.sun_path) - 1, "): use a shorter --home"));
  }

  // Homes from releases that left the store to the umask: the store is the operator's alone.
  if (::chmod(home.paths.store.c_str(), 0700) != 0) {
    log::Warn("cannot make the store private", {{"store", home.paths.store}});
  }
  // The store lock is the single-instance guard: once we hold it, an old socket is stale.
  HANSE_ASSIGN_OR_RETURN(
      impl->store,
      catalog::OpenRocksStore(
          home.paths.store,
          {.min_free_bytes = static_cast<std::uint64_t>(home.config.store_min_free_mb) << 20}));
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
    Impl* raw = impl.get();
    impl->membership->OnChange([weak, catalog, raw](const MembershipState& state) {
      auto peers = weak.lock();
      if (!peers) return;
      // Revoked and departed members are refused from the next handshake, and their datasets
      // leave the catalogue: nobody can fetch from them any more.
      std::set<std::string> refused;
      auto retire = [&](const std::string& did, const char* what) {
        refused.insert(did);
        if (!catalog->IsRetired(did)) {
          absl::Status s = catalog->RetireIssuer(did);
          log::Info(absl::StrCat(what, " member's datasets retired"),
                    {{"did", did}, {"result", s.ok() ? "ok" : s.ToString()}});
        }
      };
      for (const auto& [did, voters] : state.revoked) retire(did, "revoked");
      for (const auto& [did, when] : state.left) retire(did, "departed");
      peers->SetMembers(state.members, refused);
      if (raw->gossip) raw->gossip->engine().PeersChanged();
      log::Info("membership", {{"members", std::to_string(state.members.size())},
                               {"revoked", std::to_string(state.revoked.size())},
                               {"left", std::to_string(state.left.size())}});
    });
  }
  HANSE_RETURN_IF_ERROR(impl->membership->Load(now), "loading federation membership");

  HANSE_RETURN_IF_ERROR(CheckCanListen(listen));

  GossipOptions gossip_options;
  gossip_options.interval = absl::Milliseconds(home.config.gossip_interval_ms);
  gossip_options.fanout = home.config.gossip_fanout;
  gossip_options.push_fanout = home.config.gossip_push_fanout;
  gossip_options.view_size = home.config.gossip_view_size;
  gossip_options.max_batch_bytes = std::min(2 << 20, home.config.max_message_bytes / 2);
  impl->gossip =
      std::make_unique<Gossip>(gossip_options, &impl->home.identity, impl->peers.get(),
                               impl->catalog.get(), impl->membership.get(), impl->Lookup(), clock);
  {
    // Nothing is signed until a member has been heard from since start: after a restore from
    // an older backup (store and ledger alike) members hold documents this node signed that
    // it lacks, and the sync brings them back, so the next sequence continues past them.
    Node::Impl* raw = impl.get();
    const bool override = options.sign_without_peers;
    impl->catalog->SetBeforeSigning([raw, override]() -> absl::Status {
      if (raw->gossip->engine().synced()) return absl::OkStatus();
      const std::string& did = raw->home.identity.did;
      size_t others = 0;
      for (const auto& card : raw->peers->List()) others += card.did != did;
      if (others == 0) return absl::OkStatus();  // no one else can hold what it signed
      if (raw->gossip->WaitSynced(kCatchUpWait)) {
        std::call_once(raw->synced_logged, [raw, &did] {
          auto next = raw->catalog->NextSequence(did);
          log::Info(
              "own log checked with members before signing",
              {{"next_sequence", next.ok() ? std::to_string(*next) : next.status().ToString()}});
        });
        return absl::OkStatus();
      }
      if (override) {
        std::call_once(raw->synced_logged, [] {
          log::Warn("signing without having reached a member (--sign-without-peers)");
        });
        return absl::OkStatus();
      }
      return absl::UnavailableError(absl::StrCat(
          "this node has not reached any of its ", others,
          " members since it started, so it cannot confirm how far it has signed: after a "
          "restore from a backup, signing now could reuse a sequence and get it flagged as an "
          "equivocator. Wait until a member is reachable (`hanse peer ping`), or, if this home "
          "was not restored, restart with `hanse node run --sign-without-peers`"));
    });
  }

  {
    Node::Impl* raw = impl.get();
    impl->exchange_peer = NewGrpcExchangePeer(&impl->home.identity, impl->Lookup(), clock);
    HANSE_ASSIGN_OR_RETURN(
        impl->exchange, Exchange::Open(
                            &impl->home, impl->store.get(), impl->catalog.get(), impl->peers.get(),
                            impl->exchange_peer.get(), [raw] { return raw->Card(); }, clock));
    impl->exchange->Recover();
  }

  {
    Node::Impl* raw = impl.get();
    NodeParts parts;
    parts.home = &impl->home;
    parts.clock = clock;
    parts.store = impl->store.get();
    parts.sequences = impl->sequences.get();
    parts.catalog = impl->catalog.get();
    parts.membership = impl->membership.get();
    parts.exchange = impl->exchange.get();
    parts.peers = impl->peers.get();
    parts.gossip = impl->gossip.get();
    parts.card = [raw] { return raw->Card(); };
    parts.lookup = impl->Lookup();
    parts.started = impl->started;
    parts.node_cert_not_after = [raw] { return raw->CertNotAfter(); };
    parts.update_card = [raw](const std::string& endpoint) { return raw->UpdateCard(endpoint); };
    parts.metrics = &impl->metrics;
    parts.store_scrub = [raw] {
      std::lock_guard lock(raw->scrub_mu);
      return raw->scrub_result;
    };
    HANSE_ASSIGN_OR_RETURN(impl->servers, Servers::Start(parts, listen));
    impl->listen_address = impl->servers->listen_address();
  }

  self.endpoint = home.config.endpoint.empty() ? impl->listen_address : home.config.endpoint;
  {
    // The federation holds the card this node last signed; when the address peers should dial
    // has changed since (a new host, a new port), a card update tells them.
    MembershipState state = impl->membership->state();
    auto held = state.members.find(home.identity.did);
    if (held != state.members.end() && held->second.endpoint != self.endpoint) {
      if (listen.port == 0 && home.config.endpoint.empty()) {
        log::Warn(
            "listening on port 0: the node gets another address on every start, and each "
            "start sends the members a card update; set a fixed port in \"listen\"",
            {{"listen", impl->listen_address}});
      }
      HANSE_RETURN_IF_ERROR(impl->UpdateCard(self.endpoint).status(),
                            "updating the member card for the new endpoint");
    } else {
      HANSE_ASSIGN_OR_RETURN(std::string jws, SignCard(self, home.identity.participant_key));
      std::lock_guard lock(impl->card_mu);  // the servers already answer GetCard
      impl->card_jws = std::move(jws);
      impl->endpoint = self.endpoint;
    }
  }
  // Everything that can fail comes before the gossip thread starts: a failed start tears the
  // parts down in reverse order, and the thread must not outlive what it uses.
  if (!home.config.ops_listen.empty()) {
    HANSE_ASSIGN_OR_RETURN(HostPort ops_listen, ParseHostPort(home.config.ops_listen));
    impl->RegisterMetrics();
    Node::Impl* raw = impl.get();
    HANSE_ASSIGN_OR_RETURN(
        impl->ops, OpsServer::Start(ops_listen, {.metrics = [raw] { return raw->metrics.Render(); },
                                                 .not_ready = [raw] { return raw->NotReady(); }}));
    log::Info("operations endpoint serving /livez, /readyz, /metrics",
              {{"ops_listen", impl->ops->address()}});
  }
  impl->gossip->Start();
  impl->duty_thread = std::thread([raw = impl.get()] {
    raw->EnsureParticipant();
    raw->exchange->consumer().ResumeInterrupted();
    std::unique_lock lock(raw->duty_mu);
    while (!raw->duty_stop) {
      lock.unlock();
      if (!raw->participant_current) raw->EnsureParticipant();
      raw->CheckCertificate();
      for (const auto& line : raw->exchange->consumer().RunDueDuties()) {
        log::Info("duty", {{"result", line}});
      }
      lock.lock();
      raw->duty_wake.wait_for(lock, std::chrono::seconds(1), [raw] { return raw->duty_stop; });
    }
  });
  if (home.config.store_scrub_hours > 0) {
    impl->scrub_thread = std::thread([raw = impl.get()] {
      absl::Duration wait = absl::Seconds(10);
      std::unique_lock lock(raw->duty_mu);
      while (!raw->duty_wake.wait_for(lock, absl::ToChronoNanoseconds(wait),
                                      [raw] { return raw->duty_stop; })) {
        lock.unlock();
        const Stopwatch took;
        absl::Status verified = raw->store->VerifyChecksums([raw] {
          std::lock_guard stop_lock(raw->duty_mu);
          return !raw->duty_stop;
        });
        if (absl::IsCancelled(verified)) return;
        std::string result;
        if (verified.ok()) {
          result = absl::StrCat(
              "ok: every table file's checksums verified at ",
              absl::FormatTime(absl::RFC3339_sec, raw->clock->Now(), absl::UTCTimeZone()), " (",
              raw->store->DiskBytes() >> 20, " MiB in ", absl::FormatDuration(took.Elapsed()), ")");
          log::Info("store scrub: checksums verified",
                    {{"took", absl::FormatDuration(took.Elapsed())}});
        } else {
          result = absl::StrCat("FAILED: ", verified.message());
          log::Error("store scrub: the store is damaged; writes stop until it is restored",
                     {{"error", std::string(verified.message())}});
        }
        {
          std::lock_guard scrub_lock(raw->scrub_mu);
          raw->scrub_result = std::move(result);
        }
        wait = absl::Hours(raw->home.config.store_scrub_hours);
        lock.lock();
      }
    });
  }
  log::Info("node started", {{"did", home.identity.did},
                             {"listen", impl->listen_address},
                             {"endpoint", self.endpoint},
                             {"admin", home.paths.admin_socket},
                             {"peers", std::to_string(impl->peers->List().size())},
                             {"version", VersionLine()}});
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

absl::Status Node::Shutdown(absl::Duration grace) {
  if (!impl_ || impl_->shut_down) return absl::OkStatus();
  impl_->shut_down = true;
  log::Info("shutting down", {{"grace", absl::FormatDuration(grace)}});
  impl_->ops.reset();
  if (impl_->gossip) impl_->gossip->Stop();
  {
    std::lock_guard lock(impl_->duty_mu);
    impl_->duty_stop = true;
  }
  impl_->duty_wake.notify_all();
  if (impl_->duty_thread.joinable()) impl_->duty_thread.join();
  if (impl_->scrub_thread.joinable()) impl_->scrub_thread.join();
  if (impl_->servers) impl_->servers->Shutdown(grace);
  impl_->exchange.reset();
  impl_->catalog.reset();
  absl::Status status = impl_->store ? impl_->store->Close() : absl::OkStatus();
  log::Info("node stopped", {{"did", impl_->home.identity.did},
                             {"store", status.ok() ? "closed" : status.ToString()}});
  return status;
}

}  // namespace hanse::node