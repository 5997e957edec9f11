#!/usr/bin/env bash
# The Debian package (scripts/package, packaging/CMakeLists.txt), built from BUILD_DIR:
#   1. what it holds, exactly: the five programs in /usr/bin, stripped (not the testbed's tools); the three units in
#      /usr/lib/systemd/system as systemd/ has them; config/*.yaml and systemd/tun.conf unchanged in
#      /usr/share/doc/u2u-relay/examples; the six man pages, gzipped; copyright and changelog.gz; Depends naming the
#      Debian 12 libraries the programs link;
#   2. the man pages: each renders without a warning; each program's page has every option its --help lists;
#      u2u-relay.yaml(5) has a subsection for every top-level key of config/*.yaml, set or commented out, and every
#      line of those files;
#   3. lintian: no error and no warning (README "Debian package" lists what lintian still reports, and why);
#   4. on a clean Debian 12 (a debian:12 container; scripts/lib/docker-engine.sh starts an engine and makes the image
#      where Docker Hub is out of reach): `apt-get install ./u2u-relay_*.deb` pulls the declared dependencies from
#      Debian's mirror; relay-ue --version runs from /usr/bin, and every program runs; `man relay-ue` and the other
#      pages render; `systemd-analyze verify` passes the three units (Documentation= included); with /etc/u2u-relay
#      filled as the README says and a unit enabled, `apt-get remove` leaves nothing but that configuration (and
#      deb-systemd-helper's record of the unit's links, which purge needs), and `apt-get purge` leaves nothing at all:
#      the file system as it was before the package was installed.
# 1-3 run as any user; 4 needs root and a Docker engine.
# Usage: package_test.sh BUILD_DIR     Exit 0 pass, 1 fail, 77 skip (1-3 passed, 4 cannot run here).
set -euo pipefail
build=$(cd "${1:?usage: package_test.sh BUILD_DIR}" && pwd)
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
programs=(source-ue relay-ue target-ue u2u-provision u2u-trace)
roles=(source-ue relay-ue target-ue)
# shellcheck source=scripts/lib/docker-engine.sh
source "$source_dir/scripts/lib/docker-engine.sh"

tmp=$(mktemp -d -t u2u-package-XXXXXX)
container=u2u-package-test-$$
cleanup() {
  set +e
  [[ -z ${container_started:-} ]] || "$u2u_docker" rm -f "$container" >/dev/null 2>&1
  u2u_docker_engine_stop
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok  $*"; }
finish() {
  if [[ $failures -ne 0 ]]; then
    echo "$failures failure(s)"
    exit 1
  fi
}

echo "== scripts/package $build"
mkdir -p "$tmp/pkg"
deb=$("$source_dir/scripts/package" "$build" "$tmp/pkg")
version=$(dpkg-deb -f "$deb" Version)
echo "$(basename "$deb"): $(du -k "$deb" | cut -f1) KiB, Depends: $(dpkg-deb -f "$deb" Depends)"

# 1. What it holds.
root=$tmp/root
dpkg-deb -x "$deb" "$root"
expected=()
for p in "${programs[@]}"; do expected+=("usr/bin/$p"); done
for role in "${roles[@]}"; do expected+=("usr/lib/systemd/system/u2u-$role.service" "usr/share/man/man8/$role.8.gz"); done
for config in "$source_dir"/config/*.yaml; do expected+=("usr/share/doc/u2u-relay/examples/$(basename "$config")"); done
expected+=(usr/share/doc/u2u-relay/examples/tun.conf usr/share/doc/u2u-relay/copyright
           usr/share/doc/u2u-relay/changelog.gz usr/share/man/man1/u2u-provision.1.gz usr/share/man/man1/u2u-trace.1.gz
           usr/share/man/man5/u2u-relay.yaml.5.gz)
if diff <(printf '%s\n' "${expected[@]}" | sort) <(cd "$root" && find . ! -type d | sed 's#^\./##' | sort) >"$tmp/files.diff"
then
  ok "the package holds exactly the ${#expected[@]} files expected"
else
  fail "the package's files differ from those expected (< missing, > unexpected):"$'\n'"$(grep '^[<>]' "$tmp/files.diff")"
fi
for p in "${programs[@]}"; do
  if [[ -x $root/usr/bin/$p ]] && [[ $(file -b "$root/usr/bin/$p") == *", stripped"* ]]; then
    ok "/usr/bin/$p, stripped"
  else
    fail "/usr/bin/$p is missing, not executable or not stripped: $(file -b "$root/usr/bin/$p" 2>&1)"
  fi
done
for role in "${roles[@]}"; do
  cmp -s "$root/usr/lib/systemd/system/u2u-$role.service" "$source_dir/systemd/u2u-$role.service" ||
    fail "/usr/lib/systemd/system/u2u-$role.service differs from systemd/u2u-$role.service"
done
for config in "$source_dir"/config/*.yaml "$source_dir/systemd/tun.conf"; do
  cmp -s "$root/usr/share/doc/u2u-relay/examples/$(basename "$config")" "$config" ||
    fail "/usr/share/doc/u2u-relay/examples/$(basename "$config") differs from ${config#"$source_dir"/}"
done
depends=$(dpkg-deb -f "$deb" Depends)
for library in libc6 libssl3 libyaml-cpp0.7 libspdlog1.10 libstdc++6; do
  [[ ", $depends" == *", $library"* ]] || fail "Depends lacks $library: $depends"
done
for script in postinst prerm postrm; do
  dpkg-deb -I "$deb" "$script" >/dev/null 2>&1 || fail "no $script in the package"
done

# 2. The man pages.
man_dir=$root/usr/share/man
render() { { LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$1" >/dev/null; } 2>&1; }  # warnings
for page in "$man_dir"/man?/*.gz; do
  out=$(render "$page") || fail "${page#"$root"}: man cannot render it"
  [[ -z $out ]] || fail "${page#"$root"}: man warns:"$'\n'"$out"
done
for p in "${programs[@]}"; do
  pages=("$man_dir"/man?/"$p".?.gz)
  page=${pages[0]}
  [[ -f $page ]] || continue  # reported by the file list
  text=$(LC_ALL=C MANWIDTH=200 man -l "$page" 2>/dev/null)
  missing=()
  for option in $("$root/usr/bin/$p" --help | grep -oE '(^|[ ,])--[a-z][a-z-]+' | sed 's/^[ ,]*//' | sort -u); do
    grep -qF -- "$option" <<<"$text" || missing+=("$option")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then ok "${page#"$root"}: every option of $p --help"; else
    fail "${page#"$root"} lacks ${missing[*]} of $p --help"; fi
done
# u2u-relay.yaml(5): its roff with the escapes undone, one line each, against config/*.yaml.
zcat "$man_dir/man5/u2u-relay.yaml.5.gz" | sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/^\\&//' >"$tmp/yaml.5"
for config in "$source_dir"/config/*.yaml; do
  name=$(basename "$config")
  grep -qxiF ".SH ${name%.yaml} ($name)" "$tmp/yaml.5" || fail "u2u-relay.yaml(5) has no section for $name"
  keys=$(sed -nE -e 's/^([A-Za-z_][A-Za-z0-9_]*):.*/\1/p' -e 's/^# ([A-Za-z_][A-Za-z0-9_]*):[ \t]*$/\1/p' "$config")
  missing=()
  for key in $keys; do grep -qE "^\.SS (.*, )?$key(,| |$)" "$tmp/yaml.5" || missing+=("$key"); done
  lost=0
  while IFS= read -r line; do
    [[ -n ${line// /} ]] || continue
    prose=$(sed -e 's/^# \{0,1\}//' -e 's/^[ \t]*//' <<<"$line")
    grep -qxF -- "$line" "$tmp/yaml.5" || grep -qxF -- "$prose" "$tmp/yaml.5" || { lost=$((lost + 1)); echo "  not in the page: $line"; }
  done <"$config"
  if [[ ${#missing[@]} -eq 0 && $lost -eq 0 ]]; then
    ok "u2u-relay.yaml(5): $name, its $(wc -w <<<"$keys") top-level keys and every line"
  else
    fail "u2u-relay.yaml(5): of $name, no subsection for '${missing[*]}' and $lost line(s) missing"
  fi
done

# 3. lintian.
if ! command -v lintian >/dev/null; then
  fail "lintian is not installed (scripts/deps installs it)"
else
  lintian --display-info --pedantic "$deb" 2>&1 | grep -v 'running with root privileges' >"$tmp/lintian.log" || true
  sed 's/^/  lintian: /' "$tmp/lintian.log"
  if grep -qE '^[EW]: ' "$tmp/lintian.log"; then fail "lintian reports errors or warnings"; else
    ok "lintian: no error, no warning ($(grep -c '^[IP]: ' "$tmp/lintian.log") info and pedantic tags)"; fi
fi
finish

# 4. On a clean Debian 12.
skip() { echo "SKIP: $* (the package's contents, man pages and lintian passed)"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "not root (a Docker engine needs root)"
u2u_install_missing dockerd=docker.io
u2u_docker_engine_start "$tmp" || skip "$u2u_docker_reason"
u2u_docker_base_images "$tmp" debian:12 || skip "$u2u_docker_reason"

cat >"$tmp/pkg/inside.sh" <<'INSIDE'
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok  $*"; }
apt_get() { apt-get -y -q -o Dpkg::Use-Pty=0 "$@" >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; return 1; }; }
# Every path of the root file system but the kernel's, the mounts' and apt's and dpkg's own records.
snapshot() {
  find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp -o -path /pkg -o -path /var/cache \
    -o -path /var/log -o -path /var/lib/apt -o -path /var/lib/dpkg \) -prune -o -print | sort >"$1"
}
apt_get update || { echo "SKIP: apt-get update: no Debian mirror reachable from the container"; exit 77; }
# What the test uses, not the package: man (man-db), systemd-analyze and systemctl (systemd).
apt_get install --no-install-recommends man-db systemd || exit 1
snapshot /tmp/clean
deb=$(ls /pkg/u2u-relay_*.deb)

echo "== apt-get install ./$(basename "$deb") on a clean Debian 12"
if apt_get install --no-install-recommends "$deb"; then
  ok "installed, with $(sed -n 's/^Setting up \([^ :]*\).*/\1/p' /tmp/apt.log | grep -vx u2u-relay | tr '\n' ' ')"
else
  fail "apt-get install $deb"
  exit 1
fi
[[ $(command -v relay-ue) == /usr/bin/relay-ue ]] || fail "relay-ue is not /usr/bin/relay-ue: $(command -v relay-ue)"
if out=$(relay-ue --version 2>&1) && [[ $out == "relay-ue $VERSION "* ]]; then ok "relay-ue --version: $out"; else
  fail "relay-ue --version: $out"; fi
for p in source-ue target-ue u2u-provision u2u-trace; do
  out=$("/usr/bin/$p" --version 2>&1) && [[ $out == "$p $VERSION "* ]] || fail "$p --version: $out"
done
for page in "8 source-ue" "8 relay-ue" "8 target-ue" "1 u2u-provision" "1 u2u-trace" "5 u2u-relay.yaml"; do
  # shellcheck disable=SC2086 # section and name
  text=$(MANWIDTH=80 man $page 2>&1)
  if grep -qx "NAME" <<<"$text" && grep -qx "SEE ALSO" <<<"$text"; then :; else fail "man $page: $(head -3 <<<"$text")"; fi
done
text=$(MANWIDTH=80 man relay-ue 2>&1)
if grep -qx OPTIONS <<<"$text" && grep -q -- "--check-config" <<<"$text"; then
  ok "man relay-ue renders (OPTIONS, --check-config), and so do the five other pages"
else
  fail "man relay-ue: $(head -5 <<<"$text")"
fi
grep -q "^SOURCE-UE (source-ue.yaml)" <<<"$(MANWIDTH=80 man u2u-relay.yaml 2>&1)" || fail "man u2u-relay.yaml lacks SOURCE-UE"
out=$(systemd-analyze verify /usr/lib/systemd/system/u2u-{source,relay,target}-ue.service 2>&1)
if [[ -z $out ]]; then ok "systemd-analyze verify: the three units, clean"; else fail "systemd-analyze verify:"$'\n'"$out"; fi

echo "== purge, then install again and configure as the README says"
apt_get purge u2u-relay || fail "apt-get purge u2u-relay"
snapshot /tmp/base  # the dependencies, without the package
# What the first installation added and its purge left must be the dependencies': dpkg knows every such file.
unowned=$(comm -13 /tmp/clean /tmp/base | while read -r path; do dpkg -S "$path" >/dev/null 2>&1 || echo "$path"; done)
if [[ -z $unowned ]]; then ok "install then purge left only the dependencies' files"; else
  fail "install then purge left files of no package: $(tr '\n' ' ' <<<"$unowned")"; fi
apt_get install --no-install-recommends "$deb" || fail "apt-get install $deb, again"
snapshot /tmp/installed
u2u-provision testbed --out /tmp/tb --log-format json >/dev/null
install -d -m 0755 /etc/u2u-relay
for role in source-ue relay-ue target-ue; do
  tb=/tmp/tb
  install -m 0644 $tb/ca/cert.pem /etc/u2u-relay/ca.pem
  install -m 0644 $tb/$role/cert.pem /etc/u2u-relay/$role.cert.pem
  install -m 0600 $tb/$role/key.pem /etc/u2u-relay/$role.key.pem
  sed -e "s#: ca/cert.pem#: ca.pem#" -e "s#: $role/cert.pem#: $role.cert.pem#" -e "s#: $role/key.pem#: $role.key.pem#" \
    $tb/$role.yaml >/etc/u2u-relay/$role.yaml
  $role --check-config --config /etc/u2u-relay/$role.yaml >/dev/null || fail "$role --check-config"
done
install -D -m 0644 /usr/share/doc/u2u-relay/examples/tun.conf /etc/systemd/system/u2u-source-ue.service.d/tun.conf
systemctl enable u2u-relay-ue 2>/dev/null || fail "systemctl enable u2u-relay-ue"
snapshot /tmp/configured
comm -13 /tmp/installed /tmp/configured >/tmp/configuration
echo "configuration: $(tr '\n' ' ' </tmp/configuration)"

apt_get remove u2u-relay || fail "apt-get remove u2u-relay"
snapshot /tmp/removed
# Left by remove: the configuration, and what the postinst recorded for the units (deb-systemd-helper's state).
left=$(comm -13 /tmp/base /tmp/removed | grep -vxF -f /tmp/configuration | grep -v '^/var/lib/systemd/deb-systemd-helper-enabled')
gone=$(comm -23 <(cat /tmp/base /tmp/configuration | sort) /tmp/removed)
if [[ -z $left && -z $gone ]]; then ok "apt-get remove left nothing but the configuration"; else
  fail "apt-get remove left: ${left:-nothing else}; and removed: ${gone:-nothing else}"; fi
[[ $(dpkg-query -W -f='${Status}' u2u-relay) == "deinstall ok config-files" ]] || fail "after remove: $(dpkg-query -W -f='${Status}' u2u-relay)"

apt_get purge u2u-relay || fail "apt-get purge u2u-relay"
snapshot /tmp/purged
if cmp -s /tmp/base /tmp/purged; then ok "apt-get purge left nothing at all"; else
  fail "apt-get purge left:"$'\n'"$(diff /tmp/base /tmp/purged)"; fi
dpkg-query -W u2u-relay >/dev/null 2>&1 && fail "dpkg still knows u2u-relay after purge"
[[ $failures -eq 0 ]] || { echo "$failures failure(s) in the container"; exit 1; }
INSIDE

echo "== a clean debian:12 container"
container_started=1
set +e
"$u2u_docker" run --name "$container" --rm -e VERSION="$version" -v "$tmp/pkg:/pkg:ro" debian:12 bash /pkg/inside.sh
status=$?
set -e
container_started=""
[[ $status -eq 77 ]] && skip "the container reaches no Debian mirror"
[[ $status -eq 0 ]] || fail "in the clean Debian 12 container"
finish
echo "PASS: $(basename "$deb"): contents, man pages, lintian, and install, remove and purge on a clean Debian 12"
