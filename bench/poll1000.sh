#!/usr/bin/env bash
# Polling benchmark: the cockpit (a real terminal: tmux, 200×60) runs a live session whose
# runbook has 1,000 http_json metrics polled every second from a local endpoint, for
# SECONDS (default 60). Prints frame latency (loop wake → frame written; p50/p99/max), the
# requests the endpoint served, the cockpit's RSS every 5 s (memory must stay flat), its CPU
# over the measured seconds (all threads), and the metric evidence it wrote.
# --no-evidence runs the same cockpit with evidence recording off
# (CUTOVER_BENCH_NO_EVIDENCE=1, a switch for this comparison only), to measure its cost.
# Usage: bench/poll1000.sh [--no-evidence] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
no_evidence=0
if [ "${1:-}" = "--no-evidence" ]; then no_evidence=1; shift; fi
secs=${1:-60}
command -v tmux >/dev/null || { echo "tmux is not installed: apt-get install -y tmux" >&2; exit 1; }
cargo build --release --quiet --bin cutover --example metrics_endpoint
work=$(mktemp -d)
sock="$work/tmux.sock"
cleanup() { tmux -S "$sock" kill-server 2>/dev/null || true; kill "$ep" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/examples/metrics_endpoint "$port" 2>"$work/endpoint.log" &
ep=$!
for _ in $(seq 50); do grep -q listening "$work/endpoint.log" && break; sleep 0.1; done

{
  cat <<YAML
version: 1
title: Polling benchmark (1,000 metrics every second)
strategy: blue-green
platforms: { source: { name: Snowflake }, target: { name: Databricks } }
connections:
  local: { kind: http_json, url: "http://127.0.0.1:$port" }
metrics:
YAML
  for i in $(seq 0 999); do
    side=$([ $((i % 2)) -eq 0 ] && echo source || echo target)
    echo "  - { id: m$i, title: metric $i, side: $side, unit: ms, every: 1s, timeout: 2s, from: local, path: /m/$i, pointer: /v }"
  done
  cat <<YAML
triggers:
YAML
  for i in $(seq 0 19); do
    echo "  - { id: t$i, when: m$i > 1000ms, for: 30s, action: alert }"
  done
  cat <<YAML
phases:
  - id: p
    steps:
      - { id: wait, title: Wait for the operator, at: T+1:00, owner: bench, expect: 1m }
YAML
} > "$work/rb.yaml"

tmux -S "$sock" new-session -d -x 200 -y 60 -s bench \
  "CUTOVER_BENCH_NO_EVIDENCE=$no_evidence CUTOVER_FRAME_STATS=$work/frames.txt target/release/cutover run $work/rb.yaml --session $work/s --t0 +1h --operator bench; echo EXIT=\$? > $work/exit"
# The cockpit's own pid, from the session lock it holds (pgrep -f can match tmux's command
# line instead), checked against the binary it runs.
pid=""
for _ in $(seq 100); do
  pid=$(sed -n 's/.*"pid":\([0-9][0-9]*\).*/\1/p' "$work/s/lock" 2>/dev/null || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || { echo "the cockpit did not start (no pid in $work/s/lock)" >&2; exit 1; }
[ "$(readlink -f /proc/$pid/exe)" = "$(readlink -f target/release/cutover)" ] ||
  { echo "pid $pid in the lock is not target/release/cutover" >&2; exit 1; }
echo "cockpit pid $pid, polling 1,000 metrics every 1s for ${secs}s, evidence $([ $no_evidence = 1 ] && echo OFF || echo on)"
# CPU of every thread of the cockpit: nanoseconds on CPU from schedstat, and clock ticks
# (utime+stime) from stat as a cross-check.
cpu_ns() { cat /proc/$pid/task/*/schedstat 2>/dev/null | awk '{s+=$1} END {print s+0}'; }
cpu_ticks() { awk '{print $14+$15}' /proc/$pid/stat; }
ns0=$(cpu_ns); ticks0=$(cpu_ticks); wall0=$(date +%s%N)
printf "%6s %10s\n" "t(s)" "RSS(KiB)"
for t in $(seq 0 5 "$secs"); do
  printf "%6s %10s\n" "$t" "$(awk '/VmRSS/{print $2}' /proc/$pid/status)"
  [ "$t" -lt "$secs" ] && sleep 5
done
ns1=$(cpu_ns); ticks1=$(cpu_ticks); wall1=$(date +%s%N)
hz=$(getconf CLK_TCK)
awk -v a="$ns0" -v b="$ns1" -v t0="$ticks0" -v t1="$ticks1" -v w0="$wall0" -v w1="$wall1" -v hz="$hz" 'BEGIN {
  w = (w1 - w0) / 1e9
  printf "CPU over %.1f s: %.2f %% of one core (schedstat, all threads), %.2f %% (utime+stime)\n", w, (b - a) / 1e9 / w * 100, (t1 - t0) / hz / w * 100 }'

# Cross-check the last figure: resident memory summed from the mappings themselves.
echo "RSS cross-check (smaps_rollup): $(awk '/^Rss:/{print $2}' /proc/$pid/smaps_rollup) KiB"
tmux -S "$sock" capture-pane -p -t bench > "$work/screen.txt"
kill -TERM "$pid"
for _ in $(seq 100); do [ -f "$work/exit" ] && break; sleep 0.1; done
served=$(grep served "$work/endpoint.log" | tail -1 | awk '{print $2}')
echo "requests served by the endpoint: ${served:-?} (expected about $((secs * 1000)))"
sort -n "$work/frames.txt" | awk '{a[NR]=$1} END {
  if (NR == 0) { print "no frames recorded"; exit 1 }
  printf "frames %d  latency p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", NR, a[int(NR*0.5)+1]/1000, a[int(NR*0.99)+1]/1000, a[NR]/1000 }'
grep -m3 -E "metric [0-9]+ " "$work/screen.txt" || true
if [ -f "$work/s/samples.jsonl" ]; then
  echo "evidence: $(wc -l <"$work/s/samples.jsonl") lines, $(du -k "$work/s/samples.jsonl" | cut -f1) KiB"
else
  echo "evidence: none written"
fi
