#!/bin/sh
# Compare benchmark queries against the Redshift baseline; fails when >20% slower (simulated).
. "$(dirname "$0")/_sim.sh"
say "benchmark: 40 queries, Databricks vs Redshift baseline"
nap 0.2
say "median 12% faster, worst query 8% slower (limit: 20% slower)"
