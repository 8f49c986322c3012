#!/usr/bin/env bash
# bench/orders.sh [customers]
#
# Customers and orders (DESIGN.md §7a) on PostgreSQL, in one run:
#   bare      GET  http://127.0.0.1:18081/                      (reference)
#   order     POST /capi/v1/client/order        one NEWS-style coupon line, existing payer, JSON
#   search    POST /capi/v1/client/customer/search  {"lastName":"<prefix>"} at N customers
#   pgbench   one-row INSERT per transaction, same connections (the order target's reference)
# Prints req/s, p50/p99 and the ratios order/pgbench and search/bare.
#
# Env: DURATION (10s), CONNS (64), WARMUP (2s), PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432),
#      CONNECT_ADDR (127.0.0.1:18080), BARE_ADDR (127.0.0.1:18081),
#      BENCH_DB (connect_bench_orders: this script's own database, dropped and recreated),
#      REUSE=1 keeps BENCH_DB when it already holds at least N customers (only migrations run;
#      orders of earlier runs stay), so the slow generation of 1,000,000 customers happens once,
#      SEARCH_CONNS (8): connections of the second, lightly loaded search measurement.
set -euo pipefail

CUSTOMERS=${1:-1000000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
WARMUP=${WARMUP:-2s}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432}
CONNECT_ADDR=${CONNECT_ADDR:-127.0.0.1:18080}
BARE_ADDR=${BARE_ADDR:-127.0.0.1:18081}
BENCH_DB=${BENCH_DB:-connect_bench_orders}
REUSE=${REUSE:-0}
SEARCH_CONNS=${SEARCH_CONNS:-8}

case "$CUSTOMERS" in
  ''|*[!0-9]*) echo "customers must be a non-negative integer" >&2; exit 2 ;;
esac
case "$BENCH_DB" in
  ''|*[!a-z0-9_]*) echo "BENCH_DB must be lower-case letters, digits and _" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=/tmp/connect-bench
BARE_BIN=/tmp/connect-bench-bare
LOAD_BIN=/tmp/connect-bench-load
WORK=$(mktemp -d /tmp/connect-bench-orders.XXXXXX)
SERVE_PID=
BARE_PID=
cleanup() {
  local pid
  for pid in "$SERVE_PID" "$BARE_PID"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== build"
go build -o "$BIN" ./cmd/connect
go build -o "$BARE_BIN" ./bench/bare
go build -o "$LOAD_BIN" ./bench/load

echo "== database $BENCH_DB (postgres, $CUSTOMERS customers)"
DSN="$PG_ADMIN_URL/$BENCH_DB?sslmode=disable"
have=-1
if [[ "$REUSE" == 1 ]]; then
  # -1 when the database or its customers table does not exist yet.
  have=$(psql "$DSN" -tAq -c 'SELECT count(*) FROM customers' 2>/dev/null || echo -1)
fi
if ((have >= CUSTOMERS)); then
  echo "reusing $BENCH_DB ($have customers)"
  "$BIN" migrate --db "$DSN"
  psql "$DSN" -q -c 'DROP TABLE IF EXISTS bench_insert'
else
  psql "$PG_ADMIN_URL/postgres" -v ON_ERROR_STOP=1 -q \
    -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
  "$BIN" migrate --db "$DSN"
  t0=$(date +%s.%N)
  "$BIN" demo --customers "$CUSTOMERS" --db "$DSN"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v n="$CUSTOMERS" 'BEGIN { printf "demo --customers %d took %.1f s\n", n, b - a }'
fi
psql "$DSN" -q -c 'VACUUM ANALYZE'

wait_ready() {
  local url=$1 i
  for ((i = 0; i < 150; i++)); do
    [[ $(curl -s -o /dev/null -m 1 -w '%{http_code}' "$url" || true) == 200 ]] && return 0
    sleep 0.2
  done
  echo "not ready: $url" >&2
  return 1
}
echo "== start servers"
"$BIN" serve --demo --no-rate-limit --db "$DSN" --addr "$CONNECT_ADDR" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
"$BARE_BIN" -addr "$BARE_ADDR" >"$WORK/bare.log" 2>&1 &
BARE_PID=$!
wait_ready "http://$CONNECT_ADDR/readyz"
wait_ready "http://$BARE_ADDR/"

TOKEN_URL="http://$CONNECT_ADDR/user/oauth/token"
common=(-c "$CONNS" -d "$DURATION" -warmup "$WARMUP" -H 'Accept: application/json'
  -token-url "$TOKEN_URL" -client-id demo.web -client-secret demo-secret -target "bare=http://$BARE_ADDR/")

echo "== load: order registration (client mode)"
"$LOAD_BIN" "${common[@]}" \
  -body '{"paymentMethod":"invoice","payer":{"customerNumber":100001},"orderLines":[{"productSpecType":"coupon","productSpecCode":"DIGI","productSpecNo":1,"unitPrice":149}]}' \
  -target "order=POST:http://$CONNECT_ADDR/capi/v1/client/order@auth" | tee "$WORK/order.txt"

echo "== load: customer search"
"$LOAD_BIN" "${common[@]}" -body '{"lastName":"hans","maxResults":50}' \
  -target "search=POST:http://$CONNECT_ADDR/capi/v1/client/customer/search@auth" | tee "$WORK/search.txt"
"$LOAD_BIN" "${common[@]}" -body '{"email":"ola.500001@example.com"}' \
  -target "search-email=POST:http://$CONNECT_ADDR/capi/v1/client/customer/search@auth" | tee -a "$WORK/search.txt"
# The same prefix search with few connections: latency without saturating the two cores (-c: the last one wins).
"$LOAD_BIN" "${common[@]}" -c "$SEARCH_CONNS" -body '{"lastName":"hans","maxResults":50}' \
  -target "search-c$SEARCH_CONNS=POST:http://$CONNECT_ADDR/capi/v1/client/customer/search@auth" | tee -a "$WORK/search.txt"

# The server holds up to 64 connections: stop it so pgbench gets its own.
kill "$SERVE_PID" 2>/dev/null || true
wait "$SERVE_PID" 2>/dev/null || true
SERVE_PID=
echo "== pgbench: one-row insert, $CONNS clients"
psql "$DSN" -q -c 'CREATE TABLE IF NOT EXISTS bench_insert (id BIGSERIAL PRIMARY KEY, v BIGINT NOT NULL, created_at BIGINT NOT NULL)'
echo 'INSERT INTO bench_insert (v, created_at) VALUES (1, 2);' >"$WORK/insert.sql"
secs=${DURATION%s}
pgbench -n -c "$CONNS" -j 2 -T "$secs" -f "$WORK/insert.sql" "$DSN" | tee "$WORK/pgbench.txt"
tps=$(awk '/^tps/ { print $3; exit }' "$WORK/pgbench.txt")
order=$(awk '/^order / { for (i = 1; i <= NF; i++) if ($i ~ /^req\/s=/) { sub("req/s=", "", $i); print $i } }' "$WORK/order.txt")
awk -v o="$order" -v p="$tps" 'BEGIN { if (p > 0) printf "ratio order/pgbench-insert = %.2f (%.1f%%)\n", o / p, 100 * o / p }'
echo "== done (logs in $WORK)"
