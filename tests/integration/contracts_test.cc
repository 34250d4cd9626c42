// Contracts between real node processes on loopback: negotiation (permit, and deny with the
// trace), policy-bound transfer (a wrong consumer, use counts under concurrent fetches, a window
// that closes mid-stream, resume after the consumer crashed, a provider down mid-negotiation),
// duties that survive a crash, audit tampering found by `hanse audit verify`, and evidence
// bundles checked offline with no node running.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/file.h"
#include "catalog/store.h"
#include "hanse/v1/exchange.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "node/audit/audit_log.h"
#include "node/identity/home.h"
#include "node/rpc/tls.h"
#include "node/source/s3.h"
#include "tests/support/federation_fixture.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/s3_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/tcp_proxy.h"

namespace hanse {
namespace {

using ::hanse::testing::CommandResult;
using ::hanse::testing::IsOk;
using ::hanse::testing::RunHanse;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using json = nlohmann::json;

constexpr char kPurpose[] = "hanse:MedicalResearch";

std::string RandomBytes(size_t n, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    std::uint64_t v = rng();
    for (size_t k = 0; k < 8 && i + k < n; ++k) s[i + k] = static_cast<char>(v >> (8 * k));
  }
  return s;
}

std::uint64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// The entries of an audit log (as `hanse audit list --json` prints them) of one kind, about one
// subject.
std::vector<json> Entries(const json& log, const std::string& kind, const std::string& subject) {
  std::vector<json> out;
  for (const auto& e : log) {
    if (e.value("kind", "") == kind && e.value("subject", "") == subject) out.push_back(e);
  }
  return out;
}

class ContractsTest : public testing::FederationTest {
 protected:
  // hosp (provider, DE), lab (consumer, FR), cert (certifier, NL) and `extra` members (DE, with
  // the jurisdiction given), all trusting each other; cert certifies the lab and the `certified`
  // extras. Waits until the provider holds every consumer's self-description and certification.
  void StartFederation(const std::vector<std::pair<std::string, std::string>>& extra = {},
                       const std::vector<std::string>& certified = {}) {
    std::vector<std::tuple<std::string, std::string, std::string>> specs = {
        {"hosp", "DE", ""}, {"lab", "FR", ""}, {"cert", "NL", ""}};
    for (const auto& [name, jurisdiction] : extra) specs.emplace_back(name, "DE", jurisdiction);
    std::vector<std::string> names;
    std::map<std::string, testing::NodeSpec> homes;
    for (const auto& [name, country, jurisdiction] : specs) {
      // A fixed port, so a restarted node keeps the address its peers hold in its card.
      auto port = testing::FreeLoopbackPort();
      ASSERT_TRUE(port.ok()) << port.status();
      testing::NodeSpec& home = homes[name];
      home.country = country;
      home.port = *port;
      if (!jurisdiction.empty()) home.init_args = {"--jurisdiction", jurisdiction};
      names.push_back(name);
    }
    // Homes, cards and trust (while stopped), then the nodes, each step on all nodes at once.
    Parallel(names, [&](const std::string& n) { InitNode(n, homes.at(n)); });
    ASSERT_FALSE(HasFatalFailure());
    TrustAll(names);
    ASSERT_FALSE(HasFatalFailure());
    Parallel(names, [this](const std::string& n) { StartNode(n); });
    ASSERT_FALSE(HasFatalFailure());
    std::vector<std::string> to_certify = {"lab"};
    to_certify.insert(to_certify.end(), certified.begin(), certified.end());
    std::vector<std::string> wanted;
    for (const auto& n : to_certify) {
      CommandResult r = Hanse("cert", {"credential", "issue", "--subject", Did(n),
                                       "--certification", "health-data-hosting"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      wanted.push_back(r.out.substr(0, r.out.find('\n')));
      wanted.push_back(Did(n));
    }
    for (const auto& id : wanted) ASSERT_TRUE(WaitForDocument("hosp", id)) << id;
  }

  bool HasDocument(const std::string& node, const std::string& id) {
    return Hanse(node, {"dataset", "show", id}).exit_code == 0;
  }
  bool WaitForDocument(const std::string& node, const std::string& id) {
    return WaitUntil([&] { return HasDocument(node, id); });
  }

  // The offer of the README's scenario: medical research, EU seat and EU law only, certified by
  // cert, at most `max_uses` uses, then `extra` constraints; delete after `delete_after`, inform.
  json Offer(int max_uses = 3, const std::string& delete_after = "P1D",
             const std::vector<json>& extra = {}) {
    json constraints = json::array({
        {{"leftOperand", "purpose"}, {"operator", "eq"}, {"rightOperand", {{"@id", kPurpose}}}},
        {{"leftOperand", "spatial"}, {"operator", "isPartOf"}, {"rightOperand", "EU"}},
        {{"leftOperand", "hanse:jurisdiction"}, {"operator", "isPartOf"}, {"rightOperand", "EU"}},
        {{"leftOperand", "hanse:certification"},
         {"operator", "eq"},
         {"rightOperand", "health-data-hosting"},
         {"hanse:issuer", json::array({Did("cert")})}},
        {{"leftOperand", "count"}, {"operator", "lteq"}, {"rightOperand", max_uses}},
    });
    for (const auto& c : extra) constraints.push_back(c);
    json duties = json::array({{{"action", "delete"},
                                {"constraint", json::array({{{"leftOperand", "elapsedTime"},
                                                             {"operator", "eq"},
                                                             {"rightOperand", delete_after}}})}},
                               {{"action", "inform"}}});
    return {{"@context", json::array({"http://www.w3.org/ns/odrl.jsonld",
                                      {{"hanse", "https://w3id.org/hanse/v1#"}}})},
            {"@type", "Offer"},
            {"permission",
             json::array({{{"action", "use"}, {"constraint", constraints}, {"duty", duties}}})}};
  }

  // Publishes `content` on hosp under `offer` and waits until the lab's replica has it.
  std::string PublishOnHosp(const std::string& name, const std::string& content,
                            const json& offer) {
    std::string id = Publish("hosp", name, "ICU vitals " + name, "health", offer, content);
    EXPECT_TRUE(WaitForDocument("lab", id)) << id;
    return id;
  }

  CommandResult Request(const std::string& node, const std::string& dataset,
                        const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"contract", "request", dataset, "--purpose", kPurpose};
    args.insert(args.end(), extra.begin(), extra.end());
    return Hanse(node, args);
  }
  // A FINALIZED agreement of the lab on `dataset`; its id.
  std::string Agree(const std::string& dataset) {
    CommandResult r = Request("lab", dataset);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::string id = r.out.substr(0, r.out.find('\n'));
    EXPECT_THAT(id, StartsWith("urn:hanse:agreement:"));
    return id;
  }
  CommandResult Fetch(const std::string& node, const std::string& agreement, const std::string& out,
                      const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"fetch", agreement, "--out", out};
    args.insert(args.end(), extra.begin(), extra.end());
    return Hanse(node, args, absl::Seconds(120));
  }

  json JsonOf(const std::string& node, const std::vector<std::string>& args) {
    CommandResult r = Hanse(node, args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  // Kills the provider, then asks for a contract: the request fails, names the request id to
  // retry with, and stays REQUESTED on the consumer. Returns that id ("" on failure).
  std::string RequestWhileProviderIsDown(const std::string& dataset) {
    EXPECT_EQ(StopNode("hosp", SIGKILL), -SIGKILL);
    CommandResult r = Request("lab", dataset);
    EXPECT_EQ(r.exit_code, 3) << "the provider is not reachable: " << r.err;
    std::smatch m;
    if (!std::regex_search(r.err, m, std::regex(R"(--request-id (urn:uuid:[0-9a-f-]{36}))"))) {
      ADD_FAILURE() << "no --request-id in: " << r.err;
      return "";
    }
    const std::string request_id = m[1];
    EXPECT_EQ(Show("lab", request_id)["state"], "REQUESTED");
    return request_id;
  }
  json Show(const std::string& node, const std::string& id) {
    return JsonOf(node, {"contract", "show", id, "--json"});
  }
  json List(const std::string& node) {
    return JsonOf(node, {"contract", "list", "--json", "--limit", "1000"});
  }
  json Audit(const std::string& node) {
    return JsonOf(node, {"audit", "list", "--json", "--limit", "1000"});
  }
};

TEST_F(ContractsTest, PermittedAgreementIsFinalizedOnBothSidesAndUseIsCoSigned) {
  StartFederation();
  const std::string content = RandomBytes(300 * 1024, 1);
  std::string dataset = PublishOnHosp("icu", content, Offer());
  std::string agreement = Agree(dataset);

  for (const auto& [node, role] : std::vector<std::pair<std::string, std::string>>{
           {"hosp", "provider"}, {"lab", "consumer"}}) {
    json c = Show(node, agreement);
    EXPECT_EQ(c["state"], "FINALIZED") << node << ": " << c.dump(2);
    EXPECT_EQ(c["role"], role);
    EXPECT_EQ(c["agreement_id"], agreement);
    EXPECT_EQ(c["provider"], Did("hosp"));
    EXPECT_EQ(c["consumer"], Did("lab"));
    EXPECT_EQ(c["dataset_id"], dataset);
    EXPECT_EQ(c["purpose"], "https://w3id.org/hanse/v1#MedicalResearch");
  }

  const std::string out = Path("lab-out/icu.csv");
  std::filesystem::create_directories(Path("lab-out"));
  CommandResult r = Fetch("lab", agreement, out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(out));
  EXPECT_THAT(r.err, HasSubstr("(use 1)"));
  auto got = ReadFile(out, 64 << 20);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == content) << "fetched " << got->size() << " bytes, differ from the provider's";
  EXPECT_FALSE(PathExists(out + ".part"));
  EXPECT_EQ(Show("hosp", agreement)["uses"], 1);

  // The same co-signed receipt in both logs.
  auto provider_receipts = Entries(Audit("hosp"), "receipt", agreement);
  auto consumer_receipts = Entries(Audit("lab"), "receipt", agreement);
  ASSERT_EQ(provider_receipts.size(), 1u);
  ASSERT_EQ(consumer_receipts.size(), 1u);
  const json& p = provider_receipts[0]["details"];
  const json& c = consumer_receipts[0]["details"];
  EXPECT_EQ(p["use"], 1);
  EXPECT_EQ(p["bytes"], content.size());
  EXPECT_THAT(p.value("provider_jws", ""), Not(::testing::IsEmpty()));
  EXPECT_THAT(p.value("consumer_jws", ""), Not(::testing::IsEmpty()));
  EXPECT_EQ(p["provider_jws"], c["provider_jws"]);
  EXPECT_EQ(p["consumer_jws"], c["consumer_jws"]);
  for (const auto* node : {"hosp", "lab"}) {
    CommandResult v = Hanse(node, {"audit", "verify"});
    EXPECT_EQ(v.exit_code, 0) << node << ": " << v.out << v.err;
  }

  // Without --out the data lands in the node's own inbox; the last line of stdout says where,
  // and a second fetch there needs --force like any other path.
  const std::string inbox = Home("lab") + "/inbox/" + agreement + "/icu";
  CommandResult in = Hanse("lab", {"fetch", agreement}, absl::Seconds(120));
  ASSERT_EQ(in.exit_code, 0) << in.err;
  EXPECT_EQ(in.out, inbox + "\n");
  EXPECT_THAT(in.err, HasSubstr("(use 2)"));
  got = ReadFile(inbox, 64 << 20);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == content);
  CommandResult again = Hanse("lab", {"fetch", agreement}, absl::Seconds(120));
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("exists; pass --force"));
  EXPECT_EQ(Show("hosp", agreement)["uses"], 2) << "a refusal costs no use";
}

// A directory under a named data root (config data_roots) is one dataset: its signed
// self-description names the tree (file count, root digest), and the consumer gets the same
// tree, file for file.
TEST_F(ContractsTest, DirectoryUnderADataRootArrivesAsTheSameTree) {
  const std::string pacs = Path("pacs");
  std::map<std::string, std::string> files = {
      {"2026/01/scan-a.dcm", RandomBytes(700 * 1024, 11)},
      {"2026/01/scan-b.dcm", RandomBytes(3000, 12)},
      {"2026/02/empty.txt", ""},
      {"README", "Imaging archive, January and February.\n"},
  };
  for (const auto& [rel, bytes] : files) {
    std::filesystem::create_directories(
        std::filesystem::path(pacs + "/scans/" + rel).parent_path());
    ASSERT_THAT(WriteFileAtomic(pacs + "/scans/" + rel, bytes, 0644), IsOk());
  }
  StartFederation();
  EXPECT_EQ(StopNode("hosp"), 0);
  Configure("hosp", {{"data_roots", {{"pacs", pacs}}}});
  ASSERT_NO_FATAL_FAILURE(StartNode("hosp"));
  json file = {{"name", "scans"},
               {"title", "ICU imaging archive"},
               {"themes", {"health"}},
               {"license", "CC-BY-4.0"},
               {"media_type", "application/dicom"},
               {"language", "en"},
               {"root", "pacs"},
               {"content", "scans"},
               {"policy", Offer()}};
  ASSERT_THAT(WriteFileAtomic(Path("scans.json"), file.dump(), 0644), IsOk());
  CommandResult r = Hanse("hosp", {"dataset", "publish", Path("scans.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string dataset = r.out.substr(0, r.out.find('\n'));
  ASSERT_TRUE(WaitForDocument("lab", dataset));
  CommandResult shown = Hanse("lab", {"dataset", "show", dataset});
  EXPECT_THAT(shown.out, HasSubstr("\"directory\"")) << shown.out;

  std::string agreement = Agree(dataset);
  const std::string out = Path("lab-out/scans");
  std::filesystem::create_directories(Path("lab-out"));
  r = Fetch("lab", agreement, out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t count = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(out)) {
    if (e.is_regular_file()) ++count;
  }
  EXPECT_EQ(count, files.size());
  for (const auto& [rel, bytes] : files) {
    auto got = ReadFile(out + "/" + rel, 64 << 20);
    ASSERT_TRUE(got.ok()) << rel << ": " << got.status();
    EXPECT_TRUE(*got == bytes) << rel;
  }
  EXPECT_FALSE(PathExists(out + ".part"));
  EXPECT_EQ(Show("hosp", agreement)["uses"], 1);

  // An existing tree is replaced only when asked, and the refusal costs no use.
  r = Fetch("lab", agreement, out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("pass --force"));
  EXPECT_EQ(Show("hosp", agreement)["uses"], 1);
  ASSERT_THAT(WriteFileAtomic(out + "/stale.txt", "old", 0600), IsOk());
  r = Fetch("lab", agreement, out, {"--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(PathExists(out + "/stale.txt"));
  EXPECT_TRUE(PathExists(out + "/README"));
}

// A source changed after publishing is refused before anything is sent: the consumer is told
// why, the provider's audit records it, and no use is counted.
TEST_F(ContractsTest, ChangedSourceIsRefusedAndCostsNoUse) {
  StartFederation();
  std::string dataset = PublishOnHosp("icu", RandomBytes(64 * 1024, 21), Offer());
  std::string agreement = Agree(dataset);
  ASSERT_THAT(WriteFileAtomic(Home("hosp") + "/data/icu.csv", RandomBytes(65 * 1024, 22), 0644),
              IsOk());
  std::filesystem::create_directories(Path("lab-out"));
  CommandResult r = Fetch("lab", agreement, Path("lab-out/icu.csv"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("changed since it was published"));
  EXPECT_EQ(Show("hosp", agreement)["uses"], 0);
  EXPECT_EQ(Entries(Audit("hosp"), "transfer.refused", agreement).size(), 1u);

  // The provider marks the dataset until it is republished.
  CommandResult listed = Hanse("hosp", {"dataset", "list", "--mine"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("! NEEDS REPUBLICATION: the content changed since it was "
                                    "published"));
  json mine = JsonOf("hosp", {"dataset", "list", "--mine", "--json"});
  ASSERT_EQ(mine.size(), 1u) << mine.dump(2);
  EXPECT_THAT(mine[0].dump(), HasSubstr("changed since it was published"));
  json status = JsonOf("hosp", {"status", "--json"});
  EXPECT_THAT(status.dump(), HasSubstr(dataset)) << status.dump(2);
  EXPECT_THAT(Hanse("lab", {"dataset", "list"}).out, Not(HasSubstr("NEEDS REPUBLICATION")))
      << "only the provider's own datasets carry the mark";
  Publish("hosp", "icu", "ICU vitals icu", "health", Offer(), RandomBytes(65 * 1024, 22));
  listed = Hanse("hosp", {"dataset", "list", "--mine"});
  EXPECT_THAT(listed.out, Not(HasSubstr("NEEDS REPUBLICATION"))) << "republished: " << listed.out;
}

// A change that neither the size nor the modification time shows is caught by the digest at
// the end of the transfer: the last chunk is held back, the use is taken back (audited), the
// dataset is marked for republication, and nothing is left as the consumer's file.
TEST_F(ContractsTest, AChangeOnlyTheDigestShowsRefundsTheUse) {
  StartFederation();
  std::string dataset = PublishOnHosp("icu", RandomBytes(3 << 20, 41), Offer());
  std::string agreement = Agree(dataset);
  const std::string source = Home("hosp") + "/data/icu.csv";
  struct stat before {};
  ASSERT_EQ(::stat(source.c_str(), &before), 0);
  ASSERT_THAT(WriteFileAtomic(source, RandomBytes(3 << 20, 42), 0644), IsOk());
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, source.c_str(), times, 0), 0);
  std::filesystem::create_directories(Path("lab-out"));
  CommandResult r = Fetch("lab", agreement, Path("lab-out/icu.csv"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("its digest differs"));
  EXPECT_THAT(r.err, HasSubstr("use 1 was not counted"));
  EXPECT_FALSE(PathExists(Path("lab-out/icu.csv")));
  EXPECT_EQ(Show("hosp", agreement)["uses"], 0);
  EXPECT_EQ(Entries(Audit("hosp"), "use.refunded", agreement).size(), 1u);
  EXPECT_THAT(Hanse("hosp", {"dataset", "list", "--mine"}).out, HasSubstr("NEEDS REPUBLICATION"));
}

// An internal HTTP API behind the provider (a real server that honours Range): a static
// resource is hashed at publish and arrives byte for byte; a live one streams what the API
// answers at fetch time; a live one that sends more than live_transfer_max_mb in one transfer
// is cut off by the provider, and the consumer is told why.
TEST_F(ContractsTest, HttpUpstreamStaticAndLiveAndTheLiveCap) {
  std::filesystem::create_directories(Path("upstream"));
  const std::string scans = RandomBytes(2 << 20, 30);
  const std::string vitals = RandomBytes(100 << 10, 32);
  ASSERT_THAT(WriteFileAtomic(Path("upstream/scans.bin"), scans, 0644), IsOk());
  ASSERT_THAT(WriteFileAtomic(Path("upstream/vitals.csv"), vitals, 0644), IsOk());
  ASSERT_THAT(WriteFileAtomic(Path("upstream/feed.csv"), RandomBytes(3 << 20, 31), 0644), IsOk());
  auto port = testing::FreeTcpPort();
  ASSERT_TRUE(port.ok()) << port.status();
  testing::ChildProcess upstream;
  ASSERT_TRUE(
      upstream
          .Start({"python3", std::string(HANSE_SOURCE_DIR) + "/tests/support/range_http_server.py",
                  "--port", std::to_string(*port), "--dir", Path("upstream")},
                 Path("upstream.log"))
          .ok());
  ASSERT_TRUE(upstream.WaitForPort(*port, std::chrono::seconds(30)).ok());
  StartFederation();
  EXPECT_EQ(StopNode("hosp"), 0);
  Configure("hosp",
            {{"live_transfer_max_mb", 1},
             {"sources",
              {{"http", {{"lab-api", {{"url", absl::StrCat("http://127.0.0.1:", *port)}}}}}}}});
  ASSERT_NO_FATAL_FAILURE(StartNode("hosp"));
  auto publish = [&](const std::string& name, const std::string& path, bool live) {
    json file = {{"name", name},
                 {"title", "ICU " + name},
                 {"themes", {"health"}},
                 {"license", "CC-BY-4.0"},
                 {"media_type", "text/csv"},
                 {"language", "en"},
                 {"source", {{"http", "lab-api"}, {"path", path}, {"live", live}}},
                 {"policy", Offer()}};
    EXPECT_THAT(WriteFileAtomic(Path(name + ".json"), file.dump(), 0644), IsOk());
    CommandResult r = Hanse("hosp", {"dataset", "publish", Path(name + ".json")});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string id = r.out.substr(0, r.out.find('\n'));
    EXPECT_TRUE(WaitForDocument("lab", id)) << id;
    return id;
  };
  const std::string stat_id = publish("scans", "/files/scans.bin", false);
  const std::string live_id = publish("vitals", "/files/vitals.csv", true);
  const std::string feed_id = publish("feed", "/chunked/feed.csv", true);
  std::filesystem::create_directories(Path("lab-out"));

  CommandResult r = Fetch("lab", Agree(stat_id), Path("lab-out/scans.bin"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(*ReadFile(Path("lab-out/scans.bin"), 8 << 20) == scans);
  r = Fetch("lab", Agree(live_id), Path("lab-out/vitals.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(*ReadFile(Path("lab-out/vitals.csv"), 8 << 20) == vitals);

  r = Fetch("lab", Agree(feed_id), Path("lab-out/feed.csv"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("more than live_transfer_max_mb (1 MiB)"));
  EXPECT_FALSE(PathExists(Path("lab-out/feed.csv")));
  EXPECT_THAT(Hanse("hosp", {"dataset", "list", "--mine"}).out,
              Not(HasSubstr("NEEDS REPUBLICATION")))
      << "a live source past its cap has not changed";
}

// The policy is decided before the source is opened: a use it denies opens nothing (a database
// query is not even started), so a denied consumer learns the policy's reason, not the state of
// the provider's storage.
TEST_F(ContractsTest, ADeniedUseNeverOpensTheSource) {
  StartFederation();
  std::string dataset = PublishOnHosp("icu", RandomBytes(64 * 1024, 23), Offer(/*max_uses=*/1));
  std::string agreement = Agree(dataset);
  std::filesystem::create_directories(Path("lab-out"));
  CommandResult r = Fetch("lab", agreement, Path("lab-out/first.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The only use is spent; the source then goes away.
  ASSERT_EQ(::unlink((Home("hosp") + "/data/icu.csv").c_str()), 0);
  r = Fetch("lab", agreement, Path("lab-out/second.csv"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("count lteq 1 failed"));
  EXPECT_EQ(Show("hosp", agreement)["uses"], 1);
  EXPECT_TRUE(Entries(Audit("hosp"), "transfer.refused", agreement).empty());
  EXPECT_FALSE(Entries(Audit("hosp"), "decision.deny", agreement).empty());
}

// A PostgreSQL view is a live dataset: each fetch is one consistent snapshot as CSV, the
// provider records its digest and row count, and both sides co-sign a receipt naming exactly
// those bytes. A later fetch sees rows added since.
TEST_F(ContractsTest, PostgresViewIsALiveDatasetWithASnapshotPerFetch) {
  testing::PostgresServer pg;
  auto conninfo = pg.Start();
  ASSERT_TRUE(conninfo.ok()) << conninfo.status();
  for (const char* sql :
       {"CREATE TABLE admissions (id int, ward text, note text)",
        "INSERT INTO admissions SELECT i, 'ICU-' || (i % 3), 'note, \"quoted\" ' || i "
        "FROM generate_series(1, 2000) i",
        "CREATE VIEW icu_admissions AS SELECT id, ward, note FROM admissions ORDER BY id"}) {
    ASSERT_TRUE(pg.Exec(sql).ok()) << sql;
  }
  StartFederation();
  EXPECT_EQ(StopNode("hosp"), 0);
  Configure("hosp", {{"sources", {{"postgresql", {{"registry", {{"conninfo", *conninfo}}}}}}}});
  ASSERT_NO_FATAL_FAILURE(StartNode("hosp"));
  json file = {{"name", "admissions"},
               {"title", "ICU admissions"},
               {"themes", {"health"}},
               {"license", "CC-BY-4.0"},
               {"media_type", "text/csv"},
               {"language", "en"},
               {"source", {{"postgresql", "registry"}, {"view", "icu_admissions"}}},
               {"policy", Offer()}};
  ASSERT_THAT(WriteFileAtomic(Path("admissions.json"), file.dump(), 0644), IsOk());
  CommandResult r = Hanse("hosp", {"dataset", "publish", Path("admissions.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string dataset = r.out.substr(0, r.out.find('\n'));
  ASSERT_TRUE(WaitForDocument("lab", dataset));
  EXPECT_THAT(Hanse("lab", {"dataset", "show", dataset}).out, HasSubstr("\"live\""));

  std::string agreement = Agree(dataset);
  std::filesystem::create_directories(Path("lab-out"));
  auto expected = pg.Psql({"-c", "\\copy (SELECT * FROM icu_admissions) TO STDOUT CSV HEADER"});
  ASSERT_TRUE(expected.ok()) << expected.status();
  r = Fetch("lab", agreement, Path("lab-out/a1.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = ReadFile(Path("lab-out/a1.csv"), 64 << 20);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *expected);

  ASSERT_TRUE(pg.Exec("INSERT INTO admissions VALUES (2001, 'ICU-9', 'late')").ok());
  r = Fetch("lab", agreement, Path("lab-out/a2.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  got = ReadFile(Path("lab-out/a2.csv"), 64 << 20);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(*got, HasSubstr("2001,ICU-9,late"));

  auto sent = Entries(Audit("hosp"), "transfer.sent", agreement);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0]["details"]["rows"], 2000);
  EXPECT_EQ(sent[1]["details"]["rows"], 2001);
  // Both uses are co-signed: the receipts name the digests of exactly what was sent.
  EXPECT_EQ(Entries(Audit("hosp"), "receipt", agreement).size(), 2u);
  EXPECT_EQ(Entries(Audit("lab"), "receipt", agreement).size(), 2u);
  EXPECT_EQ(Show("hosp", agreement)["uses"], 2);
  // A live source cannot resume (the next transfer is a new snapshot), and the refusal costs
  // no use.
  ASSERT_THAT(WriteFileAtomic(Path("lab-out/a3.csv.part"), "id,ward", 0600), IsOk());
  r = Fetch("lab", agreement, Path("lab-out/a3.csv"), {"--resume"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, ::testing::AnyOf(HasSubstr("cannot resume"), HasSubstr("nothing to resume")));
  EXPECT_EQ(Show("hosp", agreement)["uses"], 2);
}

// An S3 object and an S3 prefix (a tree of objects) in a real S3-compatible server (s3rver)
// are datasets like files and directories: the consumer gets the same bytes and the same tree,
// the secrets stay in a file only the node can read, and a changed object is refused at no cost.
TEST_F(ContractsTest, S3ObjectAndPrefixArriveAsPublished) {
  testing::S3Server s3;
  ASSERT_TRUE(s3.Start(HANSE_SOURCE_DIR).ok());
  node::source::S3Location at{
      .endpoint = s3.endpoint(), .region = "us-east-1", .bucket = "imaging"};
  const node::source::S3Credentials keys{.access_key_id = testing::S3Server::kAccessKey,
                                         .secret_access_key = testing::S3Server::kSecretKey};
  ASSERT_TRUE(node::source::s3_internal::Put(at, keys, "").ok());
  std::map<std::string, std::string> objects = {{"scans/a.dcm", RandomBytes(300 * 1024, 31)},
                                                {"scans/b/c.dcm", RandomBytes(5000, 32)},
                                                {"single.csv", "ward,beds\nICU,12\n"}};
  for (const auto& [key, bytes] : objects) {
    at.key = key;
    ASSERT_TRUE(node::source::s3_internal::Put(at, keys, bytes).ok()) << key;
  }
  StartFederation();
  const std::string secret = Path("s3-archive.json");
  ASSERT_THAT(WriteFileAtomic(secret,
                              json({{"access_key_id", testing::S3Server::kAccessKey},
                                    {"secret_access_key", testing::S3Server::kSecretKey}})
                                  .dump(),
                              0600),
              IsOk());
  EXPECT_EQ(StopNode("hosp"), 0);
  Configure("hosp", {{"sources",
                      {{"s3",
                        {{"archive",
                          {{"endpoint", s3.endpoint()},
                           {"region", "us-east-1"},
                           {"credentials_file", secret}}}}}}}});
  ASSERT_NO_FATAL_FAILURE(StartNode("hosp"));
  auto publish = [&](const std::string& name, const json& source) {
    json file = {{"name", name},           {"title", "Imaging " + name}, {"themes", {"health"}},
                 {"license", "CC-BY-4.0"}, {"media_type", "text/csv"},   {"language", "en"},
                 {"source", source},       {"policy", Offer()}};
    EXPECT_THAT(WriteFileAtomic(Path(name + ".json"), file.dump(), 0644), IsOk());
    CommandResult r = Hanse("hosp", {"dataset", "publish", Path(name + ".json")});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string id = r.out.substr(0, r.out.find('\n'));
    EXPECT_TRUE(WaitForDocument("lab", id));
    return id;
  };
  const std::string object =
      publish("single", {{"s3", "archive"}, {"bucket", "imaging"}, {"key", "single.csv"}});
  const std::string prefix =
      publish("scans", {{"s3", "archive"}, {"bucket", "imaging"}, {"prefix", "scans/"}});
  EXPECT_THAT(Hanse("hosp", {"dataset", "show", object}).out, Not(HasSubstr("S3RVER")));

  std::filesystem::create_directories(Path("lab-out"));
  std::string agreement = Agree(object);
  CommandResult r = Fetch("lab", agreement, Path("lab-out/single.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*ReadFile(Path("lab-out/single.csv"), 1 << 20), objects["single.csv"]);

  std::string tree = Agree(prefix);
  r = Fetch("lab", tree, Path("lab-out/scans"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*ReadFile(Path("lab-out/scans/a.dcm"), 1 << 20), objects["scans/a.dcm"]);
  EXPECT_EQ(*ReadFile(Path("lab-out/scans/b/c.dcm"), 1 << 20), objects["scans/b/c.dcm"]);

  // A changed object is refused before a use is counted.
  at.key = "single.csv";
  ASSERT_TRUE(node::source::s3_internal::Put(at, keys, "ward,beds\nICU,13\n").ok());
  r = Fetch("lab", agreement, Path("lab-out/single2.csv"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("changed since it was published"));
  EXPECT_EQ(Show("hosp", agreement)["uses"], 1);
}

TEST_F(ContractsTest, MemberUnderUsJurisdictionIsDeniedWithTheTrace) {
  StartFederation({{"us", "US"}}, {"us"});
  std::string dataset = PublishOnHosp("icu", RandomBytes(1024, 2), Offer());
  ASSERT_TRUE(WaitForDocument("us", dataset));

  CommandResult r = Request("us", dataset);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("TERMINATED"));
  EXPECT_THAT(r.out, HasSubstr("hanse:jurisdiction isPartOf EU failed"));
  EXPECT_THAT(r.out, HasSubstr("US not in EU"));
  // The trace lists each constraint with its verdict; only the jurisdiction failed.
  EXPECT_THAT(r.out, HasSubstr("[failed]"));
  EXPECT_THAT(r.out, HasSubstr("[satisfied]"));
  std::smatch m;
  std::string trace = r.out;
  int failed = 0;
  for (auto it = trace.cbegin(); std::regex_search(
           it, trace.cend(), m, std::regex(R"(\[failed\] +permission\[0\]\.constraint[^\n]*)"));
       it = m.suffix().first) {
    ++failed;
    EXPECT_THAT(m.str(), HasSubstr("hanse:jurisdiction"));
  }
  EXPECT_EQ(failed, 1) << r.out;

  // The provider recorded the termination with the reason, and the denial in its audit log.
  json found;
  for (const auto& c : List("hosp")) {
    if (c.value("consumer", "") == Did("us")) found = c;
  }
  ASSERT_TRUE(found.is_object()) << List("hosp").dump(2);
  EXPECT_EQ(found["role"], "provider");
  EXPECT_EQ(found["state"], "TERMINATED");
  EXPECT_THAT(found.value("reason", ""), HasSubstr("hanse:jurisdiction isPartOf EU failed"));
  EXPECT_EQ(found.value("agreement_id", "x"), "");
  EXPECT_EQ(Entries(Audit("hosp"), "decision.deny", found["id"]).size(), 1u);

  // The same offer permits the EU lab.
  Agree(dataset);
}

TEST_F(ContractsTest, AgreementPresentedByAnotherMemberIsRefused) {
  StartFederation({{"other", ""}}, {"other"});
  const std::string content = RandomBytes(64 * 1024, 3);
  std::string dataset = PublishOnHosp("icu", content, Offer());
  std::string agreement = Agree(dataset);

  // The other member presents the lab's agreement to the provider over the federation's mTLS,
  // with its own genuine certificate.
  HANSE_ASSERT_OK_AND_ASSIGN(node::Home other, node::LoadHome(Home("other"), absl::Now()));
  HANSE_ASSERT_OK_AND_ASSIGN(node::Home hosp, node::LoadHome(Home("hosp"), absl::Now()));
  const std::string hosp_did = Did("hosp");
  const std::string hosp_ca = hosp.identity.ca_pem;
  node::CaLookup lookup = [&](absl::string_view did) -> absl::StatusOr<std::string> {
    if (did == hosp_did) return hosp_ca;
    return absl::NotFoundError("not trusted");
  };
  auto stub = hanse::v1::Exchange::NewStub(grpc::CreateChannel(
      Listen("hosp"),
      node::FederationChannelCredentials(other.identity, lookup, hosp_did, Clock::Real())));
  for (std::uint64_t offset : {0, 1024}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    hanse::v1::FetchRequest req;
    req.set_agreement_id(agreement);
    req.set_offset(offset);
    auto reader = stub->Fetch(&ctx, req);
    hanse::v1::FetchChunk chunk;
    EXPECT_FALSE(reader->Read(&chunk)) << "got " << chunk.data().size() << " bytes";
    grpc::Status st = reader->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
    EXPECT_THAT(st.error_message(), HasSubstr(Did("other")));
  }
  auto denials = Entries(Audit("hosp"), "decision.deny", agreement);
  ASSERT_EQ(denials.size(), 2u);
  EXPECT_EQ(denials[0]["actor"], Did("other"));
  EXPECT_EQ(denials[0]["details"]["stage"], "transfer");
  EXPECT_EQ(Show("hosp", agreement)["uses"], 0);

  // The agreement is untouched for its real consumer.
  const std::string out = Path("icu.csv");
  CommandResult r = Fetch("lab", agreement, out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadFile(out).value_or("") == content);
  EXPECT_EQ(Show("hosp", agreement)["uses"], 1);
}

TEST_F(ContractsTest, UseCountHoldsUnderConcurrentFetches) {
  StartFederation();
  const std::string content = RandomBytes(512 * 1024, 4);
  std::string dataset = PublishOnHosp("icu", content, Offer(/*max_uses=*/3));
  std::string agreement = Agree(dataset);

  constexpr int kFetches = 6;
  std::vector<CommandResult> results(kFetches);
  std::vector<std::thread> threads;
  for (int i = 0; i < kFetches; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = Fetch("lab", agreement, Path(absl::StrCat("out-", i, ".csv"))); });
  }
  for (auto& t : threads) t.join();
  int ok = 0;
  for (int i = 0; i < kFetches; ++i) {
    const std::string out = Path(absl::StrCat("out-", i, ".csv"));
    if (results[i].exit_code == 0) {
      ++ok;
      EXPECT_TRUE(ReadFile(out).value_or("") == content) << out;
    } else {
      EXPECT_EQ(results[i].exit_code, 1);
      EXPECT_THAT(results[i].err, HasSubstr("the policy denies this use"));
      EXPECT_THAT(results[i].err, HasSubstr("count lteq 3 failed"));
      EXPECT_FALSE(PathExists(out));
    }
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(Show("hosp", agreement)["uses"], 3);
  EXPECT_EQ(Entries(Audit("hosp"), "receipt", agreement).size(), 3u);
  // A seventh is refused as well.
  CommandResult r = Fetch("lab", agreement, Path("out-7.csv"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("count lteq 3 failed"));
  EXPECT_EQ(Show("hosp", agreement)["uses"], 3);
}

TEST_F(ContractsTest, TransferStopsWhenThePolicyWindowClosesMidStream) {
  StartFederation();
  constexpr size_t kSize = 40 << 20;
  constexpr std::uint64_t kRate = 2 << 20;  // 20 s for the whole content
  // Room for the setup on a loaded machine under the sanitizers; the window closes mid-stream.
  const absl::Time closes = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 10);
  const std::string until = absl::FormatTime(absl::RFC3339_sec, closes, absl::UTCTimeZone());
  json window = {{"leftOperand", "dateTime"}, {"operator", "lt"}, {"rightOperand", until}};
  std::string dataset = PublishOnHosp("icu", RandomBytes(kSize, 5), Offer(3, "P1D", {window}));
  std::string agreement = Agree(dataset);
  ASSERT_LT(absl::Now(), closes - absl::Seconds(1)) << "setup too slow for the window";

  const std::string out = Path("icu.csv");
  CommandResult r = Fetch("lab", agreement, out, {"--max-rate", std::to_string(kRate)});
  const absl::Time ended = absl::Now();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("the policy no longer permits this use"));
  EXPECT_THAT(r.err, HasSubstr("dateTime lt"));
  EXPECT_GE(ended, closes);
  EXPECT_FALSE(PathExists(out));
  ASSERT_TRUE(PathExists(out + ".part"));
  EXPECT_GT(FileSize(out + ".part"), 0u);
  EXPECT_LT(FileSize(out + ".part"), kSize);
  auto ongoing = Entries(Audit("hosp"), "decision.deny", agreement);
  ASSERT_EQ(ongoing.size(), 1u);
  EXPECT_EQ(ongoing[0]["details"]["stage"], "transfer.ongoing");

  // Resuming is refused too: the window stays closed.
  r = Fetch("lab", agreement, out, {"--resume"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("dateTime lt"));
  EXPECT_FALSE(PathExists(out));
}

// `hanse cert renew` on the provider while a transfer streams: the transfer finishes on its
// connection, whole, and new handshakes get the new certificate.
TEST_F(ContractsTest, CertificateRenewedMidTransferLetsItFinish) {
  StartFederation();
  constexpr size_t kSize = 24 << 20;
  // 24 s for the whole content: the renewal must be served (the node picks new files up within
  // 5 s) while the transfer still runs, also under the sanitizers on a loaded machine (at 6 s,
  // the ASan pass once saw the transfer end first).
  constexpr std::uint64_t kRate = 1 << 20;
  const std::string content = RandomBytes(kSize, 9);
  std::string dataset = PublishOnHosp("icu", content, Offer(3));
  std::string agreement = Agree(dataset);
  ASSERT_TRUE(
      WaitUntil([&] { return ServedCertificate("hosp", "lab") == CertificateOnDisk("hosp"); }));
  const std::string before = CertificateOnDisk("hosp");

  const std::string out = Path("icu.csv");
  CommandResult fetched;
  std::thread fetch([&] {
    fetched = Fetch("lab", agreement, out, {"--max-rate", std::to_string(kRate)});
  });
  ASSERT_TRUE(WaitUntil([&] { return FileSize(out + ".part") > (2u << 20); }, absl::Seconds(10)));
  CommandResult renew = Hanse("hosp", {"cert", "renew"});
  EXPECT_EQ(renew.exit_code, 0) << renew.err;
  EXPECT_NE(CertificateOnDisk("hosp"), before);
  EXPECT_TRUE(
      WaitUntil([&] { return ServedCertificate("hosp", "lab") == CertificateOnDisk("hosp"); },
                absl::Seconds(20)))
      << "new handshakes still get the old certificate";
  EXPECT_LT(FileSize(out + ".part"), kSize) << "the transfer ended before the renewal took effect";
  fetch.join();
  EXPECT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(ReadFile(out, kSize + 1).value_or(""), content);
  // A new negotiation and transfer run on the new certificate.
  std::string second = Agree(dataset);
  EXPECT_EQ(Fetch("lab", second, Path("icu2.csv")).exit_code, 0);
}

// A provider frozen mid-transfer (SIGSTOP): the consumer gives up after its idle timeout with a
// clear message, the abandoned stream does not complete as a use when the provider thaws, and
// the resume finishes within the one use the policy allows.
TEST_F(ContractsTest, AFrozenProviderIsGivenUpOnAndTheResumeCostsNoSecondUse) {
  StartFederation();
  constexpr size_t kSize = 24 << 20;
  const std::string content = RandomBytes(kSize, 8);
  std::string dataset = PublishOnHosp("icu", content, Offer(/*max_uses=*/1));
  std::string agreement = Agree(dataset);

  const std::string out = Path("icu.csv");
  CommandResult first;
  absl::Time frozen_at;
  std::thread fetch([&] {
    first = Fetch("lab", agreement, out,
                  {"--max-rate", std::to_string(4 << 20), "--idle-timeout", "2"});
  });
  bool partial = WaitUntil([&] { return FileSize(out + ".part") >= (4u << 20); });
  EXPECT_TRUE(partial);
  const pid_t hosp = Pid("hosp");
  ASSERT_GT(hosp, 0);
  ASSERT_EQ(::kill(hosp, SIGSTOP), 0);
  frozen_at = absl::Now();
  fetch.join();
  const absl::Duration waited = absl::Now() - frozen_at;
  ASSERT_EQ(::kill(hosp, SIGCONT), 0);
  EXPECT_EQ(first.exit_code, 3) << first.err;  // not reachable: a deadline passed
  EXPECT_THAT(first.err, HasSubstr("the provider sent nothing for 2s"));
  EXPECT_THAT(first.err, HasSubstr("--resume continues"));
  EXPECT_LT(waited, absl::Seconds(20)) << "hanse fetch waited for the frozen provider";
  EXPECT_FALSE(PathExists(out));

  // Thawed, the provider finds its stream cancelled: the transfer stopped, it was not sent.
  EXPECT_TRUE(WaitUntil([&] {
    return !Entries(Audit("hosp"), "transfer.stopped", agreement).empty();
  })) << "the provider never noticed that the consumer gave up";
  EXPECT_TRUE(Entries(Audit("hosp"), "transfer.sent", agreement).empty());

  CommandResult r = Fetch("lab", agreement, out, {"--resume"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("(use 1)"));
  auto got = ReadFile(out, 64 << 20);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == content);
}

TEST_F(ContractsTest, FetchResumesAfterTheConsumerNodeIsKilled) {
  StartFederation();
  constexpr size_t kSize = 24 << 20;
  const std::string content = RandomBytes(kSize, 6);
  std::string dataset = PublishOnHosp("icu", content, Offer());
  std::string agreement = Agree(dataset);

  const std::string out = Path("icu.csv");
  CommandResult first;
  std::thread fetch([&] {
    first = Fetch("lab", agreement, out, {"--max-rate", std::to_string(4 << 20)});
  });
  bool partial = WaitUntil([&] { return FileSize(out + ".part") >= (4u << 20); });
  EXPECT_TRUE(partial);
  EXPECT_EQ(StopNode("lab", SIGKILL), -SIGKILL);
  fetch.join();
  EXPECT_NE(first.exit_code, 0) << first.err;
  EXPECT_FALSE(PathExists(out));
  const std::uint64_t kept = FileSize(out + ".part");
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, kSize);

  StartNode("lab");
  CommandResult r = Fetch("lab", agreement, out, {"--resume"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("(use 1)"));
  auto got = ReadFile(out, 64 << 20);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == content) << "resumed content differs (" << got->size() << " bytes)";
  EXPECT_FALSE(PathExists(out + ".part"));
  EXPECT_EQ(Show("hosp", agreement)["uses"], 1);
  json log = Audit("hosp");
  auto resumed = Entries(log, "transfer.started", agreement);
  ASSERT_EQ(resumed.size(), 2u);
  EXPECT_EQ(resumed[1]["details"]["offset"], kept);
  EXPECT_EQ(resumed[1]["details"]["use"], 1);
  ASSERT_EQ(Entries(log, "receipt", agreement).size(), 1u);
}

TEST_F(ContractsTest, ProviderDownDuringNegotiationRetryWithTheSameRequestId) {
  StartFederation();
  std::string dataset = PublishOnHosp("icu", RandomBytes(4096, 7), Offer());

  const std::string request_id = RequestWhileProviderIsDown(dataset);
  ASSERT_FALSE(request_id.empty());

  StartNode("hosp");
  // The consumer's channel may still be backing off: retry until the provider answers.
  CommandResult r;
  std::string agreement;
  EXPECT_TRUE(WaitUntil(
      [&] {
        r = Request("lab", dataset, {"--request-id", request_id});
        if (r.exit_code != 0) {
          EXPECT_THAT(r.err, HasSubstr(request_id));
          return false;
        }
        agreement = r.out.substr(0, r.out.find('\n'));
        return true;
      },
      absl::Seconds(30)))
      << r.err;
  ASSERT_THAT(agreement, StartsWith("urn:hanse:agreement:"));
  // Again: the same agreement, nothing new.
  r = Request("lab", dataset, {"--request-id", request_id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), agreement);

  for (const auto* node : {"hosp", "lab"}) {
    int with_id = 0;
    for (const auto& c : List(node)) {
      if (c.value("id", "") != request_id) continue;
      ++with_id;
      EXPECT_EQ(c["state"], "FINALIZED") << node;
      EXPECT_EQ(c["agreement_id"], agreement) << node;
    }
    EXPECT_EQ(with_id, 1) << node;
  }
  EXPECT_EQ(Entries(Audit("hosp"), "negotiation.agreed", agreement).size(), 1u);
  EXPECT_EQ(Fetch("lab", agreement, Path("icu.csv")).exit_code, 0);
}

// A negotiation the consumer could not finish (provider unreachable) is continued by the consumer
// node itself after its restart, under the same request id, with no operator action.
TEST_F(ContractsTest, ConsumerNodeResumesAnInterruptedNegotiationAfterItsRestart) {
  StartFederation();
  std::string dataset = PublishOnHosp("icu", RandomBytes(4096, 9), Offer());

  const std::string request_id = RequestWhileProviderIsDown(dataset);
  ASSERT_FALSE(request_id.empty());

  StartNode("hosp");
  EXPECT_EQ(RestartNode("lab", SIGKILL), -SIGKILL);
  json shown;
  EXPECT_TRUE(WaitUntil(
      [&] {
        shown = Show("lab", request_id);
        return shown.value("state", "") == "FINALIZED";
      },
      absl::Seconds(30)))
      << shown.dump();
  EXPECT_EQ(Show("hosp", request_id).value("state", ""), "FINALIZED");
}

TEST_F(ContractsTest, DeleteDutyRunsAfterTheConsumerNodeRestarts) {
  StartFederation();
  std::string dataset = PublishOnHosp("icu", RandomBytes(8192, 8), Offer(3, "PT4S"));
  std::string agreement = Agree(dataset);
  const std::string out = Path("icu.csv");
  CommandResult r = Fetch("lab", agreement, out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json scheduled;
  for (const auto& e : Entries(Audit("lab"), "duty.scheduled", agreement)) {
    if (e["details"]["kind"] == "delete") scheduled = e;
  }
  ASSERT_TRUE(scheduled.is_object());
  absl::Time due;
  std::string err;
  ASSERT_TRUE(
      absl::ParseTime(absl::RFC3339_full, scheduled["details"].value("due", ""), &due, &err))
      << err;
  EXPECT_EQ(StopNode("lab", SIGKILL), -SIGKILL);
  ASSERT_TRUE(PathExists(out)) << "deleted before the crash: the duty came due too early";

  // Past due while the node is down: nothing deletes the file until it is back.
  absl::SleepFor(std::max(absl::ZeroDuration(), due - absl::Now()) + absl::Seconds(1));
  EXPECT_TRUE(PathExists(out));
  StartNode("lab");
  EXPECT_TRUE(WaitUntil([&] { return !PathExists(out); }, absl::Seconds(10)))
      << "the delete duty did not run after the restart";

  json executed;
  for (const auto& e : Entries(Audit("lab"), "duty.executed", agreement)) {
    if (e["details"]["kind"] == "delete") executed = e;
  }
  ASSERT_TRUE(executed.is_object()) << Audit("lab").dump(2);
  EXPECT_THAT(executed["details"].value("result", ""), HasSubstr("deleted file"));
  // Done once: a manual run finds nothing left to do.
  CommandResult again = Hanse("lab", {"duty", "run"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("No duty is due"));
  EXPECT_TRUE(WaitUntil(
      [&] {
        for (const auto& e : Entries(Audit("hosp"), "duty.reported", agreement)) {
          if (e["details"]["kind"] == "delete" && e["actor"] == Did("lab")) return true;
        }
        return false;
      },
      absl::Seconds(10)))
      << Audit("hosp").dump(2);
}

TEST_F(ContractsTest, AuditVerifyFindsATamperedEntry) {
  StartFederation();
  std::string dataset = PublishOnHosp("icu", RandomBytes(4096, 9), Offer());
  std::string agreement = Agree(dataset);
  ASSERT_EQ(Fetch("lab", agreement, Path("icu.csv")).exit_code, 0);
  // The inform duty runs right after the fetch, on the node's timer: wait for it, then the log
  // stands still.
  ASSERT_TRUE(
      WaitUntil([&] { return !Entries(Audit("lab"), "duty.executed", agreement).empty(); }));
  const size_t entries = Audit("lab").size();
  ASSERT_GE(entries, 5u);

  CommandResult r = Hanse("lab", {"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(StopNode("lab"), 0);
  // Stopped: verify opens the store itself.
  r = Hanse("lab", {"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("OK (", entries, " entries")));

  // Change one byte of entry 3's body, in place.
  constexpr std::uint64_t kTampered = 3;
  std::string original;
  auto rewrite = [&](const std::function<std::string(std::string)>& change) {
    HANSE_ASSERT_OK_AND_ASSIGN(auto store,
                               catalog::OpenRocksStore(node::HomePaths(Home("lab")).store, {}));
    HANSE_ASSERT_OK_AND_ASSIGN(auto value,
                               store->Get(catalog::Family::kAudit, audit::EntryKey(kTampered)));
    ASSERT_TRUE(value.has_value());
    catalog::WriteBatch batch;
    batch.Put(catalog::Family::kAudit, audit::EntryKey(kTampered), change(*value));
    ASSERT_THAT(store->Write(batch, true), IsOk());
    ASSERT_THAT(store->Close(), IsOk());
  };
  rewrite([&](std::string v) {
    original = v;
    // hash (32) || prev (32) || body; the body starts {"time":"YYYY: change a year digit.
    const size_t at = 64 + std::string(R"({"time":")").size() + 3;
    EXPECT_GT(v.size(), at);
    v[at] = v[at] == '7' ? '8' : '7';
    return v;
  });
  ASSERT_FALSE(HasFatalFailure());
  r = Hanse("lab", {"audit", "verify"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("TAMPERED"));
  EXPECT_THAT(r.out, HasSubstr("first bad entry: 3"));
  EXPECT_THAT(r.out, HasSubstr("entry 3: hash does not match its contents"));
  r = Hanse("lab", {"audit", "verify", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  json report = json::parse(r.out, nullptr, false);
  EXPECT_EQ(report["ok"], false);
  EXPECT_EQ(report["first_bad_index"], kTampered);

  // Put the byte back: intact again, and the node starts on it.
  rewrite([&](std::string) { return original; });
  ASSERT_FALSE(HasFatalFailure());
  r = Hanse("lab", {"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  StartNode("lab");
  r = Hanse("lab", {"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(ContractsTest, EvidenceBundleVerifiesOfflineAndTamperingIsFound) {
  StartFederation();
  std::string dataset = PublishOnHosp("icu", RandomBytes(4096, 10), Offer());
  std::string agreement = Agree(dataset);
  ASSERT_EQ(Fetch("lab", agreement, Path("icu.csv")).exit_code, 0);

  std::map<std::string, std::string> bundles;
  for (const auto* node : {"lab", "hosp"}) {
    CommandResult r = Hanse(node, {"evidence", "export", agreement});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    bundles[node] = Path(absl::StrCat(node, "-bundle.json"));
    ASSERT_THAT(WriteFileAtomic(bundles[node], r.out, 0644), IsOk());
  }
  for (const auto* node : {"hosp", "lab", "cert"}) EXPECT_EQ(StopNode(node), 0) << node;

  for (const auto& [node, file] : bundles) {
    CommandResult r = RunHanse({"evidence", "verify", file});
    EXPECT_EQ(r.exit_code, 0) << node << ": " << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("evidence: VALID"));
    EXPECT_THAT(r.out, HasSubstr(agreement));
    EXPECT_THAT(r.out, HasSubstr("receipts co-signed by both: 1"));
    EXPECT_THAT(r.out, HasSubstr(" receipt "));
    r = RunHanse({"evidence", "verify", file, "--json"});
    json j = json::parse(r.out, nullptr, false);
    EXPECT_EQ(j["log_owner"], Did(node)) << r.out;
  }

  // One byte of a disclosed entry's body: a letter inside the "transfer" kind.
  HANSE_ASSERT_OK_AND_ASSIGN(std::string text, ReadFile(bundles["lab"]));
  const size_t body = text.find("\"body\"");
  ASSERT_NE(body, std::string::npos);
  const size_t kind = text.find("transfer.completed", body);
  ASSERT_NE(kind, std::string::npos);
  text[kind + 2] = 'x';  // "trxnsfer.completed"
  ASSERT_THAT(WriteFileAtomic(Path("tampered.json"), text, 0644), IsOk());
  CommandResult r = RunHanse({"evidence", "verify", Path("tampered.json")});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("evidence: INVALID"));
  EXPECT_THAT(r.out, HasSubstr("segments["));
}

}  // namespace
}  // namespace hanse
