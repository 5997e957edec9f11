#pragma once
// What the libFuzzer targets and tests/unit/fuzz_regressions_test.cpp share: one function per target that runs
// one input through the code under test and checks the properties that must hold for every input, plus the seeds
// of the corpus. The roles run with the parties, keys, nonces and time of tests/vectors/protocol-v1.json, so that a
// genuine datagram from the vectors passes every signature check and the fuzzer starts behind the front door.
//
// Input of fuzz_relay, fuzz_target and fuzz_source: one control octet, then the datagram (raw) or a splice.
//   bit 0      splice: the rest is  base || field || op || payload  (below) instead of a raw datagram
//   bits 1-2   prime: deliver first the first 0..3 genuine datagrams addressed to this role (e.g. the relay gets
//              step 1 before a fuzzed accept, so that the accept finds a pending request)
//   bits 3-4   sender: 0 = the party whose Layer-2 ID the datagram's header names (a stranger if none), 1 = the
//              source UE's endpoint, 2 = the relay's, 3 = the target's
//   bit 5      deliver the fuzzed datagram twice (retransmission paths)
//   bit 6      then fire the node's next timer and deliver it once more (expiry paths)
//   bit 7      readdress: the header's destination becomes this role's Layer-2 ID and, when bits 3-4 name a sender,
//              its source that sender's (a genuine datagram meant for another party reaches this one)
// Splice: base picks a genuine datagram (every datagram of the vectors' run, then the reject); field 0 is the
// datagram header, field k >= 1 the (k-1)-th IE (modulo the count); op (modulo 4): 0 replace the field's value
// (the IE length follows), 1 insert the payload before the field, 2 replace the whole field by the payload,
// 3 XOR the payload into the value.
//
// Input of fuzz_discovery: one octet choosing the discovery agent (modulo 4: 0 RelayDiscovery, 1 TargetDiscovery,
// 2 SourceDiscovery Model A, 3 SourceDiscovery Model B), one control octet, then the datagram (raw) or a splice
// whose bases are the vectors' six discovery datagrams. The agent fires its first timer before anything (as a daemon
// starts: announcements; a Model B source solicits with Nonce_1, a relay asks with Nonce_2, as in the vectors).
//   bit 0      splice, as above
//   bits 1-3   prime: bit i delivers first the i-th genuine discovery datagram this agent takes (relay: target
//              announcement, solicitation, target response; target: target solicitation; source: relay
//              announcement, response), from its sender's discovery socket
//   bit 4      deliver the fuzzed datagram twice
//   bit 5      then fire the agent's next timer (the clocks move to it) and deliver it once more
//   bit 6      from a stranger's address instead of the discovery socket of the party the header names
//   bit 7      variant: the relay has the target configured; the target answers only (Model B); the source selects
//              by preference (relay-ue) instead of the first heard
//
// Properties checked (a violation calls the failure handler, which by default prints and aborts):
//   fuzz_decode  whatever decodes re-encodes to a message that decodes to the same body; the bytes are identical
//                unless the input holds an IE with the comprehension-not-required bit (skipped when unknown) or a
//                reject's cause octet is one the project maps to #111; every offset lies inside the message.
//   roles        every datagram a node sends decodes and fits kMaxDatagramSize; a node makes authenticated progress
//                (a "step" event of seed step 2, 4, 6 or 8, which follow a signature check, or "link_established")
//                only on a message whose content is byte-identical to one of the genuine run (the datagram header
//                aside, which no signature covers, and the ECDSA signature values, which are randomized: a seed
//                from an older vectors file is validly signed too); after on_timer(t) the next deadline lies after t.
//   discovery    every datagram an agent sends decodes as a discovery datagram, fits kMaxDatagramSize and is in the
//                agent's own name; an agent sends nothing and makes no authenticated progress (target_discovered,
//                solicitation_heard, discovery_response_sent, relay_discovered, relay_selected,
//                announcement_heard) on a datagram unless its message's content is byte-identical to one of the
//                vectors' six (the signature value aside), so nothing reaches or is learnt from an unauthenticated
//                sender; a relay announcement names the configured targets first, none twice; the relay keeps at
//                most kMaxDiscoveredTargets discovered targets; after on_timer(t) the next deadline lies after t.
#include <string>
#include <vector>

#include "common/bytes.hpp"

namespace u2u::fuzz {

// What one input did, for tests: the names of the events of the fuzzed deliveries, and how many meant progress.
struct Outcome {
  bool decoded = false;      // the (last) fuzzed datagram decoded
  std::size_t progress = 0;  // authenticated-progress events on fuzzed deliveries (see above)
  std::vector<std::string> events;
};

bool fuzz_decode_one(ByteView input);  // true when the input decoded
Outcome fuzz_relay_one(ByteView input);
Outcome fuzz_target_one(ByteView input);
Outcome fuzz_source_one(ByteView input);
Outcome fuzz_discovery_one(ByteView input);

// Builds the parties from the vectors (key parsing is too slow to do per input). Call from LLVMFuzzerInitialize;
// every *_one function calls it too.
void initialize();

// Called with a description when a property does not hold. The default prints to stderr and aborts, which is
// what libFuzzer reports; a test may install one that throws.
using FailureHandler = void (*)(const std::string& what);
void set_failure_handler(FailureHandler handler);

// The seed corpus, from the genuine run: file name and contents, per target ("fuzz_decode", "fuzz_relay", ...).
struct Seed {
  std::string name;
  Bytes data;
};
std::vector<std::string> target_names();
std::vector<Seed> seeds(const std::string& target);
// Runs one input through the named target's function.
Outcome run_one(const std::string& target, ByteView input);

}  // namespace u2u::fuzz
