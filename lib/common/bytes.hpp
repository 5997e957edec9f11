#pragma once
// Plain (non-secret) byte strings and their hex rendering.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace u2u {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

std::string to_hex(ByteView bytes);
// Accepts lower- or upper-case hex, no separators; nullopt-like empty result with ok=false on bad input.
bool from_hex(std::string_view hex, Bytes& out);

inline ByteView as_bytes(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

inline void append(Bytes& out, ByteView more) { out.insert(out.end(), more.begin(), more.end()); }

}  // namespace u2u
