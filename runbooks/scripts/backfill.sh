#!/bin/sh
# Backfill historical data from Redshift to Databricks in batches (simulated).
. "$(dirname "$0")/_sim.sh"
say "backfill batch ${1:-1} of 4: $((${1:-1} * 1250)) TB of 5,000 TB"
nap 0.2
say "batch ${1:-1} copied and checksummed"
