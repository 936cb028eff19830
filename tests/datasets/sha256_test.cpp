// SHA-256 against the FIPS 180-2 example vectors and sha256sum.
#include <doctest/doctest.h>

#include "datasets/sha256.h"
#include "engine/core/error.h"
#include "tests/support/process.h"

TEST_CASE("sha256 matches the FIPS 180-2 examples") {
  CHECK(me::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(me::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(me::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(me::sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 incremental updates equal one update, across block boundaries") {
  std::string text;
  for (int i = 0; i < 300; ++i) text.push_back(char(i * 7 + 3));
  for (size_t split : {0, 1, 55, 56, 63, 64, 65, 128, 299}) {
    me::Sha256 hash;
    hash.update(std::string_view(text).substr(0, split));
    hash.update(std::string_view(text).substr(split));
    CHECK(hash.hex_digest() == me::sha256_hex(text));
  }
}

TEST_CASE("sha256_file agrees with sha256sum and names a missing file") {
  me::testing::TempDir dir;
  me::testing::write_text(dir / "f.bin", "hello world\n");
  const auto sum = me::testing::run_command("sha256sum " + (dir / "f.bin"));
  REQUIRE(sum.exit_code == 0);
  CHECK(sum.output.substr(0, 64) == me::sha256_file(dir / "f.bin"));
  CHECK(me::sha256_file(dir / "f.bin") ==
        "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447");
  CHECK_THROWS_AS(me::sha256_file(dir / "missing"), me::Error);
}
