#!/bin/sh
# Set the share of traffic routed to the target, in percent (simulated).
. "$(dirname "$0")/_sim.sh"
weight="${1:?usage: set-weight.sh PERCENT}"
case "$weight" in *[!0-9]*) echo "set-weight.sh: weight must be a whole percent, got '$weight'" >&2; exit 2 ;; esac
say "routing: $weight% of connections → Databricks, $((100 - weight))% → source"
nap
say "router config applied"
