#!/usr/bin/env bash
# test.sh installs what is needed, builds otrchat twice (plain, and with AddressSanitizer +
# UndefinedBehaviorSanitizer) and runs the whole test suite in both builds.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
jobs=2
for variant in plain asan; do
  dir="build-ci-$variant"
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  if [ "$variant" = asan ]; then
    flags+=(-DOTR_SANITIZE=ON)
  fi
  echo "== $variant build =="
  cmake -S . -B "$dir" "${flags[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "== $variant tests =="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" \
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 600
done
echo "All tests passed, plain and sanitized."
