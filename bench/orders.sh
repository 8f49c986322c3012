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
#      SEARCH_CONNS (8): connections of the second, lightly loaded search measurement,
#      ROUNDS (3): interleaved order/pgbench pairs; the median pair's ratio is the figure,
#      SEARCH_RATES ("250 500 1000"): open-loop search rates (req/s) whose latency is measured,
#      BENCH_WRK (1 when wrk is installed): each round also sends the orders with wrk -t2, and a second
#      ratio is printed. wrk is the HTTP reference tool of DESIGN.md §7a; like pgbench it is a C client
#      (≈ 16 µs of CPU per request here against ≈ 45 µs for bench/load), so its ratio compares the two
#      servers with clients of the same weight.
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
ROUNDS=${ROUNDS:-3}
SEARCH_RATES=${SEARCH_RATES:-250 500 1000}
BENCH_WRK=${BENCH_WRK:-$(command -v wrk >/dev/null 2>&1 && echo 1 || echo 0)}

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
start_connect() {
  "$BIN" serve --demo --no-rate-limit --db "$DSN" --addr "$CONNECT_ADDR" >>"$WORK/serve.log" 2>&1 &
  SERVE_PID=$!
  wait_ready "http://$CONNECT_ADDR/readyz"
}
# The server holds up to 64 connections: it is stopped so pgbench gets its own.
stop_connect() {
  kill "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
  SERVE_PID=
}
echo "== start servers"
"$BARE_BIN" -addr "$BARE_ADDR" >"$WORK/bare.log" 2>&1 &
BARE_PID=$!
wait_ready "http://$BARE_ADDR/"
start_connect

TOKEN_URL="http://$CONNECT_ADDR/user/oauth/token"
common=(-c "$CONNS" -d "$DURATION" -warmup "$WARMUP" -H 'Accept: application/json'
  -token-url "$TOKEN_URL" -client-id demo.web -client-secret demo-secret -target "bare=http://$BARE_ADDR/")

echo "== load: customer search"
"$LOAD_BIN" "${common[@]}" -body '{"lastName":"hans","maxResults":50}' \
  -target "search=POST:http://$CONNECT_ADDR/capi/v1/client/customer/search@auth" | tee "$WORK/search.txt"
"$LOAD_BIN" "${common[@]}" -body '{"email":"ola.500001@example.com"}' \
  -target "search-email=POST:http://$CONNECT_ADDR/capi/v1/client/customer/search@auth" | tee -a "$WORK/search.txt"
# The same prefix search with few connections: latency without saturating the two cores (-c: the last one wins).
"$LOAD_BIN" "${common[@]}" -c "$SEARCH_CONNS" -body '{"lastName":"hans","maxResults":50}' \
  -target "search-c$SEARCH_CONNS=POST:http://$CONNECT_ADDR/capi/v1/client/customer/search@auth" | tee -a "$WORK/search.txt"
# Open loop: the latency of searches arriving at a steady rate (each counted
# from its scheduled start, so queueing shows), the way a p99 target is meant.
for rate in $SEARCH_RATES; do
  "$LOAD_BIN" -c "$CONNS" -d "$DURATION" -warmup "$WARMUP" -H 'Accept: application/json' -rate "$rate" \
    -token-url "$TOKEN_URL" -client-id demo.web -client-secret demo-secret -body '{"lastName":"hans","maxResults":50}' \
    -target "search-at-$rate=POST:http://$CONNECT_ADDR/capi/v1/client/customer/search@auth" | tee -a "$WORK/search.txt"
done
stop_connect

# Order registration against pgbench's one-row insert, in ROUNDS interleaved
# pairs: both swing by a third from minute to minute on a shared machine, so
# each round's ratio pairs measurements a few seconds apart, and the median
# round is the figure.
psql "$DSN" -q -c 'CREATE TABLE IF NOT EXISTS bench_insert (id BIGSERIAL PRIMARY KEY, v BIGINT NOT NULL, created_at BIGINT NOT NULL)'
echo 'INSERT INTO bench_insert (v, created_at) VALUES (1, 2);' >"$WORK/insert.sql"
secs=${DURATION%s}
ORDER_BODY='{"paymentMethod":"invoice","payer":{"customerNumber":100001},"orderLines":[{"productSpecType":"coupon","productSpecCode":"DIGI","productSpecNo":1,"unitPrice":149}]}'
: >"$WORK/ratios.txt"
: >"$WORK/ratios-wrk.txt"
for ((round = 1; round <= ROUNDS; round++)); do
  echo "== round $round/$ROUNDS: order registration (client mode)"
  start_connect
  "$LOAD_BIN" "${common[@]}" \
    -body "$ORDER_BODY" \
    -target "order=POST:http://$CONNECT_ADDR/capi/v1/client/order@auth" | tee "$WORK/order-$round.txt"
  if [[ "$BENCH_WRK" == 1 ]]; then
    echo "== round $round/$ROUNDS: order registration with wrk -t2 -c$CONNS"
    token=$("$LOAD_BIN" -print-token -token-url "$TOKEN_URL" -client-id demo.web -client-secret demo-secret)
    cat >"$WORK/order.lua" <<LUA
wrk.method = "POST"
wrk.body = '$ORDER_BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
    wrk -t2 -c"$CONNS" -d"$WARMUP" -s "$WORK/order.lua" "http://$CONNECT_ADDR/capi/v1/client/order" >/dev/null
    wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$WORK/order.lua" "http://$CONNECT_ADDR/capi/v1/client/order" |
      tee "$WORK/order-wrk-$round.txt"
    if grep -q 'Non-2xx' "$WORK/order-wrk-$round.txt"; then
      echo "wrk: some orders were refused" >&2
      exit 1
    fi
  fi
  stop_connect
  echo "== round $round/$ROUNDS: pgbench one-row insert, $CONNS clients"
  pgbench -n -c "$CONNS" -j 2 -T "$secs" -f "$WORK/insert.sql" "$DSN" | tee "$WORK/pgbench-$round.txt"
  tps=$(awk '/^tps/ { print $3; exit }' "$WORK/pgbench-$round.txt")
  order=$(awk '/^order / { for (i = 1; i <= NF; i++) if ($i ~ /^req\/s=/) { sub("req/s=", "", $i); print $i } }' "$WORK/order-$round.txt")
  awk -v o="$order" -v p="$tps" -v r="$round" 'BEGIN { if (p > 0) printf "round %d: order %.1f req/s, pgbench %.1f tps, ratio %.3f\n", r, o, p, o / p }' |
    tee -a "$WORK/ratios.txt"
  if [[ "$BENCH_WRK" == 1 ]]; then
    order=$(awk '/^Requests\/sec/ { print $2 }' "$WORK/order-wrk-$round.txt")
    awk -v o="$order" -v p="$tps" -v r="$round" 'BEGIN { if (p > 0) printf "round %d: order (wrk) %.1f req/s, pgbench %.1f tps, ratio %.3f\n", r, o, p, o / p }' |
      tee -a "$WORK/ratios-wrk.txt"
  fi
done
median() { # the ratio is the last field
  sort -t' ' -k"$2" -n "$1" | awk -v what="$3" '{ r[NR] = $NF } END { if (NR) printf "ratio %s: median of %d rounds = %.2f (min %.2f, max %.2f)\n", what, NR, r[int((NR + 1) / 2)], r[1], r[NR] }'
}
median "$WORK/ratios.txt" 10 "order/pgbench-insert (bench/load)"
median "$WORK/ratios-wrk.txt" 11 "order/pgbench-insert (wrk)"
echo "== done (logs in $WORK)"
