#include "dataplane/pdu.hpp"

#include <algorithm>

namespace u2u::dataplane {

namespace {

Error format_error(std::string reason) {
  return make_error(Cause::kProtocolErrorUnspecified, "pdu_format", "data PDU " + std::move(reason));
}

std::uint32_t be24(const std::uint8_t* p) { return (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2]; }

void put24(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 16);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v);
}

}  // namespace

LinkLabel link_label(const wire::Digest& request_digest) {
  LinkLabel label{};
  std::copy_n(request_digest.begin(), kLinkLabelSize, label.begin());
  return label;
}

bool is_data_pdu(ByteView datagram) {
  return datagram.size() > wire::kHeaderSize && datagram[0] == wire::kProtocolVersion &&
         datagram[wire::kHeaderSize] == kDataPduType;
}

Result<PduView> parse_pdu(ByteView datagram) {
  if (!is_data_pdu(datagram)) return format_error("expected: version 1, type 0x30");
  if (datagram.size() > wire::kMaxDatagramSize) {
    return format_error("of " + std::to_string(datagram.size()) + " octets exceeds " +
                        std::to_string(wire::kMaxDatagramSize));
  }
  if (datagram.size() < kPduPrefixSize) return format_error("shorter than its header");
  PduView v;
  v.source = be24(datagram.data() + 1);
  v.destination = be24(datagram.data() + 4);
  const std::uint8_t* h = datagram.data() + wire::kHeaderSize + 1;
  std::copy_n(h, kLinkLabelSize, v.header.link_label.begin());
  h += kLinkLabelSize;
  v.header.kd_sess_id = static_cast<std::uint16_t>((h[0] << 8) | h[1]);
  v.header.bearer = h[2];
  v.header.count = (std::uint32_t{h[3]} << 24) | (std::uint32_t{h[4]} << 16) | (std::uint32_t{h[5]} << 8) | h[6];
  if (v.header.bearer > kMaxBearer) return format_error("BEARER " + std::to_string(v.header.bearer) + " over 31");
  v.covered = datagram.subspan(wire::kHeaderSize, kPduHeaderSize);
  v.payload_offset = kPduPrefixSize;
  v.payload_size = datagram.size() - kPduPrefixSize;
  return v;
}

void write_pdu_prefix(std::span<std::uint8_t> out, wire::Layer2Id source, wire::Layer2Id destination,
                      const PduHeader& header) {
  std::uint8_t* p = out.data();
  p[0] = wire::kProtocolVersion;
  put24(p + 1, source & wire::kLayer2IdMax);
  put24(p + 4, destination & wire::kLayer2IdMax);
  p[wire::kHeaderSize] = kDataPduType;
  p += wire::kHeaderSize + 1;
  std::copy(header.link_label.begin(), header.link_label.end(), p);
  p += kLinkLabelSize;
  p[0] = static_cast<std::uint8_t>(header.kd_sess_id >> 8);
  p[1] = static_cast<std::uint8_t>(header.kd_sess_id);
  p[2] = header.bearer;
  p[3] = static_cast<std::uint8_t>(header.count >> 24);
  p[4] = static_cast<std::uint8_t>(header.count >> 16);
  p[5] = static_cast<std::uint8_t>(header.count >> 8);
  p[6] = static_cast<std::uint8_t>(header.count);
}

void readdress(std::span<std::uint8_t> datagram, wire::Layer2Id source, wire::Layer2Id destination) {
  put24(datagram.data() + 1, source & wire::kLayer2IdMax);
  put24(datagram.data() + 4, destination & wire::kLayer2IdMax);
}

std::uint16_t short_kd_sess_id(std::string_view hex) {
  std::uint16_t v = 0;
  for (std::size_t i = 0; i < 4 && i < hex.size(); ++i) {
    const char c = hex[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
    v = static_cast<std::uint16_t>((v << 4) | d);
  }
  return v;
}

}  // namespace u2u::dataplane
