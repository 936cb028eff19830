// Flags shared by the commands that load a checkpoint for inference (generate, serve): the device
// and tokenizer replacements.
#pragma once

#include <boost/program_options.hpp>

#include "engine/inference/checkpoint_model.h"

namespace me {

// --device, --tokenizer-type, --vocab-file, --merge-file, --tokenizer-model.
void add_inference_flags(boost::program_options::options_description& options);
TokenizerOverrides tokenizer_overrides(const boost::program_options::variables_map& vm);
Device device_flag(const boost::program_options::variables_map& vm);

}  // namespace me
