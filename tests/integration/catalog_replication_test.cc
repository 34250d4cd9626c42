// Real nodes: publish, search, export and offline verification; replication by gossip.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/file.h"
#include "catalog/document.h"
#include "hanse/v1/federation.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "node/cli/admin_client.h"
#include "node/identity/home.h"
#include "node/rpc/tls.h"
#include "tests/support/process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "trust/did_key.h"
#include "trust/jws.h"

namespace hanse {
namespace {

using ::hanse::testing::CommandResult;
using ::hanse::testing::IsOk;
using ::hanse::testing::NodeProcess;
using ::hanse::testing::RunHanse;
using ::testing::HasSubstr;

class CatalogReplicationTest : public ::testing::Test {
 protected:
  std::string Init(const std::string& name, const std::string& country) {
    CommandResult r = RunHanse({"init", "--home", tmp_.Sub(name), "--name", "Org " + name,
                                "--country", country, "--listen", "127.0.0.1:0"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // Fast gossip for tests.
    auto text = ReadFile(tmp_.Sub(name + "/config.json"));
    auto j = nlohmann::json::parse(*text);
    j["gossip_interval_ms"] = 200;
    EXPECT_THAT(WriteFileAtomic(tmp_.Sub(name + "/config.json"), j.dump(), 0644), IsOk());
    return r.out.substr(0, r.out.find('\n'));
  }
  std::unique_ptr<NodeProcess> Run(const std::string& name) {
    auto node = std::make_unique<NodeProcess>(tmp_.Sub(name), tmp_.Sub(name + ".log"));
    auto listen = node->Start();
    EXPECT_TRUE(listen.ok()) << listen.status();
    return node;
  }
  void TrustAll(const std::vector<std::string>& names) {
    for (const auto& n : names) {
      ASSERT_EQ(RunHanse({"card", "--home", tmp_.Sub(n), "--out", tmp_.Sub(n + ".card")}).exit_code,
                0);
    }
    for (const auto& a : names) {
      for (const auto& b : names) {
        if (a == b) continue;
        CommandResult r = RunHanse({"peer", "add", "--home", tmp_.Sub(a), tmp_.Sub(b + ".card")});
        ASSERT_EQ(r.exit_code, 0) << r.err;
      }
    }
  }
  std::string Publish(const std::string& node, const std::string& name, const std::string& title,
                      const std::string& theme, const std::string& extra = "") {
    EXPECT_THAT(WriteFileAtomic(tmp_.Sub(node + "/data/" + name + ".csv"), "a,b\n1,2\n", 0644),
                IsOk());
    std::string json =
        absl::StrCat(R"({"name": ")", name, R"(", "title": ")", title, R"(", "themes": [")", theme,
                     R"("], "license": "CC-BY-4.0", "media_type": "text/csv",
        "language": "en", "issued": "2024-05-01", "content": ")",
                     name, R"(.csv",)", extra,
                     R"( "policy": {"@type": "Offer", "permission": [{"action": "use"}]}})");
    std::string file = tmp_.Sub(node + "-" + name + ".json");
    EXPECT_THAT(WriteFileAtomic(file, json, 0644), IsOk());
    CommandResult r = RunHanse({"dataset", "publish", "--home", tmp_.Sub(node), file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }
  nlohmann::json Search(const std::string& node, const std::string& query) {
    CommandResult r = RunHanse({"search", "--home", tmp_.Sub(node), query, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_discarded() ? nlohmann::json{{"hits", nlohmann::json::array()}} : j;
  }
  // Polls until `query` on `node` returns `count` hits (replication is asynchronous).
  bool WaitForHits(const std::string& node, const std::string& query, size_t count) {
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      if (Search(node, query)["hits"].size() == count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  testing::TempDir tmp_;
};

TEST_F(CatalogReplicationTest, PublishSearchExportVerifyAndRestart) {
  Init("a", "FR");
  auto a = Run("a");
  std::string id = Publish("a", "glaciers", "Glacier melt observations", "climate");
  EXPECT_THAT(id, HasSubstr("/datasets/glaciers"));
  Publish("a", "rivers", "River levels", "hydrology");

  auto hits = Search("a", "glacier")["hits"];
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]["id"], id);
  EXPECT_EQ(Search("a", "theme:hydrology")["hits"].size(), 1u);
  EXPECT_EQ(Search("a", "country:FR")["hits"].size(), 2u);
  EXPECT_EQ(Search("a", "country:DE")["hits"].size(), 0u);

  // A malformed query points at the problem.
  CommandResult r = RunHanse({"search", "--home", tmp_.Sub("a"), "glacier colour:red"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown field \"colour\" at column 9"));

  // A bad publish file names the field; nothing is stored.
  r = RunHanse({"dataset", "publish", "--home", tmp_.Sub("a"), tmp_.Sub("nope.json")});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_THAT(WriteFileAtomic(tmp_.Sub("a/data/bad.csv"), "x", 0644), IsOk());
  ASSERT_THAT(WriteFileAtomic(tmp_.Sub("bad.json"), R"({"name": "bad", "title": "Bad",
      "license": "x", "media_type": "text/csv", "language": "en", "content": "bad.csv",
      "hosting_location": "France", "policy": {"@type": "Offer", "permission": []}})",
                              0644),
              IsOk());
  r = RunHanse({"dataset", "publish", "--home", tmp_.Sub("a"), tmp_.Sub("bad.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("credentialSubject.hostingLocation"));
  EXPECT_EQ(Search("a", "")["hits"].size(), 2u);

  // Export every signed document and verify it offline, with no node.
  r = RunHanse({"catalog", "export", "--home", tmp_.Sub("a"), "--format", "jws"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_THAT(WriteFileAtomic(tmp_.Sub("all.jws"), r.out, 0644), IsOk());
  EXPECT_EQ(a->Stop(SIGTERM), 0);
  r = RunHanse({"document", "verify", tmp_.Sub("all.jws")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("participant"));
  EXPECT_THAT(r.out, HasSubstr("/datasets/glaciers"));
  // Tamper with one payload byte: verify says which line and why.
  HANSE_ASSERT_OK_AND_ASSIGN(std::string all, ReadFile(tmp_.Sub("all.jws")));
  size_t dot = all.find('.');
  all[dot + 5] = all[dot + 5] == 'A' ? 'B' : 'A';
  ASSERT_THAT(WriteFileAtomic(tmp_.Sub("tampered.jws"), all, 0644), IsOk());
  r = RunHanse({"document", "verify", tmp_.Sub("tampered.jws")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("INVALID line 1"));

  // Persistence across restart.
  auto again = Run("a");
  EXPECT_EQ(Search("a", "glacier")["hits"].size(), 1u);
  r = RunHanse({"dataset", "unpublish", "--home", tmp_.Sub("a"), id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Search("a", "glacier")["hits"].size(), 0u);
  r = RunHanse({"dataset", "show", "--home", tmp_.Sub("a"), id});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unpublished"));
}

TEST_F(CatalogReplicationTest, GossipReplicatesPublishAndUnpublishToEveryPeer) {
  Init("a", "FR");
  Init("b", "DE");
  Init("c", "NL");
  auto a = Run("a");
  auto b = Run("b");
  auto c = Run("c");
  TrustAll({"a", "b", "c"});

  std::string id = Publish("a", "glaciers", "Glacier melt observations", "climate");
  Publish("b", "forests", "Forest cover", "climate");
  for (const auto* n : {"a", "b", "c"}) {
    EXPECT_TRUE(WaitForHits(n, "theme:climate", 2)) << n;
    EXPECT_TRUE(WaitForHits(n, "glacier country:FR", 1)) << n;
  }
  // c was down while a unpublished: anti-entropy catches it up after restart.
  EXPECT_EQ(c->Stop(SIGTERM), 0);
  ASSERT_EQ(RunHanse({"dataset", "unpublish", "--home", tmp_.Sub("a"), id}).exit_code, 0);
  c = Run("c");
  for (const auto* n : {"a", "b", "c"}) EXPECT_TRUE(WaitForHits(n, "glacier", 0)) << n;
  EXPECT_TRUE(WaitForHits("c", "forest", 1));
}

// Eight publishers at once on one node, 1,000 publishes: each is acknowledged with its own
// sequence, every acknowledged dataset is stored on the node and reaches its peer, and neither
// node ever sees the publisher equivocate (the sequence is assigned, signed and stored in one
// critical section).
TEST_F(CatalogReplicationTest, ParallelPublishersNeverSignOneSequenceTwice) {
  Init("a", "FR");
  Init("b", "DE");
  auto a = Run("a");
  auto b = Run("b");
  TrustAll({"a", "b"});
  ASSERT_THAT(WriteFileAtomic(tmp_.Sub("a/data/shared.csv"), "a,b\n1,2\n", 0644), IsOk());

  constexpr int kPublishers = 8;
  constexpr int kEach = 125;
  std::vector<std::vector<std::pair<std::string, std::uint64_t>>> acked(kPublishers);
  std::vector<std::string> errors(kPublishers);
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      auto client = node::AdminClient::Connect(tmp_.Sub("a"));
      if (!client.ok()) {
        errors[p] = client.status().ToString();
        return;
      }
      for (int i = 0; i < kEach; ++i) {
        std::string json = absl::StrCat(R"({"name": "p)", p, "-", i, R"(", "title": "Batch )", p,
                                        " part ", i, R"(", "license": "CC-BY-4.0",
            "media_type": "text/csv", "language": "en", "content": "shared.csv",
            "policy": {"@type": "Offer", "permission": [{"action": "use"}]}})");
        auto r = client->PublishDataset(json);
        if (!r.ok()) {
          errors[p] = r.status().ToString();
          return;
        }
        if (r->outcome() != "stored") {
          errors[p] = absl::StrCat(r->id(), " came back ", r->outcome());
          return;
        }
        acked[p].emplace_back(r->id(), r->sequence());
      }
    });
  }
  for (auto& t : publishers) t.join();
  std::set<std::uint64_t> sequences;
  size_t total = 0;
  for (int p = 0; p < kPublishers; ++p) {
    EXPECT_EQ(errors[p], "") << "publisher " << p;
    for (const auto& [id, seq] : acked[p]) {
      sequences.insert(seq);
      ++total;
    }
  }
  ASSERT_EQ(total, static_cast<size_t>(kPublishers * kEach));
  EXPECT_EQ(sequences.size(), total) << "a sequence was acknowledged twice";

  // Every acknowledged dataset is on the node at the acknowledged sequence, and reaches the
  // peer, which never flags the publisher.
  std::map<std::string, std::uint64_t> want;
  for (const auto& per : acked) want.insert(per.begin(), per.end());
  auto held = [&](const std::string& node) {
    std::map<std::string, std::uint64_t> out;
    auto client = node::AdminClient::Connect(tmp_.Sub(node));
    if (!client.ok()) return out;
    hanse::v1::ListDatasetsRequest req;
    req.set_limit(1000);
    while (true) {
      auto page = client->ListDatasets(req);
      if (!page.ok()) return out;
      for (const auto& d : page->datasets()) out[d.id()] = d.sequence();
      if (page->next_after().empty()) return out;
      req.set_after(page->next_after());
    }
  };
  EXPECT_EQ(held("a"), want);
  absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline && held("b").size() < want.size()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(held("b"), want);
  for (const std::string node : {"a", "b"}) {
    CommandResult st = RunHanse({"status", "--home", tmp_.Sub(node), "--json"});
    ASSERT_EQ(st.exit_code, 0) << st.err;
    auto j = nlohmann::json::parse(st.out);
    EXPECT_TRUE(j["equivocators"].empty()) << node << ": " << st.out;
    if (node == "a") {
      EXPECT_EQ(j["own_sequence_signed"], j["own_sequence_held"]);
      EXPECT_GE(j["own_sequence_signed"].get<std::uint64_t>(), *sequences.rbegin());
    }
  }
}

// A hostile peer with a valid member certificate pushes forged, tampered, replayed and
// equivocating documents: none is stored as valid, and honest gossip goes on.
TEST_F(CatalogReplicationTest, HostilePeerCannotPlantDocuments) {
  std::string a_did = Init("a", "FR");
  std::string b_did = Init("b", "DE");
  auto a = Run("a");
  auto b = Run("b");
  TrustAll({"a", "b"});
  std::string id = Publish("a", "glaciers", "Glacier melt observations", "climate");
  ASSERT_TRUE(WaitForHits("b", "glacier", 1));

  // The hostile client: b's identity, talking to a directly.
  HANSE_ASSERT_OK_AND_ASSIGN(node::Home bh, node::LoadHome(tmp_.Sub("b"), absl::Now()));
  CommandResult st = RunHanse({"status", "--home", tmp_.Sub("a"), "--json"});
  std::string a_listen = nlohmann::json::parse(st.out)["listen"];
  auto stub = hanse::v1::Federation::NewStub(
      grpc::CreateChannel(a_listen, node::UnverifiedServerChannelCredentials(bh.identity)));
  auto push = [&](const std::vector<std::string>& docs) {
    hanse::v1::PushRequest req;
    for (const auto& d : docs) req.add_documents(d);
    hanse::v1::PushResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status status = stub->Push(&ctx, req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  };
  CommandResult shown = RunHanse({"dataset", "show", "--home", tmp_.Sub("a"), id, "--jws"});
  std::string genuine = shown.out.substr(0, shown.out.find('\n'));

  // Tampered: a's document with a changed payload.
  std::string tampered = genuine;
  size_t dot = tampered.find('.');
  tampered[dot + 10] = tampered[dot + 10] == 'A' ? 'B' : 'A';
  // Forged: b signs a document that names a as its issuer.
  catalog::Document forged_doc;
  forged_doc.kind = catalog::DocumentKind::kDataset;
  forged_doc.issuer = a_did;
  forged_doc.id = catalog::DatasetId(a_did, "forged");
  forged_doc.sequence = 99;
  forged_doc.valid_from = absl::Now() - absl::Minutes(1);
  catalog::DatasetFacts& f = forged_doc.dataset;
  f.title = "Forged zebra data";
  f.publisher = "x";
  f.license = "x";
  f.media_type = "text/csv";
  f.sha256 = std::string(64, 'a');
  f.language = "en";
  f.hosting_location = "FR";
  f.personal_data_class = "none";
  f.issued = "2024-01-01";
  f.policy_json = R"({"@type":"Offer","permission":[{"action":"use"}]})";
  HANSE_ASSERT_OK_AND_ASSIGN(
      std::string forged,
      trust::SignCompact(bh.identity.participant_key, trust::DidKeyVerificationMethod(b_did),
                         "vc+jwt", catalog::DocumentPayload(forged_doc)));
  auto resp = push({tampered, forged, "not.a.jws", genuine});
  EXPECT_EQ(resp.stored(), 0u);
  EXPECT_EQ(resp.rejected(), 3u);
  EXPECT_EQ(Search("a", "zebra")["hits"].size(), 0u);
  EXPECT_EQ(Search("a", "glacier")["hits"].size(), 1u);

  // Equivocation: b signs two different documents with the same sequence.
  catalog::Document e1 = forged_doc;
  e1.issuer = b_did;
  e1.id = catalog::DatasetId(b_did, "twin");
  e1.sequence = 50;
  e1.dataset.title = "Twin one";
  catalog::Document e2 = e1;
  e2.dataset.title = "Twin two";
  HANSE_ASSERT_OK_AND_ASSIGN(std::string j1,
                             catalog::SignDocument(e1, bh.identity.participant_key));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string j2,
                             catalog::SignDocument(e2, bh.identity.participant_key));
  resp = push({j1, j2});
  EXPECT_EQ(resp.stored(), 1u);
  auto twins = Search("a", "twin")["hits"];
  ASSERT_EQ(twins.size(), 1u);
  EXPECT_EQ(twins[0]["title"], "Twin one");  // the first stays current; the second is evidence

  // Replay: after a republishes, the old version is stale.
  Publish("a", "glaciers", "Glacier melt observations revised", "climate");
  resp = push({genuine});
  EXPECT_EQ(resp.stored(), 0u);
  EXPECT_EQ(Search("a", "revised")["hits"].size(), 1u);

  // Honest gossip goes on.
  Publish("a", "rivers", "River levels", "hydrology");
  EXPECT_TRUE(WaitForHits("b", "river", 1));
  EXPECT_TRUE(WaitForHits("b", "revised", 1));
}

}  // namespace
}  // namespace hanse
