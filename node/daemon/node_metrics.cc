// The node's gauges and counters for Prometheus (docs/observability.md), read at each scrape.
#include <sys/statvfs.h>

#include "absl/strings/str_cat.h"
#include "base/metrics.h"
#include "base/version.h"
#include "node/daemon/node_impl.h"
#include "node/publishing/publishing.h"

namespace hanse::node {

void Node::Impl::RegisterMetrics() {
  using Samples = std::vector<std::pair<Labels, double>>;
  auto one = [](double v) { return Samples{{{}, v}}; };
  metrics.Gauge("hanse_build_info", "The running release and commit (value 1)", [] {
    return Samples{{{{"version", VersionLine()}}, 1}};
  });
  metrics.Gauge("hanse_uptime_seconds", "Seconds since the node started",
                [this, one] { return one(absl::ToDoubleSeconds(clock->Now() - started)); });
  metrics.Gauge("hanse_catalog_documents",
                "Current documents in the catalogue by kind (participant, dataset, certification; "
                "tombstone: unpublished or revoked)",
                [this] {
                  const catalog::Catalog::KindCounts counts = catalog->CountByKind();
                  Samples out;
                  for (catalog::DocumentKind kind :
                       {catalog::DocumentKind::kParticipant, catalog::DocumentKind::kDataset,
                        catalog::DocumentKind::kCertification, catalog::DocumentKind::kTombstone}) {
                    out.push_back({{{"kind", std::string(catalog::DocumentKindName(kind))}},
                                   static_cast<double>(counts[static_cast<size_t>(kind)])});
                  }
                  return out;
                });
  metrics.Gauge("hanse_store_disk_bytes", "Bytes the store takes on disk",
                [this, one] { return one(static_cast<double>(store->DiskBytes())); });
  metrics.Gauge("hanse_store_free_bytes",
                "Free bytes on the store's file system (writes stop below store_min_free_mb)",
                [this, one] {
                  struct statvfs st {};
                  if (::statvfs(home.paths.store.c_str(), &st) != 0) return Samples{};
                  return one(static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize));
                });
  metrics.Gauge("hanse_node_certificate_expiry_seconds",
                "Seconds until the node TLS certificate ends (renewed automatically)",
                [this, one] { return one(absl::ToDoubleSeconds(CertNotAfter() - clock->Now())); });
  metrics.Gauge("hanse_members", "Federation members by status", [this] {
    MembershipState s = membership->state();
    return Samples{{{{"status", "member"}}, static_cast<double>(s.members.size())},
                   {{{"status", "pending"}}, static_cast<double>(s.pending_admit.size())},
                   {{{"status", "revoked"}}, static_cast<double>(s.revoked.size())},
                   {{{"status", "left"}}, static_cast<double>(s.left.size())}};
  });
  metrics.Gauge("hanse_equivocators", "Issuers this node holds equivocation evidence against",
                [this, one] {
                  auto flagged = catalog->FlaggedIssuers();
                  return one(flagged.ok() ? static_cast<double>(flagged->size()) : 0);
                });
  metrics.Gauge(
      "hanse_flagged_by_members",
      "Members whose last digest named this node as an equivocator (alert if > 0)", [this, one] {
        return one(static_cast<double>(gossip->engine().FlaggedBy(home.identity.did).size()));
      });
  metrics.Gauge(
      "hanse_own_sequence", "This node's own issuer log: signed (ledger) and held", [this] {
        auto heads = catalog->Heads();
        double held = 0;
        if (heads.ok() && heads->count(home.identity.did)) {
          held = static_cast<double>(heads->at(home.identity.did));
        }
        return Samples{
            {{{"kind", "signed"}}, static_cast<double>(sequences->Highest(home.identity.did))},
            {{{"kind", "held"}}, held}};
      });
  metrics.Gauge("hanse_gossip_peer_standing",
                "Standing of each peer in gossip (invalid documents lower it)", [this] {
                  Samples out;
                  for (const auto& [peer, standing] : gossip->engine().standing()) {
                    out.push_back({{{"peer", peer}}, static_cast<double>(standing)});
                  }
                  return out;
                });
  metrics.Gauge(
      "hanse_datasets_needing_republication",
      "This node's datasets whose source no longer matches what was published (republish them)",
      [this, one] {
        auto marked = NeedingRepublication(*store);
        return marked.ok() ? one(static_cast<double>(marked->size())) : Samples{};
      });
  metrics.Gauge("hanse_audit_entries", "Entries in the signed audit chain",
                [this, one] { return one(static_cast<double>(exchange->audit().size())); });
  metrics.CounterFrom(
      "hanse_audit_events_total",
      "Audit events since start, by kind: policy decisions (decision.permit, decision.deny), "
      "negotiation steps, transfers, receipts, duties, admin calls and refusals",
      [this] {
        Samples out;
        for (const auto& [kind, n] : exchange->audit().AppendedByKind()) {
          out.push_back({{{"kind", kind}}, static_cast<double>(n)});
        }
        return out;
      });
  // One RocksDB figure, or no sample when the engine has none.
  auto engine = [this](const char* key) {
    const auto stats = store->EngineStats();
    const auto it = stats.find(key);
    return it == stats.end() ? Samples{} : Samples{{{}, it->second}};
  };
  metrics.Gauge("hanse_store_pending_compaction_bytes",
                "Bytes RocksDB estimates it still has to compact",
                [engine] { return engine("pending_compaction_bytes"); });
  metrics.Gauge("hanse_store_memtable_bytes", "Bytes in the store's memtables",
                [engine] { return engine("memtable_bytes"); });
  metrics.CounterFrom(
      "hanse_store_block_cache_total",
      "Block cache lookups of the store, by result (hit ratio = hit / all)", [this] {
        const auto stats = store->EngineStats();
        Samples out;
        for (const auto& [key, result] :
             {std::pair{"block_cache_hits", "hit"}, std::pair{"block_cache_misses", "miss"}}) {
          if (auto it = stats.find(key); it != stats.end()) {
            out.push_back({{{"result", result}}, it->second});
          }
        }
        return out;
      });
  SearchTimer::Family(&metrics);
  metrics.Gauge("hanse_negotiations", "Negotiations this node holds, by role and state", [this] {
    Samples out;
    auto counts = exchange->CountNegotiations();
    if (!counts.ok()) return out;
    for (contract::Role role : {contract::Role::kProvider, contract::Role::kConsumer}) {
      for (contract::State state : contract::kAllStates) {
        out.push_back({{{"role", std::string(contract::RoleName(role))},
                        {"state", std::string(contract::StateName(state))}},
                       static_cast<double>(
                           (*counts)[static_cast<size_t>(role)][static_cast<size_t>(state)])});
      }
    }
    return out;
  });
  auto directions = [this] {
    return std::array<std::pair<const char*, const exchange_internal::TransferCounters*>, 2>{
        {{"sent", &exchange->sent()}, {"received", &exchange->received()}}};
  };
  metrics.CounterFrom(
      "hanse_transfer_bytes_total",
      "Payload bytes of transfers: sent as a provider, received as a consumer", [directions] {
        Samples out;
        for (auto [direction, c] : directions()) {
          out.push_back({{{"direction", direction}}, static_cast<double>(c->bytes)});
        }
        return out;
      });
  metrics.Gauge("hanse_transfers_active", "Transfers running now, by direction", [directions] {
    Samples out;
    for (auto [direction, c] : directions()) {
      out.push_back({{{"direction", direction}}, static_cast<double>(c->active)});
    }
    return out;
  });
  metrics.CounterFrom(
      "hanse_transfers_total",
      "Transfers ended, by direction and outcome (completed: every byte, digest checked; "
      "failed: stopped, refused or interrupted)",
      [directions] {
        Samples out;
        for (auto [direction, c] : directions()) {
          out.push_back({{{"direction", direction}, {"outcome", "completed"}},
                         static_cast<double>(c->completed)});
          out.push_back(
              {{{"direction", direction}, {"outcome", "failed"}}, static_cast<double>(c->failed)});
        }
        return out;
      });
  metrics.CounterFrom("hanse_gossip_rounds_total", "Anti-entropy rounds run", [this, one] {
    return one(static_cast<double>(gossip->engine().stats().rounds));
  });
  metrics.CounterFrom("hanse_gossip_documents_total",
                      "Documents received by gossip, by what became of them", [this] {
                        GossipStats st = gossip->engine().stats();
                        return Samples{
                            {{{"outcome", "received"}}, static_cast<double>(st.documents_received)},
                            {{{"outcome", "stored"}}, static_cast<double>(st.documents_stored)},
                            {{{"outcome", "rejected"}}, static_cast<double>(st.documents_rejected)},
                            {{{"outcome", "evidence"}}, static_cast<double>(st.evidence_received)}};
                      });
  metrics.CounterFrom(
      "hanse_gossip_summaries_total",
      "Anti-entropy exchanges by how they ended: at the summary (nothing differed) or further",
      [this] {
        GossipStats st = gossip->engine().stats();
        return Samples{{{{"result", "equal"}}, static_cast<double>(st.summaries_equal)},
                       {{{"result", "differing"}}, static_cast<double>(st.summaries_differing)}};
      });
  metrics.CounterFrom("hanse_gossip_push_tree_total",
                      "Push tree events: pushes sent, links pruned (duplicates), links grafted, "
                      "links dropped (the member did not answer)",
                      [this] {
                        GossipStats st = gossip->engine().stats();
                        return Samples{
                            {{{"event", "push"}}, static_cast<double>(st.pushes_sent)},
                            {{{"event", "prune"}}, static_cast<double>(st.prunes)},
                            {{{"event", "graft"}}, static_cast<double>(st.grafts)},
                            {{{"event", "drop"}}, static_cast<double>(st.links_dropped)}};
                      });
  metrics.CounterFrom(
      "hanse_gossip_bytes_total",
      "Serialised gossip messages sent and received (as caller and callee; before HTTP/2 and TLS)",
      [this] {
        GossipStats st = gossip->engine().stats();
        return Samples{{{{"direction", "sent"}}, static_cast<double>(st.bytes_sent)},
                       {{{"direction", "received"}}, static_cast<double>(st.bytes_received)}};
      });
  metrics.Gauge("hanse_gossip_peers", "Members in the partial view and eager push links", [this] {
    GossipEngine& e = gossip->engine();
    return Samples{{{{"set", "view"}}, static_cast<double>(e.view().size())},
                   {{{"set", "eager"}}, static_cast<double>(e.eager().size())}};
  });
  metrics.CounterFrom(
      "hanse_gossip_view_replaced_total",
      "View members swapped for another at once because they did not answer",
      [this, one] { return one(static_cast<double>(gossip->engine().stats().view_replaced)); });
  // Per member this node gossiped with in the last hour (its view, its eager links and the
  // members that called it).
  auto per_peer = [this](auto value) {
    Samples out;
    for (const auto& [peer, p] : gossip->engine().peer_stats()) value(peer, p, &out);
    return out;
  };
  metrics.CounterFrom(
      "hanse_gossip_peer_exchanges_total",
      "Anti-entropy exchanges this node began with each member, by result (ok, failed)",
      [per_peer] {
        return per_peer([](const std::string& peer, const PeerGossip& p, Samples* out) {
          out->push_back({{{"peer", peer}, {"result", "ok"}}, static_cast<double>(p.exchanges_ok)});
          out->push_back(
              {{{"peer", peer}, {"result", "failed"}}, static_cast<double>(p.exchanges_failed)});
        });
      });
  metrics.CounterFrom(
      "hanse_gossip_peer_bytes_total",
      "Serialised gossip messages sent to and received from each member (as caller and callee)",
      [per_peer] {
        return per_peer([](const std::string& peer, const PeerGossip& p, Samples* out) {
          out->push_back(
              {{{"peer", peer}, {"direction", "sent"}}, static_cast<double>(p.bytes_sent)});
          out->push_back(
              {{{"peer", peer}, {"direction", "received"}}, static_cast<double>(p.bytes_received)});
        });
      });
  metrics.Gauge(
      "hanse_gossip_peer_lag_seconds",
      "Seconds since a gossip call with each member last worked (either direction)",
      [this, per_peer] {
        const absl::Time now = clock->Now();
        return per_peer([now](const std::string& peer, const PeerGossip& p, Samples* out) {
          if (p.last_success == absl::InfinitePast()) return;
          out->push_back({{{"peer", peer}}, absl::ToDoubleSeconds(now - p.last_success)});
        });
      });
  metrics.Gauge("hanse_gossip_peer_behind_documents",
                "Documents each member held that this node lacked when they last compared "
                "(0: equal; pulled since)",
                [per_peer] {
                  return per_peer([](const std::string& peer, const PeerGossip& p, Samples* out) {
                    out->push_back({{{"peer", peer}}, static_cast<double>(p.behind_documents)});
                  });
                });
}

}  // namespace hanse::node
