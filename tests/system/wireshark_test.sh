#!/usr/bin/env bash
# The Wireshark dissector (tools/wireshark/u2u.lua) against Debian's tshark:
#   1. a real run: relay-ue, target-ue and source-ue --once on the loopback of a network namespace of its own, captured
#      there with dumpcap; tshark with the dissector must show every message of steps 1, 3, 5 and 7, step 9's LINK
#      CONFIRM and LINK CONFIRM ACK on both hops, and the release on both hops, each with its type, its step, the
#      Layer-2 IDs of its hop and the right User Info IDs, all of one session, every datagram dissected, and no
#      malformed-packet marker, no Lua error, no dissector bug; then, in the same capture, source-ue as a daemon with a
#      data: section (a UDP forward, rekey_after_seconds: 1, forward secrecy) and SIGUSR1 to target-ue: the DIRECT
#      LINK REKEYING REQUEST, RESPONSE and CONFIRM of docs/protocol.md 12 started by each end, on both hops in both
#      directions, with their generation, nonce, ephemeral key and MAC coverage, of that link's session;
#   2. the test vectors (tests/vectors/protocol-v1.json): the six discovery messages with their senders, the data
#      PDUs with KD-sess ID and COUNT, keep-alive, rejects, the six rekeying datagrams; nothing malformed;
#   3. fuzzed captures (editcap -E on the real capture, and tests/system/wireshark_pcap.py fuzz: mutated and random
#      datagrams on the ports): no Lua error and no dissector bug (malformed markers are expected there).
# Usage: tests/system/wireshark_test.sh BIN_DIR
# Exit: 0 pass, 1 fail, 77 skipped (not root, or no tshark, dumpcap, editcap, python3 or ip netns).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin_dir=${1:-$root/build/bin}
dissector=${U2U_DISSECTOR:-$root/tools/wireshark/u2u.lua}

skip() { echo "SKIP: wireshark_test: $*"; exit 77; }
fail() { echo "FAIL: wireshark_test: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (a network namespace for the capture)"
for tool in tshark dumpcap editcap python3 ip; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/deps installs tshark)"
done
for p in u2u-provision source-ue relay-ue target-ue; do
  [[ -x $bin_dir/$p ]] || fail "$bin_dir/$p is missing (build the programs first)"
done
[[ -f $dissector ]] || fail "$dissector is missing"

ns=u2u-ws-$$
work=$(mktemp -d -t u2u-wireshark-XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  if [[ ${KEEP_WORKDIR:-0} == 1 ]]; then echo "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
ip netns add "$ns" || skip "cannot create a network namespace"
ip -n "$ns" link set lo up || fail "lo up in $ns"

ts() { tshark -X "lua_script:$dissector" "$@" 2>&1 | grep -av '^Running as user "root"'; }

# ---- 1. a capture of a real run ---------------------------------------------------------------------------------
"$bin_dir/u2u-provision" testbed --out "$work/tb" --log-format json >"$work/provision.log" 2>&1 ||
  fail "u2u-provision testbed: $(cat "$work/provision.log")"
capture=$work/run.pcap
ip netns exec "$ns" dumpcap -q -P -i lo -f udp -w "$capture" >"$work/dumpcap.log" 2>&1 &
dumpcap_pid=$!
pids+=("$dumpcap_pid")
for _ in $(seq 100); do [[ -s $capture ]] && break; sleep 0.05; done
[[ -s $capture ]] || fail "dumpcap did not start: $(cat "$work/dumpcap.log")"
sleep 0.2

wait_started() {  # ROLE PID
  for _ in $(seq 100); do
    grep -q '"event":"started"' "$work/$1.log" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  fail "$1 did not start: $(cat "$work/$1.log")"
}
# The target carries user data, so that SIGUSR1 rekeys its links (a source without a data: section takes the
# default suites: the --once link below is the same with it).
cat >>"$work/tb/target-ue.yaml" <<'EOF'
data:
  udp_forward:
    - name: probe
      bearer: 1
      to:
        address: 127.0.0.1
        port: 40191
EOF
for role in relay-ue target-ue; do
  ip netns exec "$ns" "$bin_dir/$role" --config "$work/tb/$role.yaml" >"$work/$role.log" 2>&1 &
  pids+=("$!")
  wait_started "$role" "$!"
done
target_pid=${pids[-1]}
ip netns exec "$ns" timeout 30 "$bin_dir/source-ue" --config "$work/tb/source-ue.yaml" --once \
  >"$work/source-ue.log" 2>&1
source_status=$?
[[ $source_status -eq 0 ]] || fail "source-ue --once exited $source_status: $(tail -n 5 "$work/source-ue.log")"
grep -q '"event":"link_released"' "$work/source-ue.log" || fail "source-ue logged no link_released"

# Rekeyings (docs/protocol.md 12): source-ue as a daemon whose keys last a second, then SIGUSR1 to the target.
wait_logged() {  # FILE PATTERN DESCRIPTION
  for _ in $(seq 100); do
    grep -aEq "$2" "$1" && return 0
    sleep 0.1
  done
  fail "no $3 in $(basename "$1"): $(tail -n 5 "$1")"
}
sed -e 's/^  forward_secrecy: false/  forward_secrecy: true/' "$work/tb/source-ue.yaml" \
  >"$work/tb/source-ue-daemon.yaml"
grep -q '^  forward_secrecy: true' "$work/tb/source-ue-daemon.yaml" ||
  printf 'security:\n  forward_secrecy: true\n' >>"$work/tb/source-ue-daemon.yaml"
cat >>"$work/tb/source-ue-daemon.yaml" <<'EOF'
data:
  rekey_after_seconds: 1
  udp_forward:
    - name: probe
      bearer: 1
      listen:
        address: 127.0.0.1
        port: 40190
EOF
ip netns exec "$ns" "$bin_dir/source-ue" --config "$work/tb/source-ue-daemon.yaml" >"$work/source-ue-daemon.log" 2>&1 &
daemon_pid=$!
pids+=("$daemon_pid")
wait_logged "$work/source-ue-daemon.log" '"event":"rekeyed".*"as":"initiator"' "rekeyed as initiator (by time)"
sleep 0.4  # between the source's rekeyings (a second apart): no collision
kill -USR1 "$target_pid"
wait_logged "$work/target-ue.log" '"event":"rekeyed".*"as":"initiator","trigger":"signal"' \
  "rekeyed as initiator on SIGUSR1"
wait_logged "$work/source-ue-daemon.log" '"event":"rekeyed".*"as":"responder"' "rekeyed as responder"
kill -INT "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
grep -q '"event":"link_released"' "$work/source-ue-daemon.log" || fail "source-ue (daemon) logged no link_released"
daemon_session=$(grep -a '"event":"link_established"' "$work/source-ue-daemon.log" |
  grep -aEo '"session":"[0-9a-f]{16}"' | head -n 1 | grep -aEo '[0-9a-f]{16}')
[[ -n $daemon_session ]] || fail "source-ue (daemon) logged no link_established with a session"
sleep 0.3
kill -INT "$dumpcap_pid"
wait "$dumpcap_pid" 2>/dev/null

# One line per U2U datagram: message|step|src L2|dst L2|source ID|target ID|selected relay|relay ID|session
ts -r "$capture" -Y u2u -T fields -E separator='|' -E occurrence=f -e u2u.message -e u2u.step -e u2u.src_l2 \
  -e u2u.dst_l2 -e u2u.ie.source_user_info_id -e u2u.ie.target_user_info_id \
  -e u2u.ie.selected_relay_user_info_id -e u2u.ie.relay_user_info_id -e u2u.session >"$work/fields.txt"
ts -r "$capture" -V >"$work/verbose.txt"
ts -r "$capture" >"$work/summary.txt"
echo "--- the run, as the dissector shows it"
sed -E 's/^ *[0-9]+ +[0-9.]+ +//' "$work/summary.txt"

status=0
expect() {  # DESCRIPTION PATTERN (an extended regex on the fields lines)
  if grep -aEq "^$2\$" "$work/fields.txt"; then
    echo "ok: $1"
  else
    echo "FAIL: no $1 (expected a line matching ^$2\$)" >&2
    status=1
  fi
}
S='[0-9a-f]{16}'
src=0x000001 relay=0x000002 dst=0x000003
expect "step 1 REQUEST source-ue > relay-ue" \
  "DIRECT COMMUNICATION REQUEST\|1\|$src\|$relay\|source-ue\|target-ue\|relay-ue\|\|"
expect "step 3 REQUEST relay-ue > target-ue with the relay's Authentication_Info" \
  "DIRECT COMMUNICATION REQUEST\|3\|$relay\|$dst\|source-ue\|target-ue\|relay-ue\|relay-ue\|"
expect "step 5 ACCEPT target-ue > relay-ue" "DIRECT COMMUNICATION ACCEPT\|5\|$dst\|$relay\|\|target-ue\|\|\|$S"
expect "step 7 ACCEPT relay-ue > source-ue with the relay's Authentication_Info" \
  "DIRECT COMMUNICATION ACCEPT\|7\|$relay\|$src\|\|target-ue\|\|relay-ue\|$S"
for hop in "$src|$relay" "$relay|$dst"; do
  expect "step 9 LINK CONFIRM on hop $hop" "LINK CONFIRM\|9\|${hop//|/\\|}\|\|\|\|\|$S"
  expect "RELEASE REQUEST on hop $hop" "DIRECT LINK RELEASE REQUEST\|\|${hop//|/\\|}\|\|\|\|\|$S"
done
for hop in "$dst|$relay" "$relay|$src"; do
  expect "step 9 LINK CONFIRM ACK on hop $hop" "LINK CONFIRM ACK\|9\|${hop//|/\\|}\|\|\|\|\|$S"
  expect "RELEASE ACCEPT on hop $hop" "DIRECT LINK RELEASE ACCEPT\|\|${hop//|/\\|}\|\|\|\|\|$S"
done
sessions=$(cut -d'|' -f9 "$work/fields.txt" | grep -v '^$' | sort -u | wc -l)
[[ $sessions -eq 2 ]] && echo "ok: two sessions: the --once link and the daemon's" ||
  { echo "FAIL: $sessions sessions, not 2" >&2; status=1; }

# The rekeyings: message|step|src L2|dst L2|generation|nonce|ephemeral key|session|MAC coverage
ts -r "$capture" -Y 'u2u.type >= 0x13 && u2u.type <= 0x15' -T fields -E separator='|' -E occurrence=f \
  -e u2u.message -e u2u.step -e u2u.src_l2 -e u2u.dst_l2 -e u2u.ie.rekeying_generation -e u2u.ie.rekeying_nonce \
  -e u2u.ie.rekeying_ephemeral_key -e u2u.session -e u2u.mac.covers >"$work/rekeying.txt"
expect_rekeying() {  # DESCRIPTION PATTERN
  if grep -aEq "^$2\$" "$work/rekeying.txt"; then
    echo "ok: $1"
  else
    echo "FAIL: no $1 (expected a line matching ^$2\$)" >&2
    status=1
  fi
}
N='[0-9a-f]{32}' K='04[0-9a-f]{128}' G='[1-9][0-9]*' D=$daemon_session
# A REQUEST or RESPONSE holds 1 (type) + 35 (digest) + 7 (generation) + 19 (nonce) + 68 (ephemeral key) octets
# before its MAC, from datagram octet 7: 7-136; a CONFIRM 1 + 35 + 7: 7-49.
for hop in "$src|$relay" "$relay|$dst" "$dst|$relay" "$relay|$src"; do
  h=${hop//|/\\|}
  expect_rekeying "DIRECT LINK REKEYING REQUEST on hop $hop" \
    "DIRECT LINK REKEYING REQUEST\|\|$h\|$G\|$N\|$K\|$D\|7-136"
  expect_rekeying "DIRECT LINK REKEYING RESPONSE on hop $hop" \
    "DIRECT LINK REKEYING RESPONSE\|\|$h\|$G\|$N\|$K\|$D\|7-136"
  expect_rekeying "DIRECT LINK REKEYING CONFIRM on hop $hop" \
    "DIRECT LINK REKEYING CONFIRM\|\|$h\|$G\|\|\|$D\|7-49"
done
for label in "REKEYING REQUEST" "REKEYING RESPONSE" "REKEYING CONFIRM"; do
  grep -aq "Label: U2U-RELAY-AUTH v1 $label" "$work/verbose.txt" && echo "ok: the $label MAC's label shown" ||
    { echo "FAIL: no MAC label U2U-RELAY-AUTH v1 $label" >&2; status=1; }
done
for ie in "0x15 Rekeying generation" "0x16 Rekeying nonce" "0x17 Rekeying ephemeral public key"; do
  grep -aq "IE $ie, " "$work/verbose.txt" && echo "ok: IE $ie named" || { echo "FAIL: no IE $ie" >&2; status=1; }
done
grep -aEq '\[MAC covers octets: 7-[0-9]+' "$work/verbose.txt" &&
  grep -aEq '\[SIGN-Source UE covers octets: 7-[0-9]+' "$work/verbose.txt" &&
  grep -aEq '\[SIGN1-relay covers octets: 7-[0-9]+' "$work/verbose.txt" &&
  grep -aEq '\[SIGN-Target UE covers octets: 7-[0-9]+' "$work/verbose.txt" &&
  grep -aEq '\[SIGN2-relay covers octets: 7-[0-9]+' "$work/verbose.txt" &&
  echo "ok: every signature's and MAC's coverage shown" || { echo "FAIL: a signature's coverage is missing" >&2; status=1; }
undissected=$(ts -r "$capture" -Y 'udp && !u2u' | wc -l)
[[ $undissected -eq 0 ]] && echo "ok: every datagram dissected as U2U" ||
  { echo "FAIL: $undissected UDP datagrams not dissected as U2U" >&2; status=1; }
if grep -aEiq 'malformed|lua error|dissector bug' "$work/verbose.txt"; then
  echo "FAIL: the run's capture shows malformed packets or errors:" >&2
  grep -aEi 'malformed|lua error|dissector bug' "$work/verbose.txt" | sort | uniq -c | head >&2
  status=1
else
  echo "ok: no malformed-packet marker, no Lua error"
fi

# ---- 2. the test vectors: discovery, data PDUs, link maintenance, rejects ---------------------------------------
python3 "$here/wireshark_pcap.py" vectors "$root/tests/vectors/protocol-v1.json" "$work/vectors.pcap" ||
  fail "wireshark_pcap.py vectors"
ts -r "$work/vectors.pcap" -T fields -E separator='|' -E occurrence=f -e u2u.message -e u2u.ie.sender_user_info_id \
  -e u2u.ie.target_user_info_id -e u2u.pdu.kd_sess_id -e u2u.pdu.bearer -e u2u.pdu.count -e u2u.ie.cause \
  -e u2u.ie.keepalive_counter >"$work/fields.txt"
expect "RELAY DISCOVERY ANNOUNCEMENT from relay-ue" "RELAY DISCOVERY ANNOUNCEMENT \(Model A\)\|relay-ue\|\|\|\|\|\|"
expect "TARGET DISCOVERY ANNOUNCEMENT from target-ue" "TARGET DISCOVERY ANNOUNCEMENT \(Model A\)\|target-ue\|\|\|\|\|\|"
expect "DISCOVERY SOLICITATION from source-ue" "DISCOVERY SOLICITATION \(Model B\)\|source-ue\|target-ue\|\|\|\|\|"
expect "DISCOVERY RESPONSE from relay-ue" "DISCOVERY RESPONSE \(Model B\)\|relay-ue\|target-ue\|\|\|\|\|"
expect "TARGET DISCOVERY SOLICITATION from relay-ue" \
  "TARGET DISCOVERY SOLICITATION \(Model B\)\|relay-ue\|target-ue\|\|\|\|\|"
expect "TARGET DISCOVERY RESPONSE from target-ue" "TARGET DISCOVERY RESPONSE \(Model B\)\|target-ue\|target-ue\|\|\|\|\|"
expect "DATA PDU KD-sess ID 0x1171 BEARER 0 COUNT 0" "DATA PDU\|\|\|0x1171\|0\|0\|\|"
expect "DATA PDU KD-sess ID 0x1171 BEARER 1 COUNT 5" "DATA PDU\|\|\|0x1171\|1\|5\|\|"
expect "KEEPALIVE REQUEST with its counter" "DIRECT LINK KEEPALIVE REQUEST\|\|\|\|\|\|\|[0-9]+"
expect "REJECT #6" "DIRECT COMMUNICATION REJECT\|\|\|\|\|\|6\|"
if ts -r "$work/vectors.pcap" -V | grep -aEiq 'malformed|lua error|dissector bug'; then
  echo "FAIL: the vectors show malformed packets or errors" >&2
  status=1
else
  echo "ok: the vectors: no malformed-packet marker, no Lua error"
fi
# The rekeying vectors (docs/protocol.md 12.7): each datagram with the name the vectors give it, its generation and
# the MAC's coverage (no ephemeral key: 7-68 for a REQUEST or RESPONSE, 7-49 for a CONFIRM).
python3 - "$here" "$root/tests/vectors/protocol-v1.json" "$work/rekeying.pcap" "$work/rekeying-names.txt" <<'EOF' ||
import json, sys
sys.path.insert(0, sys.argv[1])
import wireshark_pcap as w
datagrams = json.load(open(sys.argv[2]))["rekeying"]["datagrams"]
w.write_pcap(sys.argv[3], [(w.PORTS[d["from"]], w.PORTS[d["to"]], bytes.fromhex(d["hex"])) for d in datagrams])
open(sys.argv[4], "w").write("".join(d["message"] + "\n" for d in datagrams))
EOF
  fail "the rekeying vectors' capture"
ts -r "$work/rekeying.pcap" -T fields -E separator='|' -e u2u.message -e u2u.ie.rekeying_generation -e u2u.mac.covers \
  >"$work/rekeying-fields.txt"
if [[ $(wc -l <"$work/rekeying-fields.txt") -eq 6 ]] &&
  diff <(cut -d'|' -f1 "$work/rekeying-fields.txt") "$work/rekeying-names.txt" >/dev/null &&
  [[ $(grep -acE '^DIRECT LINK REKEYING (REQUEST|RESPONSE)\|1\|7-68$' "$work/rekeying-fields.txt") -eq 4 ]] &&
  [[ $(grep -acE '^DIRECT LINK REKEYING CONFIRM\|1\|7-49$' "$work/rekeying-fields.txt") -eq 2 ]]; then
  echo "ok: the six rekeying vectors named as the vectors name them, generation 1, their MAC's coverage"
else
  echo "FAIL: the rekeying vectors:" >&2
  cat "$work/rekeying-fields.txt" >&2
  status=1
fi
if ts -r "$work/rekeying.pcap" -V | grep -aEiq 'malformed|lua error|dissector bug'; then
  echo "FAIL: the rekeying vectors show malformed packets or errors" >&2
  status=1
else
  echo "ok: the rekeying vectors: no malformed-packet marker, no Lua error"
fi

# ---- 3. fuzzed captures: never a Lua error ----------------------------------------------------------------------
ts -r "$capture" -T fields -e udp.srcport -e udp.dstport -e udp.payload >"$work/payloads.txt"
fuzzed=0
for seed in 1 2 3; do
  editcap -E 0.05 --seed "$seed" "$capture" "$work/editcap-$seed.pcap" >/dev/null 2>&1 ||
    fail "editcap -E 0.05 --seed $seed"
  python3 "$here/wireshark_pcap.py" fuzz "$work/payloads.txt" "$work/fuzz-$seed.pcap" "$seed" 1500 ||
    fail "wireshark_pcap.py fuzz"
  for f in "$work/editcap-$seed.pcap" "$work/fuzz-$seed.pcap"; do
    ts -r "$f" -V >"$work/fuzz.txt"
    fuzzed=$((fuzzed + $(grep -ac '^Frame [0-9]*:' "$work/fuzz.txt")))
    if grep -aEiq 'lua error|dissector bug' "$work/fuzz.txt"; then
      echo "FAIL: $(basename "$f"): a Lua error:" >&2
      grep -aEi -B2 'lua error|dissector bug' "$work/fuzz.txt" | head -n 12 >&2
      status=1
    fi
  done
done
malformed=$(grep -ac 'Expert Info (Error/Malformed)' "$work/fuzz.txt")
echo "ok if nothing failed above: $fuzzed fuzzed frames dissected ($malformed malformed in the last file)"

if [[ $status -eq 0 ]]; then
  echo "PASS: the dissector shows steps 1-9, the release and the rekeyings of a real run, discovery, data PDUs and" \
    "rekeying vectors, and survives fuzzing"
fi
exit $status
