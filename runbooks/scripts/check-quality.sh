#!/bin/sh
# Data quality checks: completeness and consistency (simulated).
. "$(dirname "$0")/_sim.sh"
say "data quality: ${1:-all} tables — null rates, freshness, referential checks"
nap
say "0 anomalies"
