#!/usr/bin/env bash
# deps.sh installs the Debian 12 packages otrchat needs to build, test and demo.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev libfuzzer-14-dev
  libgcrypt20-dev libboost-program-options-dev catch2
  libotr5-dev libotr5-bin ngircd socat
  libgmp-dev valgrind
  # the terminal chat's line editor (readline); otrchat proxy: TLS (libssl-dev); the e2e tests:
  # a throwaway CA (openssl), real irssi with and without irssi-plugin-otr, driven through tmux
  libreadline-dev libssl-dev openssl irssi irssi-plugin-otr tmux
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -ne 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The ngircd package starts a system-wide server on port 6667; the tests start their own on
# free loopback ports, so the system one is not needed.
