#include "node/federation/sim/gossip_sim.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status.h"
#include "catalog/document.h"
#include "catalog/memory_store.h"
#include "trust/did_key.h"
#include "trust/encoding.h"

namespace hanse::node::sim {

struct Simulation::Node {
  Node(trust::PrivateKey k, int i) : key(std::move(k)), index(i) {}
  trust::PrivateKey key;
  int index;
  MemberCard card;
  std::unique_ptr<catalog::Store> store;
  std::unique_ptr<catalog::Catalog> catalog;
  std::unique_ptr<Transport> transport;
  std::unique_ptr<GossipEngine> engine;
  bool alive = true;
  std::map<std::string, std::uint64_t> published;  // name -> last sequence signed
};

// Calls go straight into the target node's engine, unless it is crashed or on the other side of
// a partition.
class Simulation::Transport final : public GossipTransport {
 public:
  Transport(Simulation* sim, int self) : sim_(sim), self_(self) {}

  absl::Status Summary(const MemberCard& peer, const hanse::v1::SummaryRequest& req,
                       hanse::v1::SummaryResponse* resp) override {
    Node* to = sim_->Reach(self_, peer.did);
    if (to == nullptr) return Unreachable(peer);
    absl::Status s = to->engine->ServeSummary(req, resp);
    ++sim_->traffic_.summary_calls;
    sim_->Count(self_, to->index, req.ByteSizeLong() + resp->ByteSizeLong(), 0, 0);
    return s;
  }
  absl::Status Digest(const MemberCard& peer, const hanse::v1::DigestRequest& req,
                      hanse::v1::DigestResponse* resp) override {
    Node* to = sim_->Reach(self_, peer.did);
    if (to == nullptr) return Unreachable(peer);
    absl::Status s = to->engine->ServeDigest(req, resp);
    sim_->Count(self_, to->index, req.ByteSizeLong() + resp->ByteSizeLong(), 0, 0);
    return s;
  }
  absl::Status Pull(const MemberCard& peer, const hanse::v1::PullRequest& req,
                    hanse::v1::PullResponse* resp) override {
    Node* to = sim_->Reach(self_, peer.did);
    if (to == nullptr) return Unreachable(peer);
    absl::Status s = to->engine->ServePull(req, resp);
    std::uint64_t payload = 0;
    for (const auto& d : resp->documents()) payload += d.size();
    for (const auto& d : resp->evidence()) payload += d.size();
    sim_->Count(self_, to->index, req.ByteSizeLong() + resp->ByteSizeLong(),
                resp->documents_size() + resp->evidence_size(), payload);
    return s;
  }
  absl::Status Push(const MemberCard& peer, const hanse::v1::PushRequest& req,
                    hanse::v1::PushResponse* resp) override {
    Node* to = sim_->Reach(self_, peer.did);
    if (to == nullptr) return Unreachable(peer);
    absl::Status s = to->engine->ServePush(sim_->did(self_), req, resp);
    std::uint64_t payload = 0;
    for (const auto& d : req.documents()) payload += d.size();
    ++sim_->traffic_.push_calls;
    sim_->Count(self_, to->index, req.ByteSizeLong() + resp->ByteSizeLong(), req.documents_size(),
                payload);
    return s;
  }
  absl::Status Membership(const MemberCard& peer, const hanse::v1::MembershipRequest& req,
                          hanse::v1::MembershipResponse* resp) override {
    Node* to = sim_->Reach(self_, peer.did);
    if (to == nullptr) return Unreachable(peer);
    absl::Status s = to->engine->ServeMembership(req, resp);
    sim_->Count(self_, to->index, req.ByteSizeLong() + resp->ByteSizeLong(), 0, 0);
    return s;
  }

 private:
  absl::Status Unreachable(const MemberCard& peer) {
    ++sim_->traffic_.failed_calls;
    return absl::UnavailableError(absl::StrCat(peer.did, " is unreachable"));
  }
  Simulation* sim_;
  int self_;
};

Simulation::Simulation(const SimOptions& options)
    : options_(options), clock_(absl::FromUnixSeconds(1'780'000'000)), rng_(options.seed) {}

Simulation::~Simulation() = default;

absl::StatusOr<std::unique_ptr<Simulation>> Simulation::Create(const SimOptions& options) {
  if (options.nodes < 2) return absl::InvalidArgumentError("a simulation needs two nodes or more");
  std::unique_ptr<Simulation> sim(new Simulation(options));
  for (int i = 0; i < options.nodes; ++i) {
    HANSE_ASSIGN_OR_RETURN(trust::PrivateKey key,
                           trust::PrivateKey::Generate(trust::KeyType::kP256));
    auto node = std::make_unique<Node>(std::move(key), i);
    node->card.did = trust::EncodeDidKey(node->key.Public());
    node->card.endpoint = absl::StrCat("sim:", i);
    if (options.store_dir.empty()) {
      node->store = catalog::NewMemoryStore();
    } else {
      HANSE_ASSIGN_OR_RETURN(node->store,
                             catalog::OpenRocksStore(absl::StrCat(options.store_dir, "/", i),
                                                     {.create_if_missing = true}));
    }
    HANSE_ASSIGN_OR_RETURN(node->catalog, catalog::Catalog::Open(node->store.get(), &sim->clock_));
    sim->index_[node->card.did] = i;
    sim->nodes_.push_back(std::move(node));
  }
  for (int i = 0; i < options.nodes; ++i) {
    Node& node = *sim->nodes_[i];
    node.transport = std::make_unique<Transport>(sim.get(), i);
    Simulation* s = sim.get();
    auto peers = [s, i] {
      std::vector<MemberCard> out;
      out.reserve(s->nodes_.size() - 1);
      for (int j = 0; j < s->size(); ++j) {
        if (j != i) out.push_back(s->nodes_[j]->card);
      }
      return out;
    };
    node.engine =
        std::make_unique<GossipEngine>(options.gossip, node.catalog.get(), /*membership=*/nullptr,
                                       peers, node.transport.get(), &sim->clock_, sim->rng_());
    node.engine->OnPushQueued([s, i] { s->pushing_.insert(i); });
    node.engine->SetPeerLookup([s, i](const std::string& did) -> std::optional<MemberCard> {
      auto it = s->index_.find(did);
      if (it == s->index_.end() || it->second == i) return std::nullopt;
      return s->nodes_[it->second]->card;
    });
  }
  return sim;
}

const std::string& Simulation::did(int node) const { return nodes_[node]->card.did; }
const MemberCard& Simulation::card(int node) const { return nodes_[node]->card; }
catalog::Catalog& Simulation::catalog(int node) { return *nodes_[node]->catalog; }
GossipEngine& Simulation::engine(int node) { return *nodes_[node]->engine; }
void Simulation::Crash(int node) { nodes_[node]->alive = false; }
void Simulation::Restart(int node) { nodes_[node]->alive = true; }
bool Simulation::alive(int node) const { return nodes_[node]->alive; }
void Simulation::Partition(const std::vector<int>& side_of_node) { side_ = side_of_node; }
void Simulation::Heal() { side_.clear(); }

Simulation::Node* Simulation::Reach(int from, const std::string& to_did) {
  auto it = index_.find(to_did);
  if (it == index_.end()) return nullptr;
  int j = it->second;
  if (!nodes_[j]->alive || !nodes_[from]->alive) return nullptr;
  if (!side_.empty() && side_[from] != side_[j]) return nullptr;
  return nodes_[j].get();
}

void Simulation::Count(int from, int to, std::uint64_t bytes, std::uint64_t payload_docs,
                       std::uint64_t payload_bytes) {
  if (contacted_.size() != nodes_.size()) contacted_.resize(nodes_.size());
  contacted_[from].insert(to);
  contacted_[to].insert(from);
  ++traffic_.calls;
  traffic_.bytes += bytes;
  traffic_.payload_documents += payload_docs;
  traffic_.payload_bytes += payload_bytes;
}

absl::StatusOr<std::string> Simulation::Sign(int node, const std::string& name,
                                             std::uint64_t sequence, const std::string& title) {
  Node& n = *nodes_[node];
  catalog::Document d;
  d.kind = catalog::DocumentKind::kDataset;
  d.issuer = n.card.did;
  d.id = catalog::DatasetId(d.issuer, name);
  d.sequence = sequence;
  d.valid_from = clock_.Now() - absl::Hours(1);
  d.valid_until = clock_.Now() + absl::Hours(24 * 365);
  catalog::DatasetFacts& f = d.dataset;
  f.title = title;
  f.description = absl::StrCat("Simulated dataset ", name, " of node ", node,
                               ", published to measure replication.");
  f.keywords = {"simulation", name};
  f.themes = {"environment"};
  f.publisher = absl::StrCat("Node ", node);
  f.license = "CC-BY-4.0";
  f.media_type = "text/csv";
  f.byte_size = 1000 + sequence;
  f.sha256 = trust::HexEncode(trust::Sha256(absl::StrCat(name, sequence, title)));
  f.language = "en";
  f.hosting_location = "DE";
  f.personal_data_class = "none";
  f.issued = "2026-01-01";
  f.policy_json = R"({"@context":"http://www.w3.org/ns/odrl.jsonld","@type":"Offer",)"
                  R"("permission":[{"action":"use"}]})";
  return catalog::SignDocument(d, n.key);
}

absl::StatusOr<catalog::StoredDocument> Simulation::Publish(int node, const std::string& name) {
  Node& n = *nodes_[node];
  std::string jws;
  HANSE_ASSIGN_OR_RETURN(
      catalog::IngestResult r,
      n.catalog->SignAndIngest(n.card.did, [&](std::uint64_t seq) -> absl::StatusOr<std::string> {
        HANSE_ASSIGN_OR_RETURN(jws, Sign(node, name, seq, absl::StrCat(name, " v", seq)));
        return jws;
      }));
  n.published[name] = r.sequence;
  n.engine->QueuePush(jws);
  return n.catalog->Get(r.id);
}

absl::Status Simulation::DeliverPush(int from, int to, const std::vector<std::string>& documents) {
  hanse::v1::PushRequest req;
  for (const auto& d : documents) req.add_documents(d);
  hanse::v1::PushResponse resp;
  return nodes_[to]->engine->ServePush(did(from), req, &resp);
}

size_t Simulation::MaxPeersContacted() const {
  size_t most = 0;
  for (const auto& c : contacted_) most = std::max(most, c.size());
  return most;
}

void Simulation::ResetTraffic() {
  traffic_ = {};
  contacted_.assign(nodes_.size(), {});
}

void Simulation::DrainPushes() {
  // Each pass pushes what the one before passed on; a tree is at most N deep.
  for (size_t pass = 0; pass < nodes_.size() && !pushing_.empty(); ++pass) {
    std::set<int> now;
    now.swap(pushing_);
    for (int i : now) {
      if (nodes_[i]->alive) nodes_[i]->engine->PushPending();
    }
  }
}

void Simulation::Round() {
  std::vector<int> order(nodes_.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng_);
  for (int i : order) {
    if (!nodes_[i]->alive) continue;
    nodes_[i]->engine->PushPending();
    if (options_.gossip.push_fanout == 0) DrainPushes();
    nodes_[i]->engine->AntiEntropyRound();
  }
  clock_.Advance(options_.gossip.interval);
}

int Simulation::Holding(const std::string& id, std::uint64_t sequence) {
  int n = 0;
  for (auto& node : nodes_) {
    if (!node->alive) continue;
    auto doc = node->catalog->GetAny(id);
    if (doc.ok() && doc->has_value() && (*doc)->sequence >= sequence) ++n;
  }
  return n;
}

bool Simulation::Converged() {
  std::optional<std::map<std::string, std::uint64_t>> first;
  for (auto& node : nodes_) {
    if (!node->alive) continue;
    auto heads = node->catalog->Heads();
    if (!heads.ok()) return false;
    if (!first) {
      first = *heads;
    } else if (*first != *heads) {
      return false;
    }
  }
  return true;
}

int Simulation::RunUntilHeld(const std::string& id, std::uint64_t sequence, int max_rounds) {
  int live = 0;
  for (auto& node : nodes_) live += node->alive ? 1 : 0;
  for (int r = 1; r <= max_rounds; ++r) {
    Round();
    if (Holding(id, sequence) == live) return r;
  }
  return -1;
}

int Simulation::RunUntilConverged(int max_rounds) {
  for (int r = 1; r <= max_rounds; ++r) {
    Round();
    if (Converged()) return r;
  }
  return -1;
}

}  // namespace hanse::node::sim
