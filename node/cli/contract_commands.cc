#include "node/cli/contract_commands.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/json.h"
#include "base/status.h"
#include "catalog/store.h"
#include "hanse/v1/exchange.pb.h"
#include "nlohmann/json.hpp"
#include "node/audit/audit_log.h"
#include "node/audit/evidence.h"
#include "node/cli/commands.h"
#include "node/identity/home.h"
#include "node/rpc/admin_client.h"

namespace hanse::node {

struct ContractCommands {
  std::string* home = nullptr;
  bool json = false;
  std::string dataset_id, purpose, request_id, role, id, out, subject, certification, valid_until,
      file;
  std::vector<std::string> purpose_classes;
  bool resume = false;
  bool force = false;
  std::uint64_t max_rate = 0;
  int idle_timeout = 0;
  int limit = 0;
  std::uint64_t from = 1;
  CLI::App *request = nullptr, *list = nullptr, *show = nullptr, *fetch = nullptr, *issue = nullptr,
           *audit_list = nullptr, *audit_verify = nullptr, *evidence_export = nullptr,
           *evidence_verify = nullptr, *duty_run = nullptr;
};

namespace {

nlohmann::json InfoJson(const hanse::v1::ContractInfo& c) {
  // The signed agreement halves are long and have their own command (evidence export).
  nlohmann::json j = MessageJson(c);
  j.erase("trace_json");
  j.erase("provider_jws");
  j.erase("consumer_jws");
  auto trace = EmbeddedJson(c.trace_json());
  if (!trace.is_null()) j["decision"] = trace;
  return j;
}

// The evaluation trace in words: each constraint, what was required, what was had, the verdict.
void PrintTrace(const std::string& trace_json) {
  auto j = EmbeddedJson(trace_json);
  if (j.is_string()) std::printf("decision trace (not JSON): %s\n", trace_json.c_str());
  if (!j.is_object() || !j.contains("trace")) return;
  std::printf("decision: %s — %s\n", j.value("decision", "").c_str(),
              j.value("reason", "").c_str());
  for (const auto& e : j["trace"]) {
    std::string left = e.value("leftOperand", "");
    std::printf("  %-13s %-32s %s %s %s; had: %s%s%s\n",
                absl::StrCat("[", e.value("verdict", ""), "]").c_str(), e.value("path", "").c_str(),
                left.c_str(), e.value("operator", "").c_str(), e.value("required", "").c_str(),
                e.value("actual", "").empty() ? "(nothing)" : e.value("actual", "").c_str(),
                e.value("note", "").empty() ? "" : " — ", e.value("note", "").c_str());
  }
}

void PrintInfo(const hanse::v1::ContractInfo& c) {
  std::printf(
      "negotiation %s (%s)\n  state:    %s\n  provider: %s\n  consumer: %s\n"
      "  dataset:  %s (version %llu)\n  purpose:  %s\n",
      c.id().c_str(), c.role().c_str(), c.state().c_str(), c.provider().c_str(),
      c.consumer().c_str(), c.dataset_id().c_str(),
      static_cast<unsigned long long>(c.dataset_version()), c.purpose().c_str());
  if (!c.agreement_id().empty()) std::printf("  agreement: %s\n", c.agreement_id().c_str());
  if (c.role() == "provider" && !c.agreement_id().empty()) {
    std::printf("  uses:     %lld\n", static_cast<long long>(c.uses()));
  }
  if (!c.reason().empty()) std::printf("  reason:   %s\n", c.reason().c_str());
  for (const auto& h : c.history()) std::printf("  - %s\n", h.c_str());
}

absl::Status RequestContract(ContractCommands& c, int* exit_code) {
  HANSE_ASSIGN_OR_RETURN(AdminClient client, AdminClient::Connect(*c.home));
  hanse::v1::RequestContractRequest req;
  req.set_dataset_id(c.dataset_id);
  req.set_purpose(c.purpose);
  for (const auto& p : c.purpose_classes) req.add_purpose_classes(p);
  req.set_request_id(c.request_id);
  HANSE_ASSIGN_OR_RETURN(auto info, client.RequestContract(req));
  if (c.json) {
    std::cout << InfoJson(info).dump(2) << "\n";
  } else if (info.state() == "FINALIZED") {
    std::printf("%s\n", info.agreement_id().c_str());
    std::fprintf(stderr,
                 "Agreement %s signed by %s and %s (FINALIZED).\nFetch the data with "
                 "`hanse fetch --home %s %s --out PATH`.\n",
                 info.agreement_id().c_str(), info.provider().c_str(), info.consumer().c_str(),
                 c.home->c_str(), info.agreement_id().c_str());
  } else {
    PrintInfo(info);
    PrintTrace(info.trace_json());
  }
  *exit_code = info.state() == "FINALIZED" ? 0 : 1;
  return absl::OkStatus();
}

absl::Status ListContracts(ContractCommands& c) {
  HANSE_ASSIGN_OR_RETURN(AdminClient client, AdminClient::Connect(*c.home));
  hanse::v1::ListContractsRequest req;
  req.set_role(c.role);
  req.set_limit(c.limit > 0 ? c.limit : 100);
  HANSE_ASSIGN_OR_RETURN(auto resp, client.ListContracts(req));
  if (c.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& info : resp.contracts()) arr.push_back(InfoJson(info));
    std::cout << arr.dump(2) << "\n";
    return absl::OkStatus();
  }
  if (resp.contracts().empty()) std::fprintf(stderr, "No negotiations yet.\n");
  for (const auto& info : resp.contracts()) {
    std::printf("%-10s %-10s %-45s %s\n", info.state().c_str(), info.role().c_str(),
                info.agreement_id().empty() ? info.id().c_str() : info.agreement_id().c_str(),
                info.dataset_id().c_str());
  }
  return absl::OkStatus();
}

absl::Status ShowContract(ContractCommands& c) {
  HANSE_ASSIGN_OR_RETURN(AdminClient client, AdminClient::Connect(*c.home));
  HANSE_ASSIGN_OR_RETURN(auto info, client.GetContract(c.id));
  if (c.json) {
    std::cout << InfoJson(info).dump(2) << "\n";
  } else {
    PrintInfo(info);
    if (!info.trace_json().empty()) PrintTrace(info.trace_json());
  }
  return absl::OkStatus();
}

absl::Status Fetch(ContractCommands& c) {
  HANSE_ASSIGN_OR_RETURN(AdminClient client, AdminClient::Connect(*c.home));
  hanse::v1::FetchDataRequest req;
  req.set_agreement_id(c.id);
  // No --out: the node's own inbox (it prints where).
  if (!c.out.empty()) req.set_out(std::filesystem::absolute(c.out).string());
  req.set_resume(c.resume);
  req.set_force(c.force);
  req.set_max_rate(c.max_rate);
  req.set_idle_timeout_seconds(static_cast<std::uint32_t>(std::max(0, c.idle_timeout)));
  const bool tty = ::isatty(STDERR_FILENO);
  hanse::v1::FetchProgress last;
  absl::Status finished = client.FetchData(req, [&](const hanse::v1::FetchProgress& p) {
    last = p;
    if (tty && !p.done()) {
      std::fprintf(stderr, "\r%s %6.1f / %.1f MiB",
                   Bar(p.received_bytes(), p.total_bytes()).c_str(), p.received_bytes() / 1048576.0,
                   p.total_bytes() / 1048576.0);
    }
  });
  if (tty) std::fprintf(stderr, "\n");
  if (absl::IsUnavailable(finished) && !NodeIsRunning(*c.home)) {
    // The node itself went away (it answers on the admin socket): say so, not "Socket closed".
    return absl::UnavailableError(absl::StrCat(
        "the node at ", *c.home, " stopped during the fetch (", last.received_bytes(),
        " bytes had arrived; they stay in ", last.out().empty() ? req.out() : last.out(),
        ".part): start it again and run "
        "`hanse fetch --resume`"));
  }
  HANSE_RETURN_IF_ERROR(finished);
  // Where the data landed, as the node wrote it (its inbox, or a token holder's confined path).
  std::printf("%s\n", (last.out().empty() ? req.out() : last.out()).c_str());
  std::fprintf(stderr, "Fetched %llu bytes (use %llu); %s.\n",
               static_cast<unsigned long long>(last.received_bytes()),
               static_cast<unsigned long long>(last.use_number()), last.message().c_str());
  return absl::OkStatus();
}

absl::Status IssueCredential(ContractCommands& c) {
  HANSE_ASSIGN_OR_RETURN(AdminClient client, AdminClient::Connect(*c.home));
  hanse::v1::IssueCredentialRequest req;
  req.set_subject(c.subject);
  req.set_certification(c.certification);
  req.set_valid_until(c.valid_until);
  HANSE_ASSIGN_OR_RETURN(auto resp, client.IssueCredential(req));
  std::printf("%s\n", resp.id().c_str());
  std::fprintf(stderr,
               "Certification \"%s\" issued to %s (sequence %llu); it replicates to every "
               "member.\n",
               c.certification.c_str(), c.subject.c_str(),
               static_cast<unsigned long long>(resp.sequence()));
  return absl::OkStatus();
}

absl::Status AuditList(ContractCommands& c) {
  HANSE_ASSIGN_OR_RETURN(AdminClient client, AdminClient::Connect(*c.home));
  hanse::v1::ListAuditRequest req;
  req.set_from_index(c.from);
  req.set_limit(c.limit > 0 ? c.limit : 100);
  req.set_subject(c.subject);
  HANSE_ASSIGN_OR_RETURN(auto resp, client.ListAudit(req));
  if (c.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : resp.entries()) {
      nlohmann::json j = MessageJson(e);
      j.erase("details_json");
      j["details"] = EmbeddedJson(e.details_json());
      arr.push_back(std::move(j));
    }
    std::cout << arr.dump(2) << "\n";
    return absl::OkStatus();
  }
  for (const auto& e : resp.entries()) {
    std::printf("%6llu %s %-22s %s\n", static_cast<unsigned long long>(e.index()), e.time().c_str(),
                e.kind().c_str(), e.subject().c_str());
  }
  return absl::OkStatus();
}

// Verifies through the running node, or straight from the store when the node is stopped.
absl::Status AuditVerify(ContractCommands& c, int* exit_code) {
  hanse::v1::VerifyAuditResponse r;
  if (NodeIsRunning(*c.home)) {
    HANSE_ASSIGN_OR_RETURN(AdminClient client, AdminClient::Connect(*c.home));
    HANSE_ASSIGN_OR_RETURN(r, client.VerifyAudit());
  } else {
    HANSE_ASSIGN_OR_RETURN(Home home, LoadHome(*c.home, Clock::Real().Now()));
    HANSE_ASSIGN_OR_RETURN(auto store, catalog::OpenRocksStore(home.paths.store, {}));
    auto log = audit::AuditLog::Open(
        store.get(), home.identity.participant_key,
        {.tail_mark = home.paths.dir + "/audit.tail", .tail_mark_read_only = true});
    if (!log.ok()) {
      // A tail that does not match the entries is itself tampering: say so, exit 1.
      std::printf("audit log: TAMPERED\n  %s\n", std::string(log.status().message()).c_str());
      *exit_code = 1;
      return absl::OkStatus();
    }
    HANSE_ASSIGN_OR_RETURN(audit::AuditVerifyReport report, (*log)->Verify());
    r.set_ok(report.ok);
    r.set_entries(report.entries);
    r.set_heads(report.heads);
    r.set_first_bad_index(report.first_bad_index);
    r.set_problem(report.problem);
  }
  if (c.json) {
    std::cout << nlohmann::json{{"ok", r.ok()},
                                {"entries", r.entries()},
                                {"heads", r.heads()},
                                {"first_bad_index", r.first_bad_index()},
                                {"problem", r.problem()}}
                     .dump(2)
              << "\n";
  } else if (r.ok()) {
    std::printf("audit log: OK (%llu entries, %llu signed heads, hash chain intact)\n",
                static_cast<unsigned long long>(r.entries()),
                static_cast<unsigned long long>(r.heads()));
  } else {
    std::printf("audit log: TAMPERED\n  first bad entry: %llu\n  %s\n",
                static_cast<unsigned long long>(r.first_bad_index()), r.problem().c_str());
  }
  *exit_code = r.ok() ? 0 : 1;
  return absl::OkStatus();
}

absl::Status EvidenceExport(ContractCommands& c) {
  HANSE_ASSIGN_OR_RETURN(AdminClient client, AdminClient::Connect(*c.home));
  hanse::v1::ExportEvidenceRequest req;
  req.set_agreement_id(c.id);
  HANSE_ASSIGN_OR_RETURN(auto resp, client.ExportEvidence(req));
  std::cout << resp.bundle_json() << "\n";
  return absl::OkStatus();
}

absl::Status EvidenceVerify(ContractCommands& c, int* exit_code) {
  HANSE_ASSIGN_OR_RETURN(std::string bundle, ReadFile(c.file, 16 << 20), "evidence bundle");
  auto report = audit::VerifyEvidenceBundle(bundle);
  if (!report.ok()) {
    std::printf("evidence: INVALID\n  %s\n", std::string(report.status().message()).c_str());
    *exit_code = 1;
    return absl::OkStatus();
  }
  if (c.json) {
    std::cout << nlohmann::json{{"ok", true},
                                {"agreement", report->agreement.id},
                                {"provider", report->agreement.provider},
                                {"consumer", report->agreement.consumer},
                                {"log_owner", report->log_owner},
                                {"receipts", report->receipts.size()},
                                {"entries", report->entries.size()},
                                {"redacted_entries", report->redacted_entries},
                                {"heads", report->heads.size()}}
                     .dump(2)
              << "\n";
  } else {
    std::printf(
        "evidence: VALID\n  agreement: %s\n  provider:  %s\n  consumer:  %s\n"
        "  log owner: %s\n  receipts co-signed by both: %zu\n  audit entries: %zu "
        "disclosed, %llu redacted, under %zu signed head(s)\n",
        report->agreement.id.c_str(), report->agreement.provider.c_str(),
        report->agreement.consumer.c_str(), report->log_owner.c_str(), report->receipts.size(),
        report->entries.size(), static_cast<unsigned long long>(report->redacted_entries),
        report->heads.size());
    for (const auto& e : report->entries) {
      std::printf("    %6llu %-22s %s\n", static_cast<unsigned long long>(e.index),
                  e.event.kind.c_str(),
                  absl::FormatTime(absl::RFC3339_sec, e.event.time, absl::UTCTimeZone()).c_str());
    }
  }
  *exit_code = 0;
  return absl::OkStatus();
}

absl::Status DutyRun(ContractCommands& c) {
  HANSE_ASSIGN_OR_RETURN(AdminClient client, AdminClient::Connect(*c.home));
  HANSE_ASSIGN_OR_RETURN(auto resp, client.RunDuties());
  if (resp.results().empty()) std::fprintf(stderr, "No duty is due.\n");
  for (const auto& line : resp.results()) std::printf("%s\n", line.c_str());
  return absl::OkStatus();
}

}  // namespace

std::shared_ptr<ContractCommands> AddContractCommands(
    CLI::App& app, std::string* home, const std::function<void(CLI::App*)>& add_home) {
  auto c = std::make_shared<ContractCommands>();
  c->home = home;

  auto* contract = app.add_subcommand("contract", "Negotiate contracts for datasets");
  contract->require_subcommand(1);
  c->request = contract->add_subcommand(
      "request",
      "Negotiate with the dataset's provider (exit 0 agreement signed by both, 1 denied: the "
      "trace says which constraint failed)");
  add_home(c->request);
  c->request->add_option("dataset", c->dataset_id, "Dataset id (from `hanse search`)")->required();
  c->request->add_option("--purpose", c->purpose, "Purpose IRI, e.g. hanse:MedicalResearch")
      ->required();
  c->request->add_option("--purpose-class", c->purpose_classes,
                         "A class the purpose belongs to (repeat)");
  c->request->add_option("--request-id", c->request_id,
                         "Retry a negotiation idempotently under this id");
  c->request->add_flag("--json", c->json, "JSON output");
  c->list = contract->add_subcommand("list", "Negotiations and agreements on this node");
  add_home(c->list);
  c->list->add_option("--role", c->role, "provider or consumer")
      ->check(CLI::IsMember({"provider", "consumer"}));
  c->list->add_option("--limit", c->limit, "At most N (default 100)");
  c->list->add_flag("--json", c->json, "JSON output");
  c->show = contract->add_subcommand("show", "One negotiation or agreement, with its history");
  add_home(c->show);
  c->show->add_option("id", c->id, "Negotiation or agreement id")->required();
  c->show->add_flag("--json", c->json, "JSON output");

  c->fetch = app.add_subcommand(
      "fetch",
      "Fetch the data of an agreement over mTLS; checks its SHA-256 against the signed "
      "self-description");
  add_home(c->fetch);
  c->fetch->add_option("agreement", c->id, "Agreement id")->required();
  c->fetch->add_option("--out", c->out,
                       "Where the node writes the data (default: its inbox, "
                       "HOME/inbox/AGREEMENT/DATASET; the path is printed)");
  c->fetch->add_flag("--resume", c->resume, "Continue an interrupted fetch from OUT.part");
  c->fetch->add_flag("--force", c->force, "Replace OUT if it exists");
  c->fetch->add_option("--max-rate", c->max_rate, "Bandwidth cap in bytes per second");
  c->fetch->add_option("--idle-timeout", c->idle_timeout,
                       "Give up when the provider sends nothing for this many seconds (default: "
                       "the node's fetch_idle_timeout_seconds, 30); --resume continues");

  auto* credential = app.add_subcommand("credential", "Certification credentials");
  credential->require_subcommand(1);
  c->issue = credential->add_subcommand(
      "issue", "Sign a certification credential for another member (replicates by gossip)");
  add_home(c->issue);
  c->issue->add_option("--subject", c->subject, "The holder's DID")->required();
  c->issue->add_option("--certification", c->certification, "e.g. health-data-hosting")->required();
  c->issue->add_option("--valid-until", c->valid_until, "RFC 3339 expiry (default: none)");

  auto* audit_cmd = app.add_subcommand("audit", "The hash-chained audit log");
  audit_cmd->require_subcommand(1);
  c->audit_list = audit_cmd->add_subcommand("list", "Audit entries, oldest first");
  add_home(c->audit_list);
  c->audit_list->add_option("--from", c->from, "First index")->capture_default_str();
  c->audit_list->add_option("--limit", c->limit, "At most N (default 100)");
  c->audit_list->add_option("--subject", c->subject, "Only entries about this id");
  c->audit_list->add_flag("--json", c->json, "JSON output");
  c->audit_verify = audit_cmd->add_subcommand(
      "verify",
      "Recompute the hash chain and signed heads (exit 1 and the first bad entry on "
      "tampering); works on a stopped node too");
  add_home(c->audit_verify);
  c->audit_verify->add_flag("--json", c->json, "JSON output");

  auto* evidence = app.add_subcommand("evidence", "Evidence bundles a third party can verify");
  evidence->require_subcommand(1);
  c->evidence_export = evidence->add_subcommand(
      "export", "Agreement, co-signed receipts, cards and audit entries with their chain (JSON)");
  add_home(c->evidence_export);
  c->evidence_export->add_option("agreement", c->id, "Agreement id")->required();
  c->evidence_verify =
      evidence->add_subcommand("verify", "Verify a bundle offline, with no node (exit 1 if not)");
  c->evidence_verify->add_option("bundle", c->file, "Bundle file")->required();
  c->evidence_verify->add_flag("--json", c->json, "JSON output");

  auto* duty = app.add_subcommand("duty", "Duties agreements impose on this node");
  duty->require_subcommand(1);
  c->duty_run = duty->add_subcommand("run", "Run the duties that are due now");
  add_home(c->duty_run);
  return c;
}

std::optional<int> RunContractCommands(ContractCommands& c) {
  int exit_code = 0;
  absl::Status s;
  if (*c.request) {
    s = RequestContract(c, &exit_code);
  } else if (*c.list) {
    s = ListContracts(c);
  } else if (*c.show) {
    s = ShowContract(c);
  } else if (*c.fetch) {
    s = Fetch(c);
  } else if (*c.issue) {
    s = IssueCredential(c);
  } else if (*c.audit_list) {
    s = AuditList(c);
  } else if (*c.audit_verify) {
    s = AuditVerify(c, &exit_code);
  } else if (*c.evidence_export) {
    s = EvidenceExport(c);
  } else if (*c.evidence_verify) {
    s = EvidenceVerify(c, &exit_code);
  } else if (*c.duty_run) {
    s = DutyRun(c);
  } else {
    return std::nullopt;
  }
  if (!s.ok()) {
    PrintError(s);
    return ExitCode(s);
  }
  return exit_code;
}

}  // namespace hanse::node
