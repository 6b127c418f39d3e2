#!/usr/bin/env bash
# Report benchmark: drills every shipped runbook headless at --speed max (blue-green runs
# T-24h to T+48h, canary and phased for days, redshift-panther for 38 days of T), then times
# `cutover report` (Markdown) and `cutover report --html` on each session, RUNS times
# (default 5), and prints the median and max wall time with the journal's and the
# evidence's sizes. Release build.
# Usage: bench/report.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet --bin cutover
bin=target/release/cutover
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Median and max of the nanosecond figures on stdin, in milliseconds.
stats() { sort -n | awk '{a[NR]=$1} END {printf "median %.0f ms, max %.0f ms", a[int((NR+1)/2)]/1e6, a[NR]/1e6}'; }

time_of() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $((e - s)); }

printf '%-26s %8s %8s %10s  %-32s %s\n' runbook events journal samples markdown html
for rb in runbooks/*.yaml; do
  name=$(basename "$rb" .yaml)
  s="$work/$name"
  "$bin" drill "$rb" --headless --speed max --auto-ack --session "$s" >/dev/null || true
  md=$(for _ in $(seq "$runs"); do time_of "$bin" report "$s"; done | stats)
  html=$(for _ in $(seq "$runs"); do time_of "$bin" report "$s" --html "$work/$name.html"; done | stats)
  printf '%-26s %8s %8s %10s  %-32s %s\n' "$name" "$(wc -l <"$s/journal.jsonl")" \
    "$(du -h "$s/journal.jsonl" | cut -f1)" "$(du -h "$s/samples.jsonl" | cut -f1)" "$md" "$html"
done
