#!/usr/bin/env bash
# Idle cost of the cockpit in tmux at 200x50: CPU (% of one core), bytes written to the
# terminal per second (tmux pipe-pane), peak RSS (VmHWM), and start to first frame.
# Usage: bench/idle.sh [SECONDS]   (default 30). Needs tmux. Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
command -v tmux >/dev/null || { echo "tmux is missing: apt-get install -y tmux" >&2; exit 2; }
cargo build --release -q
bin="$PWD/target/release/cutover"
tmp=$(mktemp -d)
sock="cutover-bench-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$tmp"' EXIT
# The drill waits at a manual step after its first two commands: an idle cockpit whose
# clock still ticks once a second.
tmux -L "$sock" -f /dev/null new-session -d -x 200 -y 50 -e TERM=tmux-256color \
  "read go; exec $bin drill runbooks/blue-green.yaml --speed 1 --session $tmp/s"
tmux -L "$sock" pipe-pane -o "cat > $tmp/out"
sleep 0.3
start=$(date +%s%N)
tmux -L "$sock" send-keys Enter
until grep -q "NOT LIVE" "$tmp/out" 2>/dev/null; do sleep 0.001; done
first_ms=$(( ($(date +%s%N) - start) / 1000000 ))
pid=$(pgrep -f -- "--session $tmp/s" | head -1)
sleep 3
hz=$(getconf CLK_TCK)
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
b0=$(stat -c %s "$tmp/out")
sleep "$secs"
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
b1=$(stat -c %s "$tmp/out")
hwm=$(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")
cpu=$(echo "scale=3; ($u1 + $s1 - $u0 - $s0) * 100 / $hz / $secs" | bc)
bps=$(( (b1 - b0) / secs ))
echo "cockpit idle in tmux 200x50 over ${secs}s (drill --speed 1, waiting at a manual step)"
echo "  start to first frame: ${first_ms} ms (includes tmux send-keys)"
echo "  CPU: ${cpu} % of one core"
echo "  written to the terminal: ${bps} bytes/s"
echo "  peak RSS (VmHWM): ${hwm}"
