#!/usr/bin/env bash
# The access story of issue 6 against a running demo server, with curl: the
# demo user demo@example.com starts Demo Pluss, shares it with
# other@example.com, goes on holiday (a vacation stop: the subscription is
# paused, then resumed), cancels (a permanent stop), changes their mind,
# cancels again, and the subscription ends. After every step it prints both
# users' access to PLUSS (Check access: A open, B until a date, D none).
#
#   export CONNECT_DATABASE_URL=sqlite:///tmp/connect-story.db   # a throwaway database
#   go run ./cmd/connect serve --demo &
#   examples/access-story.sh [BASE_URL]          (default http://127.0.0.1:8080)
#
# Where time must pass, the script runs `connect jobs run-once --at DATE`
# (CONNECT, default `go run ./cmd/connect`, on the same CONNECT_DATABASE_URL)
# on the day the stop begins, the day it ends and the day the subscription
# ends. The server itself keeps real time, so:
#   - business time only moves for the jobs: use a throwaway database, since
#     the jobs also renew, invoice and end the demo's other subscriptions
#     as of those dates;
#   - the API calls happen today: the access shown after a jobs run is what
#     the jobs left (a paused subscription's access until its moved end, an
#     ended one's none), but checks that depend on the date itself (a stop
#     "today", the last second of access) are covered by the Go test of the
#     same story, TestAccessStory in internal/delivery/story_test.go.
set -euo pipefail
BASE=${1:-http://127.0.0.1:8080}
CONNECT=${CONNECT:-go run ./cmd/connect}
REDIRECT=http://localhost:3000/callback
cd "$(dirname "$0")/.."
py() { python3 -c "$@"; }
json() { py 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {"d": d}))' "$1"; }
# date D N: the date N days after D (YYYY-MM-DD); ms2date MS: an epoch-ms instant as an Oslo date.
date_plus() { py 'import datetime,sys; print(datetime.date.fromisoformat(sys.argv[1]) + datetime.timedelta(days=int(sys.argv[2])))' "$1" "$2"; }
ms2date() { py 'import datetime,sys,zoneinfo; print(datetime.datetime.fromtimestamp(int(sys.argv[1])/1000, zoneinfo.ZoneInfo("Europe/Oslo")).date())' "$1"; }
today=$(py 'import datetime,zoneinfo; print(datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Oslo")).date())')

# login CREDENTIAL PASSWORD prints a user token of demo.web: the login page,
# the authorization code (PKCE) and the token endpoint, as a browser app would.
login() {
	local jar verifier challenge page form loc code
	jar=$(mktemp)
	verifier=$(py 'import secrets; print(secrets.token_urlsafe(48))')
	challenge=$(py 'import base64,hashlib,sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).decode().rstrip("="))' "$verifier")
	page=$(curl -sS -f -c "$jar" -b "$jar" -G "$BASE/user/oauth/authorize" --data-urlencode response_type=code \
		--data-urlencode client_id=demo.web --data-urlencode "redirect_uri=$REDIRECT" --data-urlencode state=access-story \
		--data-urlencode scope=read --data-urlencode "code_challenge=$challenge" --data-urlencode code_challenge_method=S256)
	form=$(printf '%s' "$page" | py 'import html,re,sys,urllib.parse as u
fields = dict((k, html.unescape(v)) for k, v in re.findall(r"<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">", sys.stdin.read()))
fields.update(j_username=sys.argv[1], j_password=sys.argv[2])
print(u.urlencode(fields))' "$1" "$2")
	loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" --data "$form" "$BASE/user/oauthLogin")
	loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" "$loc")
	rm -f "$jar"
	code=$(py 'import sys,urllib.parse as u; print(u.parse_qs(u.urlparse(sys.argv[1]).query)["code"][0])' "$loc")
	curl -sS -f -u demo.web:demo-secret --data-urlencode grant_type=authorization_code --data-urlencode "code=$code" \
		--data-urlencode "redirect_uri=$REDIRECT" --data-urlencode "code_verifier=$verifier" "$BASE/user/oauth/token" | json 'd["access_token"]'
}
# api TOKEN METHOD PATH [BODY] calls the API (JSON) and fails on an error status.
api() {
	local token=$1 method=$2 path=$3
	shift 3
	curl -sS -f -X "$method" -H "Authorization: Bearer $token" -H 'Accept: application/json' -H 'Content-Type: application/json' \
		"$BASE$path" ${1:+--data "$1"}
}
# access TOKEN: Check access to PLUSS as A, "B until DATE" or D.
access() {
	api "$1" POST /capi/v1/customer/access '{"product":"PLUSS"}' | py 'import json,sys,datetime,zoneinfo
a = [x for x in json.load(sys.stdin)["accesses"] if x["access"]]
if not a: print("D")
elif a[0]["accessType"] == "B": print("B until", datetime.datetime.fromtimestamp(a[0]["endTime"]/1000, zoneinfo.ZoneInfo("Europe/Oslo")).date())
else: print(a[0]["accessType"])'
}
# step TEXT WANT_OWNER WANT_FRIEND prints the timeline row and checks it.
step() {
	local o f
	o=$(access "$OWNER")
	f=$(access "$FRIEND")
	printf '%-66s owner: %-20s friend: %s\n' "$1" "$o" "$f"
	[ "$o" = "$2" ] && [ "$f" = "$3" ] || { echo "expected owner: $2, friend: $3" >&2; exit 1; }
}
# The jobs run in another process: the server's entitlement cache learns of
# their changes from the change log it polls every 100 ms, so give it that.
jobs_at() { echo "   (jobs run-once --at $1)"; $CONNECT jobs run-once --at "$1" >/dev/null; sleep 0.5; }
# pluss prints the owner's PLUSS subscriptions (JSON).
pluss() { api "$OWNER" GET /capi/v1/subscription | py 'import json,sys; print(json.dumps([s for s in json.load(sys.stdin)["subscriptions"] if s["product"] == "PLUSS"]))'; }

echo "== log in demo@example.com (owner) and other@example.com (friend) through demo.web"
OWNER=$(login demo@example.com demo-password)
FRIEND=$(login other@example.com other-password)
if [ "$(api "$OWNER" GET /capi/v1/subscription | json '[s for s in d["subscriptions"] if s["product"] == "PLUSS" and not s["stopped"]]')" != "[]" ]; then
	echo "demo@example.com already holds Demo Pluss: run the story on a fresh database" >&2
	exit 1
fi
echo "== $today: the story"
step "owner has no Demo Pluss yet" D D

api "$OWNER" POST /capi/v1/subscription '{"product":"PLUSS","couponCode":"PLUSSFRI","couponNumber":1}' >/dev/null
step "owner starts Demo Pluss (free month)" A D

CODE=$(api "$OWNER" POST /capi/v1/subscription/share/invitation \
	'{"contact":"other@example.com","contactType":"A","productCode":"PLUSS"}' | json 'd["shareCode"]')
api "$FRIEND" PATCH /capi/v1/subscription/share/invitation "{\"shareCode\":\"$CODE\",\"changeType\":\"ACCEPT\"}" >/dev/null
step "owner shares it with other@example.com, who accepts" A A

STOP_FROM=$(date_plus "$today" 10)
STOP_TO=$(date_plus "$today" 16)
api "$OWNER" POST /capi/v1/product/stop/delivery \
	"{\"deliveryStop\":{\"product\":\"PLUSS\",\"stopTime\":\"$STOP_FROM\",\"stopEndTime\":\"$STOP_TO\",\"stopType\":\"temporary\"}}" >/dev/null
step "owner registers a vacation stop $STOP_FROM to $STOP_TO" A A

jobs_at "$STOP_FROM"
END=$(ms2date "$(pluss | json 'd[0]["endTime"]')")
[ "$(pluss | json 'd[0]["paused"]')" = True ] || { echo "not paused" >&2; exit 1; }
step "the stop begins: paused, paid period moved to $END" "B until $END" "B until $END"

STOP_ID=$(api "$OWNER" GET /capi/v1/product/stop/delivery/PLUSS | json 'd["deliveryStops"][0]["id"]')
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $OWNER" "$BASE/capi/v1/product/stop/delivery/delete/$STOP_ID")
[ "$STATUS" = 400 ] || { echo "removing a running stop answered $STATUS" >&2; exit 1; }
step "a running stop cannot be removed (400)" "B until $END" "B until $END"

jobs_at "$(date_plus "$STOP_TO" 1)"
step "the stop ends: resumed" A A

CANCEL=$(date_plus "$today" 20)
STOPS=$(api "$OWNER" POST /capi/v1/product/stop/delivery "{\"deliveryStop\":{\"product\":\"PLUSS\",\"stopTime\":\"$CANCEL\",\"stopType\":\"permanent\"}}")
PERM_ID=$(echo "$STOPS" | json '[s for s in d["deliveryStops"] if s["stopType"] == "permanent"][0]["id"]')
LAST_DAY=$(date_plus "$END" 1)
[ "$(ms2date "$(echo "$STOPS" | json '[s for s in d["deliveryStops"] if s["stopType"] == "permanent"][0]["stopTime"]')")" = "$LAST_DAY" ] ||
	{ echo "the permanent stop was not moved to $LAST_DAY: $STOPS" >&2; exit 1; }
step "owner cancels from $CANCEL: moved to $LAST_DAY (endOfPeriod)" "B until $END" "B until $END"

api "$OWNER" POST "/capi/v1/product/stop/delivery/delete/$PERM_ID" >/dev/null
step "owner changes their mind: removes the stop" A A

api "$OWNER" POST /capi/v1/product/stop/delivery "{\"deliveryStop\":{\"product\":\"PLUSS\",\"stopTime\":\"$CANCEL\",\"stopType\":\"permanent\"}}" >/dev/null
step "owner cancels again" "B until $END" "B until $END"

jobs_at "$LAST_DAY"
step "the subscription ends, and the share with it" D D
echo "== done: demo@example.com's access changed as Demo Pluss was paused, resumed, shared and stopped"
