#!/usr/bin/env bash
# check_install.sh BUILD_DIR SOURCE_DIR [EXTRA_FLAGS]: installs the build into a fresh prefix,
# checks that the program, the manual page, the completion, the headers, the CMake package and
# the pkg-config file are there, then builds samples/embed_minimal.cpp against the installed
# tree twice (find_package(otrchat) -> otr::core, and pkg-config) and runs both.
# EXTRA_FLAGS: compile and link flags the installed libraries need (the sanitizer build's).
set -euo pipefail
build=$1
source=$2
extra=${3:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/otrchat-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"

for f in bin/otrchat share/man/man1/otrchat.1 share/bash-completion/completions/otrchat \
  include/otr/conversation.hpp include/otr/bytes.hpp lib/libotr_core.a lib/libotr_base.a \
  lib/cmake/otrchat/otrchatConfig.cmake lib/pkgconfig/otrchat.pc; do
  if [ ! -e "$prefix/$f" ]; then
    echo "not installed: $f" >&2
    exit 1
  fi
done
"$prefix/bin/otrchat" --version >/dev/null
grep '^\.TH OTRCHAT 1' "$prefix/share/man/man1/otrchat.1" >/dev/null
bash -c "source '$prefix/share/bash-completion/completions/otrchat'; complete -p otrchat" >/dev/null

# CMake package.
cmake -S "$source/tests/install/consumer" -B "$work/cmake-build" \
  -DCMAKE_PREFIX_PATH="$prefix" -DEMBED_SOURCE="$source/samples/embed_minimal.cpp" \
  -DCMAKE_CXX_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" >"$work/configure.log"
cmake --build "$work/cmake-build" >"$work/build.log" || { cat "$work/build.log" >&2; exit 1; }
"$work/cmake-build/embed_minimal" >"$work/run1.log"
grep -q "reads: \"" "$work/run1.log"

# pkg-config.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046,SC2086
c++ $extra -o "$work/embed_pc" "$source/samples/embed_minimal.cpp" $(pkg-config --cflags --libs otrchat)
"$work/embed_pc" >"$work/run2.log"
grep -q "reads: \"" "$work/run2.log"
echo "installed tree OK: otrchat, otrchat(1), completion, headers, find_package, pkg-config"
