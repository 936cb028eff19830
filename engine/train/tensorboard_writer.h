// TensorBoard event files written without TensorFlow: TFRecord framing (length, masked CRC-32C,
// payload, masked CRC-32C) around Event protobufs encoded by hand from their public field numbers.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

namespace me {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses it.
uint32_t crc32c(std::string_view bytes);
// TFRecord's masked CRC: rotate right by 15 and add 0xa282ead8.
uint32_t masked_crc32c(std::string_view bytes);

// One TFRecord: u64 length, masked CRC of the length bytes, payload, masked CRC of the payload
// (all little-endian).
std::string tfrecord_frame(std::string_view payload);

// Serialized tensorflow.Event messages (event.proto / summary.proto field numbers).
// Event{wall_time=1 double, step=2 int64, file_version=3 string}.
std::string file_version_event(double wall_time);
// Event{wall_time, step, summary=5 {value=1 {tag=1, simple_value=2 float}}}.
std::string scalar_event(double wall_time, int64_t step, std::string_view tag, float value);
// Event{wall_time, step, summary {value {tag, metadata=9 {plugin_data=1 {plugin_name=1 "text"}},
// tensor=8 {dtype=1 DT_STRING, tensor_shape=2 {}, string_val=8 text}}}}: the text plugin's form.
std::string text_event(double wall_time, int64_t step, std::string_view tag, std::string_view text);

// Appends events to DIR/events.out.tfevents.<unix seconds>.<host>.<pid>, flushing each one so a
// crash loses nothing already written.
class TensorBoardWriter {
 public:
  explicit TensorBoardWriter(const std::string& directory);
  void scalar(std::string_view tag, int64_t step, double value);
  void text(std::string_view tag, int64_t step, std::string_view text);
  const std::string& path() const { return path_; }

 private:
  void write(const std::string& event);

  std::string path_;
  std::ofstream file_;
};

}  // namespace me
