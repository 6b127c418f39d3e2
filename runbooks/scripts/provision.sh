#!/bin/sh
# Create a Databricks workspace or SQL warehouse (simulated).
. "$(dirname "$0")/_sim.sh"
say "creating ${1:?usage: provision.sh KIND NAME} '${2:-?}'"
nap
say "'${2:-?}' is ready"
