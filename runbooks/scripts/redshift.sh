#!/bin/sh
# Redshift ingestion and access changes (simulated).
. "$(dirname "$0")/_sim.sh"
case "${1:?usage: redshift.sh stop-ingest|resume-ingest|historical|read-access|read-write|retire-ingest}" in
  stop-ingest) say "pausing COPY jobs and Kinesis firehose into Redshift" ;;
  resume-ingest) say "resuming COPY jobs into Redshift; backlog replay started" ;;
  historical) say "revoking writes on Redshift; it is the historical store (read-only)" ;;
  read-access) say "granting the analysts' and Panther's read-only roles on the historical schemas" ;;
  read-write) say "restoring writer grants on Redshift" ;;
  retire-ingest) say "deleting the Redshift COPY jobs and firehose delivery streams" ;;
  *) echo "redshift.sh: unknown action $1" >&2; exit 2 ;;
esac
nap
say "done"
