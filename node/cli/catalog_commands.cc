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
#include "base/json.h"
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

absl::Status CmdDatasetPublish(const std::string& home_dir, const std::string& file, bool json) {
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(file, 1 << 20));
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  // The node reads and hashes the content (5 GiB take ~20 s): a bar on a terminal.
  const bool tty = ::isatty(STDERR_FILENO);
  bool shown = false;
  auto resp = client.PublishDataset(text, [&](std::uint64_t done, std::uint64_t total) {
    if (!tty) return;
    PrintProgress("Hashing", done, total);
    shown = true;
  });
  if (shown) std::fprintf(stderr, "\n");
  HANSE_RETURN_IF_ERROR(resp.status(), file);
  if (json) {
    std::printf("%s\n", nlohmann::json({{"id", resp->id()},
                                        {"sequence", resp->sequence()},
                                        {"outcome", resp->outcome()}})
                            .dump(2)
                            .c_str());
  } else {
    std::printf("%s\n", resp->id().c_str());
  }
  return absl::OkStatus();
}

absl::Status CmdDatasetList(const std::string& home_dir, bool mine, int limit, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  hanse::v1::ListDatasetsRequest req;
  req.set_mine(mine);
  req.set_limit(static_cast<uint32_t>(limit));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.ListDatasets(req));
  if (json) {
    std::printf("%s\n", MessageJson(resp)["datasets"].dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("%-40s %-10s %-4s %s\n", "TITLE", "ISSUED", "SEQ", "ID");
  for (const auto& d : resp.datasets()) {
    std::printf("%s %-10s %-4llu %s\n", Cell(d.title(), 40).c_str(), d.issued().c_str(),
                static_cast<unsigned long long>(d.sequence()), d.id().c_str());
    if (!d.needs_republication().empty()) {
      std::printf("  ! NEEDS REPUBLICATION: %s\n", d.needs_republication().c_str());
    }
  }
  if (!resp.next_after().empty()) std::printf("(more: raise --limit)\n");
  return absl::OkStatus();
}

absl::Status CmdDatasetShow(const std::string& home_dir, const std::string& id,
                            const std::string& format) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.GetDocument(id, format == "dcat" ? "dcat" : ""));
  if (format == "jws") {
    std::printf("%s\n", resp.jws().c_str());
  } else if (format == "dcat") {
    std::fwrite(resp.dcat_json().data(), 1, resp.dcat_json().size(), stdout);
  } else {
    auto j = EmbeddedJson(resp.payload_json());
    std::printf("%s\n", j.is_string() ? resp.payload_json().c_str() : j.dump(2).c_str());
  }
  return absl::OkStatus();
}

absl::Status CmdDatasetUnpublish(const std::string& home_dir, const std::string& id, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.UnpublishDataset(id));
  PrintResult(json, {{"id", id}, {"sequence", resp.sequence()}},
              absl::StrFormat("unpublished %s (tombstone sequence %llu)", id,
                              static_cast<unsigned long long>(resp.sequence())));
  return absl::OkStatus();
}

absl::Status CmdSearch(const std::string& home_dir, const std::vector<std::string>& words,
                       int limit, const std::string& cursor, bool live, bool json) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  hanse::v1::SearchRequest req;
  req.set_query(absl::StrJoin(words, " "));
  req.set_limit(static_cast<uint32_t>(limit));
  req.set_cursor(cursor);
  req.set_live(live);
  HANSE_ASSIGN_OR_RETURN(auto resp, client.Search(req));
  if (json) {
    nlohmann::json hits = nlohmann::json::array();
    for (const auto& h : resp.hits()) {
      auto j = MessageJson(h.dataset());
      j["score"] = h.score();
      hits.push_back(j);
    }
    nlohmann::json out = {{"hits", hits},
                          {"next_cursor", resp.next_cursor()},
                          {"total_estimate", resp.total_estimate()}};
    if (live) {
      out["answered"] = std::vector<std::string>(resp.answered().begin(), resp.answered().end());
      out["failed"] = std::vector<std::string>(resp.failed().begin(), resp.failed().end());
    }
    std::printf("%s\n", out.dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("%-6s %-40s %-28s %-10s %s\n", "SCORE", "TITLE", "PUBLISHER", "ISSUED", "ID");
  for (const auto& h : resp.hits()) {
    const auto& d = h.dataset();
    std::printf("%-6.2f %s %s %-10s %s\n", h.score(), Cell(d.title(), 40).c_str(),
                Cell(d.publisher(), 28).c_str(), d.issued().c_str(), d.id().c_str());
  }
  if (live) {
    std::printf("live: %d member(s) answered, %d did not\n", resp.answered_size(),
                resp.failed_size());
    for (const auto& f : resp.failed()) std::printf("  no answer: %s\n", f.c_str());
  }
  std::printf("%d shown, about %llu match%s\n", resp.hits_size(),
              static_cast<unsigned long long>(resp.total_estimate()),
              resp.next_cursor().empty()
                  ? ""
                  : absl::StrCat("; next page: --cursor ", resp.next_cursor()).c_str());
  return absl::OkStatus();
}

absl::Status CmdCatalogExport(const std::string& home_dir, const std::string& format) {
  HANSE_ASSIGN_OR_RETURN(auto client, AdminClient::Connect(home_dir));
  return client.ExportCatalog(
      format, [](const std::string& data) { std::fwrite(data.data(), 1, data.size(), stdout); });
}

// Offline: needs no node. Each non-empty line of FILE is one compact JWS.
absl::Status CmdDocumentVerify(const std::string& file, bool json) {
  HANSE_ASSIGN_OR_RETURN(std::string text, ReadFile(file, 256u << 20));
  absl::Time now = Clock::Real().Now();
  int bad = 0, total = 0;
  nlohmann::json results = nlohmann::json::array();
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    line = absl::StripAsciiWhitespace(line);
    ++total;
    auto v = catalog::VerifyDocument(line, now);
    if (v.ok()) {
      const auto& d = v->doc;
      if (json) {
        results.push_back({{"valid", true},
                           {"kind", catalog::DocumentKindName(d.kind)},
                           {"id", d.id},
                           {"issuer", d.issuer},
                           {"sequence", d.sequence}});
      } else {
        std::printf("valid   %-11s seq %-4llu %s\n",
                    std::string(catalog::DocumentKindName(d.kind)).c_str(),
                    static_cast<unsigned long long>(d.sequence), d.id.c_str());
      }
    } else {
      ++bad;
      if (json) {
        results.push_back(
            {{"valid", false}, {"line", total}, {"reason", std::string(v.status().message())}});
      } else {
        std::printf("INVALID line %d: %s\n", total, std::string(v.status().message()).c_str());
      }
    }
  }
  if (json) std::printf("%s\n", results.dump(2).c_str());
  if (total == 0) return absl::InvalidArgumentError(absl::StrCat(file, ": no document found"));
  if (bad > 0) {
    return absl::InvalidArgumentError(absl::StrCat(bad, " of ", total, " documents failed"));
  }
  return absl::OkStatus();
}

}  // namespace hanse::node
