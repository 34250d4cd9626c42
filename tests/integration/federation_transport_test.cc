// Real `hanse` node processes on loopback with real TLS: trust, refusal, shutdown, errors.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "catalog/store.h"
#include "hanse/v1/federation.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "node/identity/config.h"
#include "node/identity/home.h"
#include "node/rpc/tls.h"
#include "tests/support/federation_fixture.h"
#include "tests/support/process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/tcp_proxy.h"
#include "trust/did_key.h"
#include "trust/x509.h"

namespace hanse {
namespace {

using ::hanse::testing::CommandResult;
using ::testing::HasSubstr;

class FederationTransportTest : public testing::FederationTest {
 protected:
  // Creates a home (port 0) and returns its DID.
  std::string Init(const std::string& name, const std::string& country = "FR",
                   const std::string& key_type = "p256") {
    InitNode(name, {.country = country, .init_args = {"--key-type", key_type}});
    return Did(name);
  }
  CommandResult Ping(const std::string& from, const std::string& target) {
    return Hanse(from, {"peer", "ping", target});
  }
};

TEST_F(FederationTransportTest, TwoNodesPingEachOtherByDidAndAddress) {
  std::string a_did = Init("a");
  std::string b_did = Init("b", "DE", "ed25519");
  StartNode("a");
  StartNode("b");
  Trust("a", "b");
  Trust("b", "a");

  CommandResult r = Ping("a", b_did);
  EXPECT_EQ(r.exit_code, 0) << r.err << Log("a");
  EXPECT_THAT(r.out, HasSubstr(b_did));
  EXPECT_THAT(r.out, HasSubstr(" ms"));

  r = Ping("b", Listen("a"));
  EXPECT_EQ(r.exit_code, 0) << r.err << Log("b");
  EXPECT_THAT(r.out, HasSubstr(a_did));

  r = Hanse("a", {"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto status = nlohmann::json::parse(r.out);
  EXPECT_EQ(status["did"], a_did);
  ASSERT_EQ(status["peers"].size(), 1u);
  EXPECT_EQ(status["peers"][0]["did"], b_did);
  EXPECT_GT(status["store_bytes"].get<std::uint64_t>(), 0u);

  EXPECT_EQ(StopNode("a"), 0) << Log("a");
  EXPECT_EQ(StopNode("b", SIGINT), 0) << Log("b");
}

// A node listening on every interface advertises its "endpoint", never 0.0.0.0; without one it
// refuses to start and says what to set.
TEST_F(FederationTransportTest, EveryInterfaceListensAndTheCardCarriesTheEndpoint) {
  auto port = testing::FreeLoopbackPort();
  ASSERT_TRUE(port.ok()) << port.status();
  std::string a_did = Init("a");
  std::string b_did = Init("b", "DE");
  const std::string every = absl::StrCat("0.0.0.0:", *port);
  const std::string endpoint = absl::StrCat("127.0.0.1:", *port);
  Configure("a", {{"listen", every}});
  CommandResult r = Hanse("a", {"node", "run"}, absl::Seconds(20));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("no \"endpoint\" is set, so peers would have no address"));

  Configure("a", {{"endpoint", endpoint}});
  StartNode("a");
  StartNode("b");
  CommandResult card = Hanse("a", {"card"});
  ASSERT_EQ(card.exit_code, 0) << card.err;
  EXPECT_THAT(card.out, HasSubstr(endpoint));
  EXPECT_THAT(card.out, ::testing::Not(HasSubstr("0.0.0.0")));
  Trust("a", "b");
  Trust("b", "a");
  r = Ping("b", a_did);
  EXPECT_EQ(r.exit_code, 0) << r.err << Log("b");
  EXPECT_THAT(r.out, HasSubstr(endpoint));
}

// A node whose certificate expired long ago (a year offline) still answers offline commands,
// renews its certificate at start and serves; `hanse cert renew` on the running node reaches
// new handshakes within seconds, with no restart, and peers keep reaching it.
TEST_F(FederationTransportTest, NodeCertificateRenewsAtStartAndWhileRunning) {
  auto port = testing::FreeLoopbackPort();  // a fixed endpoint: `hanse card` works offline
  ASSERT_TRUE(port.ok()) << port.status();
  InitNode("a", {.port = *port});
  std::string a_did = Did("a");
  Init("b", "DE");
  {
    absl::Time now = absl::Now();
    HANSE_ASSERT_OK_AND_ASSIGN(node::Home home, node::LoadHome(Home("a"), now));
    HANSE_ASSERT_OK_AND_ASSIGN(std::string key_pem, ReadFile(Path("a/node.key")));
    HANSE_ASSERT_OK_AND_ASSIGN(auto key, trust::PrivateKey::FromPem(key_pem));
    // The home as `hanse init` made it 400 days ago: CA and node certificate of that day.
    const absl::Time then = now - absl::Hours(24 * 400);
    HANSE_ASSERT_OK_AND_ASSIGN(
        std::string old_ca, trust::IssueParticipantCa(home.identity.participant_key, a_did, "Acme",
                                                      then, absl::Hours(24 * 3650)));
    HANSE_ASSERT_OK_AND_ASSIGN(
        std::string old_cert,
        trust::IssueNodeCertificate(home.identity.participant_key, old_ca, key.Public(), a_did,
                                    then, absl::Hours(24 * 365)));
    ASSERT_THAT(WriteFileAtomic(Path("a/participant-ca.pem"), old_ca, 0644), testing::IsOk());
    ASSERT_THAT(WriteFileAtomic(Path("a/node.pem"), old_cert, 0644), testing::IsOk());
    HANSE_ASSERT_OK_AND_ASSIGN(node::Home expired, node::LoadHome(Home("a"), now));
    EXPECT_THAT(expired.identity.node_cert_problem, HasSubstr("expired"));
  }
  CommandResult card = Hanse("a", {"card"});
  EXPECT_EQ(card.exit_code, 0) << card.err;

  StartNode("a");
  StartNode("b");
  EXPECT_THAT(Log("a"), HasSubstr("node certificate renewed"));
  auto not_after = [&] {
    auto pem = ReadFile(Path("a/node.pem"));
    return pem.ok() ? trust::CertificateNotAfter(*pem).value_or(absl::InfinitePast())
                    : absl::InfinitePast();
  };
  EXPECT_GT(not_after(), absl::Now() + absl::Hours(24 * 300));
  Trust("a", "b");
  Trust("b", "a");
  CommandResult r = Ping("b", a_did);
  EXPECT_EQ(r.exit_code, 0) << r.err << Log("b");
  r = Hanse("a", {"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(nlohmann::json::parse(r.out)["node_cert_not_after"], "");

  // The certificate the node serves, as an independent TLS client sees it.
  auto served = [&] { return ServedCertificate("a", "b"); };
  auto on_disk = [&] { return CertificateOnDisk("a"); };
  EXPECT_TRUE(WaitUntil([&] { return served() == on_disk(); }, absl::Seconds(15)));
  const std::string before = on_disk();

  r = Hanse("a", {"cert", "renew"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("The running node uses them for new connections"));
  EXPECT_NE(on_disk(), before);
  EXPECT_TRUE(WaitUntil([&] { return served() == on_disk(); }, absl::Seconds(20)))
      << "the node still serves the old certificate";
  r = Ping("b", a_did);
  EXPECT_EQ(r.exit_code, 0) << r.err << Log("b");
  EXPECT_EQ(StopNode("a"), 0) << Log("a");
}

// Under a clock moved 340 days on, the running node renews its certificate itself (the default
// window is 30 days before the end), warns before, and reports the new end in its status.
TEST_F(FederationTransportTest, NodeCertificateRenewsItselfBeforeItExpires) {
  InitNode("a");
  auto not_after = [&] {
    auto pem = ReadFile(Path("a/node.pem"));
    return pem.ok() ? trust::CertificateNotAfter(*pem).value_or(absl::InfinitePast())
                    : absl::InfinitePast();
  };
  const absl::Time first = not_after();
  SimulatedClock clock(absl::Now());
  node::Node* n = StartInProcess("a", &clock);
  ASSERT_NE(n, nullptr);
  clock.Advance(absl::Hours(24 * 340));
  EXPECT_TRUE(WaitUntil([&] { return not_after() > first; }, absl::Seconds(30)))
      << "no renewal 25 days before the end";
  EXPECT_GE(not_after(), clock.Now() + absl::Hours(24 * 364));
  CommandResult st = Hanse("a", {"status", "--json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  absl::Time shown;
  std::string err;
  ASSERT_TRUE(absl::ParseTime(
      absl::RFC3339_full, nlohmann::json::parse(st.out)["node_cert_not_after"].get<std::string>(),
      &shown, &err))
      << st.out;
  EXPECT_EQ(absl::ToUnixSeconds(shown), absl::ToUnixSeconds(not_after()));
  EXPECT_THAT(StopInProcess("a"), testing::IsOk());
}

TEST_F(FederationTransportTest, UntrustedNodeIsRefusedAtTheHandshake) {
  Init("a");
  std::string c_did = Init("c");
  StartNode("a");
  StartNode("c");
  Trust("c", "a");  // c trusts a, but a does not trust c
  CommandResult r = Ping("c", Listen("a"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("failed"));
  EXPECT_THAT(Log("a"), HasSubstr("TLS peer refused"));
  EXPECT_THAT(Log("a"), HasSubstr("not trusted"));
  // Nor does a node reach a peer it does not trust, even when the peer trusts it.
  r = Ping("a", Listen("c"));
  EXPECT_NE(r.exit_code, 0);
}

TEST_F(FederationTransportTest, TrustIsLiveWithNoRestart) {
  Init("a");
  std::string b_did = Init("b");
  StartNode("a");
  StartNode("b");
  Trust("b", "a");
  EXPECT_NE(Ping("b", Listen("a")).exit_code, 0);
  Trust("a", "b");  // through the admin socket of the running node
  CommandResult r = Ping("b", Listen("a"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// A raw gRPC client without a client certificate.
TEST_F(FederationTransportTest, ClientWithoutCertificateIsRefused) {
  Init("a");
  StartNode("a");
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  auto channel = grpc::CreateChannel(Listen("a"), grpc::experimental::TlsCredentials(options));
  auto stub = hanse::v1::Federation::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  hanse::v1::PingRequest req;
  hanse::v1::PingResponse resp;
  grpc::Status st = stub->Ping(&ctx, req, &resp);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(resp.card_jws().empty());
}

// A certificate issued by a trusted participant key, but naming another DID.
TEST_F(FederationTransportTest, CertificateNamingAnotherDidIsRefused) {
  Init("a");
  Init("b");
  std::string c_did = Init("c");
  StartNode("a");
  StartNode("b");
  StartNode("c");
  Trust("a", "b");
  Trust("a", "c");

  // b's participant key issues a node certificate that claims to be c. trust:: refuses to
  // issue such a thing, so the forgery is made with the openssl command line.
  std::string dir = Path(".");
  std::string cmd = absl::StrCat(
      "cd ", dir, " && openssl ecparam -name prime256v1 -genkey -noout -out forged.key 2>/dev/null",
      " && openssl req -new -key forged.key -subj /CN=forged -out forged.csr",
      " && printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n",
      "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:", c_did, "\n' > forged.ext",
      " && openssl x509 -req -in forged.csr -CA b/participant-ca.pem -CAkey b/participant.key",
      " -CAcreateserial -days 1 -extfile forged.ext -out forged.pem 2>/dev/null");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  HANSE_ASSERT_OK_AND_ASSIGN(node::Home b_home, node::LoadHome(Home("b"), absl::Now()));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string forged_key, ReadFile(Path("forged.key")));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string forged, ReadFile(Path("forged.pem")));
  EXPECT_THAT(trust::CertificateDid(forged), hanse::testing::IsOkAndHolds(c_did));
  // Accept any server here: this test is about a's side of the handshake.
  auto channel_to_a = [&](const std::string& key_pem, const std::string& cert_pem) {
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_verify_server_certs(false);
    options.set_check_call_host(false);
    options.set_certificate_verifier(
        std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    options.set_certificate_provider(
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
            "", std::vector<grpc::experimental::IdentityKeyCertPair>{{key_pem, cert_pem}}));
    options.watch_identity_key_cert_pairs();
    return grpc::CreateChannel(Listen("a"), grpc::experimental::TlsCredentials(options));
  };
  auto stub = hanse::v1::Federation::NewStub(channel_to_a(forged_key, forged));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  hanse::v1::PingRequest req;
  hanse::v1::PingResponse resp;
  grpc::Status st = stub->Ping(&ctx, req, &resp);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(resp.card_jws().empty());
  EXPECT_THAT(Log("a"), HasSubstr("TLS peer refused"));

  // The same client with b's genuine certificate gets through: the refusal above was the DID.
  auto good = hanse::v1::Federation::NewStub(
      channel_to_a(b_home.identity.node_key_pem, b_home.identity.node_cert_pem));
  grpc::ClientContext ctx2;
  ctx2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  st = good->Ping(&ctx2, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message() << Log("a");
  EXPECT_FALSE(resp.card_jws().empty());
}

// A check from outside with an independent TLS stack: `openssl s_client` without a client
// certificate completes no call (the server drops it after the handshake); with a trusted
// member's certificate the same command gets an HTTP/2 session.
TEST_F(FederationTransportTest, OpensslClientWithoutCertificateCannotCall) {
  Init("a");
  Init("b");
  StartNode("a");
  StartNode("b");
  Trust("a", "b");
  auto s_client = [&](const std::string& cert_args, const std::string& out) {
    std::string cmd = absl::StrCat(
        "(printf 'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n'; sleep 1) | timeout 5 openssl s_client "
        "-connect ",
        Listen("a"), " -alpn h2 -tls1_3 -ign_eof ", cert_args, " > ", out, " 2>&1");
    int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  int rc = s_client("", Path("nocert.txt"));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string nocert, ReadFile(Path("nocert.txt")));
  EXPECT_EQ(rc, 1) << nocert;
  EXPECT_THAT(nocert, HasSubstr("unexpected eof"));

  rc = s_client(absl::StrCat("-cert ", Path("b/node.pem"), " -key ", Path("b/node.key")),
                Path("cert.txt"));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string withcert, ReadFile(Path("cert.txt")));
  EXPECT_THAT(withcert, HasSubstr("ALPN protocol: h2"));
  EXPECT_THAT(withcert, ::testing::Not(HasSubstr("unexpected eof")));
}

// Standard gRPC tooling works against a node: health checking answers SERVING on the admin
// socket (called with a generic stub, as any gRPC client would).
TEST_F(FederationTransportTest, HealthCheckingAnswersOnTheAdminSocket) {
  Init("a");
  StartNode("a");
  auto channel =
      grpc::CreateChannel("unix:" + Path("a/admin.sock"), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty(std::string{});
  grpc::ByteBuffer request(&empty, 1);  // HealthCheckRequest{service: ""} encodes to no bytes
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard lock(mu);
                   status = s;
                   done = true;
                   cv.notify_all();
                 });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& slice : slices)
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // HealthCheckResponse{status: SERVING}
}

TEST_F(FederationTransportTest, GracefulShutdownLeavesAStoreThatReopens) {
  Init("a");
  std::string b_did = Init("b");
  StartNode("a");
  StartNode("b");
  Trust("a", "b");
  EXPECT_EQ(StopNode("a"), 0) << Log("a");
  EXPECT_THAT(Log("a"), HasSubstr("node stopped"));
  EXPECT_FALSE(PathExists(Path("a/admin.sock")));
  {
    HANSE_ASSERT_OK_AND_ASSIGN(auto store, catalog::OpenRocksStore(Path("a/store"), {}));
    HANSE_ASSERT_OK_AND_ASSIGN(auto card, store->Get(catalog::Family::kPeers, b_did));
    EXPECT_TRUE(card.has_value());
  }
  StartNode("a");
  CommandResult r = Hanse("a", {"status"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr(b_did));
}

TEST_F(FederationTransportTest, ClearErrorsForCommonMistakes) {
  Init("a");
  StartNode("a");

  // Store locked by the running node.
  CommandResult r = Hanse("a", {"node", "run"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("locked by another process"));

  // Port in use: b asks for a's port.
  Init("b");
  HANSE_ASSERT_OK_AND_ASSIGN(node::HostPort hp, node::ParseHostPort(Listen("a")));
  ASSERT_NO_FATAL_FAILURE(Configure("b", {{"listen", hp.ToString()}}));
  r = Hanse("b", {"node", "run"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("address already in use"));

  // Unknown config key: file and key named.
  ASSERT_NO_FATAL_FAILURE(Configure("b", {{"listen", "127.0.0.1:0"}, {"colour", "blue"}}));
  r = Hanse("b", {"node", "run"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("config.json"));
  EXPECT_THAT(r.err, HasSubstr("\"colour\""));

  // Missing home, and an existing directory for init.
  r = Hanse("nope", {"node", "run"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("hanse init"));
  r = Hanse("a", {"init", "--name", "x", "--country", "FR"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("already exists"));
  // --if-missing: a complete home is left alone (its DID printed, exit 0); a directory that is
  // not a complete home is refused, not replaced.
  r = Hanse("a", {"init", "--if-missing", "--name", "x", "--country", "FR"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("did:key:"));
  EXPECT_THAT(r.err, HasSubstr("left as it is"));
  ASSERT_TRUE(std::filesystem::create_directories(Path("half")));
  { std::ofstream(Path("half/participant.key")) << "x"; }
  r = Hanse("half", {"init", "--if-missing", "--name", "x", "--country", "FR"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("not a complete node home"));
  EXPECT_TRUE(std::filesystem::exists(Path("half/participant.key")));
  // An empty directory (a freshly mounted volume) counts as missing.
  ASSERT_TRUE(std::filesystem::create_directories(Path("empty")));
  r = Hanse("empty", {"init", "--if-missing", "--name", "x", "--country", "FR"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(Path("empty/config.json")));

  // A key readable by others.
  Init("c");
  ASSERT_EQ(::chmod(Path("c/participant.key").c_str(), 0644), 0);
  r = Hanse("c", {"node", "run"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("chmod 600"));

  // Status of a node that is not running: not reachable, exit code 3.
  r = Hanse("c", {"status"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("not running"));
}

TEST_F(FederationTransportTest, CorruptStoreRefusesToStart) {
  Init("a");
  for (const auto& entry : std::filesystem::directory_iterator(Path("a/store"))) {
    if (entry.path().filename().string().rfind("MANIFEST-", 0) == 0) {
      auto size = std::filesystem::file_size(entry.path());
      std::ofstream out(entry.path(), std::ios::binary | std::ios::trunc);
      out << std::string(size, 'Z');
    }
  }
  CommandResult r = Hanse("a", {"node", "run"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("corrupt"));
}

TEST_F(FederationTransportTest, JsonLogsCarryDidsAndNoKeyMaterial) {
  std::string did = Init("a");
  ASSERT_NO_FATAL_FAILURE(StartNode("a", {"--log-format", "json"}));
  EXPECT_EQ(StopNode("a"), 0);
  std::istringstream lines(Log("a"));
  std::string line;
  int parsed = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    ++parsed;
  }
  EXPECT_GE(parsed, 2);
  EXPECT_THAT(Log("a"), HasSubstr(did));
  EXPECT_THAT(Log("a"), ::testing::Not(HasSubstr("PRIVATE KEY")));
}

}  // namespace
}  // namespace hanse
