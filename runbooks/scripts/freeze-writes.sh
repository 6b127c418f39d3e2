#!/bin/sh
# Turn the source write freeze on or off (simulated). Idempotent.
. "$(dirname "$0")/_sim.sh"
case "${1:---on}" in
  --on)  say "revoking INSERT/UPDATE/DELETE from writer roles on ${2:-Snowflake}"; nap; say "write freeze ON: 0 open write transactions" ;;
  --off) say "restoring writer roles on ${2:-Snowflake}"; nap; say "write freeze OFF" ;;
  *) echo "usage: freeze-writes.sh --on|--off [PLATFORM]" >&2; exit 2 ;;
esac
