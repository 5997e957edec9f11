#pragma once
// Key material. Wiped on destruction, compared in constant time, never printable: there is no
// operator<< and no fmt formatter, so logging a SecretBytes does not compile. reveal() is the one,
// greppable, way to its bytes.
#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.hpp"

namespace u2u::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size) : bytes_(size) {}
  explicit SecretBytes(ByteView bytes) : bytes_(bytes.begin(), bytes.end()) {}
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes() { wipe(); }

  SecretBytes clone() const { return SecretBytes(reveal()); }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  ByteView reveal() const { return bytes_; }
  std::span<std::uint8_t> writable() { return bytes_; }
  // The last n octets as a new secret: a key truncated to its least significant bits (TS 33.536 Annex A).
  SecretBytes last(std::size_t n) const;

  friend bool operator==(const SecretBytes& a, const SecretBytes& b);  // constant time in the length
  friend std::ostream& operator<<(std::ostream&, const SecretBytes&) = delete;

 private:
  void wipe();
  std::vector<std::uint8_t> bytes_;
};

// Overwrites memory that held secret material (a PEM key read from a file, say) in a way the compiler keeps.
void secure_wipe(std::string& text);

// Constant-time equality of two equal-length byte strings (false when the lengths differ).
bool constant_time_equal(ByteView a, ByteView b);

}  // namespace u2u::crypto
