// The `hanse` commands, one file per group (node/cli/*_commands.cc), wired to the command line
// in main.cc; the contract, transfer, audit and evidence commands are in contract_commands.h.
// Each returns the status the command line prints (`hanse: error: ...`, exit code 1).
#ifndef HANSE_NODE_CLI_COMMANDS_H_
#define HANSE_NODE_CLI_COMMANDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "hanse/v1/admin.pb.h"
#include "nlohmann/json.hpp"
#include "node/identity/home.h"

namespace hanse::node {

// Output shared by the commands (output.cc)

void PrintError(const absl::Status& status);
// The exit code of a failed command (docs/operations.md, "Errors and what to do"): 3 when the
// node or a peer could not be reached (not running, no answer, a deadline passed), else 1.
int ExitCode(const absl::Status& status);
// A command's result on stdout: `result` as JSON with --json, else the line `text`.
void PrintResult(bool json, const nlohmann::json& result, const std::string& text);
std::string PeerRow(const hanse::v1::Peer& p);
// A message as `--json` prints it: every field (defaults too) under its proto field name, 64-bit
// integers as JSON numbers (protobuf's JSON printer writes them as strings, which scripts
// reading a count or a sequence would have to convert), enums by name, nested messages and
// repeated fields as objects and arrays.
nlohmann::json MessageJson(const google::protobuf::Message& message);
// A JSON text the node sent inside a message (a decision trace, audit details): the value, null
// when empty, or the text itself as a string when it does not parse (shown, never dropped).
nlohmann::json EmbeddedJson(const std::string& text);
// Shortens UTF-8 text to at most n characters (code points), ending in "..." when cut.
std::string Clip(absl::string_view s, size_t n);
// A table cell: clipped to `width` characters and padded with spaces to exactly that many (a
// printf width counts bytes, so "Universitätsklinikum" would be one column short).
std::string Cell(absl::string_view s, size_t width);
// A 30-column progress bar, "[#####     ]" (full when `total` is 0).
std::string Bar(std::uint64_t got, std::uint64_t total);
// "\rWHAT [####  ]  12.0 / 48.0 MiB ( 25%)" on stderr (no bar when `total` is 0: not known).
void PrintProgress(absl::string_view what, std::uint64_t done, std::uint64_t total);

// init, card, peer, status, node run (node_commands.cc)

// if_missing: a complete home already at options.dir is left as it is (exit 0, its DID printed),
// so an init step can run at every start (a Kubernetes init container).
absl::Status CmdInit(const InitOptions& options, bool if_missing, bool json);
// The live card from a running node (with its bound endpoint), else one signed from the home.
absl::StatusOr<std::string> CurrentCard(const std::string& home_dir);
absl::Status CmdCard(const std::string& home_dir, const std::string& out);
absl::Status CmdCertRenew(const std::string& home_dir, bool json);
// Sets "endpoint" in config.json; a running node signs and replicates the card update at once,
// a stopped one when it starts.
absl::Status CmdCardUpdate(const std::string& home_dir, const std::string& endpoint);
// A consistent snapshot of the home (online when the node runs) in one archive.
absl::Status CmdBackup(const std::string& home_dir, const std::string& out);

// access grant|list|revoke (access_commands.cc)
absl::Status CmdAccessGrant(const std::string& home_dir, const std::string& role,
                            const std::string& name, bool json);
absl::Status CmdAccessList(const std::string& home_dir, bool json);
absl::Status CmdAccessRevoke(const std::string& home_dir, const std::string& name);
// if_missing as for CmdInit: a complete home at home_dir is left as it is.
absl::Status CmdRestore(const std::string& archive, const std::string& home_dir, bool if_missing,
                        bool json);
absl::Status CmdPeerAdd(const std::string& home_dir, const std::string& card_file, bool json);
absl::Status CmdPeerList(const std::string& home_dir, bool json);
absl::Status CmdPeerPing(const std::string& home_dir, const std::string& target, bool json);
absl::Status CmdStatus(const std::string& home_dir, bool json);
absl::Status CmdNodeRun(const std::string& home_dir, const std::string& log_format,
                        const std::string& log_level, bool sign_without_peers);

// dataset, search, catalog export, document verify (catalog_commands.cc)

absl::Status CmdDatasetPublish(const std::string& home_dir, const std::string& file, bool json);
absl::Status CmdDatasetList(const std::string& home_dir, bool mine, int limit, bool json);
// `format` "json" (the decoded document), "jws" (the signed compact JWS) or "dcat" (a dataset as
// the Dataspace Protocol 2025-1 dataset a dataset request returns).
absl::Status CmdDatasetShow(const std::string& home_dir, const std::string& id,
                            const std::string& format);
absl::Status CmdDatasetUnpublish(const std::string& home_dir, const std::string& id, bool json);
absl::Status CmdSearch(const std::string& home_dir, const std::vector<std::string>& words,
                       int limit, const std::string& cursor, bool live, bool json);
absl::Status CmdCatalogExport(const std::string& home_dir, const std::string& format);
// Offline: needs no node. Each non-empty line of FILE is one compact JWS.
absl::Status CmdDocumentVerify(const std::string& file, bool json);

// federation draft|sign|join, member propose|endorse|revoke|list (federation_commands.cc)

absl::Status CmdFederationDraft(const std::string& name, int k, int r,
                                const std::vector<std::string>& founders);
absl::Status CmdFederationSign(const std::string& home_dir, const std::string& charter_file,
                               const std::string& out);
absl::Status CmdFederationJoin(const std::string& home_dir, const std::string& charter_file,
                               const std::string& bootstrap, bool json);
absl::Status CmdMemberPropose(const std::string& home_dir, const std::string& card_file, bool json);
absl::Status CmdMemberEndorse(const std::string& home_dir, const std::string& did, bool json);
absl::Status CmdMemberRevoke(const std::string& home_dir, const std::string& did,
                             const std::string& reason, bool json);
absl::Status CmdMemberList(const std::string& home_dir, bool pending_only, bool json);
absl::Status CmdFederationLeave(const std::string& home_dir, const std::string& reason, bool json);

// policy check (policy_commands.cc)

// Exit codes: 0 permit, 1 deny, 2 unreadable or malformed input.
int CmdPolicyCheck(const std::string& policy_file, const std::string& request_file, bool json);

}  // namespace hanse::node

#endif  // HANSE_NODE_CLI_COMMANDS_H_
