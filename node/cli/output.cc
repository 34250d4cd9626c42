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
#include "catalog/document.h"
#include "catalog/store.h"
#include "nlohmann/json.hpp"
#include "node/rpc/admin_client.h"
#include "node/cli/commands.h"
#include "node/cli/contract_commands.h"
#include "node/daemon/node.h"
#include "node/daemon/version.h"
#include "node/federation/membership.h"
#include "node/federation/peers.h"
#include "node/identity/card.h"
#include "node/identity/home.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "policy/request.h"

namespace hanse::node {

void PrintError(const absl::Status& status) {
  std::fprintf(stderr, "hanse: error: %s\n", std::string(status.message()).c_str());
}

std::string PeerRow(const hanse::v1::Peer& p) {
  return absl::StrFormat("%-60s %-22s %-2s %s", p.did(), p.endpoint(), p.country(), p.legal_name());
}

nlohmann::json SummaryJson(const hanse::v1::DatasetSummary& d) {
  return {{"id", d.id()},
          {"title", d.title()},
          {"publisher", d.publisher()},
          {"issuer", d.issuer()},
          {"sequence", d.sequence()},
          {"issued", d.issued()},
          {"themes", std::vector<std::string>(d.themes().begin(), d.themes().end())},
          {"keywords", std::vector<std::string>(d.keywords().begin(), d.keywords().end())},
          {"media_type", d.media_type()},
          {"byte_size", d.byte_size()},
          {"language", d.language()},
          {"license", d.license()},
          {"hosting_location", d.hosting_location()}};
}

// Shortens to at most n bytes without cutting a UTF-8 sequence.
std::string Clip(absl::string_view s, size_t n) {
  if (s.size() <= n) return std::string(s);
  size_t cut = n - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(s.substr(0, cut), "...");
}

}  // namespace hanse::node
