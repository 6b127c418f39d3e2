#!/usr/bin/env bash
# Event → watcher screen: N real `cutover watch` screens (tmux windows of their own, half at
# 80×24, half at 200×60) on a headless drill whose 240 steps, a T-minute apart, run at
# `--speed 600` (ten steps a second, two metrics sampled every T-second besides). Each watcher
# records, for every record that reached it live, the time from the driver's journal write to
# the end of the first frame that shows it (CUTOVER_WATCH_LATENCY); the figures are over all
# watchers' records. Also the driver's events per second against the same drill alone.
#
# Usage: bench/watch_latency.sh [--bin PATH] [N]   (defaults: release build, 30)
# Needs tmux and python3. Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
n=30
bin=${CUTOVER_BIN:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=${2:?--bin needs a path}; shift 2 ;;
    -h | --help) sed -n '9,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) n=$1; shift ;;
  esac
done
if [ -z "$bin" ]; then
  cargo build --release -q --bin cutover
  target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  bin="$target/release/cutover"
fi
tmp=$(mktemp -d)
sock="cutover-bench-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$tmp"' EXIT
{
  cat <<'YAML'
version: 1
title: Watch latency benchmark
strategy: blue-green
platforms: {source: {name: Snowflake}, target: {name: Databricks}}
connections:
  prometheus: {kind: prometheus, url: 'http://127.0.0.1:9'}
metrics:
  - {id: m1, title: M1, side: source, unit: '%', every: 1s, from: prometheus, query: up, sim: {baseline: 1, noise: 0.5}}
  - {id: m2, title: M2, side: target, unit: '%', every: 1s, from: prometheus, query: up, sim: {baseline: 1, noise: 0.5}}
phases:
  - id: window
    title: Window
    steps:
YAML
  for i in $(seq 0 239); do
    printf '      - {id: s%03d, title: Step %d, at: "T+%d:%02d", run: "true", expect: 1m}\n' "$i" "$i" $((i / 60)) $((i % 60))
  done
} > "$tmp/rb.yaml"

run_drill() { # $1: session dir; prints the wall seconds
  local start end
  start=$(date +%s.%N)
  "$bin" drill "$tmp/rb.yaml" --headless --speed 600 --session "$1" > /dev/null 2>&1
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.2f}')"
}

# Journal lines of the run itself (who came and went is not the driver's throughput).
events() { grep -vc '"kind":"watcher_' "$1/journal.jsonl"; }

alone_wall=$(run_drill "$tmp/alone")
alone_events=$(events "$tmp/alone")

# The watchers wait for the session's socket, then watch until told to quit.
tmux -L "$sock" -f /dev/null new-session -d -x 200 -y 60 -s w0 "sleep 600"
s="$tmp/s"
mkdir -p "$s"
for i in $(seq 1 "$n"); do
  if [ $((i % 2)) -eq 0 ]; then size=(-x 200 -y 60); else size=(-x 80 -y 24); fi
  tmux -L "$sock" new-session -d "${size[@]}" -s "w$i" \
    "while [ ! -S $s/watch.sock ]; do sleep 0.02; done; CUTOVER_WATCH_LATENCY=$tmp/lat$i $bin watch $s; sleep 600"
done
start=$(date +%s.%N)
"$bin" drill "$tmp/rb.yaml" --headless --speed 600 --session "$s" > /dev/null 2>&1 &
drv=$!
wait "$drv"
end=$(date +%s.%N)
with_wall=$(python3 -c "print(f'{$end - $start:.2f}')")
with_events=$(events "$s")
for i in $(seq 1 "$n"); do tmux -L "$sock" send-keys -t "w$i" q; done
for _ in $(seq 1 100); do
  got=$(ls "$tmp"/lat* 2>/dev/null | wc -l)
  [ "$got" -ge "$n" ] && break
  sleep 0.1
done

python3 - "$tmp" "$n" "$alone_wall" "$alone_events" "$with_wall" "$with_events" <<'PY'
import glob, sys
tmp, n = sys.argv[1], int(sys.argv[2])
aw, ae, ww, we = float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
lat = []
files = glob.glob(f"{tmp}/lat*")
for f in files:
    lat += [int(x) / 1000 for x in open(f).read().split()]
lat.sort()
def pct(p):
    return lat[min(len(lat) - 1, int(len(lat) * p))] if lat else float("nan")
print(f"watchers: {n} ({len(files)} wrote figures), drill: 240 steps at --speed 600")
print(f"alone:        {ae} events in {aw:.2f} s = {ae / aw:,.0f} events/s")
print(f"with {n:>2}:      {we} events in {ww:.2f} s = {we / ww:,.0f} events/s ({(we / ww) / (ae / aw) * 100 - 100:+.1f} %)")
print(f"event -> watcher screen over {len(lat)} records: p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, max {lat[-1] if lat else float('nan'):.1f} ms")
PY
