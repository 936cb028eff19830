// TensorBoard writer: CRC-32C against RFC 3720's published vectors, TFRecord framing and one
// event's protobuf bytes against hand-encoded ones.
#include "engine/train/tensorboard_writer.h"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/process.h"

using me::crc32c;
using me::masked_crc32c;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values) out.push_back(static_cast<char>(v));
  return out;
}

std::string range_bytes(int first, int step) {
  std::string out;
  for (int i = 0; i < 32; ++i) out.push_back(static_cast<char>(first + step * i));
  return out;
}

}  // namespace

TEST_CASE("crc32c matches the RFC 3720 B.4 test vectors") {
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(crc32c(std::string(32, '\xFF')) == 0x62A8AB43u);
  CHECK(crc32c(range_bytes(0, 1)) == 0x46DD794Eu);
  CHECK(crc32c(range_bytes(31, -1)) == 0x113FDB5Cu);
}

TEST_CASE("masked crc32c rotates right by 15 and adds 0xa282ead8") {
  // 0xE3069283 rotated right by 15 is 0x2507C60D; plus 0xA282EAD8 gives 0xC78AB0E5.
  CHECK(masked_crc32c("123456789") == 0xC78AB0E5u);
}

TEST_CASE("a TFRecord frame is length, masked crc of length, payload, masked crc of payload") {
  const std::string frame = me::tfrecord_frame("abc");
  REQUIRE(frame.size() == 8 + 4 + 3 + 4);
  CHECK(frame.substr(0, 8) == bytes({3, 0, 0, 0, 0, 0, 0, 0}));
  // masked_crc32c of the 8 length bytes is 0x0E4999B0 and of "abc" 0x21F1576E (little-endian).
  CHECK(frame.substr(8, 4) == bytes({0xB0, 0x99, 0x49, 0x0E}));
  CHECK(frame.substr(12, 3) == "abc");
  CHECK(frame.substr(15, 4) == bytes({0x6E, 0x57, 0xF1, 0x21}));
}

TEST_CASE("a scalar event encodes wall_time step and summary value by field number") {
  const std::string expected = bytes({
      0x09, 0,    0,   0,   0,    0,   0, 0xF8, 0x3F,  // field 1 fixed64: wall_time 1.5
      0x10, 0x03,                                      // field 2 varint: step 3
      0x2A, 0x0D,                                      // field 5 bytes (13): summary
      0x0A, 0x0B,                                      //   field 1 bytes (11): value
      0x0A, 0x04, 'l', 'o', 's',  's',                 //     field 1 bytes: tag "loss"
      0x15, 0,    0,   0,   0x40,                      //     field 2 fixed32: simple_value 2.0f
  });
  CHECK(me::scalar_event(1.5, 3, "loss", 2.0f) == expected);
}

TEST_CASE("a step of 300 is a two-byte varint") {
  const std::string event = me::scalar_event(0.0, 300, "a", 0.0f);
  CHECK(event.substr(9, 3) == bytes({0x10, 0xAC, 0x02}));
}

TEST_CASE("the file version event names brain.Event:2") {
  const std::string expected = bytes({0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x1A, 13}) +
                               "brain.Event:2";  // wall_time 1.0, field 3 bytes
  CHECK(me::file_version_event(1.0) == expected);
}

TEST_CASE("a text event carries a DT_STRING scalar tensor and the text plugin's name") {
  const std::string expected =
      bytes({0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 0x2A, 25, 0x0A, 23}) +
      bytes({0x0A, 1, 'r'}) +                                     // tag "r"
      bytes({0x42, 8, 0x08, 0x07, 0x12, 0x00, 0x42, 2}) + "hi" +  // tensor: dtype 7, shape {}, "hi"
      bytes({0x4A, 8, 0x0A, 6, 0x0A, 4}) + "text";  // metadata.plugin_data.plugin_name
  CHECK(me::text_event(0.0, 0, "r", "hi") == expected);
}

TEST_CASE("the writer starts its file with the file version record") {
  me::testing::TempDir dir;
  std::string path;
  {
    me::TensorBoardWriter writer(dir / "tb");
    writer.scalar("loss", 1, 2.0);
    path = writer.path();
  }
  CHECK(path.find("events.out.tfevents.") != std::string::npos);
  std::ifstream in(path, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string first = file.substr(12, 24);  // after the 12-byte record header
  CHECK(first.substr(9) == bytes({0x1A, 13}) + "brain.Event:2");
  const std::string second = file.substr(12 + 24 + 4);
  CHECK(second.substr(0, 8) == bytes({26, 0, 0, 0, 0, 0, 0, 0}));
}
