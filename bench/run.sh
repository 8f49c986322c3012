#!/usr/bin/env bash
# bench/run.sh [sqlite|postgres] [customers]
#
# Builds cmd/connect, the bare reference server and the load tool, prepares a
# fresh database, starts `connect serve --demo --no-rate-limit` and the bare
# server on loopback, and measures in one run (same settings for every target):
#   bare      GET  http://127.0.0.1:18081/                    (reference)
#   products  GET  /capi/v1/client/product   (Bearer token, Accept: application/json)
#   token     POST /user/oauth/token          (client_credentials, Basic demo.web:demo-secret)
# then prints each target's ratio to bare (DESIGN.md §7a).
#
# Env: DURATION (10s), CONNS (64), WARMUP (2s), LOAD_ARGS (extra load-tool flags, e.g. -json),
#      BENCH_WRK=1 to also run wrk -t2 -c$CONNS -d$DURATION on the same targets when wrk is installed,
#      PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432), CONNECT_ADDR (127.0.0.1:18080),
#      BARE_ADDR (127.0.0.1:18081).
set -euo pipefail

DB_KIND=${1:-sqlite}
CUSTOMERS=${2:-0}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
WARMUP=${WARMUP:-2s}
LOAD_ARGS=${LOAD_ARGS:-}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432}
CONNECT_ADDR=${CONNECT_ADDR:-127.0.0.1:18080}
BARE_ADDR=${BARE_ADDR:-127.0.0.1:18081}
CLIENT_ID=demo.web
CLIENT_SECRET=demo-secret

case "$CUSTOMERS" in
  ''|*[!0-9]*) echo "customers must be a non-negative integer" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BIN=/tmp/connect-bench
BARE_BIN=/tmp/connect-bench-bare
LOAD_BIN=/tmp/connect-bench-load
WORK=$(mktemp -d /tmp/connect-bench.XXXXXX)
SERVE_LOG=$WORK/serve.log
BARE_LOG=$WORK/bare.log
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

echo "== database ($DB_KIND)"
case "$DB_KIND" in
  sqlite)
    DB_FILE=$WORK/connect.db
    DSN="sqlite://$DB_FILE"   # sqlite:///tmp/connect-bench.XXXXXX/connect.db
    ;;
  postgres)
    psql "$PG_ADMIN_URL/postgres" -v ON_ERROR_STOP=1 -q \
      -c 'DROP DATABASE IF EXISTS connect_bench WITH (FORCE)' \
      -c 'CREATE DATABASE connect_bench'
    DSN="$PG_ADMIN_URL/connect_bench?sslmode=disable"
    ;;
  *)
    echo "usage: $0 [sqlite|postgres] [customers]" >&2
    exit 2
    ;;
esac
echo "dsn: $DSN"
"$BIN" migrate --db "$DSN"

if (( CUSTOMERS > 0 )); then
  echo "== demo data: $CUSTOMERS customers"
  t0=$(date +%s.%N)
  "$BIN" demo --customers "$CUSTOMERS" --db "$DSN"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v n="$CUSTOMERS" \
    'BEGIN { s = b - a; printf "demo --customers %d took %.1f s (%.0f customers/s)\n", n, s, (s > 0 ? n / s : 0) }'
fi

# wait_ready URL PID NAME LOG: poll URL until it answers 200 (max ~30 s).
wait_ready() {
  local url=$1 pid=$2 name=$3 log=$4 i
  for ((i = 0; i < 150; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited before becoming ready; log:" >&2
      tail -n 40 "$log" >&2 || true
      return 1
    fi
    if [[ $(curl -s -o /dev/null -m 1 -w '%{http_code}' "$url" || true) == 200 ]]; then
      return 0
    fi
    sleep 0.2
  done
  echo "$name not ready after ~30 s ($url); log:" >&2
  tail -n 40 "$log" >&2 || true
  return 1
}

echo "== start servers"
"$BIN" serve --demo --no-rate-limit --db "$DSN" --addr "$CONNECT_ADDR" >"$SERVE_LOG" 2>&1 &
SERVE_PID=$!
"$BARE_BIN" -addr "$BARE_ADDR" >"$BARE_LOG" 2>&1 &
BARE_PID=$!
wait_ready "http://$CONNECT_ADDR/readyz" "$SERVE_PID" "connect serve" "$SERVE_LOG"
wait_ready "http://$BARE_ADDR/" "$BARE_PID" "bare server" "$BARE_LOG"

TOKEN_URL="http://$CONNECT_ADDR/user/oauth/token"
PRODUCTS_URL="http://$CONNECT_ADDR/capi/v1/client/product"
BARE_URL="http://$BARE_ADDR/"

echo "== load: $(nproc 2>/dev/null || echo '?') cores, db=$DB_KIND customers=$CUSTOMERS conns=$CONNS duration=$DURATION warmup=$WARMUP"
# shellcheck disable=SC2086 # LOAD_ARGS is deliberately word-split
"$LOAD_BIN" -c "$CONNS" -d "$DURATION" -warmup "$WARMUP" \
  -H 'Accept: application/json' \
  -token-url "$TOKEN_URL" -client-id "$CLIENT_ID" -client-secret "$CLIENT_SECRET" \
  -basic "$CLIENT_ID:$CLIENT_SECRET" -form grant_type=client_credentials \
  -target "bare=$BARE_URL" \
  -target "products=$PRODUCTS_URL@auth" \
  -target "token=POST:$TOKEN_URL@basic" \
  $LOAD_ARGS

# ConnectID: the legacy profile as demo@example.com, with a user token from
# the real login flow (bench/userlogin), against bare in the same invocation.
go build -o "$WORK/userlogin" ./bench/userlogin
PROFILE_TOKEN=$("$WORK/userlogin" -base "http://$CONNECT_ADDR" -client-id "$CLIENT_ID" -client-secret "$CLIENT_SECRET" \
  -user demo@example.com -password demo-password)
echo "== load: user profile (user token of demo@example.com)"
# shellcheck disable=SC2086
"$LOAD_BIN" -c "$CONNS" -d "$DURATION" -warmup "$WARMUP" \
  -H 'Accept: application/json' -H "Authorization: Bearer $PROFILE_TOKEN" \
  -target "bare=$BARE_URL" \
  -target "profile=http://$CONNECT_ADDR/capi/v1/customer/profile" \
  $LOAD_ARGS

# Subscriptions, access and sharing: the paywall's check, as a generated
# customer (odd customer numbers hold DIGI) with a user token, against bare in
# the same invocation.
if (( CUSTOMERS > 0 )); then
  go build -o "$WORK/usertoken" ./bench/usertoken
  USER_TOKEN=$("$WORK/usertoken" -db "$DSN" -issuer "http://$CONNECT_ADDR/user" -company DEMO -client "$CLIENT_ID" \
    -customer $((100001 + 2 * (CUSTOMERS / 4))))
  echo "== load: access check (user token of a generated DIGI subscriber)"
  # shellcheck disable=SC2086
  "$LOAD_BIN" -c "$CONNS" -d "$DURATION" -warmup "$WARMUP" \
    -H 'Accept: application/json' -H 'Content-Type: application/json' -H "Authorization: Bearer $USER_TOKEN" \
    -body '{"product":"DIGI"}' \
    -target "bare=$BARE_URL" \
    -target "access=POST:http://$CONNECT_ADDR/capi/v1/customer/access" \
    $LOAD_ARGS
fi

if [[ "${BENCH_WRK:-0}" == 1 ]]; then
  if ! command -v wrk >/dev/null 2>&1; then
    echo "== wrk: not installed, skipped"
  else
    echo "== wrk -t2 -c$CONNS -d$DURATION"
    TOKEN=$("$LOAD_BIN" -print-token -token-url "$TOKEN_URL" -client-id "$CLIENT_ID" -client-secret "$CLIENT_SECRET")
    BASIC=$(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 | tr -d '\n')
    cat >"$WORK/token.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Basic $BASIC"
LUA
    cat >"$WORK/bearer.lua" <<LUA
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
    echo "-- bare"
    wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$BARE_URL"
    echo "-- products"
    wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$WORK/bearer.lua" "$PRODUCTS_URL"
    echo "-- token"
    wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$WORK/token.lua" "$TOKEN_URL"
  fi
fi

echo "== done (logs in $WORK)"
