#!/bin/sh
# Run the smoke-test queries against a platform (simulated).
. "$(dirname "$0")/_sim.sh"
say "smoke tests on ${1:-Databricks}: 25 critical queries"
nap 0.2
say "25/25 passed; p95 1.8s"
