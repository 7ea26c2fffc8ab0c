#!/usr/bin/env bash
# demo.sh installs what is needed, builds otrchat and runs the main demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
if [ -x build/cli/otrchat ] && [ -f samples/pipe_demo.sh ]; then
  exec ./samples/pipe_demo.sh build/cli/otrchat
fi
exec ./build/samples/embed_minimal
