#!/usr/bin/env bash
# Idle cost of the cockpit in tmux at 200x50: CPU (% of one core, total and per thread),
# wake-ups per second, RSS, bytes written to the terminal per second (tmux pipe-pane), and
# start to first frame. The scenario: `cutover drill runbooks/blue-green.yaml --speed 1`,
# which waits at a manual step after its first two commands (an idle cockpit whose clock
# still ticks once a second); after SETTLE seconds it is measured over SECONDS.
#
# Usage: bench/idle.sh [--bin PATH] [--settle S] [--watcher] [SECONDS]   (defaults: release, 3, 30)
#   --bin PATH   measure this cutover binary instead of building `cargo build --release`
#                (or CUTOVER_BIN=PATH); TUI_MEASURE=PATH names tui-measure for the hint
#   --watcher    measure a `cutover watch` of that drill instead (its own tmux session at
#                200x60, its own pid: the pane runs `exec cutover watch`)
# Needs tmux and Linux /proc. Prints figures; asserts nothing.
#
# The process measured is the cockpit itself: its pid is read from the session's lock file
# (`SESSION/lock`, JSON with "pid", written by the process that drives the session) and
# checked against tmux's pane pid and /proc/PID/exe. CPU is summed over all its threads from
# /proc/PID/task/*/schedstat (ns on CPU), and cross-checked with /proc/PID/stat utime+stime
# (clock ticks, which also count threads that exited during the window).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

usage() { sed -n '8,13s/^# \{0,1\}//p' "$0"; }
secs=30
settle=3
watcher=false
bin=${CUTOVER_BIN:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=${2:?--bin needs a path}; shift 2 ;;
    --bin=*) bin=${1#--bin=}; shift ;;
    --settle) settle=${2:?--settle needs seconds}; shift 2 ;;
    --settle=*) settle=${1#--settle=}; shift ;;
    --watcher) watcher=true; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "idle.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) secs=$1; shift ;;
  esac
done
[[ $secs =~ ^[0-9]+$ && $secs -gt 0 ]] || { echo "idle.sh: SECONDS must be a whole number > 0" >&2; exit 2; }
command -v tmux >/dev/null || { echo "tmux is missing: apt-get install -y tmux" >&2; exit 2; }

if [ -z "$bin" ]; then
  cargo build --release --locked -q --bin cutover
  target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  bin="$target/release/cutover"
fi
bin=$(readlink -f "$bin")
[ -x "$bin" ] || { echo "idle.sh: no executable at $bin" >&2; exit 2; }

tmp=$(mktemp -d)
sock="cutover-bench-$$"
pid=""
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  # The cockpit ends on the hang-up; should it not, end it by its pid (if it still is it).
  if [ -n "$pid" ]; then
    for _ in $(seq 30); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" != "$bin" ] || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# A private server with no user config; status off so the pane is exactly 200x50.
printf 'set -g status off\nset -g default-terminal tmux-256color\n' >"$tmp/tmux.conf"
q() { printf '%q' "$1"; }
cmd="read go; exec $(q "$bin") drill $(q "$repo/runbooks/blue-green.yaml") --speed 1 --session $(q "$tmp/s")"
tmux -L "$sock" -f "$tmp/tmux.conf" new-session -d -s bench -x 200 -y 50 "$cmd"
tmux -L "$sock" pipe-pane -t bench -o "cat > $(q "$tmp/out")"
sleep 0.3
start=$(date +%s%N)
tmux -L "$sock" send-keys -t bench Enter
deadline=$((start + 10000000000))
until grep -q "NOT LIVE" "$tmp/out" 2>/dev/null; do
  [ "$(date +%s%N)" -lt "$deadline" ] || { echo "idle.sh: no first frame within 10 s" >&2; exit 1; }
  sleep 0.001
done
first_ms=$((($(date +%s%N) - start) / 1000000))

# The cockpit's pid, from the lock file it writes when it takes the session.
for _ in $(seq 100); do
  pid=$(sed -n 's/.*"pid":\([0-9][0-9]*\).*/\1/p' "$tmp/s/lock" 2>/dev/null || true)
  [ -n "$pid" ] && break
  sleep 0.05
done
[ -n "$pid" ] || { echo "idle.sh: no pid in $tmp/s/lock" >&2; exit 1; }
pane_pid=$(tmux -L "$sock" display -p -t bench '#{pane_pid}')
server_pid=$(tmux -L "$sock" display -p -t bench '#{pid}')
exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
if [ "$exe" != "$bin" ] || [ "$comm" != cutover ]; then
  echo "idle.sh: pid $pid from the lock is not the cockpit (comm '$comm', exe '$exe')" >&2
  exit 1
fi
# The pane runs `exec cutover`, so tmux's pane pid is the cockpit too.
[ "$pane_pid" = "$pid" ] || echo "idle.sh: note: tmux's pane pid $pane_pid differs from the lock's $pid" >&2

if $watcher; then
  drill_pid=$pid
  wcmd="exec $(q "$bin") watch $(q "$tmp/s")"
  tmux -L "$sock" new-session -d -s watch -x 200 -y 60 "$wcmd"
  tmux -L "$sock" pipe-pane -t watch -o "cat > $(q "$tmp/wout")"
  deadline=$(($(date +%s%N) + 10000000000))
  until tmux -L "$sock" capture-pane -p -t watch | grep -q "WATCHING"; do
    [ "$(date +%s%N)" -lt "$deadline" ] || { echo "idle.sh: the watcher did not show WATCHING within 10 s" >&2; exit 1; }
    sleep 0.05
  done
  pid=$(tmux -L "$sock" display -p -t watch '#{pane_pid}')
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  if [ "$exe" != "$bin" ] || ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q " watch "; then
    echo "idle.sh: pane pid $pid is not the watcher (exe '$exe')" >&2
    exit 1
  fi
  [ "$pid" != "$drill_pid" ] || { echo "idle.sh: the watcher's pid is the driver's" >&2; exit 1; }
  comm=$(cat "/proc/$pid/comm")
  pane_pid=$pid
  out=$tmp/wout
else
  out=$tmp/out
fi

sleep "$settle"

# One snapshot: a header line (time ns, utime, stime in ticks, terminal bytes, VmRSS kB,
# tmux server ns on CPU), then one line per thread: tid, ns on CPU, ns waiting to run,
# timeslices, voluntary and involuntary context switches, name.
snapshot() {
  local f=$1 t stat run wait slices vol invol name line
  t=$(date +%s%N)
  read -r stat <"/proc/$pid/stat"
  read -r -a sf <<<"${stat##*) }"
  read -r srv _ <"/proc/$server_pid/schedstat" # tmux is one thread
  local rss
  rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status")
  echo "$t ${sf[11]} ${sf[12]} $(stat -c %s "$out") $rss $srv" >"$f"
  for task in /proc/"$pid"/task/*; do
    read -r run wait slices <"$task/schedstat" 2>/dev/null || continue
    read -r name <"$task/comm" 2>/dev/null || name='?'
    vol=0 invol=0
    while read -r line; do
      case "$line" in
        voluntary_ctxt_switches:*) vol=${line##*[[:space:]]} ;;
        nonvoluntary_ctxt_switches:*) invol=${line##*[[:space:]]} ;;
      esac
    done <"$task/status"
    echo "${task##*/} $run $wait $slices $vol $invol $name" >>"$f"
  done
}

children0=$(pgrep -P "$pid" | wc -l || true)
snapshot "$tmp/before"
sleep "$secs"
snapshot "$tmp/after"
children1=$(pgrep -P "$pid" | wc -l || true)
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status")
hz=$(getconf CLK_TCK)

if $watcher; then
  echo "watcher idle in tmux 200x60: cutover watch of a drill of runbooks/blue-green.yaml --speed 1 (driver at 200x50, waiting at a manual step)"
  echo "  binary: $bin"
  echo "  pid $pid (tmux pane pid, exe and command line checked; comm $comm; driver pid $drill_pid); ${settle}s settled, then measured"
else
  echo "cockpit idle in tmux 200x50: drill runbooks/blue-green.yaml --speed 1, waiting at a manual step"
  echo "  binary: $bin"
  echo "  pid $pid (session lock; tmux pane pid $pane_pid; comm $comm); ${settle}s settled, then measured"
fi
echo "  start to first frame: ${first_ms} ms (includes tmux send-keys)"
awk -v hz="$hz" -v hwm="$hwm" -v c0="$children0" -v c1="$children1" '
  FNR == 1 { if (FILENAME ~ /before$/) { t0 = $1; u0 = $2 + $3; b0 = $4; s0 = $6 }
             else { t1 = $1; u1 = $2 + $3; b1 = $4; rss = $5; s1 = $6 }
             next }
  FILENAME ~ /before$/ { run0[$1] = $2; sl0[$1] = $4; vol0[$1] = $5; seen0[$1] = 1; next }
  { name = $7; for (i = 8; i <= NF; i++) name = name " " $i
    tid[++n] = $1; nm[$1] = name; run1[$1] = $2; sl1[$1] = $4; vol1[$1] = $5; seen1[$1] = 1 }
  END {
    w = (t1 - t0) / 1e9
    for (i = 1; i <= n; i++) { k = tid[i]
      cpu[k] = (run1[k] - run0[k]) / 1e9 / w * 100; wk[k] = (vol1[k] - vol0[k]) / w
      ts[k] = (sl1[k] - sl0[k]) / w; tc += cpu[k]; tw += wk[k]; tt += ts[k] }
    printf "  window: %.2f s\n", w
    printf "  CPU, all %d threads (schedstat, ns): %.3f %% of one core\n", n, tc
    printf "  CPU cross-check (/proc/PID/stat utime+stime): %.3f %% of one core (%d ticks of 1/%d s; resolution %.3f %%)\n",
      (u1 - u0) * 100 / hz / w, u1 - u0, hz, 100 / hz / w
    printf "  wake-ups: %.1f /s (voluntary context switches, all threads); %.1f timeslices/s (schedstat)\n", tw, tt
    printf "  RSS: %.1f MiB (VmRSS %d kB); peak %.1f MiB (VmHWM %d kB)\n", rss / 1024, rss, hwm / 1024, hwm
    printf "  written to the terminal: %.0f bytes/s (%d bytes in the window)\n", (b1 - b0) / w, b1 - b0
    printf "  tmux server, for reference (parses that output): %.3f %% of one core (schedstat)\n",
      (s1 - s0) / 1e9 / w * 100
    if (c0 + c1 > 0) printf "  note: the cockpit had child processes (%d at the start, %d at the end)\n", c0, c1
    print "  per thread:"
    printf "  %8s  %-16s %8s %12s %11s\n", "tid", "name", "CPU %", "wake-ups/s", "slices/s"
    # busiest first
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
      if (cpu[tid[j]] > cpu[tid[i]]) { x = tid[i]; tid[i] = tid[j]; tid[j] = x }
    for (i = 1; i <= n; i++) { k = tid[i]
      printf "  %8s  %-16s %8.3f %12.1f %11.1f%s\n", k, nm[k], cpu[k], wk[k], ts[k], seen0[k] ? "" : "  (started in the window)" }
    for (k in seen0) if (!(k in seen1)) gone = gone " " k
    if (gone != "") print "  threads that ended in the window (only in the utime+stime figure):" gone
  }' "$tmp/before" "$tmp/after"

tm=${TUI_MEASURE:-$repo/../shared/tools/tui-measure}
if [ -x "$tm" ]; then tm=$(readlink -f "$tm"); else tm="tools/tui-measure"; fi
echo "cross-check with tui-measure (its idle_cpu_pct_schedstat, idle_bytes_per_s, rss_final_kib):"
echo "  $tm --cols 200 --rows 50 --settle $settle --seconds $secs --ready 'NOT LIVE' --label cutover \\"
echo "    --env CUTOVER_HOME=\$(mktemp -d) -- $bin drill $repo/runbooks/blue-green.yaml --speed 1"
