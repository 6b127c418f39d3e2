#!/bin/sh
# Historical backfill from Redshift to Databricks, one batch of 1.25 PB at a time (simulated).
# `start N` launches batch N's copy job and returns: the runbook's step then waits
# `until: backfill-copied >= …` for the copy to land. `stop` cancels the running copy job
# (a rollback during the backfill); what was copied stays on Databricks for a later attempt.
. "$(dirname "$0")/_sim.sh"
case "${1:?usage: backfill.sh start N|stop}" in
  start)
    n="${2:?usage: backfill.sh start N}"
    say "backfill batch $n of 4: launching the copy of $(( (n - 1) * 1250 ))-$((n * 1250)) TB of 5,000 TB"
    nap 0.2
    say "batch $n copy job running; progress in ops.migration.backfill_progress" ;;
  stop)
    say "cancelling the running backfill copy job; Redshift remains the complete copy"
    nap 0.2
    say "backfill stopped" ;;
  *) echo "usage: backfill.sh start N|stop" >&2; exit 2 ;;
esac
