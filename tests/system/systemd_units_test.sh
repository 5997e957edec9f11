#!/usr/bin/env bash
# The systemd units in systemd/: each passes `systemd-analyze verify` without a single warning, and
# `systemd-analyze security --offline=true` rates its exposure at 2.5 or lower. Also checks the contract the
# README promises: Type=notify, restart on failure, the journal, a dynamic user, and the configuration and
# credentials under /etc/u2u-relay loaded with LoadCredential=; and that the README's commands for filling
# /etc/u2u-relay give configurations the daemons accept, there and in the units' credentials directories.
# (Nothing here starts a unit: that needs systemd as PID 1. tests/integration/systemd_notify_test.cpp checks
# the daemons' side of Type=notify.)
# Usage: systemd_units_test.sh UNIT_DIR BIN_DIR     Exit 0 pass, 1 fail, 77 skip (no systemd-analyze).
set -euo pipefail
unit_dir=${1:?usage: systemd_units_test.sh UNIT_DIR BIN_DIR}
bin_dir=${2:?usage: systemd_units_test.sh UNIT_DIR BIN_DIR}
bin_dir=$(cd "$bin_dir" && pwd)  # ExecStart needs an absolute path
max_exposure=2.5
# --man=no: the man pages the units' Documentation= names are not installed here (system.package verifies the units
# with them installed).
verify=(systemd-analyze verify --man=no)

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is not installed (Debian package systemd)"
  exit 77
fi

tmp=$(mktemp -d -t u2u-units-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

units=("$unit_dir"/u2u-*.service)
[[ -e ${units[0]} ]] || { echo "FAIL: no unit in $unit_dir"; exit 1; }
for unit in "${units[@]}"; do
  name=$(basename "$unit")
  role=${name#u2u-}
  role=${role%.service}
  echo "== $name"

  # `verify` insists that ExecStart's program exists. The units name the installed path (/usr/bin/<role>,
  # rewritten to the install prefix by `cmake --install`), which a build machine does not have; so this
  # checks a copy, under the same name, whose ExecStart names the freshly built program instead. Nothing
  # else in the copy changes.
  [[ -x $bin_dir/$role ]] || { fail "$name: $bin_dir/$role is not built"; continue; }
  grep -q "^ExecStart=/usr/bin/$role " "$unit" || fail "$name: ExecStart is not /usr/bin/$role"
  sed "s#^ExecStart=/usr/bin/$role #ExecStart=$bin_dir/$role #" "$unit" >"$tmp/$name"

  # verify exits 0 on many problems (an unknown key, a bad value) and only prints them: any output fails.
  if ! out=$("${verify[@]}" "$tmp/$name" 2>&1) || [[ -n $out ]]; then
    fail "$name: systemd-analyze verify:"$'\n'"$out"
  else
    echo "systemd-analyze verify: clean"
  fi

  report=$(systemd-analyze security --offline=true "$tmp/$name" 2>&1) || true
  exposure=$(sed -n 's/^→ Overall exposure level for .*: \([0-9.]*\) .*/\1/p' <<<"$report")
  if [[ -z $exposure ]]; then
    fail "$name: no exposure level in systemd-analyze security's report:"$'\n'"$report"
  elif awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
    echo "systemd-analyze security: exposure $exposure (at most $max_exposure)"
  else
    fail "$name: exposure $exposure is over $max_exposure:"$'\n'"$(grep '✗' <<<"$report")"
  fi

  # The contract of the units (README "systemd").
  for line in "Type=notify" "Restart=on-failure" "StandardOutput=journal" "DynamicUser=yes" "CapabilityBoundingSet=" \
              "LoadCredential=$role.yaml:/etc/u2u-relay/$role.yaml" "LoadCredential=ca.pem:/etc/u2u-relay/ca.pem" \
              "LoadCredential=$role.cert.pem:/etc/u2u-relay/$role.cert.pem" \
              "LoadCredential=$role.key.pem:/etc/u2u-relay/$role.key.pem"; do
    grep -qxF "$line" "$unit" || fail "$name: lacks the line $line"
  done
  grep -q "^ExecStart=/usr/bin/$role --config %d/$role.yaml --log-format json$" "$unit" ||
    fail "$name: ExecStart does not read %d/$role.yaml with --log-format json"

  # The ends with the drop-in systemd/tun.conf (a data.tun interface needs CAP_NET_ADMIN and /dev/net/tun): still
  # clean, still at most $max_exposure, and granting CAP_NET_ADMIN; relay-ue never gets it.
  if [[ $role != relay-ue && -f $unit_dir/tun.conf ]]; then
    mkdir -p "$tmp/tun/$name.d"
    cp "$tmp/$name" "$tmp/tun/$name"
    cp "$unit_dir/tun.conf" "$tmp/tun/$name.d/tun.conf"
    if ! out=$("${verify[@]}" "$tmp/tun/$name" 2>&1) || [[ -n $out ]]; then
      fail "$name with tun.conf: systemd-analyze verify:"$'\n'"$out"
    fi
    report=$(systemd-analyze security --offline=true "$tmp/tun/$name" 2>&1) || true
    exposure=$(sed -n 's/^→ Overall exposure level for .*: \([0-9.]*\) .*/\1/p' <<<"$report")
    if [[ -n $exposure ]] && awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }' &&
      grep -q 'CapabilityBoundingSet=~CAP_NET_ADMIN' <<<"$report"; then
      echo "with tun.conf: exposure $exposure (at most $max_exposure), CAP_NET_ADMIN granted"
    else
      fail "$name with tun.conf: exposure '$exposure' over $max_exposure, or CAP_NET_ADMIN not granted"
    fi
  fi
done

# The credentials layout the units expect (README "systemd"): provision, fill an /etc/u2u-relay look-alike
# with the README's commands, and check each configuration there and in the credentials directory that the
# unit's LoadCredential= lines would make (every file they name, copied under its credential name, mode 0400).
etc=$tmp/etc/u2u-relay
if "$bin_dir/u2u-provision" testbed --out "$tmp/tb" --log-format json >"$tmp/provision.log" 2>&1; then
  tb=$tmp/tb
  install -d -m 0755 "$etc"
  for unit in "${units[@]}"; do
    name=$(basename "$unit")
    role=${name#u2u-}
    role=${role%.service}
    # The README's commands, with /etc/u2u-relay -> $etc.
    install -m 0644 "$tb/ca/cert.pem" "$etc/ca.pem"
    install -m 0644 "$tb/$role/cert.pem" "$etc/$role.cert.pem"
    install -m 0600 "$tb/$role/key.pem" "$etc/$role.key.pem"
    sed -e "s#: ca/cert.pem#: ca.pem#" -e "s#: $role/cert.pem#: $role.cert.pem#" -e "s#: $role/key.pem#: $role.key.pem#" \
        "$tb/$role.yaml" >"$etc/$role.yaml"
    if out=$("$bin_dir/$role" --check-config --config "$etc/$role.yaml" 2>&1) && [[ $out != *warning* ]]; then
      echo "ok  $role --check-config accepts /etc/u2u-relay/$role.yaml laid out as README says"
    else
      fail "$role --check-config on /etc/u2u-relay/$role.yaml: $out"
    fi
    credentials=$tmp/credentials/$name
    install -d -m 0700 "$credentials"
    while IFS=: read -r id path; do
      [[ $path == /etc/u2u-relay/* ]] || { fail "$name: LoadCredential=$id:$path is not under /etc/u2u-relay"; continue; }
      install -m 0400 "$etc/${path#/etc/u2u-relay/}" "$credentials/$id" || fail "$name: LoadCredential=$id:$path: no such file"
    done < <(sed -n 's/^LoadCredential=//p' "$unit")
    if out=$("$bin_dir/$role" --check-config --config "$credentials/$role.yaml" 2>&1) && [[ $out != *warning* ]]; then
      echo "ok  $role --check-config accepts %d/$role.yaml in the credentials directory of $name"
    else
      fail "$role --check-config on the credentials directory of $name: $out"
    fi
  done
else
  fail "u2u-provision testbed: $(cat "$tmp/provision.log")"
fi

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "PASS: ${#units[@]} units verified, each exposure at most $max_exposure"
