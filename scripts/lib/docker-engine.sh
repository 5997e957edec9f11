# shellcheck shell=bash disable=SC2034  # u2u_docker_reason and the like are read by the scripts that source this
# Sourced by scripts/compose-test, scripts/swarm-stack and tests/system/package_test.sh: a Docker engine and the Debian 12 base images on a
# Debian 12 machine that may have neither and may not reach Docker Hub (as in CI). Needs root.
#   u2u_install_missing COMMAND=PACKAGE...  apt-get installs each PACKAGE whose COMMAND is missing
#   u2u_docker_engine_start WORK_DIR        starts dockerd when no engine answers (its log in WORK_DIR); returns 1,
#                                           the reason in $u2u_docker_reason, when no engine can run here
#   u2u_docker_engine_stop                  stops the dockerd that u2u_docker_engine_start started, if any
#   u2u_docker_base_images WORK_DIR IMAGE...  makes sure each image exists: debian:12 and debian:12-slim are pulled
#                                           when they can be; where Docker Hub cannot be reached, a debootstrap
#                                           --variant=minbase bookworm tree (cached as $U2U_NSPAWN_CACHE, default
#                                           /var/cache/u2u-relay, /debian12-minbase.tar) is imported under each name,
#                                           so that docker/Dockerfile stays unchanged; returns 1 (reason in
#                                           $u2u_docker_reason) when the mirror cannot be reached either
#   u2u_docker_prebuilt_image WORK_DIR BUILD_DIR BASE_TAG TAG
#                                           BASE_TAG: docker/Dockerfile's runtime stage; TAG: it plus the Debian
#                                           package of BUILD_DIR (scripts/package; docker/Dockerfile.prebuilt)
# The engine is Debian's docker.io; its client, /usr/bin/docker, is in $u2u_docker (another `docker` on PATH may not
# speak this engine's API version).
u2u_docker=/usr/bin/docker
u2u_docker_reason=""
u2u_dockerd_pid=""

u2u_install_missing() {
  local entry missing=()
  for entry in "$@"; do
    command -v "${entry%%=*}" >/dev/null || missing+=("${entry#*=}")
  done
  [[ ${#missing[@]} -gt 0 ]] || return 0
  echo "== apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
}

u2u_docker_engine_start() {
  local work=$1
  "$u2u_docker" info >/dev/null 2>&1 && return 0
  echo "== no Docker engine answers: starting dockerd"
  dockerd >"$work/dockerd.log" 2>&1 &
  u2u_dockerd_pid=$!
  for _ in $(seq 60); do "$u2u_docker" info >/dev/null 2>&1 && return 0; sleep 0.5; done
  tail -5 "$work/dockerd.log"
  u2u_docker_reason="dockerd does not start here"
  return 1
}

u2u_docker_engine_stop() {
  [[ -n $u2u_dockerd_pid ]] || return 0
  kill "$u2u_dockerd_pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$u2u_dockerd_pid" 2>/dev/null || break; sleep 0.2; done
  u2u_dockerd_pid=""
}

u2u_docker_base_images() {
  local work=$1 base
  shift
  local mirror=${U2U_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  local tarball=${U2U_NSPAWN_CACHE:-/var/cache/u2u-relay}/debian12-minbase.tar
  for base in "$@"; do
    "$u2u_docker" image inspect "$base" >/dev/null 2>&1 && continue
    if timeout 30 "$u2u_docker" pull -q "$base" >/dev/null 2>&1; then echo "== pulled $base"; continue; fi
    if [[ ! -s $tarball ]]; then
      echo "== $base cannot be pulled: debootstrap --variant=minbase bookworm, cached as $tarball"
      u2u_install_missing debootstrap=debootstrap
      if ! debootstrap --variant=minbase bookworm "$work/base" "$mirror" >"$work/debootstrap.log" 2>&1; then
        tail -5 "$work/debootstrap.log"
        u2u_docker_reason="debootstrap from $mirror failed"
        return 1
      fi
      rm -rf "$work/base/var/cache/apt/archives/"*.deb "$work/base/var/lib/apt/lists/"*
      mkdir -p "$(dirname "$tarball")"
      tar -C "$work/base" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
      rm -rf "$work/base"
    fi
    echo "== docker import $tarball as $base"
    "$u2u_docker" import -c 'CMD ["bash"]' "$tarball" "$base" >/dev/null
  done
}

u2u_docker_prebuilt_image() {
  local work=$1 build=$2 base=$3 image=$4 root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  "$u2u_docker" build -q --target runtime-base -t "$base" -f "$root/docker/Dockerfile" "$root" >/dev/null
  "$root/scripts/package" "$build" "$work/context" >/dev/null
  "$u2u_docker" build -q --build-arg BASE="$base" -t "$image" -f "$root/docker/Dockerfile.prebuilt" "$work/context" \
    >/dev/null
}
