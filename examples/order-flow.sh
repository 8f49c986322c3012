#!/usr/bin/env bash
# The order flow of spec README §12.1 against a running demo server
# (`go run ./cmd/connect serve --demo`), with curl and the client-mode API:
#   client token → the offers of a product → register an order (invoice)
#   → complete it through the fulfillment API → order status → the new
#   customer's subscription.
# Usage: examples/order-flow.sh [BASE_URL]   (default http://127.0.0.1:8080)
set -euo pipefail
BASE=${1:-http://127.0.0.1:8080}
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {"d": d}))' "$1"; }
api() { curl -sS -f -H "Authorization: Bearer $TOKEN" -H 'Accept: application/json' "$@"; }

echo "== client token (demo.web)"
TOKEN=$(curl -sS -f -u demo.web:demo-secret -d grant_type=client_credentials "$BASE/user/oauth/token" | json 'd["access_token"]')

echo "== offers of product DIGI"
api "$BASE/capi/v1/client/coupon/DIGI" | tee /dev/stderr >/dev/null; echo >&2

echo "== register an order for coupon DIGI/1, paid by invoice"
EXT="demo-$(date +%s)-$$"
ORDER=$(api -H 'Content-Type: application/json' -H "Idempotency-Key: $EXT" "$BASE/capi/v1/client/order" -d @- <<JSON
{"externalOrderId": "$EXT", "paymentMethod": "invoice",
 "payer": {"firstName": "Kari", "lastName": "Nordmann", "street": "Akersgata 1", "postalCode": "0158",
           "emails": ["kari.$EXT@example.no"], "phoneNumbers": ["+4791234567"]},
 "orderLines": [{"productSpecType": "coupon", "productSpecCode": "DIGI", "productSpecNo": 1, "unitPrice": 149}]}
JSON
)
echo "$ORDER"
ORDER_ID=$(echo "$ORDER" | json 'd["orderId"]')
CUSTOMER=$(echo "$ORDER" | json 'd["customerNumber"]')

echo "== complete order $ORDER_ID (fulfillment API)"
api -H 'Content-Type: application/json' "$BASE/capi/v1/client/order/fulfillment" -d "{\"orderId\": $ORDER_ID}"; echo

echo "== order status"
STATUS=$(api "$BASE/capi/v1/client/order/status/$ORDER_ID")
echo "$STATUS"
[ "$(echo "$STATUS" | json 'd["orders"][0]["orderStatus"]')" = completed ] || { echo "order not completed" >&2; exit 1; }

echo "== subscriptions of customer $CUSTOMER"
SUBS=$(api "$BASE/capi/v1/client/subscription/$CUSTOMER")
echo "$SUBS"
[ "$(echo "$SUBS" | json '[s["product"] for s in d["subscriptions"]]')" = "['DIGI']" ] || { echo "no DIGI subscription" >&2; exit 1; }
echo "== done: order $ORDER_ID completed, customer $CUSTOMER subscribes to DIGI"
