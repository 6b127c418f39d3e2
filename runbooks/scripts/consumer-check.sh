#!/bin/sh
# Check that BI tools, jobs and APIs connect to the platform in service (simulated).
. "$(dirname "$0")/_sim.sh"
say "checking 14 consumers (Tableau, Airflow, reverse-ETL, APIs)"
nap
say "14/14 connected to ${1:-Databricks}"
