// Converts Boost.Program_options failures into one-line me::Error messages.
#include "engine/cli/flags.h"

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/core/suggest.h"

namespace me {
namespace po = boost::program_options;

po::variables_map parse_flags(const po::options_description& options,
                              const std::vector<std::string>& args, const std::string& command) {
  po::variables_map vm;
  try {
    // No abbreviations: `--print-recip` is a typo to report, not a flag to guess.
    const int style =
        po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(args).options(options).style(style).run(), vm);
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    std::vector<std::string> known;
    for (const auto& option : options.options()) known.push_back("--" + option->long_name());
    std::string message = fmt::format("unknown flag '{}' for {}", e.get_option_name(), command);
    if (auto near = closest_match(e.get_option_name(), known)) {
      message += fmt::format("; did you mean '{}'?", *near);
    }
    throw Error(message + fmt::format(" (see megatron-engine {} --help)", command), "",
                ExitCode::kConfig);
  } catch (const po::error& e) {
    throw Error(fmt::format("{}: {} (see megatron-engine {} --help)", command, e.what(), command),
                "", ExitCode::kConfig);
  }
  return vm;
}

}  // namespace me
