#!/bin/sh
# Redshift ingestion and access changes (simulated).
. "$(dirname "$0")/_sim.sh"
case "${1:?usage: redshift.sh stop-ingest|resume-ingest|read-only|read-write}" in
  stop-ingest) say "pausing COPY jobs and Kinesis firehose into Redshift" ;;
  resume-ingest) say "resuming COPY jobs into Redshift; backlog replay started" ;;
  read-only) say "revoking writes on Redshift; historical store is read-only" ;;
  read-write) say "restoring writer grants on Redshift" ;;
esac
nap
say "done"
