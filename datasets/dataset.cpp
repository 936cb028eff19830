// Names of the dataset splits, as used in cache descriptions and error messages.
#include "datasets/dataset.h"

namespace me {

const char* split_name(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kValid:
      return "valid";
    case Split::kTest:
      return "test";
  }
  return "unknown";
}

}  // namespace me
