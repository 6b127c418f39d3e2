#!/bin/sh
# Panther Labs integration actions: check, switch, status (simulated).
. "$(dirname "$0")/_sim.sh"
case "${1:?usage: panther.sh check|switch-to|status} " in
  check*)  say "Panther: detections, scheduled queries and data explorer against ${2:-Databricks}"; nap; say "Panther tools OK on ${2:-Databricks}" ;;
  switch-to*) say "Panther release: switching log processing and queries to ${2:?target}"; nap 0.2; say "Panther traffic on ${2}" ;;
  status*) say "Panther integration on ${2:-Databricks}: ingest lag 40s, 0 failed scheduled queries"; nap ;;
esac
