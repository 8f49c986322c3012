#!/usr/bin/env bash
# Renewals end to end, on a fresh SQLite database with the demo data
# (`connect demo`), a demo server, the hosted payment pages and
# `connect jobs run-once --at DATE`:
#
#   1. By invoice: other@example.com's HELG subscription began 25 days ago.
#      Today's run issues its renewal invoice; the reader pays it through the
#      hosted page (the built-in test provider); the run on the renewal day
#      starts the next period, paid.
#   2. By a stored token: demo@example.com stores a PayEx card for DIGI
#      through the hosted page; the run before the renewal issues an invoice
#      to be charged; the run on the renewal day charges the card, and the
#      invoice is paid.
#
# Every step prints the API's answer (client demo.web / demo-secret, and the
# readers' own tokens from the authorization-code flow).
# Usage: examples/renewal-demo.sh   (from anywhere; needs go, curl and python3)
# PORT (default 18090) is where the demo server listens while the script runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18090}
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)
DB="sqlite://$WORK/demo.db"
BIN="$WORK/connect"
SERVER=""
cleanup() {
	if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# json EXPR [ARG...]: evaluates EXPR on the JSON document read from stdin (d), with the ARGs as a.
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d, "a": sys.argv[2:]}))' "$@"; }
# form EXTRA...: the hidden fields of the HTML page on stdin, plus name=value pairs, URL-encoded.
form() {
	python3 -c '
import html, re, sys, urllib.parse
fields = dict((m[0], html.unescape(m[1])) for m in re.findall(r"<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">", sys.stdin.read()))
fields.update(a.split("=", 1) for a in sys.argv[1:])
print(urllib.parse.urlencode(fields))' "$@"
}
# day_after MS: the calendar day (Europe/Oslo) after an epoch-ms instant; days before with a second argument.
day_after() {
	python3 -c '
import datetime, sys
from zoneinfo import ZoneInfo
d = datetime.datetime.fromtimestamp(int(sys.argv[1]) / 1000, ZoneInfo("Europe/Oslo")).date()
print(d + datetime.timedelta(days=int(sys.argv[2]) if len(sys.argv) > 2 else 1))' "$@"
}
# redirect: where the response of curl ARGS... redirects to.
redirect() { curl -sS -o /dev/null -w '%{redirect_url}' "$@"; }
api() { local token=$1; shift; curl -sS -f -H "Authorization: Bearer $token" -H 'Accept: application/json' "$@"; }
post() { local token=$1 path=$2 body=$3; api "$token" -H 'Content-Type: application/json' -d "$body" "$BASE$path"; }
step() { printf '\n== %s\n' "$*"; }
check() { if [ "$1" != "$2" ]; then echo "unexpected: $3 is '$1', want '$2'" >&2; exit 1; fi; }

# login EMAIL PASSWORD JAR: logs the reader in through the authorization-code
# flow of demo.web (the browser's session stays in the cookie JAR) and prints
# the user access token.
login() {
	local jar=$3 redirect_uri=http://localhost:3000/callback
	local authorize="$BASE/user/oauth/authorize?response_type=code&client_id=demo.web&redirect_uri=$redirect_uri&state=renewal-demo"
	local fields next code
	fields=$(curl -sS -c "$jar" -b "$jar" "$authorize" | form "j_username=$1" "j_password=$2")
	next=$(redirect -c "$jar" -b "$jar" --data "$fields" "$BASE/user/oauthLogin")
	code=$(redirect -c "$jar" -b "$jar" "$next" | python3 -c 'import sys,urllib.parse as u; print(u.parse_qs(u.urlparse(sys.stdin.read().strip()).query)["code"][0])')
	curl -sS -f -u demo.web:demo-secret -d grant_type=authorization_code -d "code=$code" -d "redirect_uri=$redirect_uri" \
		"$BASE/user/oauth/token" | json 'd["access_token"]'
}

# hosted JAR PAGE ID: the reader's browser opens the hosted page of
# transaction ID as the client's site would send it there, and approves on
# the test provider's page; prints where the browser returns.
hosted() {
	local jar=$1 page=$2 id=$3 query provider
	query=$(python3 -c 'import sys,urllib.parse as u; print(u.urlencode({"clientId":"demo.web","returnUrl":"http://localhost:3000/paid","errorUrl":"http://localhost:3000/error","transactionId":sys.argv[1]}))' "$id")
	provider=$(redirect -c "$jar" -b "$jar" "$BASE$page?$query")
	echo "   browser → $provider" >&2
	redirect -c "$jar" -b "$jar" --data "$(curl -sS -c "$jar" -b "$jar" "$provider" | form outcome=approve)" "$provider"
}

jobs_at() { step "connect jobs run-once --at $1"; "$BIN" jobs run-once --db "$DB" --at "$1" 2>>"$WORK/jobs.log"; }

step "build, a fresh SQLite database with the demo data, and a demo server on $BASE"
go build -o "$BIN" ./cmd/connect
"$BIN" demo --db "$DB"
"$BIN" serve --db "$DB" --addr "127.0.0.1:$PORT" --log-level warn >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -sf "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
CLIENT=$(curl -sS -f -u demo.web:demo-secret -d grant_type=client_credentials "$BASE/user/oauth/token" | json 'd["access_token"]')

# ---------------------------------------------------------------- 1. invoice
step "1. renewal by invoice: other@example.com logs in (HELG began 25 days ago)"
OTHER=$(login other@example.com other-password "$WORK/other.jar")
SUBS=$(api "$OTHER" "$BASE/capi/v1/subscription")
echo "$SUBS"
HELG_END=$(echo "$SUBS" | json '[s["endTime"] for s in d["subscriptions"] if s["product"]=="HELG"][0]')

jobs_at "$(date +%F)"
step "the renewal invoice (GET /capi/v1/customer/invoice/payment/HELG)"
INVOICES=$(api "$OTHER" "$BASE/capi/v1/customer/invoice/payment/HELG")
echo "$INVOICES"
INVOICE=$(echo "$INVOICES" | json 'd["invoices"][0]["invoiceNumber"]')
check "$(echo "$INVOICES" | json 'd["invoices"][0]["invoiceStatus"]')" Invoiced "the new invoice's status"
echo "   hosted view: $(echo "$INVOICES" | json 'd["invoices"][0]["invoiceHotelUrl"]')"

step "pay invoice $INVOICE online (POST /capi/v1/customer/payment/invoice, then the hosted page)"
STARTED=$(post "$OTHER" /capi/v1/customer/payment/invoice \
	"{\"invoiceNumber\":\"$INVOICE\",\"productCode\":\"HELG\",\"companyCode\":\"DEMO\",\"paymentMethod\":\"vippsEcommerce\"}")
echo "$STARTED"
BACK=$(hosted "$WORK/other.jar" /user/payment/invoice/pay "$(echo "$STARTED" | json 'd["transactionId"]')")
echo "   browser → $BACK"
case "$BACK" in *status=finished*) ;; *) echo "payment did not finish" >&2; exit 1 ;; esac
INVOICES=$(api "$OTHER" "$BASE/capi/v1/customer/invoice/payment/HELG")
echo "$INVOICES"
check "$(echo "$INVOICES" | json 'd["invoices"][0]["invoiceStatus"]')" Paid "the paid invoice's status"

jobs_at "$(day_after "$HELG_END")"
step "the next period, paid (GET /capi/v1/subscription)"
SUBS=$(api "$OTHER" "$BASE/capi/v1/subscription")
echo "$SUBS"
check "$(echo "$SUBS" | json '[s["endTime"] > int(a[0]) and s["paid"] for s in d["subscriptions"] if s["product"]=="HELG"][0]' "$HELG_END")" True "HELG renewed and paid"

# ------------------------------------------------------------ 2. stored token
step "2. renewal by a stored token: demo@example.com stores a PayEx card for DIGI"
DEMO=$(login demo@example.com demo-password "$WORK/demo.jar")
STARTED=$(post "$DEMO" /capi/v1/api/payment/payex/token '{"tokenType":"card","productCode":"DIGI"}')
echo "$STARTED"
BACK=$(hosted "$WORK/demo.jar" /user/payment/payex/token/add "$(echo "$STARTED" | json 'd["transactionId"]')")
echo "   browser → $BACK"
step "the stored card (GET /capi/v1/api/payment/payex/token)"
api "$DEMO" "$BASE/capi/v1/api/payment/payex/token"
api "$DEMO" "$BASE/capi/v1/product/payment/DIGI"

SUBS=$(api "$DEMO" "$BASE/capi/v1/subscription")
DIGI_END=$(echo "$SUBS" | json '[s["endTime"] for s in d["subscriptions"] if s["product"]=="DIGI"][0]')
jobs_at "$(day_after "$DIGI_END" -10)"
step "the renewal invoice, to be charged on the renewal day (paymentMethod K)"
api "$DEMO" "$BASE/capi/v1/customer/invoice/payment/DIGI"
jobs_at "$(day_after "$DIGI_END")"
step "charged and paid"
INVOICES=$(api "$DEMO" "$BASE/capi/v1/customer/invoice/payment/DIGI")
echo "$INVOICES"
check "$(echo "$INVOICES" | json 'd["invoices"][0]["invoiceStatus"]+"/"+d["invoices"][0]["paymentMethod"]')" Paid/K "the charged invoice"
DEMO_CUSTOMER=$(echo "$INVOICES" | json 'd["invoices"][0]["customerNumber"]')
step "the same invoice as the publisher's server sees it (client mode, GET /capi/v1/client/customer/invoice/payment/$DEMO_CUSTOMER/DIGI)"
api "$CLIENT" "$BASE/capi/v1/client/customer/invoice/payment/$DEMO_CUSTOMER/DIGI"
step "the next DIGI period, paid (GET /capi/v1/subscription)"
SUBS=$(api "$DEMO" "$BASE/capi/v1/subscription")
echo "$SUBS"
check "$(echo "$SUBS" | json '[s["endTime"] > int(a[0]) and s["paid"] for s in d["subscriptions"] if s["product"]=="DIGI"][0]' "$DIGI_END")" True "DIGI renewed and paid"
step "done: HELG renewed by invoice, DIGI renewed by a stored card"
