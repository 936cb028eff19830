// Placeholder until the subcommands land.
#include "engine/cli/cli.h"

namespace me {

int run_cli(int, char**) { return 0; }

}  // namespace me
