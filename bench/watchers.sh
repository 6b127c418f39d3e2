#!/usr/bin/env bash
# N watchers on a `--speed max` drill: the driver's events per second with 0 and with N
# watchers attached (over the run's span: its start to its journal's last record, so the
# up-to-300 ms the driver then gives watchers to be sent the end is not counted), the delay
# from a record's journal time to its arrival at a watcher's socket (p50/p99, records that
# arrived live), how often watchers were resynchronised, and the driver's peak RSS. The
# drill (headless) has two metrics sampled every T-second over H T-hours (--hours, 24 by
# default) and a few steps, so it publishes 7,200 samples a T-hour and a few dozen records;
# the watchers are plain socket clients (one Python thread serving all of them over epoll,
# at nice +10 as `cutover watch` runs) that read as fast as they can, as `cutover watch`
# does before it draws.
#
# Usage: bench/watchers.sh [--bin PATH] [--speed S] [--runs R] [--hours H] [N]
#        (defaults: release, max, 3, 24, 30)
# Runs the drill alone and with N watchers in turn, R times, and reports the median pair.
# Needs python3 and Linux /proc. Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
n=30
speed=max
runs=3
hours=24
bin=${CUTOVER_BIN:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=${2:?--bin needs a path}; shift 2 ;;
    --speed) speed=${2:?--speed needs a factor or max}; shift 2 ;;
    --runs) runs=${2:?--runs needs a count}; shift 2 ;;
    --hours) hours=${2:?--hours needs T-hours}; shift 2 ;;
    -h | --help) sed -n '10,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) n=$1; shift ;;
  esac
done
if [ -z "$bin" ]; then
  cargo build --release -q --bin cutover
  target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  bin="$target/release/cutover"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
half=$((hours / 2)); half=$((half > 0 ? half : 1))
cat > "$tmp/rb.yaml" <<YAML
version: 1
title: Watchers benchmark
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
      - {id: a, title: A, at: T+0:00, run: 'true', expect: 1m, owner: eng}
      - {id: b, title: B, at: T+$half:00, run: 'echo half way', expect: 1m, owner: eng}
      - {id: c, title: C, at: T+$hours:00, run: 'true', expect: 1m, owner: eng}
YAML

python3 - "$bin" "$tmp" "$n" "$speed" "$runs" "$hours" <<'PY'
import json, os, selectors, socket, subprocess, sys, threading, time
from datetime import datetime
bin, tmp, n, speed, runs, hours = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])

def rss_kb(pid):
    try:
        for l in open(f"/proc/{pid}/status"):
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    except OSError:
        return None

TCK = os.sysconf("SC_CLK_TCK")

def thread_cpu(pid):
    """CPU seconds of the driver's loop thread (the main one) and of its serving thread."""
    main = serve = 0.0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            st = open(f"/proc/{pid}/task/{tid}/stat").read()
            comm = st[st.index("(") + 1:st.rindex(")")]
            f = st[st.rindex(")") + 2:].split()
            cpu = (int(f[11]) + int(f[12])) / TCK
            if tid == str(pid):
                main = cpu
            elif comm.startswith("cutover-serve"):
                serve = cpu
    except (OSError, ValueError):
        return None
    return main, serve

def run(watchers, tag):
    s = os.path.join(tmp, f"s-{tag}")
    t0 = time.time()
    p = subprocess.Popen([bin, "drill", os.path.join(tmp, "rb.yaml"), "--headless", "--speed", speed,
                          "--session", s], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stats = {"delays": [], "resets": 0, "frames": 0}
    # All the watchers in one thread over epoll: the clients take at most one of the cores,
    # as thirty watchers on other machines (or niced) would, and none of the driver's.
    def clients():
        # At nice +10, as `cutover watch` runs (it lowers its own priority unless it drives).
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        socks = []
        path = os.path.join(s, "watch.sock")
        while len(socks) < watchers and p.poll() is None:
            try:
                c = socket.socket(socket.AF_UNIX); c.connect(path); c.setblocking(False)
                socks.append(c)
            except OSError:
                time.sleep(0.001)
        sel = selectors.DefaultSelector()
        state = {}
        for c in socks:
            sel.register(c, selectors.EVENT_READ)
            state[c] = {"buf": b"", "live": False, "resets": 0}
        while state:
            for key, _ in sel.select(timeout=1.0):
                c = key.fileobj
                st = state[c]
                try:
                    data = c.recv(1 << 16)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(c); c.close()
                    stats["resets"] += max(st["resets"] - 1, 0)
                    del state[c]
                    continue
                now = time.time()
                buf = st["buf"] + data
                *lines, st["buf"] = buf.split(b"\n")
                stats["frames"] += len(lines)
                for line in lines:
                    if line.startswith(b'{"type":"record"'):
                        if st["live"]:
                            at = json.loads(line)["record"]["at"]
                            stats["delays"].append(
                                now - datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp())
                    elif line.startswith(b'{"type":"reset"'):
                        st["resets"] += 1; st["live"] = False
                    elif line.startswith(b'{"type":"live"'):
                        st["live"] = True
    ts = [threading.Thread(target=clients)] if watchers else []
    for t in ts: t.start()
    peak, cpu = 0, (0.0, 0.0)
    while p.poll() is None:
        peak = max(peak, rss_kb(p.pid) or 0)
        # A thread that has exited (the serving one, at the end) keeps its last reading.
        c = thread_cpu(p.pid)
        if c:
            cpu = (max(cpu[0], c[0]), max(cpu[1], c[1]))
        time.sleep(0.005)
    wall = time.time() - t0
    for t in ts: t.join(timeout=10)
    # The run's own span: from the start to the journal's last record (the session's end).
    # The process lives on after it for up to 300 ms while watchers are sent the last
    # records (`Server::drain`); that wait delays no event, so it is reported, not counted.
    lines, last = 0, None
    for line in open(os.path.join(s, "journal.jsonl")):
        lines += 1
        at = json.loads(line).get("at")
        if at:
            last = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
    stats["cpu"] = cpu
    stats["wall"] = wall
    return (last - t0 if last else wall), lines, peak, stats

samples = 2 * hours * 3600
# Alone and with watchers in turn, RUNS times: a single pair on a shared 2-core machine is
# noise. The figure is the median pair's.
pairs = [(run(0, f"0-{i}"), run(n, f"{n}-{i}")) for i in range(runs)]
rate = lambda r: (r[1] + samples) / r[0]
for i, (b, w) in enumerate(pairs):
    print(f"run {i + 1}: alone {b[0]:.2f} s (process {b[3]['wall']:.2f} s), {rate(b):9.0f} events/s; "
          f"with {n}: {w[0]:.2f} s (process {w[3]['wall']:.2f} s), "
          f"{rate(w):9.0f} events/s ({100 * rate(w) / rate(b) - 100:+.1f} %)")
pairs.sort(key=lambda bw: rate(bw[1]) / rate(bw[0]))
base, with_n = pairs[len(pairs) // 2]
for name, (wall, lines, peak, st) in [("0 watchers", base), (f"{n} watchers", with_n)]:
    ev = (lines + samples) / wall
    d = sorted(st["delays"])
    pct = lambda q: f"{1000 * d[min(len(d) - 1, int(q * len(d)))]:.1f} ms" if d else "—"
    print(f"{name:>11}: {wall:6.2f} s to the last record (process {st['wall']:.2f} s), "
          f"{ev:9.0f} events/s ({lines} records + ~{samples} samples), "
          f"peak RSS {peak / 1024:.1f} MiB; record -> watcher p50 {pct(0.5)}, p99 {pct(0.99)}, "
          f"max {pct(1.0)} over {len(d)} live records; resyncs {st['resets']}, frames {st['frames']}; "
          f"CPU: loop thread {st['cpu'][0]:.2f} s, serving thread {st['cpu'][1]:.2f} s")
print(f"events/s with {n} watchers (median of {runs} pairs): {100 * rate(with_n) / rate(base) - 100:+.1f} % against none")
PY
