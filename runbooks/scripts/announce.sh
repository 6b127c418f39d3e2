#!/bin/sh
# Announce a cutover milestone to stakeholders (simulated).
. "$(dirname "$0")/_sim.sh"
say "posting to #data-platform-cutover: ${*:-cutover update}"
nap
say "status page updated"
