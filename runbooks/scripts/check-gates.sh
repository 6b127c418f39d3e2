#!/bin/sh
# Check a canary stage's gates: error rate and latency (simulated).
. "$(dirname "$0")/_sim.sh"
say "gates at ${1:-?}%: error rate 0.03% (< 0.1%), p95 latency 1.9s (SLA 3s)"
nap
say "gates hold"
