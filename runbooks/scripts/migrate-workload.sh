#!/bin/sh
# Move one workload group to Databricks (simulated).
. "$(dirname "$0")/_sim.sh"
say "migrating workload group '${1:?usage: migrate-workload.sh NAME}'"
nap 0.2
say "'$1': jobs repointed, first runs green"
