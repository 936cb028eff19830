// SHA-256 (FIPS 180-4) of byte strings and files, for the provenance ingest records: source files
// and tokenizer files in the token store's attributes. Digests are lowercase hex, as sha256sum
// prints.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace me {

// Incremental hashing: update() any number of times, then hex_digest() once.
class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(std::string_view bytes);

// Hashes a whole file; throws me::Error naming it when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace me
