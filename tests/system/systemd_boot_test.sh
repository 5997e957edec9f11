#!/usr/bin/env bash
# The three units under a real systemd as PID 1: a Debian 12 tree (debootstrap minbase with systemd, dbus and the
# daemons' runtime libraries, cached as a tarball between runs) with the project installed the README's way
# (DESTDIR=<tree> cmake --install --prefix /usr) and /etc/u2u-relay filled by the README's commands, booted with
# `systemd-nspawn -b --keep-unit --register=no --private-network`; commands run in it with `nsenter -t <its init> -a`.
# It checks, in this order:
#   1. a late address: relay-ue's address (10.77.0.1) is not on the container's loopback when the units start; the
#      relay is active with "Status: waiting for listen ...", logs waiting_for_address, and once the address is
#      added it binds and the link comes up;
#   2. each unit active (running) with its Status= line, and equal kd_id in the source's and the target's journal;
#   3. `systemd-analyze security` of each unit, live, at most 2.5;
#   4. stopping the three at once: the source stops first (ordering) and its release is acknowledged, within 10 s;
#   5. stopping the source while the relay is gone: within 8 s (at most 4 tries of the RELEASE REQUEST);
#   6. a bad configuration (exit 2) and a missing credential (243/CREDENTIALS) are not restarted;
#   7. journalctl -t <role> -o cat | jq -R 'fromjson?' reads the daemon's JSON log (the README's recipe).
# Removes the tree it booted (the cache stays: U2U_NSPAWN_CACHE, default /var/cache/u2u-relay). Needs root,
# debootstrap, systemd-nspawn (systemd-container) and Debian's mirror (scripts/deps installs the packages).
# Usage: systemd_boot_test.sh BUILD_DIR        Exit 0 pass, 1 fail, 77 skip (not root, or nspawn cannot boot here).
set -euo pipefail
build=$(cd "${1:?usage: systemd_boot_test.sh BUILD_DIR}" && pwd)
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
roles=(target-ue relay-ue source-ue)
late_address=10.77.0.1
cache_dir=${U2U_NSPAWN_CACHE:-/var/cache/u2u-relay}
cache=$cache_dir/bookworm-systemd.tar
mirror=${U2U_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=systemd,systemd-sysv,dbus,libnss-systemd,iproute2,jq,libssl3,libspdlog1.10,libfmt9,libyaml-cpp0.7

skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "not root (systemd-nspawn and debootstrap need root)"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed (Debian package systemd-container)"
command -v debootstrap >/dev/null || skip "debootstrap is not installed"

tmp=$(mktemp -d -t u2u-nspawn-XXXXXX)
tree=$tmp/tree
nspawn_pid=""
cleanup() {
  if [[ -n $nspawn_pid ]] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill -TERM "$nspawn_pid" 2>/dev/null || true  # nspawn: powers the container off
    for _ in $(seq 50); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$nspawn_pid" 2>/dev/null || true
    wait "$nspawn_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok  $*"; }

# The tree: from the cache, or debootstrap once (a few minutes) and cached.
mkdir -p "$tree"
if [[ ! -s $cache ]]; then
  echo "== debootstrap --variant=minbase bookworm ($packages), cached as $cache"
  if ! debootstrap --variant=minbase --include="$packages" bookworm "$tmp/new" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
    tail -20 "$tmp/debootstrap.log"
    skip "debootstrap from $mirror failed (no mirror reachable?)"
  fi
  rm -rf "$tmp/new/var/cache/apt/archives/"*.deb
  mkdir -p "$cache_dir"
  tar -C "$tmp/new" -cf "$cache.part" . && mv "$cache.part" "$cache"
  rm -rf "$tmp/new"
fi
tar -C "$tree" -xf "$cache"

echo "== DESTDIR=$tree cmake --install $build --prefix /usr; /etc/u2u-relay as the README's systemd section fills it"
DESTDIR=$tree cmake --install "$build" --prefix /usr >"$tmp/install.log"
"$build/bin/u2u-provision" testbed --out "$tmp/tb" --log-format json --relay-address "$late_address" >/dev/null
etc=$tree/etc/u2u-relay
fill() {  # the README's commands for one role, into the tree
  local role=$1 tb=$tmp/tb
  install -d -m 0755 "$etc"
  install -m 0644 "$tb/ca/cert.pem" "$etc/ca.pem"
  install -m 0644 "$tb/$role/cert.pem" "$etc/$role.cert.pem"
  install -m 0600 "$tb/$role/key.pem" "$etc/$role.key.pem"
  sed -e "s#: ca/cert.pem#: ca.pem#" -e "s#: $role/cert.pem#: $role.cert.pem#" -e "s#: $role/key.pem#: $role.key.pem#" \
    "$tb/$role.yaml" >"$etc/$role.yaml"
}
for role in "${roles[@]}"; do fill "$role"; done

echo "== systemd-nspawn -b --keep-unit --register=no --private-network"
systemd-nspawn -q -D "$tree" -b --keep-unit --register=no --private-network -M "u2u-$$" >"$tmp/console.log" 2>&1 &
nspawn_pid=$!
# The container's init: the first descendant of nspawn that runs systemd.
init=""
for _ in $(seq 100); do
  for pid in $(pgrep -P "$nspawn_pid" 2>/dev/null) $(pgrep -P "$(pgrep -P "$nspawn_pid" | head -1)" 2>/dev/null); do
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd ]]; then init=$pid; break 2; fi
  done
  kill -0 "$nspawn_pid" 2>/dev/null || break
  sleep 0.2
done
if [[ -z $init ]]; then
  tail -20 "$tmp/console.log"
  skip "systemd-nspawn could not boot the tree here"
fi
ct() { nsenter -t "$init" -a "$@"; }
state=$(timeout 60 nsenter -t "$init" -a systemctl is-system-running --wait 2>/dev/null || true)
echo "booted: systemd $(ct systemctl --version | head -1 | cut -d' ' -f2), system $state"
[[ $state == running || $state == degraded ]] || { tail -20 "$tmp/console.log"; fail "the container did not boot"; exit 1; }

show() { ct systemctl show -P "$2" "u2u-$1"; }
journal() { ct journalctl -q -t "$1" -o cat --no-pager; }
wait_journal() {  # role, pattern, seconds
  for _ in $(seq $(($3 * 5))); do
    journal "$1" | grep -q -- "$2" && return 0
    sleep 0.2
  done
  return 1
}

for role in "${roles[@]}"; do
  ct "/usr/bin/$role" --check-config --config "/etc/u2u-relay/$role.yaml" >"$tmp/check.log" 2>&1 ||
    { cat "$tmp/check.log"; fail "$role --check-config"; }
  if [[ $role == relay-ue ]]; then
    grep -q "warning: listen: $late_address:[0-9]* is not an address of this host now" "$tmp/check.log" ||
      { cat "$tmp/check.log"; fail "relay-ue --check-config does not warn that $late_address is not here yet"; }
  fi
done

# 1. The relay's address arrives after the units started.
ct systemctl enable --now u2u-target-ue u2u-relay-ue u2u-source-ue 2>/dev/null
if wait_journal relay-ue '"event":"waiting_for_address"' 10; then
  ok "relay-ue waits for $late_address: $(show relay-ue ActiveState), Status: $(show relay-ue StatusText)"
  [[ $(show relay-ue ActiveState) == active ]] || fail "relay-ue is not active while it waits"
else
  fail "relay-ue did not log waiting_for_address"
fi
sleep 2
ct ip address add "$late_address/32" dev lo
if wait_journal relay-ue '"event":"started"' 10 && wait_journal source-ue '"event":"link_established"' 45; then
  ok "the address came: relay-ue bound it (Status: $(show relay-ue StatusText)) and the link came up"
else
  fail "no link after the relay's address came"
fi

# 2. Active with Status=, equal kd_id.
for role in "${roles[@]}"; do
  active=$(show "$role" ActiveState)/$(show "$role" SubState)
  status=$(show "$role" StatusText)
  if [[ $active == active/running && $status == "listening on "* ]]; then
    ok "u2u-$role $active, Status: $status"
  else
    fail "u2u-$role $active, Status: $status"
  fi
done
wait_journal target-ue '"event":"link_established"' 10 || true
kd() { journal "$1" | grep '"event":"link_established"' | tail -1 | grep -o '"kd_id":"[0-9a-f]*"'; }
source_kd=$(kd source-ue || true)
target_kd=$(kd target-ue || true)
if [[ -n $source_kd && $source_kd == "$target_kd" ]]; then ok "equal $source_kd in both journals"; else
  fail "kd_id: source $source_kd, target $target_kd"; fi

# 7. The README's recipe for the JSON log.
events=$(ct sh -c "journalctl -q -t relay-ue -o cat --no-pager | jq -R -c 'fromjson? | .event'" | sort -u | tr '\n' ' ')
[[ $events == *'"started"'* ]] && ok "journalctl -t relay-ue -o cat | jq -R 'fromjson?': $events" ||
  fail "jq read no event from relay-ue's journal: $events"

# 3. systemd-analyze security, live.
for role in "${roles[@]}"; do
  level=$(ct systemd-analyze security --no-pager "u2u-$role" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  if [[ -n $level ]] && awk -v l="$level" 'BEGIN { exit !(l <= 2.5) }'; then ok "u2u-$role exposure $level (live)"; else
    fail "u2u-$role exposure '$level' (live), more than 2.5"; fi
done

# 4. All three stopped at once: the ordering lets the source's release through.
start=$(date +%s.%N)
ct systemctl stop u2u-source-ue u2u-relay-ue u2u-target-ue
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
released=$(journal source-ue | grep '"event":"link_released"' | tail -1 || true)
# When (journal's clock) the source had released and the relay and the target were told to stop.
at() { ct journalctl -q -t "$1" -o short-unix --no-pager | grep "\"event\":\"$2\"" | tail -1 | cut -d' ' -f1; }
source_done=$(at source-ue link_released) relay_stop=$(at relay-ue stopping) target_stop=$(at target-ue stopping)
if [[ $released == *'"acknowledged":"yes"'* ]] && awk -v t="$took" 'BEGIN { exit !(t < 10) }' &&
  awk -v s="$source_done" -v r="$relay_stop" -v t="$target_stop" 'BEGIN { exit !(s != "" && r >= s && t >= r) }'; then
  ok "the three stopped together in $took s: source (release acknowledged), then relay, then target"
else
  fail "stopping the three took $took s; the source's release at $source_done: ${released:-none};" \
    "relay stopping at $relay_stop, target at $target_stop"
fi

# 5. The relay gone: the source's stop is bounded.
ct systemctl start u2u-target-ue u2u-relay-ue u2u-source-ue
before=$(journal source-ue | grep -c '"event":"link_established"' || true)
for _ in $(seq 150); do
  [[ $(journal source-ue | grep -c '"event":"link_established"' || true) -gt $before ]] && break
  sleep 0.2
done
ct systemctl stop u2u-relay-ue
start=$(date +%s.%N)
ct systemctl stop u2u-source-ue
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
released=$(journal source-ue | grep '"event":"link_released"' | tail -1 || true)
if awk -v t="$took" 'BEGIN { exit !(t < 8) }' && [[ $released == *'"acknowledged":"no'* ]]; then
  ok "with the relay gone, u2u-source-ue stopped in $took s (release unacknowledged)"
else
  fail "with the relay gone, stopping u2u-source-ue took $took s; ${released:-no link_released}"
fi
ct systemctl stop u2u-target-ue

# 6. What a restart cannot fix is not restarted.
no_restart() {  # role, what, expected ExecMainStatus
  ct systemctl reset-failed "u2u-$1" 2>/dev/null || true
  ct systemctl start "u2u-$1" 2>/dev/null || true
  sleep 7  # beyond RestartSec=2s, twice
  local restarts status active
  restarts=$(show "$1" NRestarts) status=$(show "$1" ExecMainStatus) active=$(show "$1" ActiveState)
  if [[ $restarts == 0 && $status == "$3" && $active == failed ]]; then
    ok "$2: u2u-$1 failed with status $status, not restarted"
  else
    fail "$2: u2u-$1 $active, status $status, restarted $restarts times"
  fi
}
cp "$etc/relay-ue.yaml" "$tmp/relay-ue.yaml"
echo "no_such_key: 1" >>"$etc/relay-ue.yaml"
no_restart relay-ue "a bad configuration" 2
cp "$tmp/relay-ue.yaml" "$etc/relay-ue.yaml"
mv "$etc/relay-ue.key.pem" "$tmp/"
no_restart relay-ue "a missing credential" 243
mv "$tmp/relay-ue.key.pem" "$etc/"

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s); the container's console:"
  tail -30 "$tmp/console.log"
  exit 1
fi
echo "PASS"
