#!/bin/sh
# Replay writes that landed on the target after the switch back onto the source (simulated).
. "$(dirname "$0")/_sim.sh"
say "replaying writes made on ${1:-Databricks} since the switch onto ${2:-Snowflake}"
nap 0.2
say "replayed 3,112 rows; source is current"
