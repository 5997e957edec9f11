#pragma once
// A bounds-checked cursor over received bytes (s2n's "stuffer", read side). Every read checks what remains.
#include <cstdint>
#include <optional>

#include "common/bytes.hpp"

namespace u2u::wire {

class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}

  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  std::optional<std::uint8_t> u8();
  std::optional<std::uint16_t> u16();
  std::optional<std::uint32_t> u24();
  std::optional<ByteView> bytes(std::size_t n);

 private:
  ByteView data_;
  std::size_t pos_ = 0;
};

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v);
  void u24(std::uint32_t v);
  void bytes(ByteView v) { append(out_, v); }
  std::size_t size() const { return out_.size(); }
  const Bytes& data() const { return out_; }
  Bytes take() { return std::move(out_); }

 private:
  Bytes out_;
};

}  // namespace u2u::wire
