#include "wire/reader.hpp"

namespace u2u::wire {

std::optional<std::uint8_t> Reader::u8() {
  if (remaining() < 1) return std::nullopt;
  return data_[pos_++];
}

std::optional<std::uint16_t> Reader::u16() {
  if (remaining() < 2) return std::nullopt;
  const auto v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
  pos_ += 2;
  return v;
}

std::optional<std::uint32_t> Reader::u24() {
  if (remaining() < 3) return std::nullopt;
  const auto v = (std::uint32_t{data_[pos_]} << 16) | (std::uint32_t{data_[pos_ + 1]} << 8) | data_[pos_ + 2];
  pos_ += 3;
  return v;
}

std::optional<ByteView> Reader::bytes(std::size_t n) {
  if (remaining() < n) return std::nullopt;
  ByteView v = data_.subspan(pos_, n);
  pos_ += n;
  return v;
}

void Writer::u16(std::uint16_t v) {
  out_.push_back(static_cast<std::uint8_t>(v >> 8));
  out_.push_back(static_cast<std::uint8_t>(v));
}

void Writer::u24(std::uint32_t v) {
  out_.push_back(static_cast<std::uint8_t>(v >> 16));
  out_.push_back(static_cast<std::uint8_t>(v >> 8));
  out_.push_back(static_cast<std::uint8_t>(v));
}

}  // namespace u2u::wire
