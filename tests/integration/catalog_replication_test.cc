// Real nodes: publish, search, export and offline verification; replication by gossip, between
// node processes and with a node running inside the test.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/file.h"
#include "base/status.h"
#include "catalog/document.h"
#include "hanse/v1/federation.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "node/daemon/node.h"
#include "node/identity/home.h"
#include "node/rpc/admin_client.h"
#include "node/rpc/tls.h"
#include "tests/support/federation_fixture.h"
#include "tests/support/process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/tcp_proxy.h"
#include "trust/did_key.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse {
namespace {

using ::hanse::testing::CommandResult;
using ::hanse::testing::IsOk;
using ::hanse::testing::RunHanse;
using ::testing::HasSubstr;

using CatalogReplicationTest = testing::FederationTest;

TEST_F(CatalogReplicationTest, PublishSearchExportVerifyAndRestart) {
  InitNode("a");
  StartNode("a");
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
  CommandResult r = Hanse("a", {"search", "glacier colour:red"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown field \"colour\" at column 9"));

  // A bad publish file names the field; nothing is stored.
  r = Hanse("a", {"dataset", "publish", Path("nope.json")});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_THAT(WriteFileAtomic(Path("a/data/bad.csv"), "x", 0644), IsOk());
  ASSERT_THAT(WriteFileAtomic(Path("bad.json"), R"({"name": "bad", "title": "Bad",
      "license": "x", "media_type": "text/csv", "language": "en", "content": "bad.csv",
      "hosting_location": "France", "policy": {"@type": "Offer", "permission": []}})",
                              0644),
              IsOk());
  r = Hanse("a", {"dataset", "publish", Path("bad.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("credentialSubject.hostingLocation"));
  EXPECT_EQ(Search("a", "")["hits"].size(), 2u);

  // Export every signed document and verify it offline, with no node.
  r = Hanse("a", {"catalog", "export", "--format", "jws"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_THAT(WriteFileAtomic(Path("all.jws"), r.out, 0644), IsOk());
  EXPECT_EQ(StopNode("a"), 0);
  r = RunHanse({"document", "verify", Path("all.jws")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("participant"));
  EXPECT_THAT(r.out, HasSubstr("/datasets/glaciers"));
  // Tamper with one payload byte: verify says which line and why.
  HANSE_ASSERT_OK_AND_ASSIGN(std::string all, ReadFile(Path("all.jws")));
  size_t dot = all.find('.');
  all[dot + 5] = all[dot + 5] == 'A' ? 'B' : 'A';
  ASSERT_THAT(WriteFileAtomic(Path("tampered.jws"), all, 0644), IsOk());
  r = RunHanse({"document", "verify", Path("tampered.jws")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("INVALID line 1"));

  // Persistence across restart.
  StartNode("a");
  EXPECT_EQ(Search("a", "glacier")["hits"].size(), 1u);
  r = Hanse("a", {"dataset", "unpublish", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Search("a", "glacier")["hits"].size(), 0u);
  r = Hanse("a", {"dataset", "show", id});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unpublished"));
}

// The CLI's conventions on a running node: tables are aligned by characters, not bytes, and
// commands that print a result print it as JSON with --json.
TEST_F(CatalogReplicationTest, TablesCountCharactersAndResultsComeAsJson) {
  InitNode("a");
  StartNode("a");
  const std::string umlauts =
      Publish("a", "icu", "Intensivstation Universitätsklinikum Süd", "health");
  const std::string ascii = Publish("a", "ward", "Ward occupancy", "health");
  CommandResult list = Hanse("a", {"dataset", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  // Each row's id starts at the same character column, whatever the title holds.
  std::map<std::string, size_t> column;
  for (absl::string_view line : absl::StrSplit(list.out, '\n')) {
    for (const std::string& id : {umlauts, ascii}) {
      const size_t at = line.find(id);
      if (at == absl::string_view::npos) continue;
      size_t chars = 0;
      for (char c : line.substr(0, at)) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
      column[id] = chars;
    }
  }
  ASSERT_EQ(column.size(), 2u) << list.out;
  EXPECT_EQ(column[umlauts], column[ascii]) << list.out;

  auto json_of = [&](const std::vector<std::string>& args) {
    CommandResult r = Hanse("a", args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << absl::StrJoin(args, " ") << " printed: " << r.out;
    return j;
  };
  nlohmann::json gone = json_of({"dataset", "unpublish", ascii, "--json"});
  EXPECT_EQ(gone["id"], ascii);
  EXPECT_GT(gone["sequence"].get<int>(), 0);
  nlohmann::json grant =
      json_of({"access", "grant", "--role", "consumer", "--name", "robot", "--json"});
  EXPECT_EQ(grant["role"], "consumer");
  EXPECT_FALSE(grant["token"].get<std::string>().empty());
  EXPECT_TRUE(json_of({"cert", "renew", "--json"}).contains("valid_until"));
  CommandResult version = RunHanse({"version", "--json"});  // takes no --home
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_TRUE(nlohmann::json::parse(version.out, nullptr, false).contains("version"))
      << version.out;
  EXPECT_EQ(json_of({"status", "--json"})["did"], Did("a"));
}

TEST_F(CatalogReplicationTest, GossipReplicatesPublishAndUnpublishToEveryPeer) {
  InitNode("a");
  InitNode("b", {.country = "DE"});
  InitNode("c", {.country = "NL"});
  for (const auto* n : {"a", "b", "c"}) StartNode(n);
  TrustAll({"a", "b", "c"});

  std::string id = Publish("a", "glaciers", "Glacier melt observations", "climate");
  Publish("b", "forests", "Forest cover", "climate");
  for (const auto* n : {"a", "b", "c"}) {
    EXPECT_TRUE(WaitForHits(n, "theme:climate", 2)) << n;
    EXPECT_TRUE(WaitForHits(n, "glacier country:FR", 1)) << n;
  }
  // c was down while a unpublished: anti-entropy catches it up after restart.
  EXPECT_EQ(StopNode("c"), 0);
  ASSERT_EQ(Hanse("a", {"dataset", "unpublish", id}).exit_code, 0);
  StartNode("c");
  for (const auto* n : {"a", "b", "c"}) EXPECT_TRUE(WaitForHits(n, "glacier", 0)) << n;
  EXPECT_TRUE(WaitForHits("c", "forest", 1));
}

// Eight publishers at once on one node, 1,000 publishes: each is acknowledged with its own
// sequence, every acknowledged dataset is stored on the node and reaches its peer, and neither
// node ever sees the publisher equivocate (the sequence is assigned, signed and stored in one
// critical section).
TEST_F(CatalogReplicationTest, ParallelPublishersNeverSignOneSequenceTwice) {
  InitNode("a");
  InitNode("b", {.country = "DE"});
  StartNode("a");
  StartNode("b");
  TrustAll({"a", "b"});
  ASSERT_THAT(WriteFileAtomic(Path("a/data/shared.csv"), "a,b\n1,2\n", 0644), IsOk());

  constexpr int kPublishers = 8;
  constexpr int kEach = 125;
  std::vector<std::vector<std::pair<std::string, std::uint64_t>>> acked(kPublishers);
  std::vector<std::string> errors(kPublishers);
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      auto client = node::AdminClient::Connect(Home("a"));
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
    auto client = node::AdminClient::Connect(Home(node));
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
  WaitUntil([&] { return held("b").size() >= want.size(); }, absl::Seconds(120));
  EXPECT_EQ(held("b"), want);
  for (const std::string node : {"a", "b"}) {
    CommandResult st = Hanse(node, {"status", "--json"});
    ASSERT_EQ(st.exit_code, 0) << st.err;
    auto j = nlohmann::json::parse(st.out);
    EXPECT_TRUE(j["equivocators"].empty()) << node << ": " << st.out;
    if (node == "a") {
      EXPECT_EQ(j["own_sequence_signed"], j["own_sequence_held"]);
      EXPECT_GE(j["own_sequence_signed"].get<std::uint64_t>(), *sequences.rbegin());
    }
  }
}

// A cold backup of a node's home (store and sequence ledger together) is restored after the node
// has published more. While its peer is down the restored node refuses to publish (it cannot
// know how far it has signed); once the peer is back it first takes back what it signed, so its
// next dataset continues past the documents the backup lacks. The peer stores it and never flags
// the node as an equivocator.
TEST_F(CatalogReplicationTest, RestoredFromAnOlderBackupContinuesPastWhatPeersHold) {
  auto port = testing::FreeLoopbackPort();  // b keeps its address across its restart
  ASSERT_TRUE(port.ok()) << port.status();
  InitNode("a");
  InitNode("b", {.country = "DE", .port = *port});
  StartNode("a");
  StartNode("b");
  TrustAll({"a", "b"});
  ASSERT_THAT(WriteFileAtomic(Path("a/data/shared.csv"), "a,b\n1,2\n", 0644), IsOk());
  auto try_publish = [&](const std::string& name) -> absl::StatusOr<std::uint64_t> {
    HANSE_ASSIGN_OR_RETURN(auto client, node::AdminClient::Connect(Home("a")));
    HANSE_ASSIGN_OR_RETURN(auto r, client.PublishDataset(absl::StrCat(
                                       R"({"name": ")", name, R"(", "title": "Backup )", name,
                                       R"(", "license": "CC-BY-4.0",
        "media_type": "text/csv", "language": "en", "content": "shared.csv",
        "policy": {"@type": "Offer", "permission": [{"action": "use"}]}})")));
    EXPECT_EQ(r.outcome(), "stored") << name;
    return r.sequence();
  };
  auto publish = [&](const std::string& name) -> std::uint64_t {
    auto r = try_publish(name);
    EXPECT_THAT(r.status(), IsOk()) << name;
    return r.value_or(0);
  };
  publish("first");
  ASSERT_TRUE(WaitForHits("b", "backup", 1));

  ASSERT_EQ(StopNode("a"), 0);
  std::filesystem::copy(Home("a"), Path("a-backup"), std::filesystem::copy_options::recursive);
  StartNode("a");
  publish("second");
  std::uint64_t third = publish("third");
  ASSERT_TRUE(WaitForHits("b", "backup", 3));

  ASSERT_EQ(StopNode("a"), 0);
  ASSERT_EQ(StopNode("b"), 0);
  std::filesystem::remove_all(Home("a"));
  std::filesystem::copy(Path("a-backup"), Home("a"), std::filesystem::copy_options::recursive);
  StartNode("a");
  auto refused = try_publish("fourth");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("has not reached any of its 1 members since it started"));

  StartNode("b");
  std::uint64_t fourth = publish("fourth");
  EXPECT_GT(fourth, third) << "the restored node signed a sequence it had signed before";
  EXPECT_TRUE(WaitForHits("b", "backup", 4));
  EXPECT_EQ(Hits("a", "backup"), 4u) << "the restored node got its lost datasets back";
  for (const std::string node : {"a", "b"}) {
    CommandResult st = Hanse(node, {"status", "--json"});
    ASSERT_EQ(st.exit_code, 0) << st.err;
    auto j = nlohmann::json::parse(st.out);
    EXPECT_TRUE(j["equivocators"].empty()) << node << ": " << st.out;
  }
  EXPECT_THAT(Log("a"), HasSubstr("own log checked with members before signing"));
}

// A hostile peer with a valid member certificate pushes forged, tampered, replayed and
// equivocating documents: none is stored as valid, and honest gossip goes on.
TEST_F(CatalogReplicationTest, HostilePeerCannotPlantDocuments) {
  InitNode("a");
  InitNode("b", {.country = "DE"});
  const std::string a_did = Did("a");
  const std::string b_did = Did("b");
  StartNode("a");
  StartNode("b");
  TrustAll({"a", "b"});
  FoundFederation({"a", "b"});
  std::string id = Publish("a", "glaciers", "Glacier melt observations", "climate");
  ASSERT_TRUE(WaitForHits("b", "glacier", 1));

  // The hostile client: b's identity, talking to a directly.
  HANSE_ASSERT_OK_AND_ASSIGN(node::Home bh, node::LoadHome(Home("b"), absl::Now()));
  auto stub = hanse::v1::Federation::NewStub(
      grpc::CreateChannel(Listen("a"), node::UnverifiedServerChannelCredentials(bh.identity)));
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
  CommandResult shown = Hanse("a", {"dataset", "show", id, "--jws"});
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

  // b's own status says that a member holds evidence against it.
  EXPECT_TRUE(WaitUntil([&] {
    CommandResult st = Hanse("b", {"status", "--json"});
    auto j = nlohmann::json::parse(st.out, nullptr, false);
    return !j.is_discarded() && j["flagged_by"] == nlohmann::json::array({a_did});
  })) << Hanse("b", {"status", "--json"}).out;
  CommandResult text = Hanse("b", {"status"});
  EXPECT_THAT(text.out, HasSubstr("1 member(s) hold evidence that THIS node signed"));
  EXPECT_THAT(Hanse("a", {"status", "--json"}).out, HasSubstr(b_did));
  // a's member list names b as an equivocator, with the sequence; a itself is clean.
  CommandResult members = Hanse("a", {"member", "list", "--json"});
  ASSERT_EQ(members.exit_code, 0) << members.err;
  const nlohmann::json listed = nlohmann::json::parse(members.out);
  for (const auto& m : listed["members"]) {
    auto expected = m["did"] == b_did ? nlohmann::json::array({50}) : nlohmann::json::array();
    EXPECT_EQ(m["equivocated_at"], expected) << m.dump();
  }
  EXPECT_THAT(Hanse("a", {"member", "list"}).out,
              HasSubstr("EQUIVOCATED: signed two different documents at sequence 50"));
  // The evidence has an id that does not depend on which twin a node saw first, and names the
  // documents.
  const std::string& low = std::min(j1, j2);
  const std::string& high = std::max(j1, j2);
  const std::string evidence_id =
      "sha256:" + trust::HexEncode(trust::Sha256(absl::StrCat(low, "\n", high)));
  for (const auto& m : listed["members"]) {
    if (m["did"] != b_did) continue;
    ASSERT_EQ(m["evidence"].size(), 1u) << m.dump();
    EXPECT_EQ(m["evidence"][0]["id"], evidence_id);
    EXPECT_EQ(m["evidence"][0]["first_document"], e1.id);
    EXPECT_EQ(m["evidence"][0]["second_document"], e1.id);
  }
  CommandResult a_status = Hanse("a", {"status"});
  EXPECT_THAT(a_status.out, HasSubstr("evidence " + evidence_id + ": sequence 50"));
}

// A node started with Node::Start inside the test and a `hanse node run` process replicate to
// each other, and the in-process node keeps what it holds across its own restart.
TEST_F(CatalogReplicationTest, InProcessNodeAndNodeProcessReplicateBothWays) {
  // A fixed port: b keeps reaching a after a's restart.
  auto port = testing::FreeLoopbackPort();
  ASSERT_TRUE(port.ok()) << port.status();
  InitNode("a", {.port = *port});
  InitNode("b", {.country = "DE"});
  node::Node* a = StartInProcess("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->did(), Did("a"));
  StartNode("b");
  TrustAll({"a", "b"});

  std::string id = Publish("a", "glaciers", "Glacier melt observations", "climate");
  Publish("b", "forests", "Forest cover", "climate");
  for (const auto* n : {"a", "b"}) EXPECT_TRUE(WaitForHits(n, "theme:climate", 2)) << n;
  EXPECT_TRUE(WaitForHits("b", "glacier country:FR", 1));
  EXPECT_TRUE(WaitForHits("a", "forest country:DE", 1));

  // Shutdown closes the store, so the same home starts again in this process.
  EXPECT_THAT(StopInProcess("a"), IsOk());
  ASSERT_NE(StartInProcess("a"), nullptr);
  EXPECT_EQ(Hits("a", "theme:climate"), 2u);
  ASSERT_EQ(Hanse("a", {"dataset", "unpublish", id}).exit_code, 0);
  EXPECT_TRUE(WaitForHits("b", "glacier", 0));
  EXPECT_EQ(Hits("b", "forest"), 1u);
}

// Founders gossip with no `peer add`, whether they run in the test or as processes.
TEST_F(CatalogReplicationTest, FederationFoundedWithAnInProcessNodeReplicates) {
  InitNode("a");
  InitNode("b", {.country = "DE"});
  InitNode("c", {.country = "NL"});
  ASSERT_NE(StartInProcess("a"), nullptr);
  StartNode("b");
  StartNode("c");
  FoundFederation({"a", "b", "c"});

  Publish("a", "glaciers", "Glacier melt observations", "climate");
  Publish("c", "rivers", "River levels", "hydrology");
  for (const auto* n : {"a", "b", "c"}) {
    EXPECT_TRUE(WaitForHits(n, "glacier country:FR", 1)) << n;
    EXPECT_TRUE(WaitForHits(n, "river country:NL", 1)) << n;
  }
}

}  // namespace
}  // namespace hanse
