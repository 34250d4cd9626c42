#include "tests/support/federation_fixture.h"

#include <gmock/gmock.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/file.h"
#include "tests/support/status_matchers.h"
#include "trust/did_key.h"

namespace hanse::testing {
namespace {

// Several gossip rounds fit in any wait of the tests (the default is 2 s).
constexpr int kGossipIntervalMs = 200;

nlohmann::json AnyUseOffer() {
  return {{"@type", "Offer"}, {"permission", nlohmann::json::array({{{"action", "use"}}})}};
}

}  // namespace

void FederationTest::TearDown() {
  for (auto& [name, node] : nodes_) {
    if (node.in_process) EXPECT_THAT(StopInProcess(name), IsOk()) << name;
  }
}

FederationTest::TestNode& FederationTest::Entry(const std::string& name) {
  std::lock_guard lock(mu_);
  return nodes_[name];
}

void FederationTest::InitNode(const std::string& name, const NodeSpec& spec) {
  std::vector<std::string> args = {"init", "--home", Home(name), "--name", "Org " + name};
  args.insert(args.end(),
              {"--country", spec.country, "--listen", absl::StrCat("127.0.0.1:", spec.port)});
  args.insert(args.end(), spec.init_args.begin(), spec.init_args.end());
  CommandResult r = RunHanse(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  TestNode& node = Entry(name);
  node.did = r.out.substr(0, r.out.find('\n'));
  ASSERT_TRUE(trust::IsDidKey(node.did)) << node.did;
  node.env = spec.env;
  nlohmann::json config = {{"gossip_interval_ms", kGossipIntervalMs}};
  config.merge_patch(spec.config);
  Configure(name, config);
}

void FederationTest::Configure(const std::string& name, const nlohmann::json& patch) {
  const std::string path = Home(name) + "/config.json";
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_TRUE(text.ok()) << text.status();
  nlohmann::json config = nlohmann::json::parse(*text);
  config.merge_patch(patch);
  ASSERT_THAT(WriteFileAtomic(path, config.dump(), 0644), IsOk());
}

const std::string& FederationTest::Did(const std::string& name) { return Entry(name).did; }

const std::string& FederationTest::Listen(const std::string& name) { return Entry(name).listen; }

void FederationTest::StartNode(const std::string& name, const std::vector<std::string>& args) {
  TestNode& node = Entry(name);
  ASSERT_FALSE(node.process && node.process->running()) << name << " is running: stop it first";
  node.process = std::make_unique<NodeProcess>(Home(name), Path(name + ".log"));
  for (const auto& [variable, value] : node.env) node.process->SetEnv(variable, value);
  absl::StatusOr<std::string> listen = node.process->Start(args);
  ASSERT_TRUE(listen.ok()) << name << ": " << listen.status();
  node.listen = *listen;
}

int FederationTest::StopNode(const std::string& name, int sig) {
  TestNode& node = Entry(name);
  if (!node.process) return -1;
  const int code = node.process->Stop(sig);
  // A node that does not stop cleanly when asked to (a sanitizer report, a crash in shutdown)
  // explains itself in its log: show the end of it with the failure.
  if (code != 0 && code != -sig) {
    const std::string log = node.process->Log();
    std::fprintf(stderr, "node %s stopped with %d; the end of its log:\n%s\n", name.c_str(), code,
                 log.substr(log.size() > 20000 ? log.size() - 20000 : 0).c_str());
  }
  return code;
}

int FederationTest::RestartNode(const std::string& name, int sig) {
  const int code = StopNode(name, sig);
  StartNode(name);
  return code;
}

std::string FederationTest::Log(const std::string& name) {
  TestNode& node = Entry(name);
  return node.process ? node.process->Log() : "";
}

pid_t FederationTest::Pid(const std::string& name) {
  TestNode& node = Entry(name);
  return node.process && node.process->running() ? node.process->pid() : -1;
}

node::Node* FederationTest::StartInProcess(const std::string& name, const Clock* clock) {
  TestNode& node = Entry(name);
  absl::StatusOr<std::unique_ptr<node::Node>> started =
      node::Node::Start(node::Node::Options{.home = Home(name), .clock = clock});
  if (!started.ok()) {
    ADD_FAILURE() << name << ": " << started.status();
    return nullptr;
  }
  node.in_process = std::move(*started);
  node.listen = node.in_process->listen_address();
  return node.in_process.get();
}

absl::Status FederationTest::StopInProcess(const std::string& name) {
  std::unique_ptr<node::Node> node = std::move(Entry(name).in_process);
  if (!node) return absl::FailedPreconditionError(name + " is not running in this process");
  return node->Shutdown(absl::Seconds(5));
}

std::string FederationTest::ServedCertificate(const std::string& name, const std::string& as) {
  const std::string out_file = Path(name + ".served.txt");
  std::string cmd = absl::StrCat("timeout 5 openssl s_client -connect ", Listen(name),
                                 " -tls1_3 -cert ", Home(as), "/node.pem -key ", Home(as),
                                 "/node.key < /dev/null 2>/dev/null > ", out_file);
  (void)std::system(cmd.c_str());
  std::string out = ReadFile(out_file).value_or("");
  size_t begin = out.find("-----BEGIN CERTIFICATE-----");
  size_t end = out.find("-----END CERTIFICATE-----");
  if (begin == std::string::npos || end == std::string::npos || end < begin) return "";
  return out.substr(begin, end - begin);
}

std::string FederationTest::CertificateOnDisk(const std::string& name) {
  std::string pem = ReadFile(Home(name) + "/node.pem").value_or("");
  size_t end = pem.find("-----END CERTIFICATE-----");
  return end == std::string::npos ? pem : pem.substr(0, end);
}

CommandResult FederationTest::Hanse(const std::string& name, std::vector<std::string> args,
                                    absl::Duration timeout) {
  args.push_back("--home");
  args.push_back(Home(name));
  return RunHanse(args, timeout);
}

void FederationTest::WriteCard(const std::string& name) {
  CommandResult r = Hanse(name, {"card", "--out", Card(name)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

void FederationTest::Trust(const std::string& who, const std::string& whom) {
  ASSERT_NO_FATAL_FAILURE(WriteCard(whom));
  CommandResult r = Hanse(who, {"peer", "add", Card(whom)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

void FederationTest::TrustAll(const std::vector<std::string>& names) {
  Parallel(names, [this](const std::string& n) { WriteCard(n); });
  ASSERT_FALSE(HasFatalFailure());
  Parallel(names, [&](const std::string& a) {
    for (const auto& b : names) {
      if (a == b) continue;
      CommandResult r = Hanse(a, {"peer", "add", Card(b)});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  });
}

void FederationTest::DraftCharter(const std::string& federation,
                                  const std::vector<std::string>& founders, int admission_threshold,
                                  int revocation_threshold) {
  std::vector<std::string> args = {"federation", "draft", "--name", federation};
  args.insert(args.end(), {"--admission-threshold", std::to_string(admission_threshold),
                           "--revocation-threshold", std::to_string(revocation_threshold)});
  for (const auto& f : founders) {
    args.push_back("--founder");
    args.push_back(Card(f));
  }
  CommandResult r = RunHanse(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_THAT(WriteFileAtomic(Charter(), r.out, 0644), IsOk());
}

CommandResult FederationTest::SignCharter(const std::string& name) {
  return Hanse(name, {"federation", "sign", Charter(), "--out", Charter()});
}

void FederationTest::FoundFederation(const std::vector<std::string>& founders) {
  Parallel(founders, [this](const std::string& n) { WriteCard(n); });
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NO_FATAL_FAILURE(DraftCharter("Test federation", founders, 1, 1));
  // One after the other: each signature is added to the same file.
  for (const auto& f : founders) {
    CommandResult r = SignCharter(f);
    ASSERT_EQ(r.exit_code, 0) << f << ": " << r.err;
  }
  Parallel(founders, [this](const std::string& n) {
    CommandResult r = Hanse(n, {"federation", "join", Charter()});
    ASSERT_EQ(r.exit_code, 0) << n << ": " << r.err;
  });
}

std::string FederationTest::Publish(const std::string& name, const std::string& dataset,
                                    const std::string& title, const std::string& theme,
                                    const nlohmann::json& policy, const std::string& content) {
  EXPECT_THAT(WriteFileAtomic(Home(name) + "/data/" + dataset + ".csv", content, 0644), IsOk());
  nlohmann::json file = {{"name", dataset},
                         {"title", title},
                         {"themes", nlohmann::json::array({theme})},
                         {"license", "CC-BY-4.0"},
                         {"media_type", "text/csv"},
                         {"language", "en"},
                         {"issued", "2024-05-01"},
                         {"content", dataset + ".csv"},
                         {"policy", policy.is_null() ? AnyUseOffer() : policy}};
  const std::string path = Path(name + "-" + dataset + ".json");
  EXPECT_THAT(WriteFileAtomic(path, file.dump(), 0644), IsOk());
  CommandResult r = Hanse(name, {"dataset", "publish", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, r.out.find('\n'));
}

nlohmann::json FederationTest::Search(const std::string& name, const std::string& query) {
  CommandResult r = Hanse(name, {"search", query, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json{{"hits", nlohmann::json::array()}} : j;
}

size_t FederationTest::Hits(const std::string& name, const std::string& query) {
  return Search(name, query)["hits"].size();
}

bool FederationTest::WaitForHits(const std::string& name, const std::string& query, size_t count,
                                 absl::Duration within) {
  return WaitUntil([&] { return Hits(name, query) == count; }, within);
}

bool FederationTest::WaitUntil(const std::function<bool()>& done, absl::Duration within) {
  const absl::Time deadline = absl::Now() + within;
  while (absl::Now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

void FederationTest::Parallel(const std::vector<std::string>& names,
                              const std::function<void(const std::string&)>& step) {
  std::vector<std::thread> threads;
  for (const auto& n : names) threads.emplace_back([&step, &n] { step(n); });
  for (auto& t : threads) t.join();
}

}  // namespace hanse::testing
