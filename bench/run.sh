#!/usr/bin/env bash
# Runs the benchmarks (`make bench` builds hanse_bench first; this script builds nothing).
#   BENCH=verify,search   which benchmarks (default: all built)
#   BENCH_SCALE=0.1       corpus size as a fraction of 1,000,000 dataset SDs (default 1.0)
#   BENCH_FRESH=1         rebuild the cached corpus store under bench/results/
#   HANSE_BENCH=PATH      the binary (default: $BUILD/bench/hanse_bench, BUILD defaulting to build)
# Writes bench/results/latest.json and prints the table.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${HANSE_BENCH:-$root/${BUILD:-build}/bench/hanse_bench}"
if [[ ! -x "$bin" ]]; then
  echo "bench/run.sh: $bin is not built (run \`make bench\`, or set HANSE_BENCH)" >&2
  exit 2
fi
cache="$(dirname "$(dirname "$bin")")/CMakeCache.txt"
if [[ -f "$cache" ]] && ! grep -qE '^CMAKE_BUILD_TYPE:STRING=(Release|RelWithDebInfo)$' "$cache"; then
  echo "bench/run.sh: $bin is not an optimised build ($(grep '^CMAKE_BUILD_TYPE' "$cache")):" \
       "its figures would mislead; reconfigure with -DCMAKE_BUILD_TYPE=RelWithDebInfo" >&2
  exit 2
fi
results="$root/bench/results"
mkdir -p "$results"
export BENCH="${BENCH:-all}" BENCH_SCALE="${BENCH_SCALE:-1.0}"
echo "bench: BENCH=$BENCH BENCH_SCALE=$BENCH_SCALE ($bin)" >&2
"$bin" --results "$results" --out "$results/latest.json"
