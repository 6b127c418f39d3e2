#!/bin/sh
# Point consumers at one side: blue (source) or green (target) (simulated). Idempotent.
. "$(dirname "$0")/_sim.sh"
side="${1:?usage: switch-dns.sh blue|green}"
say "updating warehouse.example.internal CNAME → $side"
nap
say "connection strings in the secrets store → $side; TTL 60s"
