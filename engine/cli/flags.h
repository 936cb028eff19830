// Flag parsing shared by the subcommands: Boost.Program_options with errors turned into me::Error
// naming the flag, plus "did you mean" for a misspelt one.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace me {

// Parses args against options (no positional arguments). Throws me::Error for an unknown flag,
// a missing value or a value of the wrong type.
boost::program_options::variables_map parse_flags(
    const boost::program_options::options_description& options,
    const std::vector<std::string>& args, const std::string& command);

}  // namespace me
