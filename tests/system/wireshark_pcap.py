#!/usr/bin/env python3
"""Writes pcap files of U2U datagrams for tests/system/wireshark_test.sh (no dependency beyond Python 3).

  wireshark_pcap.py vectors VECTORS_JSON OUT
      every datagram of tests/vectors/protocol-v1.json (the handshakes, link maintenance, rejects, the six discovery
      messages, the data PDUs), each on the ports of its sender and receiver (source-ue 40100, relay-ue 40101,
      target-ue 40102; discovery on port + 10)
  wireshark_pcap.py fuzz PAYLOADS OUT SEED COUNT
      COUNT datagrams made from PAYLOADS (lines "SRCPORT DSTPORT HEX", e.g. from tshark -T fields -e udp.srcport
      -e udp.dstport -e udp.payload): octets flipped, truncated, extended, IE lengths rewritten, random payloads
      behind a valid header; deterministic for a SEED
"""
import json
import random
import struct
import sys

LINKTYPE_RAW = 101  # IPv4/IPv6 without a link-layer header

PORTS = {"source-ue": 40100, "relay-ue": 40101, "target-ue": 40102}


def ip_checksum(header):
    s = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def packet(sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    return ip + udp


def write_pcap(path, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
        for i, (sport, dport, payload) in enumerate(packets):
            data = packet(sport, dport, payload)
            f.write(struct.pack("<IIII", 1700000000 + i // 1000, (i % 1000) * 1000, len(data), len(data)))
            f.write(data)


def vectors(json_path, out):
    v = json.load(open(json_path))
    packets = []

    def add(datagrams, offset=0):
        for d in datagrams:
            packets.append((PORTS[d["from"]] + offset, PORTS[d["to"]] + offset, bytes.fromhex(d["hex"])))

    add(v["datagrams"])
    packets.append((40101, 40100, bytes.fromhex(v["reject_datagram"])))
    add(v["forward_secrecy_handshake"]["datagrams"])
    add(v["link_maintenance"]["datagrams"])
    add(v["target_reject"]["datagrams"])
    add(v["discovery"]["datagrams"], 10)
    for suite in v["data"]["suites"]:
        for pdu in suite["pdus"]:
            sender = PORTS[pdu["from"]]
            packets.append((sender, 40101, bytes.fromhex(pdu["hex"])))
    write_pcap(out, packets)


def mutate(rng, payload):
    b = bytearray(payload)
    kind = rng.randrange(7)
    if kind == 0 and b:  # flip a few octets
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:  # truncate
        b = b[:rng.randrange(len(b) + 1)]
    elif kind == 2:  # extend with random octets
        b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif kind == 3 and len(b) > 11:  # rewrite an IE length field somewhere after the header
        pos = rng.randrange(8, len(b) - 2)
        b[pos:pos + 2] = struct.pack("!H", rng.choice([0, 1, 2, 3, 8, 32, 64, 65, 460, 0xFFFF, rng.randrange(65536)]))
    elif kind == 4:  # a valid header, a known type, random IEs
        typ = rng.choice([0x01, 0x02, 0x03, 0x07, 0x08, 0x0E, 0x10, 0x11, 0x12, 0x30, 0x41, 0x45, 0x89, 0x8D, 0x91,
                          0x95, rng.randrange(256)])
        b = bytearray(b"\x01\x00\x00\x01\x00\x00\x02" + bytes([typ]))
        for _ in range(rng.randint(0, 12)):
            iei = rng.choice([0x01, 0x02, 0x03, 0x04, 0x06, 0x07, 0x0D, 0x13, 0x20, 0x30, 0x33, 0x34, 0x37, 0x81,
                              0xFE, rng.randrange(256)])
            length = rng.choice([0, 1, 3, 8, 16, 32, 64, rng.randrange(80)])
            b += bytes([iei]) + struct.pack("!H", length) + bytes(rng.randrange(256) for _ in range(length))
        if rng.random() < 0.3 and len(b) > 8:
            b = b[:rng.randrange(8, len(b))]
    elif kind == 5:  # random octets of random length
        b = bytearray(rng.randrange(256) for _ in range(rng.randrange(0, 1600)))
    else:  # swap two IE-sized chunks
        if len(b) > 20:
            i, j = sorted(rng.sample(range(8, len(b)), 2))
            b = b[:i] + b[j:] + b[i:j]
    return bytes(b)


def fuzz(payloads_path, out, seed, count):
    rng = random.Random(seed)
    base = []
    for line in open(payloads_path):
        parts = line.split()
        if len(parts) == 3:
            base.append((int(parts[0].split(",")[0]), int(parts[1].split(",")[0]), bytes.fromhex(parts[2].replace(":", ""))))
    if not base:
        base = [(40100, 40101, b"\x01\x00\x00\x01\x00\x00\x02\x01")]
    packets = []
    for _ in range(count):
        sport, dport, payload = rng.choice(base)
        p = payload
        for _ in range(rng.randint(1, 3)):
            p = mutate(rng, p)
        packets.append((sport, dport, p))
    write_pcap(out, packets)


def main(argv):
    if len(argv) == 4 and argv[1] == "vectors":
        vectors(argv[2], argv[3])
    elif len(argv) == 6 and argv[1] == "fuzz":
        fuzz(argv[2], argv[3], int(argv[4]), int(argv[5]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
