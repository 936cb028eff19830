// The subcommands of megatron-engine. Each parses its own flags (Boost.Program_options) from the
// arguments after its name and returns the process exit code; me::Error propagates to run_cli.
#pragma once

#include <string>
#include <vector>

namespace me {

int train_command(const std::vector<std::string>& args);
int ingest_command(const std::vector<std::string>& args);
int generate_command(const std::vector<std::string>& args);
int serve_command(const std::vector<std::string>& args);
int convert_command(const std::vector<std::string>& args);
int plan_command(const std::vector<std::string>& args);
int merge_command(const std::vector<std::string>& args);
int inspect_command(const std::vector<std::string>& args);

}  // namespace me
