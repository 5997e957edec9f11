#!/usr/bin/env bash
# docker/compose.yaml: `docker-compose config -q` accepts it (Debian 12's docker-compose 1.29; scripts/compose-test
# runs it for real, system.compose), and it keeps the topology of scripts/testbed: the same addresses, the relay on
# both networks, the source and the target each on one, the daemons after the one-shot provisioning.
# Usage: compose_config_test.sh SOURCE_DIR     Exit 0 pass, 1 fail, 77 skip (no docker-compose).
set -euo pipefail
source_dir=${1:?usage: compose_config_test.sh SOURCE_DIR}
compose_file=$source_dir/docker/compose.yaml

if ! command -v docker-compose >/dev/null; then
  echo "SKIP: docker-compose is not installed (Debian package docker-compose; scripts/deps installs it)"
  exit 77
fi

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if docker-compose -f "$compose_file" config -q; then
  echo "ok  docker-compose config -q accepts docker/compose.yaml"
else
  fail "docker-compose config -q rejects docker/compose.yaml"
fi
config=$(docker-compose -f "$compose_file" config 2>/dev/null) || config=""

services=$(docker-compose -f "$compose_file" config --services 2>/dev/null | sort | tr '\n' ' ')
[[ $services == "provision relay-ue source-ue target-ue " ]] || fail "services are '$services'"

# The networks each service is on, with its address: "service network address" lines from the normalized
# output (services: > NAME: > networks: > NET: > ipv4_address: A).
attached=$(awk '
  /^services:/ { in_services = 1; next }
  /^[^ ]/ { in_services = 0 }
  in_services && /^  [^ ]/ { service = $1; sub(":", "", service); in_networks = 0 }
  in_services && /^    networks:/ { in_networks = 1; next }
  in_services && /^    [^ ]/ { in_networks = 0 }
  in_networks && /^      [^ ]/ { network = $1; sub(":", "", network) }
  in_networks && /ipv4_address:/ { print service, network, $2 }
' <<<"$config" | sort)

# The addresses of scripts/testbed, which the compose file must share.
testbed_addr() { sed -n "s/^$1=\([0-9.]*\)$/\1/p" "$source_dir/scripts/testbed"; }
expected=$(sort <<EOT
relay-ue source-net $(testbed_addr relay_source_addr)
relay-ue target-net $(testbed_addr relay_target_addr)
source-ue source-net $(testbed_addr source_addr)
target-ue target-net $(testbed_addr target_addr)
EOT
)
if [[ $attached == "$expected" ]]; then
  echo "ok  same topology and addresses as scripts/testbed:"
  sed 's/^/      /' <<<"$attached"
else
  fail "networks and addresses differ from scripts/testbed's:"$'\n'"expected:"$'\n'"$expected"$'\n'"found:"$'\n'"$attached"
fi

# The provisioning is scripts/testbed's, and each daemon waits for it to complete. (The normalized output
# folds long strings: the provision service's command read with python3-yaml, docker-compose's own dependency,
# and compared with the white space squeezed.)
command=$(python3 -c 'import sys, yaml; print(" ".join(yaml.safe_load(sys.stdin)["services"]["provision"]["command"]))' \
  <<<"$config" 2>/dev/null || true)
flat=$(tr -s ' \n' '  ' <<<"$command")
provision="u2u-provision testbed --out /ca/tb --source-address $(testbed_addr source_addr)"
provision+=" --relay-address $(testbed_addr relay_source_addr) --target-address $(testbed_addr target_addr)"
provision+=" --relay-listen 0.0.0.0 --log-format json"
[[ $flat == *"$provision"* ]] || fail "the provision service does not run: $provision"
n=$(grep -c 'condition: service_completed_successfully' <<<"$config" || true)
[[ $n -eq 3 ]] || fail "$n daemons (not 3) wait for the provisioning to complete"
n=$(grep -c -- '- --log-format' <<<"$config" || true)
[[ $n -eq 3 ]] || fail "$n daemons (not 3) log with --log-format json"
n=$(grep -c '^    healthcheck:' <<<"$config" || true)
[[ $n -eq 3 ]] || fail "$n daemons (not 3) have a health check"

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "PASS: docker/compose.yaml is valid and matches scripts/testbed"
