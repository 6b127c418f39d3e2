#!/bin/sh
# The T-24h preflight step: `cutover preflight RUNBOOK` checks the live systems before the
# window (every secret the connections need, each connection, one read of every metric,
# every script; it runs nothing and journals nothing). RUNBOOK is relative to the runbook's
# folder, where steps run.
#
# Live, it runs the binary driving the session ($CUTOVER_BIN) and the step fails when
# anything is not well, with the table in the step's output. A drill touches nothing real,
# so there it says what the live run will do and succeeds. Not a simulation: it does not
# source _sim.sh, which refuses to run live.
runbook="${1:?usage: preflight.sh RUNBOOK}"
if [ "${CUTOVER_MODE:-drill}" != "live" ]; then
  echo "drill: the live systems are not reached; the live run checks them here with: cutover preflight $runbook"
  exit 0
fi
bin="${CUTOVER_BIN:-cutover}"
if ! command -v "$bin" >/dev/null 2>&1; then
  echo "preflight.sh: \`$bin\` not found: put cutover on PATH or set CUTOVER_BIN" >&2
  exit 127
fi
exec "$bin" preflight "$runbook"
