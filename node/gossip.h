// Replication of the catalogue among peers: Scuttlebutt-style anti-entropy (swap per-issuer
// highest sequences, pull only what is missing, in sequence order) plus eager push on publish.
// Every received document is verified by Catalog::IngestMany before it is stored; only stored
// (verified) documents are ever served. Peers that send invalid documents lose standing and
// are contacted less often.
#ifndef HANSE_NODE_GOSSIP_H_
#define HANSE_NODE_GOSSIP_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "catalog/catalog.h"
#include "hanse/v1/federation.grpc.pb.h"
#include "node/home.h"
#include "node/membership.h"
#include "node/peers.h"
#include "node/tls.h"

namespace hanse::node {

struct GossipOptions {
  absl::Duration interval = absl::Seconds(2);
  int fanout = 2;
  int max_batch_documents = 256;
  int max_batch_bytes = 2 << 20;
  absl::Duration call_deadline = absl::Seconds(5);
};

struct GossipStats {
  std::uint64_t rounds = 0;
  std::uint64_t documents_received = 0;
  std::uint64_t documents_stored = 0;
  std::uint64_t documents_rejected = 0;
};

class Gossip {
 public:
  Gossip(GossipOptions options, const Identity* identity, PeerRegistry* peers,
         catalog::Catalog* catalog, Membership* membership, CaLookup ca_lookup);
  ~Gossip();

  void Start();
  void Stop();
  // Queue documents for an eager push to peers (after a local publish).
  void PushSoon(std::string jws);
  // Runs an anti-entropy round now (after a local membership record).
  void SyncSoon();
  // Fetches the membership records from any node (used when joining; records verify
  // themselves, the server is not trusted).
  absl::Status FetchMembership(const std::string& endpoint);
  // Runs one anti-entropy exchange with `did` now (tests, and the admin "sync" command).
  absl::Status SyncWith(const std::string& did);

  // Server side of the federation RPCs (the caller is already authorised).
  absl::Status ServeDigest(const hanse::v1::DigestRequest& req, hanse::v1::DigestResponse* resp);
  absl::Status ServePull(const hanse::v1::PullRequest& req, hanse::v1::PullResponse* resp);
  absl::Status ServePush(const std::string& caller, const hanse::v1::PushRequest& req,
                         hanse::v1::PushResponse* resp);
  absl::Status ServeMembership(const hanse::v1::MembershipRequest& req,
                               hanse::v1::MembershipResponse* resp);

  GossipStats stats() const;
  std::map<std::string, int> standing() const;

 private:
  void Run();
  std::vector<MemberCard> PickPeers();
  hanse::v1::Federation::Stub* StubFor(const MemberCard& peer);
  // Ingests documents from `from`; adjusts its standing. Returns the highest sequence stored
  // per issuer.
  struct IngestCounts {
    int stored = 0;
    int rejected = 0;
  };
  IngestCounts Ingest(const std::string& from, const std::vector<std::string>& docs);
  void IngestMembership(const std::string& from, const hanse::v1::MembershipResponse& resp);

  GossipOptions options_;
  const Identity* identity_;
  PeerRegistry* peers_;
  catalog::Catalog* catalog_;
  Membership* membership_;
  CaLookup ca_lookup_;
  bool sync_now_ = false;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::string> push_queue_;
  std::map<std::string, int> standing_;
  std::map<std::string, std::pair<std::string, std::unique_ptr<hanse::v1::Federation::Stub>>>
      stubs_;  // DID -> (endpoint, stub)
  GossipStats stats_;
  std::uint64_t round_ = 0;
  std::thread thread_;
};

}  // namespace hanse::node

#endif  // HANSE_NODE_GOSSIP_H_
