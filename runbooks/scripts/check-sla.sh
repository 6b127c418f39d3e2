#!/bin/sh
# Compare SLAs of the last window against the baseline (simulated).
. "$(dirname "$0")/_sim.sh"
say "SLA check: ${1:-24h} window against baseline"
nap
say "jobs on schedule 99.8%; dashboard p95 within SLA; 0 failed critical reports"
