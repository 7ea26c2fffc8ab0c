#!/usr/bin/env bash
# run_fuzzers.sh --minimize [TARGET...]: shrink each corpus to the named seeds (seed-*, regress-*)
# plus the smallest set of other inputs that keeps their coverage (libFuzzer -set_cover_merge=1),
# so that the replay tests stay fast; run it before committing corpus growth. For the slow
# engine targets, OTR_FUZZ_MINIMIZE_FLAGS=-use_counters=0 keeps edge coverage only (fewer files).
#
# run_fuzzers.sh SECONDS [TARGET...]: build the libFuzzer targets (clang, OTR_FUZZ=ON, ASan+UBSan)
# in their own build directory, run each TARGET (default: all) for SECONDS with its corpus
# tests/fuzz/corpus/TARGET, merge what it found back into that corpus (libFuzzer -merge=1 keeps
# only inputs that add coverage) and print a table: target, executions, exec/s, corpus size
# before/after, crashes.
#
# A crash stops libFuzzer; the script then restarts the target for the rest of its time, so one
# bug does not hide the next. Crashing inputs are kept in $BUILD/fuzz-run/TARGET/crash-*; once a
# crash is fixed, copy its input into the corpus so the replay test keeps it fixed.
#
# Environment: OTR_FUZZ_BUILD (default build-fuzz), OTR_FUZZ_PARALLEL (targets at once, default
# 2: the machine has two cores), OTR_FUZZ_NO_BUILD=1 to skip configure and build.
set -euo pipefail

minimize=0
if [[ ${1:-} == --minimize ]]; then
  minimize=1
  seconds=0
elif [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 SECONDS [TARGET...] | $0 --minimize [TARGET...]" >&2
  exit 2
else
  seconds=$1
fi
shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${OTR_FUZZ_BUILD:-$root/build-fuzz}
parallel=${OTR_FUZZ_PARALLEL:-2}
all_targets=(wire_decode base64 fragments receive smp keyfiles line_codec irc_line irc_session
  interaction group_tlv group proxy)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=("${all_targets[@]}")
fi

export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [[ ${OTR_FUZZ_NO_BUILD:-0} != 1 ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DOTR_FUZZ=ON -DOTR_SANITIZE=ON \
    -DOTR_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}" >/dev/null
fi

# minimize_one TARGET: named seeds first, then a set cover of everything else.
minimize_one() {
  local t=$1
  local corpus=$here/corpus/$t
  local old=$build/fuzz-run/$t-before-minimize
  rm -rf "$old"
  mkdir -p "$build/fuzz-run"
  mv "$corpus" "$old"
  mkdir -p "$corpus"
  find "$old" -maxdepth 1 -type f \( -name 'seed-*' -o -name 'regress-*' \) -exec cp {} "$corpus/" \;
  # shellcheck disable=SC2086  # OTR_FUZZ_MINIMIZE_FLAGS holds several flags on purpose
  "$build/tests/fuzz/fuzz_$t" -set_cover_merge=1 ${OTR_FUZZ_MINIMIZE_FLAGS:-} "$corpus" "$old" \
    >"$build/fuzz-run/$t-minimize.log" 2>&1
  printf '%-12s %6s -> %6s files\n' "$t" "$(find "$old" -type f | wc -l)" \
    "$(find "$corpus" -type f | wc -l)"
}

if ((minimize)); then
  for t in "${targets[@]}"; do
    minimize_one "$t"
  done
  exit 0
fi

# run_one TARGET: fuzz for $seconds (restarting after crashes), merge, write a result line.
run_one() {
  local t=$1
  local bin=$build/tests/fuzz/fuzz_$t
  local corpus=$here/corpus/$t
  local work=$build/fuzz-run/$t
  rm -rf "$work"
  mkdir -p "$work/new" "$corpus"
  local before execs=0 crashes=0 start now left log
  before=$(find "$corpus" -type f | wc -l)
  start=$(date +%s)
  local run=0
  while :; do
    now=$(date +%s)
    left=$((seconds - (now - start)))
    ((left > 0)) || break
    run=$((run + 1))
    log=$work/run-$run.log
    # New inputs go to the first directory; the corpus is only read.
    "$bin" -max_total_time="$left" -timeout=60 -print_final_stats=1 \
      -artifact_prefix="$work/" "$work/new" "$corpus" >"$log" 2>&1 || true
    local n
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=$((execs + ${n:-0}))
    if grep -qE '^==[0-9]+==ERROR|^SUMMARY: |invariant broken|deadly signal|Test unit written' "$log"; then
      crashes=$((crashes + 1))
      grep -E 'invariant broken|^SUMMARY|Test unit written' "$log" | sed "s/^/[$t] /" >&2 || true
      sleep 1  # a crash in start-up would otherwise spin
    fi
  done
  local elapsed=$(( $(date +%s) - start ))
  "$bin" -merge=1 "$corpus" "$work/new" >"$work/merge.log" 2>&1 || true
  local after
  after=$(find "$corpus" -type f | wc -l)
  local rate=0
  if ((elapsed > 0)); then rate=$((execs / elapsed)); fi
  printf '%s %s %s %s %s %s %s\n' "$t" "$elapsed" "$execs" "$rate" "$before" "$after" "$crashes" \
    >"$work/result"
}

pids=()
for t in "${targets[@]}"; do
  while (( $(jobs -rp | wc -l) >= parallel )); do
    wait -n || true
  done
  run_one "$t" &
  pids+=($!)
done
wait

printf '\n| %-12s | %8s | %12s | %8s | %13s | %12s | %7s |\n' target seconds executions exec/s \
  "corpus before" "corpus after" crashes
printf '|%s|%s|%s|%s|%s|%s|%s|\n' -------------- ---------- -------------- ---------- \
  --------------- -------------- ---------
status=0
for t in "${targets[@]}"; do
  read -r name elapsed execs rate before after crashes <"$build/fuzz-run/$t/result"
  printf '| %-12s | %8s | %12s | %8s | %13s | %12s | %7s |\n' "$name" "$elapsed" "$execs" "$rate" \
    "$before" "$after" "$crashes"
  if ((crashes > 0)); then status=1; fi
done
exit $status
