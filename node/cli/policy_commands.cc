#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/status.h"
#include "base/version.h"
#include "catalog/document.h"
#include "catalog/store.h"
#include "nlohmann/json.hpp"
#include "node/cli/commands.h"
#include "node/cli/contract_commands.h"
#include "node/daemon/node.h"
#include "node/federation/membership.h"
#include "node/federation/peers.h"
#include "node/identity/card.h"
#include "node/identity/home.h"
#include "node/rpc/admin_client.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "policy/request.h"

namespace hanse::node {

// Exit codes: 0 permit, 1 deny, 2 unreadable or malformed input.
int CmdPolicyCheck(const std::string& policy_file, const std::string& request_file, bool json) {
  auto policy_text = ReadFile(policy_file, 1 << 20);
  auto request_text = ReadFile(request_file, 1 << 20);
  if (!policy_text.ok() || !request_text.ok()) {
    PrintError(!policy_text.ok() ? policy_text.status() : request_text.status());
    return 2;
  }
  auto parsed = policy::ParsePolicy(*policy_text);
  if (!parsed.ok()) {
    PrintError(Annotate(parsed.status(), policy_file));
    return 2;
  }
  auto request = policy::ParseRequest(*request_text, Clock::Real().Now());
  if (!request.ok()) {
    PrintError(Annotate(request.status(), request_file));
    return 2;
  }
  policy::Decision decision = policy::Evaluate(*parsed, *request);
  std::string out = policy::CheckCommandOutput(decision, json);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return decision.permit ? 0 : 1;
}

}  // namespace hanse::node
