package event

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Webhook request headers (spec README §11; DECISIONS.md "Events").
const (
	HeaderSignature = "X-Connect-Signature" // sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
	HeaderTimestamp = "X-Connect-Timestamp" // Unix seconds when the attempt was signed
	HeaderEventID   = "X-Connect-Event-Id"  // the event id: the same on every attempt and every replay
	HeaderAttempt   = "X-Connect-Attempt"   // 1 for the first attempt
)

// Sign returns the X-Connect-Signature value for body sent at timestamp ts
// (the X-Connect-Timestamp value, Unix seconds as decimal text). The signed
// string is ts + "." + body, so a captured body cannot be replayed later with
// a fresh timestamp.
func Sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a delivery as a receiver should: the signature matches (in
// constant time) and the timestamp is within tolerance of now.
func Verify(secret, signature, ts string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("timestamp outside tolerance")
	}
	if !strings.HasPrefix(signature, "sha256=") || !hmac.Equal([]byte(signature), []byte(Sign(secret, ts, body))) {
		return errors.New("signature mismatch")
	}
	return nil
}
