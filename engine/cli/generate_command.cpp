// `megatron-engine generate --load CKPT --prompt TEXT`: loads a checkpoint's model and tokenizer
// and prints the prompt followed by the sampled continuation (KV-cache generation).
#include <chrono>
#include <iostream>

#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/cli/inference_flags.h"
#include "engine/inference/checkpoint_model.h"

namespace me {
namespace po = boost::program_options;

namespace {
// Decode tokens are those after each row's first, which the prefill step produces.
void print_timings(const GenerationTimings& t, const std::vector<GenerationResult>& results) {
  int64_t generated = 0;
  for (const auto& r : results) generated += static_cast<int64_t>(r.tokens.size());
  const int64_t decoded = generated - static_cast<int64_t>(results.size());
  std::cout << fmt::format(
                   R"({{"batch": {}, "prompt_tokens": {}, "time_to_first_token_s": {:.4f}, )"
                   R"("prefill_tokens_per_s": {:.1f}, "decode_steps": {}, "decode_tokens": {}, )"
                   R"("decode_tokens_per_s": {:.1f}}})",
                   results.size(), t.prefill_tokens, t.prefill_seconds,
                   t.prefill_tokens / t.prefill_seconds, t.decode_steps, decoded,
                   t.decode_seconds > 0 ? decoded / t.decode_seconds : 0.0)
            << std::endl;
}
}  // namespace

int generate_command(const std::vector<std::string>& args) {
  po::options_description options("megatron-engine generate");
  // clang-format off
  options.add_options()
      ("help", "this message")
      ("load", po::value<std::string>(), "checkpoint directory (its latest) or an iter_* directory")
      ("prompt", po::value<std::string>(), "text to continue")
      ("tokens-to-generate", po::value<int64_t>()->default_value(64), "new tokens to sample")
      ("temperature", po::value<double>()->default_value(1.0), "softmax temperature; 0 = greedy")
      ("top-k", po::value<int64_t>()->default_value(0), "sample among the k likeliest (0 = all)")
      ("top-p", po::value<double>()->default_value(0.0), "nucleus sampling mass (0 = off)")
      ("greedy", "always take the likeliest token (same as --temperature 0)")
      ("seed", po::value<uint64_t>()->default_value(1234), "random seed for sampling")
      ("stop", po::value<std::vector<std::string>>(), "stop after this text (repeatable)")
      ("ignore-eos", "keep generating past the end-of-document token")
      ("batch", po::value<int64_t>()->default_value(1),
       "generate this many copies of the prompt together (seeds seed, seed+1, ...)")
      ("timings", "print time to first token and prefill/decode tokens/s as a JSON line")
      ("no-kv-cache", "recompute the whole sequence for every token (the reference; slow)");
  // clang-format on
  add_inference_flags(options);
  const po::variables_map vm = parse_flags(options, args, "generate");
  if (vm.count("help")) {
    std::cout << options;
    return 0;
  }
  if (!vm.count("load") || !vm.count("prompt")) throw Error("generate needs --load and --prompt");
  const double top_p = vm["top-p"].as<double>();
  const double temperature = vm["temperature"].as<double>();
  if (top_p < 0.0 || top_p > 1.0) throw Error("must be in [0, 1]", "--top-p");
  if (temperature < 0.0) throw Error("must be >= 0", "--temperature");
  if (vm["tokens-to-generate"].as<int64_t>() < 0)
    throw Error("must be >= 0", "--tokens-to-generate");
  const CheckpointModel loaded =
      load_checkpoint_model(vm["load"].as<std::string>(), device_flag(vm), tokenizer_overrides(vm));

  GenerationRequest request;
  const std::string prompt = vm["prompt"].as<std::string>();
  request.prompt = loaded.tokenizer->encode(prompt);
  request.tokens_to_generate = vm["tokens-to-generate"].as<int64_t>();
  if (!vm.count("ignore-eos")) request.stop_tokens = {loaded.tokenizer->eod_id()};
  if (vm.count("stop")) request.stop_strings = vm["stop"].as<std::vector<std::string>>();
  request.sampling.temperature = vm.count("greedy") ? 0.0 : temperature;
  request.sampling.top_k = vm["top-k"].as<int64_t>();
  request.sampling.top_p = top_p;
  request.sampling.seed = vm["seed"].as<uint64_t>();
  const int64_t batch = vm["batch"].as<int64_t>();
  if (batch < 1 || batch > 4096) throw Error("must be in [1, 4096]", "--batch");
  std::vector<GenerationRequest> requests(static_cast<size_t>(batch), request);
  for (int64_t i = 0; i < batch; ++i) requests[i].sampling.seed += static_cast<uint64_t>(i);
  GenerationTimings timings;
  GenerationSetup setup = loaded.generation_setup();
  setup.timings = &timings;
  const auto started = std::chrono::steady_clock::now();
  const std::vector<GenerationResult> results =
      vm.count("no-kv-cache") ? generate_recompute(loaded.causal_lm(), setup, requests)
                              : generate(loaded.causal_lm(), setup, requests);
  const std::chrono::duration<double> total = std::chrono::steady_clock::now() - started;
  if (vm.count("timings")) {
    if (vm.count("no-kv-cache")) {
      std::cout << fmt::format(R"({{"batch": {}, "recompute_seconds": {:.4f}}})", batch,
                               total.count())
                << std::endl;
    } else {
      print_timings(timings, results);
    }
  }
  const GenerationResult& result = results.front();
  std::string text = loaded.tokenizer->decode(result.tokens);
  for (const auto& stop : request.stop_strings) {
    const size_t at = text.find(stop);
    if (at != std::string::npos) text.resize(at);
  }
  std::cout << prompt << text << std::endl;
  return 0;
}

}  // namespace me
