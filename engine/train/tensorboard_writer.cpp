// TensorBoard event writer: protobuf wire format by hand (varints, fixed 32/64-bit fields,
// length-delimited submessages) and TFRecord framing.
#include "engine/train/tensorboard_writer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "engine/core/error.h"

namespace me {
namespace {

constexpr int kWireVarint = 0;
constexpr int kWireFixed64 = 1;
constexpr int kWireBytes = 2;
constexpr int kWireFixed32 = 5;
constexpr uint64_t kDtString = 7;  // tensorflow.DataType DT_STRING

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    table[i] = crc;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_tag(std::string& out, int field, int wire_type) {
  put_varint(out, static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire_type));
}

template <class T>
void put_little_endian(std::string& out, T value) {
  static_assert(std::endian::native == std::endian::little, "event files are little-endian");
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_bytes(std::string& out, int field, std::string_view bytes) {
  put_tag(out, field, kWireBytes);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// Event fields 1 (wall_time) and, when given, 2 (step).
std::string event_header(double wall_time, const int64_t* step) {
  std::string event;
  put_tag(event, 1, kWireFixed64);
  put_little_endian(event, wall_time);
  if (step) {
    put_tag(event, 2, kWireVarint);
    put_varint(event, static_cast<uint64_t>(*step));
  }
  return event;
}

// Event field 5: a Summary holding one Summary.Value.
std::string event_with_value(double wall_time, int64_t step, const std::string& value) {
  std::string summary;
  put_bytes(summary, 1, value);
  std::string event = event_header(wall_time, &step);
  put_bytes(event, 5, summary);
  return event;
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t crc32c(std::string_view bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (const char c : bytes) {
    crc = (crc >> 8) ^ kCrc32cTable[(crc ^ static_cast<uint8_t>(c)) & 0xFFu];
  }
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(std::string_view bytes) {
  const uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string tfrecord_frame(std::string_view payload) {
  std::string length;
  put_little_endian(length, static_cast<uint64_t>(payload.size()));
  std::string record = length;
  put_little_endian(record, masked_crc32c(length));
  record.append(payload);
  put_little_endian(record, masked_crc32c(payload));
  return record;
}

std::string file_version_event(double wall_time) {
  std::string event = event_header(wall_time, nullptr);
  put_bytes(event, 3, "brain.Event:2");
  return event;
}

std::string scalar_event(double wall_time, int64_t step, std::string_view tag, float value) {
  std::string summary_value;
  put_bytes(summary_value, 1, tag);
  put_tag(summary_value, 2, kWireFixed32);
  put_little_endian(summary_value, value);
  return event_with_value(wall_time, step, summary_value);
}

std::string text_event(double wall_time, int64_t step, std::string_view tag,
                       std::string_view text) {
  std::string plugin_data;
  put_bytes(plugin_data, 1, "text");
  std::string metadata;
  put_bytes(metadata, 1, plugin_data);
  std::string tensor;
  put_tag(tensor, 1, kWireVarint);
  put_varint(tensor, kDtString);
  put_bytes(tensor, 2, "");  // a scalar: TensorShapeProto with no dims
  put_bytes(tensor, 8, text);
  std::string summary_value;
  put_bytes(summary_value, 1, tag);
  put_bytes(summary_value, 8, tensor);
  put_bytes(summary_value, 9, metadata);
  return event_with_value(wall_time, step, summary_value);
}

TensorBoardWriter::TensorBoardWriter(const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  path_ = (std::filesystem::path(directory) / fmt::format("events.out.tfevents.{}.{}.{}",
                                                          static_cast<int64_t>(unix_seconds()),
                                                          host, ::getpid()))
              .string();
  file_.open(path_, std::ios::binary | std::ios::trunc);
  if (!file_) {
    throw Error(fmt::format("cannot create the TensorBoard event file {}", path_),
                "logging.tensorboard_dir");
  }
  write(file_version_event(unix_seconds()));
}

void TensorBoardWriter::scalar(std::string_view tag, int64_t step, double value) {
  write(scalar_event(unix_seconds(), step, tag, static_cast<float>(value)));
}

void TensorBoardWriter::text(std::string_view tag, int64_t step, std::string_view text) {
  write(text_event(unix_seconds(), step, tag, text));
}

void TensorBoardWriter::write(const std::string& event) {
  file_ << tfrecord_frame(event) << std::flush;
}

}  // namespace me
