// The `hanse` commands of contracts, transfer, credentials, audit and evidence:
//   contract request|list|show, fetch, credential issue, audit list|verify,
//   evidence export|verify, duty run.
#ifndef HANSE_NODE_CLI_CONTRACT_COMMANDS_H_
#define HANSE_NODE_CLI_CONTRACT_COMMANDS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace hanse::node {

struct ContractCommands;

// Adds the commands to `app`; `home` is where --home lands (shared with the other commands).
std::shared_ptr<ContractCommands> AddContractCommands(
    CLI::App& app, std::string* home, const std::function<void(CLI::App*)>& add_home);

// The exit code when one of these commands was chosen, nullopt otherwise.
std::optional<int> RunContractCommands(ContractCommands& commands);

}  // namespace hanse::node

#endif  // HANSE_NODE_CLI_CONTRACT_COMMANDS_H_
