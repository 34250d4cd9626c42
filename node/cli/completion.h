// Shell completion generated from the command line definition, so it cannot drift from it.
#ifndef HANSE_NODE_CLI_COMPLETION_H_
#define HANSE_NODE_CLI_COMPLETION_H_

#include <string>

#include "CLI/CLI.hpp"

namespace hanse::node {

// A bash completion script for `app`: its commands and subcommands at every level, each
// command's options after a dash, and file names for an option's value or an argument.
std::string BashCompletion(const CLI::App& app);

}  // namespace hanse::node

#endif  // HANSE_NODE_CLI_COMPLETION_H_
