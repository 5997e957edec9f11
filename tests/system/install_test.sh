#!/usr/bin/env bash
# cmake --install lays out what the README names: <prefix>/bin/{source-ue,relay-ue,target-ue,u2u-provision,u2u-trace}
# and not the testbed's tools (u2u-impair, u2u-load), <prefix>/share/doc/u2u-relay/examples/<role>.yaml (the
# documented configs of config/) and tun.conf, <prefix>/lib/systemd/system/u2u-<role>.service with ExecStart naming
# <prefix>/bin/<role>, and the six man pages in <prefix>/share/man/man{1,5,8}. Installs twice under DESTDIR in a
# temp dir (prefix /usr/local and /opt/u2u-relay), so nothing outside it is touched.
# Usage: install_test.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: install_test.sh BUILD_DIR}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
roles=(source-ue relay-ue target-ue)

tmp=$(mktemp -d -t u2u-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for prefix in /usr/local /opt/u2u-relay; do
  root=$tmp/root${prefix//\//-}
  echo "== DESTDIR=$root cmake --install $build --prefix $prefix"
  if ! DESTDIR=$root cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    fail "cmake --install failed"
    continue
  fi
  top=$root$prefix
  for p in "${roles[@]}" u2u-provision u2u-trace; do
    if [[ -x $top/bin/$p ]] && "$top/bin/$p" --help >/dev/null; then
      echo "ok  $prefix/bin/$p"
    else
      fail "$prefix/bin/$p is missing or does not run"
    fi
  done
  for p in u2u-impair u2u-load; do
    [[ ! -e $top/bin/$p ]] || fail "$prefix/bin/$p is installed (a testbed tool: only with --component testbed-tools)"
  done
  for page in man8/source-ue.8 man8/relay-ue.8 man8/target-ue.8 man1/u2u-provision.1 man1/u2u-trace.1 \
              man5/u2u-relay.yaml.5; do
    if gzip -t "$top/share/man/$page.gz" 2>/dev/null; then echo "ok  $prefix/share/man/$page.gz"; else
      fail "$prefix/share/man/$page.gz is missing or not gzipped"; fi
  done
  docs=$top/share/doc/u2u-relay/examples
  cmp -s "$docs/tun.conf" "$source_dir/systemd/tun.conf" ||
    fail "$prefix/share/doc/u2u-relay/examples/tun.conf is missing or differs from systemd/tun.conf"
  for role in "${roles[@]}"; do
    example=$docs/$role.yaml
    if cmp -s "$example" "$source_dir/config/$role.yaml"; then
      echo "ok  $prefix/share/doc/u2u-relay/examples/$role.yaml"
    else
      fail "$prefix/share/doc/u2u-relay/examples/$role.yaml is missing or differs from config/$role.yaml"
    fi
    unit=$top/lib/systemd/system/u2u-$role.service
    if [[ ! -f $unit ]]; then
      fail "$prefix/lib/systemd/system/u2u-$role.service is missing"
      continue
    fi
    # Only ExecStart changes: it names the program where this install put it.
    expected=$(sed "s#^ExecStart=/usr/bin/$role #ExecStart=$prefix/bin/$role #" "$source_dir/systemd/u2u-$role.service")
    if [[ $(cat "$unit") == "$expected" ]]; then
      echo "ok  $prefix/lib/systemd/system/u2u-$role.service ($(grep '^ExecStart=' "$unit"))"
    else
      fail "$prefix/lib/systemd/system/u2u-$role.service is not systemd/u2u-$role.service with ExecStart=$prefix/bin/$role:"
      diff <(echo "$expected") "$unit" || true
    fi
  done
  # Nothing was installed outside DESTDIR: every file under it is below the prefix.
  outside=$(find "$root" -type f ! -path "$top/*")
  [[ -z $outside ]] || fail "installed outside $prefix: $outside"
done

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "PASS: programs, example configs, systemd units and man pages installed where the README says"
