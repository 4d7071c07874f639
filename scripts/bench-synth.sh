#!/usr/bin/env bash
# Measures `npx cdk synth` (app under tsx, NodejsFunction bundled by local esbuild, cdk-nag on)
# on the embedded example config. Usage: scripts/bench-synth.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
npx cdk synth -c environmentSuffix=bench -q >/dev/null 2>&1 # warm the npx and file caches
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  npx cdk synth -c environmentSuffix=bench -q >/dev/null 2>&1
  end=$(date +%s%N)
  times+=("$(((end - start) / 1000000))")
done
printf '%s\n' "${times[@]}" | sort -n | awk -v runs="$runs" '
  { t[NR] = $1; sum += $1 }
  END { printf "cdk synth over %d runs: min %d ms, median %d ms, max %d ms, mean %d ms\n", runs, t[1], t[int((NR + 1) / 2)], t[NR], sum / NR }'
