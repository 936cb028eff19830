// Command-line entry: parses argv, dispatches to a subcommand, turns me::Error into a one-line
// message and a non-zero exit code.
#pragma once

namespace me {

int run_cli(int argc, char** argv);

}  // namespace me
