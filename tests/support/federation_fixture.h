// The fixture the integration tests share: node homes in a private temporary directory, run as
// `hanse node run` processes or inside the test process, trusting each other pairwise or joined
// in a federation, and driven with the `hanse` command. Nodes are known by a short name, which is
// also their home's folder.
#ifndef HANSE_TESTS_SUPPORT_FEDERATION_FIXTURE_H_
#define HANSE_TESTS_SUPPORT_FEDERATION_FIXTURE_H_

#include <gtest/gtest.h>
#include <signal.h>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "nlohmann/json.hpp"
#include "node/daemon/node.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace hanse::testing {

// How InitNode makes a home.
struct NodeSpec {
  std::string country = "FR";
  // A fixed loopback port keeps a restarted node at the address its peers hold in its card. With
  // 0, the node takes any free port each time it starts.
  int port = 0;
  // More `hanse init` flags, e.g. {"--jurisdiction", "US"}.
  std::vector<std::string> init_args = {};
  // Merged into config.json over the fixture's default, which is fast gossip.
  nlohmann::json config = nlohmann::json::object();
  // Environment of the node's process, set on every start.
  std::vector<std::pair<std::string, std::string>> env = {};
};

class FederationTest : public ::testing::Test {
 protected:
  // Shuts down the nodes running in this process. Node processes are killed when the fixture is
  // destroyed.
  void TearDown() override;

  std::string Path(const std::string& relative) const { return tmp_.Sub(relative); }
  std::string Home(const std::string& name) const { return Path(name); }
  // Where WriteCard puts the member card of `name`.
  std::string Card(const std::string& name) const { return Path(name + ".card"); }
  // The charter that DraftCharter writes and SignCharter signs in place.
  std::string Charter() const { return Path("charter.json"); }

  // Runs `hanse init` for `name` (legal name "Org <name>", on 127.0.0.1) and writes the config.
  void InitNode(const std::string& name, const NodeSpec& spec = {});
  // Merges `patch` into the config.json of `name`. The node reads it at its next start.
  void Configure(const std::string& name, const nlohmann::json& patch);
  const std::string& Did(const std::string& name);
  // Federation address of the running node, with the real port if it took any free one.
  const std::string& Listen(const std::string& name);

  // Starts `name` as a `hanse node run` process with `args` added, and waits until it answers.
  void StartNode(const std::string& name, const std::vector<std::string>& args = {});
  // Sends `sig` to the process of `name` and returns its exit code (-signal if killed by it).
  int StopNode(const std::string& name, int sig = SIGTERM);
  // StopNode, then StartNode without extra args. Returns the exit code of the stop.
  int RestartNode(const std::string& name, int sig = SIGTERM);
  // The certificate (PEM, without its END line) the running node `name` presents to a TLS
  // client, as `openssl s_client` with the identity of `as` sees it; "" when none was read.
  std::string ServedCertificate(const std::string& name, const std::string& as);
  // The node certificate in the home of `name`, in the same form.
  std::string CertificateOnDisk(const std::string& name);
  // Everything the process of `name` has logged, across restarts.
  std::string Log(const std::string& name);
  // The process id of `name` (to freeze it with SIGSTOP, say); -1 when it does not run.
  pid_t Pid(const std::string& name);

  // Starts `name` in this process (Node::Start). Tests that move time pass a SimulatedClock.
  // Returns null after reporting a failure. A home holds at most one running node: the store is
  // locked while it runs.
  node::Node* StartInProcess(const std::string& name, const Clock* clock = &Clock::Real());
  // Shuts the in-process node down after calls in flight have finished or 5 s have passed.
  absl::Status StopInProcess(const std::string& name);

  // Runs `hanse args... --home <home of name>`.
  CommandResult Hanse(const std::string& name, std::vector<std::string> args,
                      absl::Duration timeout = absl::Seconds(60));

  // Writes Card(name). A node on port 0 knows its endpoint only while it runs.
  void WriteCard(const std::string& name);
  // `who` adds the current card of `whom` to its peers.
  void Trust(const std::string& who, const std::string& whom);
  // Every node in `names` trusts every other one. All nodes do it at the same time.
  void TrustAll(const std::vector<std::string>& names);

  // Drafts the charter of `federation` from the founders' cards (WriteCard first).
  void DraftCharter(const std::string& federation, const std::vector<std::string>& founders,
                    int admission_threshold, int revocation_threshold);
  // `name` signs Charter() in place.
  CommandResult SignCharter(const std::string& name);
  // The founders draft a charter (thresholds 1), sign it and join. They need no `peer add`:
  // the charter makes them members of each other.
  void FoundFederation(const std::vector<std::string>& founders);

  // Publishes `content` as <dataset>.csv on `name`, titled `title` under `theme`, with `policy`
  // (any use if null). Returns the id that the command prints.
  std::string Publish(const std::string& name, const std::string& dataset, const std::string& title,
                      const std::string& theme, const nlohmann::json& policy = nullptr,
                      const std::string& content = "a,b\n1,2\n");
  // `hanse search --json` on `name`. A failed search is reported and has no hits.
  nlohmann::json Search(const std::string& name, const std::string& query);
  size_t Hits(const std::string& name, const std::string& query);
  // Waits until `query` on `name` has `count` hits.
  bool WaitForHits(const std::string& name, const std::string& query, size_t count,
                   absl::Duration within = absl::Seconds(30));

  // Polls `done` with short sleeps until it holds or `within` has passed; true if it held. What
  // the tests wait for (replication, admission, duties) happens in the background, so they wait
  // for the outcome rather than for a fixed time.
  static bool WaitUntil(const std::function<bool()>& done,
                        absl::Duration within = absl::Seconds(30));

  // Runs `step` for every name at once, each in its own thread: each node works on its own home,
  // and multi-node setups are slow one node at a time. Check HasFatalFailure() afterwards.
  static void Parallel(const std::vector<std::string>& names,
                       const std::function<void(const std::string&)>& step);

 private:
  struct TestNode {
    std::string did;
    std::string listen;
    std::vector<std::pair<std::string, std::string>> env;
    std::unique_ptr<NodeProcess> process;
    std::unique_ptr<node::Node> in_process;
  };
  // The entry of `name`, created on first use. Entries never move, so the reference stays valid,
  // and each one is only touched by the thread that works on its node.
  TestNode& Entry(const std::string& name);

  TempDir tmp_;
  std::mutex mu_;  // guards the map itself, not the entries
  std::map<std::string, TestNode> nodes_;
};

}  // namespace hanse::testing

#endif  // HANSE_TESTS_SUPPORT_FEDERATION_FIXTURE_H_
