// The `hanse` command: node setup, the daemon, and the operator's tools.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
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
#include "node/cli/completion.h"
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
namespace {

constexpr const char* kInitHelp =
    R"(Create a node home: a participant key (the root of this member's identity) and its
did:key DID, a separate node TLS key with an X.509 certificate issued by the participant
key (DID as URI SAN; clientAuth and serverAuth), config.json, and an empty RocksDB store.
Key files are written with mode 0600. An existing directory is never touched.)";

constexpr const char* kRunHelp =
    R"(Run the node in the foreground: the federation gRPC server (mutual TLS; callers must
present a certificate issued by a trusted peer's participant key) and the admin gRPC server
on DIR/admin.sock (mode 0600). SIGTERM or SIGINT stops it gracefully: no new calls, calls in
flight get shutdown_grace_seconds, the store is closed, exit code 0.)";

}  // namespace

int Main(int argc, char** argv) {
  // What hanse creates without an explicit mode (the store's files and directories, fetched
  // data) is its user's alone; files with a mode of their own (cards, config) keep it exactly.
  ::umask(077);
  CLI::App app{
      "hanse: a federated data-space node. Each member organisation runs one node;\n"
      "nodes trust each other through signed member cards and talk over mutual TLS.",
      "hanse"};
  app.set_version_flag("--version", std::string("hanse ") + VersionLine());
  // No -h: "-home" (one dash) would read as -h and print the help with exit code 0.
  app.set_help_flag("--help", "Print this help message and exit");
  app.require_subcommand(1);
  app.fallthrough();

  std::string home;
  bool json = false;
  auto add_home = [&](CLI::App* cmd) {
    cmd->add_option("--home", home, "Node home directory")->envname("HANSE_HOME")->required();
  };
  InitOptions init_options;
  auto* init = app.add_subcommand("init", "Create a node home with a new identity");
  init->footer(kInitHelp);
  init->add_option("--home", init_options.dir, "Directory to create (must not exist)")->required();
  init->add_option("--name", init_options.legal_name, "Legal name of the member organisation")
      ->required();
  init->add_option("--country", init_options.country,
                   "Country of legal seat, ISO 3166-1 alpha-2 (e.g. FR)")
      ->required();
  init->add_option("--listen", init_options.listen,
                   "Federation address HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  init->add_option("--endpoint", init_options.endpoint,
                   "HOST:PORT peers dial (default: the --listen address; required when it is "
                   "0.0.0.0 or ::)");
  init->add_option("--registration-number", init_options.registration_number,
                   "Company or public-body registration number (in the self-description)");
  init->add_option("--jurisdiction", init_options.jurisdictions,
                   "A jurisdiction whose law applies to the member (ISO code or EU; repeat; "
                   "default: the country)");
  init->add_option("--ca-validity-days", init_options.ca_validity_days,
                   "Lifetime of the participant CA certificate (30-36500 days)")
      ->capture_default_str();
  init->add_option("--key-type", init_options.key_type, "Participant key type")
      ->check(CLI::IsMember({"p256", "ed25519"}))
      ->capture_default_str();
  init->add_option("--ops-listen", init_options.ops_listen,
                   "HOST:PORT of the ops HTTP endpoint (/livez, /readyz, /metrics; config "
                   "ops_listen; default: off)");
  bool if_missing = false;
  init->add_flag("--if-missing", if_missing,
                 "If --home is already a complete node home, print its DID and leave it as it is "
                 "(exit 0): for an init step that runs at every start");

  std::string card_out;
  auto* card = app.add_subcommand("card", "Print this member's signed card (JSON) for peers");
  // Not required here: `card update` takes its own --home.
  card->add_option("--home", home, "Node home directory")->envname("HANSE_HOME");
  card->add_option("--out", card_out, "Write the card to FILE instead of stdout");
  std::string new_endpoint;
  auto* card_update = card->add_subcommand(
      "update",
      "Change the endpoint peers dial: sets it in config.json and signs a card update that every "
      "member receives by gossip (at once when the node runs, else when it starts)");
  add_home(card_update);
  card_update->add_option("--endpoint", new_endpoint, "HOST:PORT the other members dial")
      ->required();

  std::string backup_out, backup_file;
  auto* backup = app.add_subcommand(
      "backup",
      "Write a consistent snapshot of the home (store checkpoint, sequence ledger, config, keys, "
      "data) to one archive; works while the node runs");
  add_home(backup);
  backup->add_option("--out", backup_out, "Archive to write (must not exist), e.g. node.tar.zst")
      ->required();
  auto* restore = app.add_subcommand(
      "restore",
      "Restore a backup archive into a new home (the node then resumes its sequences "
      "past what the members hold)");
  restore->add_option("archive", backup_file, "Archive from `hanse backup`")->required();
  add_home(restore);
  restore->add_flag("--if-missing", if_missing,
                    "If --home is already a complete node home, leave it as it is (exit 0)");

  auto* access = app.add_subcommand(
      "access",
      "Scoped tokens for local users and automation: they reach the node on its access socket "
      "(HANSE_TOKEN, HANSE_SOCKET) with the rights of their role");
  access->require_subcommand(1);
  std::string access_role, access_name;
  auto* access_grant = access->add_subcommand(
      "grant", "Create a token for NAME with a role; prints it once (stored hashed)");
  add_home(access_grant);
  access_grant
      ->add_option("--role", access_role,
                   "consumer (search, negotiate, fetch), steward (also publish, unpublish, "
                   "issue credentials, read the audit) or operator (everything)")
      ->required();
  access_grant->add_option("--name", access_name, "Who holds it, e.g. lab-robot")->required();
  auto* access_list = access->add_subcommand("list", "The grants: name, role, created");
  add_home(access_list);
  access_list->add_flag("--json", json, "Print JSON");
  auto* access_revoke = access->add_subcommand("revoke", "Withdraw a grant by name");
  add_home(access_revoke);
  access_revoke->add_option("name", access_name, "The grant's name")->required();

  auto* peer = app.add_subcommand("peer", "Manage and reach trusted peers");
  peer->require_subcommand(1);
  std::string card_file;
  auto* peer_add = peer->add_subcommand("add", "Trust a peer from its card (live if running)");
  add_home(peer_add);
  peer_add->add_option("card", card_file, "Card file from the peer's `hanse card`")->required();
  auto* peer_list = peer->add_subcommand("list", "List trusted peers (node must run)");
  add_home(peer_list);
  peer_list->add_flag("--json", json, "JSON output");
  std::string target;
  auto* peer_ping = peer->add_subcommand(
      "ping", "Call a peer over mutual TLS; print its DID and the round-trip time");
  add_home(peer_ping);
  peer_ping->add_option("target", target, "A trusted peer's DID, or HOST:PORT")->required();
  peer_ping->add_flag("--json", json, "JSON output");

  auto* node_cmd = app.add_subcommand("node", "Run the node");
  node_cmd->require_subcommand(1);
  std::string log_format, log_level;
  auto* run = node_cmd->add_subcommand("run", "Run the node in the foreground");
  run->footer(kRunHelp);
  add_home(run);
  run->add_option("--log-format", log_format, "text (default) or json lines")
      ->check(CLI::IsMember({"text", "json"}));
  bool sign_without_peers = false;
  run->add_flag("--sign-without-peers", sign_without_peers,
                "Publish even before any member has been reached since start (only for a home "
                "that was not restored from a backup; see docs/operations.md)");
  run->add_option("--log-level", log_level, "debug, info (default), warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  auto* dataset = app.add_subcommand("dataset", "Publish and manage this node's datasets");
  dataset->require_subcommand(1);
  std::string file, id;
  int limit = 0;
  bool mine = false, show_jws = false;
  auto* ds_publish = dataset->add_subcommand(
      "publish", "Sign and publish a dataset description (docs/catalogue.md: the JSON format)");
  add_home(ds_publish);
  ds_publish->add_option("file", file, "Publish JSON file")->required();
  ds_publish->add_flag("--json", json, "JSON output");
  auto* ds_list = dataset->add_subcommand("list", "List datasets in the local catalogue");
  add_home(ds_list);
  ds_list->add_flag("--mine", mine, "Only this node's datasets");
  ds_list->add_option("--limit", limit, "At most N rows (default 100)");
  ds_list->add_flag("--json", json, "JSON output");
  std::string show_format = "json";
  auto* ds_show = dataset->add_subcommand(
      "show", "Show one document (decoded, --jws, or --format dcat for a DSP dataset)");
  add_home(ds_show);
  ds_show->add_option("id", id, "Document id")->required();
  ds_show->add_flag("--jws", show_jws, "Print the signed compact JWS (same as --format jws)");
  ds_show
      ->add_option("--format", show_format,
                   "json (the decoded document), jws, or dcat (a dataset as a Dataspace Protocol "
                   "2025-1 dataset)")
      ->check(CLI::IsMember({"json", "jws", "dcat"}))
      ->capture_default_str();
  auto* ds_unpublish = dataset->add_subcommand("unpublish", "Publish a signed tombstone");
  add_home(ds_unpublish);
  ds_unpublish->add_option("id", id, "Dataset id")->required();

  std::vector<std::string> query_words;
  std::string cursor;
  int search_limit = 10;
  auto* search = app.add_subcommand(
      "search", "Search the catalogue, e.g. 'air quality theme:environment country:FR'");
  add_home(search);
  search->add_option("query", query_words, "Query (docs/catalogue.md: syntax)");
  search->add_option("--limit", search_limit, "Hits per page (1-1000)")->capture_default_str();
  search->add_option("--cursor", cursor, "Continue from a previous page");
  search->add_flag("--json", json, "JSON output");
  bool live = false;
  search->add_flag("--live", live,
                   "Ask every member now (2 s deadline) instead of the local replica; reports "
                   "who answered");

  auto* catalog_cmd = app.add_subcommand("catalog", "The catalogue as a whole");
  catalog_cmd->require_subcommand(1);
  std::string format = "dcat";
  auto* export_cmd = catalog_cmd->add_subcommand(
      "export",
      "DCAT JSON-LD (a Dataspace Protocol 2025-1 catalog), or every signed document as JWS");
  add_home(export_cmd);
  export_cmd->add_option("--format", format, "dcat (DSP 2025-1) or jws")
      ->check(CLI::IsMember({"dcat", "jws"}))
      ->capture_default_str();

  auto* document = app.add_subcommand("document", "Signed documents");
  document->require_subcommand(1);
  auto* doc_verify = document->add_subcommand(
      "verify", "Verify signed documents offline (one compact JWS per line); says why one fails");
  doc_verify->add_option("file", file, "File with compact JWS documents")->required();
  doc_verify->add_flag("--json", json, "JSON output");

  auto* federation = app.add_subcommand("federation", "Found or join a federation (a charter)");
  federation->require_subcommand(1);
  std::string fed_name, charter_file, bootstrap, out_file;
  int k_admit = 0, k_revoke = 0;
  std::vector<std::string> founder_cards;
  auto* fed_draft = federation->add_subcommand(
      "draft", "Write an unsigned charter: name, thresholds, founders' cards (to stdout)");
  fed_draft->add_option("--name", fed_name, "Federation name")->required();
  fed_draft
      ->add_option("--admission-threshold", k_admit,
                   "Endorsements of distinct members needed to admit")
      ->required();
  fed_draft
      ->add_option("--revocation-threshold", k_revoke, "Votes of distinct members needed to revoke")
      ->required();
  fed_draft->add_option("--founder", founder_cards, "A founder's card file (repeat)")->required();
  auto* fed_sign = federation->add_subcommand(
      "sign", "Add this founder's signature to a charter (prints the signed charter)");
  add_home(fed_sign);
  fed_sign->add_option("charter", charter_file, "Charter file")->required();
  fed_sign->add_option("--out", out_file, "Write to FILE instead of stdout");
  auto* fed_join = federation->add_subcommand(
      "join", "Join the federation of a charter signed by every founder (the node must run)");
  add_home(fed_join);
  fed_join->add_option("charter", charter_file, "Charter file")->required();
  fed_join->add_option("--bootstrap", bootstrap,
                       "HOST:PORT of any member to fetch membership records from");

  auto* fed_leave = federation->add_subcommand(
      "leave",
      "Leave the federation for good: a signed departure sent to every member (distinct from a "
      "revocation; the DID cannot rejoin)");
  add_home(fed_leave);
  std::string leave_reason;
  fed_leave->add_option("--reason", leave_reason, "Why (recorded in the signed departure)")
      ->required();

  auto* member = app.add_subcommand("member", "Admission and revocation of members");
  member->require_subcommand(1);
  std::string did, reason;
  auto* m_propose = member->add_subcommand("propose", "Propose an applicant (your endorsement)");
  add_home(m_propose);
  m_propose->add_option("card", file, "The applicant's card file")->required();
  auto* m_endorse = member->add_subcommand("endorse", "Endorse a pending applicant");
  add_home(m_endorse);
  m_endorse->add_option("did", did, "The applicant's DID")->required();
  auto* m_revoke = member->add_subcommand("revoke", "Vote to revoke a member (permanent at R)");
  add_home(m_revoke);
  m_revoke->add_option("did", did, "The member's DID")->required();
  m_revoke->add_option("--reason", reason, "Why (recorded in the signed vote)")->required();
  auto* m_list = member->add_subcommand("list", "Members, who endorsed whom, pending, revoked");
  add_home(m_list);
  m_list->add_flag("--json", json, "JSON output");
  auto* m_pending = member->add_subcommand("pending", "Pending admissions and revocations");
  add_home(m_pending);
  m_pending->add_flag("--json", json, "JSON output");

  auto* policy_cmd = app.add_subcommand("policy", "Usage policies (ODRL)");
  policy_cmd->require_subcommand(1);
  std::string policy_file, request_file;
  auto* policy_check = policy_cmd->add_subcommand(
      "check",
      "Evaluate a policy against a request offline and print the decision with its "
      "trace (exit 0 permit, 1 deny, 2 bad input)");
  policy_check->add_option("--policy", policy_file, "ODRL policy (JSON-LD)")->required();
  policy_check->add_option("--request", request_file, "Request (docs/policies.md)")->required();
  policy_check->add_flag("--json", json, "JSON output");

  auto contract_commands = AddContractCommands(app, &home, add_home);

  auto* version =
      app.add_subcommand("version", "Print the version and the commit it was built from");
  auto* completion = app.add_subcommand(
      "completion",
      "Print a shell completion script: `source <(hanse completion bash)` (make install puts it "
      "where bash-completion finds it)");
  std::string shell;
  completion->add_option("shell", shell, "The shell: bash")
      ->required()
      ->check(CLI::IsMember({"bash"}));

  auto* cert = app.add_subcommand("cert", "The node's TLS certificate");
  cert->require_subcommand(1);
  auto* cert_renew = cert->add_subcommand(
      "renew",
      "Issue a new node key and certificate from the participant key (a running node uses them "
      "for new connections within seconds; calls in flight finish on the old ones)");
  add_home(cert_renew);

  auto* status = app.add_subcommand("status", "Show a running node's DID, address, peers, uptime");
  add_home(status);
  status->add_flag("--json", json, "JSON output");

  // Every command that prints a result can print it as JSON (the others have their own flag
  // above, beside their options).
  for (CLI::App* cmd : {init, restore, version, access_grant, peer_add, ds_unpublish, fed_join,
                        fed_leave, m_propose, m_endorse, m_revoke, cert_renew}) {
    cmd->add_flag("--json", json, "JSON output");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors: one line on stderr and exit code 2 (docs/operations.md, "Exit codes").
    std::string message = e.what();
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
        message.find("subcommand") != std::string::npos) {
      std::vector<std::string> rest = app.remaining();
      bool option = !rest.empty() && absl::StartsWith(rest.front(), "-");
      message = option ? absl::StrCat("unknown option \"", rest.front(),
                                      "\" (long options take two dashes, e.g. --home)")
                : rest.empty() || rest.front().empty()
                    ? "a command is required (`hanse --help` lists them)"
                    : absl::StrCat("unknown command \"", rest.front(),
                                   "\" (`hanse --help` lists them; `hanse COMMAND --help` the "
                                   "subcommands of one)");
    } else if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
      message = absl::StrCat("unknown command or argument: ", message.substr(message.find(':') + 1),
                             " (`hanse --help` lists the commands, `hanse COMMAND --help` its "
                             "options)");
    }
    std::fprintf(stderr, "hanse: error: %s\n", message.c_str());
    return 2;
  }

  if (*version) {
    PrintResult(json, {{"version", VersionLine()}}, absl::StrCat("hanse ", VersionLine()));
    return 0;
  }
  if (*completion) {
    std::fputs(BashCompletion(app).c_str(), stdout);
    return 0;
  }
  if (*policy_check) return CmdPolicyCheck(policy_file, request_file, json);
  if (auto code = RunContractCommands(*contract_commands)) return *code;

  absl::Status result;
  if (*init) {
    result = CmdInit(init_options, if_missing, json);
  } else if (*card_update) {
    result = CmdCardUpdate(home, new_endpoint);
  } else if (*card) {
    result =
        home.empty() ? absl::InvalidArgumentError("--home is required") : CmdCard(home, card_out);
  } else if (*backup) {
    result = CmdBackup(home, backup_out);
  } else if (*access_grant) {
    result = CmdAccessGrant(home, access_role, access_name, json);
  } else if (*access_list) {
    result = CmdAccessList(home, json);
  } else if (*access_revoke) {
    result = CmdAccessRevoke(home, access_name);
  } else if (*restore) {
    result = CmdRestore(backup_file, home, if_missing, json);
  } else if (*fed_leave) {
    result = CmdFederationLeave(home, leave_reason, json);
  } else if (*cert_renew) {
    result = CmdCertRenew(home, json);
  } else if (*peer_add) {
    result = CmdPeerAdd(home, card_file, json);
  } else if (*peer_list) {
    result = CmdPeerList(home, json);
  } else if (*peer_ping) {
    result = CmdPeerPing(home, target, json);
  } else if (*run) {
    result = CmdNodeRun(home, log_format, log_level, sign_without_peers);
  } else if (*ds_publish) {
    result = CmdDatasetPublish(home, file, json);
  } else if (*ds_list) {
    result = CmdDatasetList(home, mine, limit, json);
  } else if (*ds_show) {
    result = CmdDatasetShow(home, id, show_jws ? "jws" : show_format);
  } else if (*ds_unpublish) {
    result = CmdDatasetUnpublish(home, id, json);
  } else if (*search) {
    result = CmdSearch(home, query_words, search_limit, cursor, live, json);
  } else if (*export_cmd) {
    result = CmdCatalogExport(home, format);
  } else if (*doc_verify) {
    result = CmdDocumentVerify(file, json);
  } else if (*fed_draft) {
    result = CmdFederationDraft(fed_name, k_admit, k_revoke, founder_cards);
  } else if (*fed_sign) {
    result = CmdFederationSign(home, charter_file, out_file);
  } else if (*fed_join) {
    result = CmdFederationJoin(home, charter_file, bootstrap, json);
  } else if (*m_propose) {
    result = CmdMemberPropose(home, file, json);
  } else if (*m_endorse) {
    result = CmdMemberEndorse(home, did, json);
  } else if (*m_revoke) {
    result = CmdMemberRevoke(home, did, reason, json);
  } else if (*m_list) {
    result = CmdMemberList(home, false, json);
  } else if (*m_pending) {
    result = CmdMemberList(home, true, json);
  } else if (*status) {
    result = CmdStatus(home, json);
  }
  if (!result.ok()) {
    PrintError(result);
    return ExitCode(result);
  }
  return 0;
}

}  // namespace hanse::node

int main(int argc, char** argv) { return hanse::node::Main(argc, argv); }
