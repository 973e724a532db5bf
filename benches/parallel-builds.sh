#!/usr/bin/env bash
# Cold builds of COUNT different apps, one at a time and in parallel.
#
#   benches/parallel-builds.sh [COUNT]     (default: 8)
#
# Makes COUNT copies of examples/hello that differ by one constant (so each
# is its own build), then times `terrarium build` of a site mounting them
# all into an empty cache, first with --jobs 1, then with the default (one
# build per core, as far as memory allows). The report also goes to
# target/bench-parallel-builds.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
count=${1:-8}
report=$repo/target/bench-parallel-builds.md

echo "parallel-builds: building terrarium (release)" >&2
cargo build --release -q -p terrarium
terrarium=$repo/target/release/terrarium
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/site"
for ((i = 0; i < count; i++)); do
  mkdir -p "$work/site/apps/app$i"
  cp examples/hello/apps/hello/*.py "$work/site/apps/app$i/"
  echo "VARIANT = $i" >> "$work/site/apps/app$i/app.py"
  printf '[[mount]]\npath = "/app%s"\napp = "apps/app%s"\n\n' "$i" "$i" >> "$work/site/terrarium.toml"
done

seconds_for() {
  local cache=$1
  shift
  local started
  started=$(date +%s%N)
  TERRARIUM_LOG=warn "$terrarium" build "$work/site" --cache-dir "$cache" "$@" > /dev/null 2>&1
  awk -v ns=$(($(date +%s%N) - started)) 'BEGIN {printf "%.1f", ns / 1e9}'
}

echo "parallel-builds: $count apps, one at a time" >&2
one=$(seconds_for "$work/cache-1" --jobs 1)
echo "parallel-builds: $count apps, in parallel" >&2
all=$(seconds_for "$work/cache-n")

{
  echo "| $count different hello apps, cold build on $(nproc) cores | seconds |"
  echo "|---|---:|"
  echo "| one at a time (\`--jobs 1\`) | $one |"
  echo "| in parallel (default) | $all |"
} | tee "$report"
