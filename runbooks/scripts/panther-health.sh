#!/bin/sh
# A metric command (the last line of stdout is the value): how many of Panther's log
# sources Panther itself reports unhealthy, from its GraphQL API (`sources` → `isHealthy`,
# see PLATFORM-APIS.md §7). This reads the real API in a live run; drills use the metric's
# `sim:` and never run it.
#
# Needs PANTHER_API_HOST (the API host, https://api.…) and PANTHER_API_KEY (a token allowed
# to view log sources) in the environment. Any doubt is a failed read, never a 0: a missing
# variable, an HTTP error, a GraphQL `errors` array (which Panther sends with HTTP 200), an
# answer without sources, or more sources than one page holds (counting only the first page
# could hide an unhealthy one). The cockpit then shows the metric UNKNOWN with this message.
set -eu
: "${PANTHER_API_HOST:?set PANTHER_API_HOST to Panther's API host (https://api.…)}"
: "${PANTHER_API_KEY:?set PANTHER_API_KEY to a Panther API token}"
query='{"query":"query { sources(input: {}) { edges { node { integrationId isHealthy } } pageInfo { hasNextPage endCursor } } }"}'
body=$(curl -sS --fail-with-body --max-time 20 \
  -H "X-API-Key: ${PANTHER_API_KEY}" -H 'Content-Type: application/json' \
  --data "$query" "${PANTHER_API_HOST%/}/public/graphql") || {
  printf 'Panther API request failed: %.300s\n' "$body" >&2
  exit 1
}
flat=$(printf '%s' "$body" | tr -d ' \n\r\t')
case "$flat" in
  *'"errors":['*) printf 'Panther API error: %.300s\n' "$body" >&2; exit 1 ;;
esac
case "$flat" in
  *'"edges":'*) ;;
  *) printf 'unexpected answer from Panther: %.300s\n' "$body" >&2; exit 1 ;;
esac
case "$flat" in
  *'"hasNextPage":true'*) echo "more log sources than one page: refusing to count only the first" >&2; exit 1 ;;
esac
printf '%s' "$flat" | grep -o '"isHealthy":false' | wc -l | tr -d ' '
