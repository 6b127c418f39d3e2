#!/bin/sh
# Point one workload group back at the source (simulated).
. "$(dirname "$0")/_sim.sh"
say "returning workload group '${1:?usage: return-workload.sh NAME}' to the source"
nap
say "'$1' runs on the source again"
