#!/usr/bin/env bash
# Makes a fresh Debian 12 (bookworm) machine ready to build and test weft: installs exactly the
# Debian packages the build needs (no other source: Bazel itself comes from apt, and every
# library is a system package wrapped by third_party/). Safe to run again: when everything is
# present it says so and changes nothing. Runs as root, or through sudo otherwise.
#
#   tools/setup.sh          install what is missing
#   tools/setup.sh --check  exit 0 if nothing is missing, 1 otherwise (installs nothing)
set -euo pipefail

PACKAGES=(
  bazel-bootstrap                         # Bazel 4.2.3 (WORKSPACE mode, offline)
  build-essential clang-14 libclang-rt-14-dev  # g++ 12, clang 14, sanitizer runtimes
  python3                                 # tools/ci/bazel_test_summary.py
  libabsl-dev libboost-test-dev           # Abseil, Boost.Test
  libnghttp2-dev node-llhttp              # HTTP/2 and HTTP/1.1 parsers
  libprotobuf-dev libprotoc-dev protobuf-compiler  # protobuf, libprotoc, protoc
  protobuf-compiler-grpc libgrpc++-dev grpc-proto  # grpc++ as a test peer, interop protos
  libssl-dev zlib1g-dev                   # TLS, gzip
  nlohmann-json3-dev                      # JSON in examples/hello (header-only)
  curl                                    # independent HTTP client in integration tests
  netcat-openbsd                          # README: talk to the echo example
)

die() { echo "tools/setup.sh: $*" >&2; exit 1; }

missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

[ -r /etc/os-release ] || die "cannot read /etc/os-release; this script supports Debian 12 only"
. /etc/os-release
if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ]; then
  die "unsupported system '${PRETTY_NAME:-unknown}': weft's setup supports Debian 12 (bookworm)"
fi
[ "$(dpkg --print-architecture)" = amd64 ] || die "unsupported architecture $(dpkg --print-architecture): amd64 only"

mapfile -t MISSING < <(missing_packages)
if [ "${1:-}" = --check ]; then
  [ ${#MISSING[@]} -eq 0 ] && exit 0
  echo "missing packages: ${MISSING[*]}" >&2
  exit 1
fi
if [ ${#MISSING[@]} -eq 0 ]; then
  echo "setup: nothing to do, all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and sudo is not installed; run as root"
  SUDO=(sudo)
fi
echo "setup: installing ${#MISSING[@]} package(s): ${MISSING[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  -o DPkg::Lock::Timeout=600 "${MISSING[@]}"
mapfile -t STILL < <(missing_packages)
[ ${#STILL[@]} -eq 0 ] || die "still missing after apt-get: ${STILL[*]}"
echo "setup: done"
