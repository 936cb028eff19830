// `megatron-engine serve --load CKPT [--port 5000] [--host 127.0.0.1]`: loads a checkpoint and
// answers HTTP requests (engine/serve/server.h lists the endpoints) until SIGINT or SIGTERM.
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/cli/inference_flags.h"
#include "engine/serve/server.h"

namespace me {
namespace po = boost::program_options;

int serve_command(const std::vector<std::string>& args) {
  po::options_description options("megatron-engine serve");
  serve::ServeOptions defaults;
  // clang-format off
  options.add_options()
      ("help", "this message")
      ("load", po::value<std::string>(), "checkpoint directory (its latest) or an iter_* directory")
      ("host", po::value<std::string>()->default_value(defaults.host),
       "address to listen on (loopback by default; 0.0.0.0 exposes the server)")
      ("port", po::value<int>()->default_value(defaults.port), "TCP port (0: any free port)")
      ("max-batch", po::value<int64_t>()->default_value(defaults.max_batch),
       "prompts generated together")
      ("queue-limit", po::value<int64_t>()->default_value(defaults.queue_limit),
       "requests waiting before the server answers 503")
      ("max-body-bytes", po::value<size_t>()->default_value(defaults.max_body_bytes),
       "larger request bodies get 413")
      ("model-name", po::value<std::string>(), "the model id /v1/models reports "
       "(default: the checkpoint directory's name)");
  // clang-format on
  add_inference_flags(options);
  const po::variables_map vm = parse_flags(options, args, "serve");
  if (vm.count("help")) {
    std::cout << options;
    return 0;
  }
  if (!vm.count("load")) throw Error("serve needs --load");
  serve::ServeOptions opts;
  opts.host = vm["host"].as<std::string>();
  opts.port = vm["port"].as<int>();
  if (opts.port < 0 || opts.port > 65535) throw Error("must be in [0, 65535]", "--port");
  opts.max_batch = vm["max-batch"].as<int64_t>();
  opts.queue_limit = vm["queue-limit"].as<int64_t>();
  opts.max_body_bytes = vm["max-body-bytes"].as<size_t>();
  const std::string root = vm["load"].as<std::string>();
  const CheckpointModel loaded =
      load_checkpoint_model(root, device_flag(vm), tokenizer_overrides(vm));
  const std::filesystem::path dir = std::filesystem::path(root).lexically_normal();
  opts.model_name = vm.count("model-name") ? vm["model-name"].as<std::string>()
                    : dir.has_filename()   ? dir.filename().string()
                                           : dir.parent_path().filename().string();

  // Signals go to one waiting thread, which stops the server from outside a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  serve::Server server(loaded.causal_lm(), *loaded.tokenizer, loaded.generation_setup(), opts);
  const int port = server.bind();
  std::thread waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    spdlog::info("signal {}: stopping the server", signal);
    server.stop();
  });
  spdlog::info("serving {} on http://{}:{}/", loaded.directory, opts.host, port);
  std::cout << "listening on http://" << opts.host << ":" << port << "/" << std::endl;
  server.listen();
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}

}  // namespace me
