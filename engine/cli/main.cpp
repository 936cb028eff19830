// megatron-engine: the one binary (train, ingest, generate, ...).
#include "engine/cli/cli.h"

int main(int argc, char** argv) { return me::run_cli(argc, argv); }
