# Shared by the drill scripts (sourced, not run). Each script prints what the real procedure
# would do, sleeps briefly and succeeds; none of them touches a real system.
#
# A simulation must never claim success in a live cutover: in `cutover run` these scripts
# refuse unless CUTOVER_ALLOW_SIM=1 (used by tests of the live path).
if [ "${CUTOVER_MODE:-drill}" = "live" ] && [ "${CUTOVER_ALLOW_SIM:-0}" != "1" ]; then
  echo "$(basename "$0"): this is a drill simulation; replace it with the real procedure before a live cutover" >&2
  exit 64
fi
say() { printf '%s\n' "$*"; }
nap() { sleep "${1:-0.1}"; }
