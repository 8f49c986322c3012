// Package ratelimit counts API calls per client in two fixed windows, one
// second and sixty seconds long, aligned to epoch seconds and epoch minutes
// (spec §9, DESIGN §4).
//
// Every call counts, rejected ones included ("every authenticated API call
// counts, errors included"), so a client that keeps calling while blocked
// keeps using up its minute window.
//
// Two implementations share one behaviour: Memory for a single node and
// Redis for many nodes sharing one Redis.
package ratelimit

import (
	"context"
	"math"
	"time"
)

// Limit is the number of calls a client may make per window. A zero or
// negative field means that window is unlimited.
type Limit struct{ PerSecond, PerMinute int }

// Default is the limit of a client that has none configured (spec §9).
var Default = Limit{PerSecond: 100, PerMinute: 2000}

// Decision is the outcome of one counted call.
type Decision struct {
	// Allowed reports whether the call is within both windows.
	Allowed bool
	// Remaining is the smaller of the two windows' remaining counts after
	// this call, never negative. When both windows are unlimited it is
	// math.MaxInt32.
	Remaining int
	// Reset is the number of whole seconds, rounded up, until the current
	// 60-second window renews: 1–60 (60 at the very start of a minute).
	Reset int
	// RetryAfter is 0 when Allowed. Otherwise it is the number of seconds to
	// wait: Reset when the minute window is exhausted (whether or not the
	// second window is too), else 1 (only the second window blocked).
	RetryAfter int
}

// Limiter counts calls.
type Limiter interface {
	// Allow counts one call for key (a client id) at time now under limit l.
	Allow(ctx context.Context, key string, l Limit, now time.Time) (Decision, error)
}

const (
	secondMs = int64(time.Second / time.Millisecond)
	minuteMs = int64(time.Minute / time.Millisecond)
)

// unlimited reports whether l limits nothing, in which case no state is kept
// and nothing is counted.
func (l Limit) unlimited() bool { return l.PerSecond <= 0 && l.PerMinute <= 0 }

// windows returns the index of the epoch second and of the epoch minute that
// contain now.
func windows(now time.Time) (second, minute int64) {
	ms := now.UnixMilli()
	return floorDiv(ms, secondMs), floorDiv(ms, minuteMs)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// resetSeconds is the whole seconds, rounded up, from now until the end of
// minute window minute.
func resetSeconds(now time.Time, minute int64) int {
	left := (minute+1)*minuteMs - now.UnixMilli() // in (0, 60000] for the current minute
	if left < 0 {
		left = 0 // now lies after a window we kept counting in (clock went back); be safe
	}
	r := (left + secondMs - 1) / secondMs
	if r > 60 {
		r = 60
	}
	return int(r)
}

// unlimitedDecision is the answer for a limit with both windows unlimited.
func unlimitedDecision(now time.Time) Decision {
	_, minute := windows(now)
	return Decision{Allowed: true, Remaining: math.MaxInt32, Reset: resetSeconds(now, minute)}
}

// decide turns the counts of the two windows (this call included) into a
// Decision.
func decide(l Limit, secCount, minCount int64, now time.Time, minute int64) Decision {
	d := Decision{Allowed: true, Remaining: math.MaxInt32, Reset: resetSeconds(now, minute)}
	secBlocked, minBlocked := false, false
	if l.PerSecond > 0 {
		d.Remaining = remaining(int64(l.PerSecond), secCount, d.Remaining)
		secBlocked = secCount > int64(l.PerSecond)
	}
	if l.PerMinute > 0 {
		d.Remaining = remaining(int64(l.PerMinute), minCount, d.Remaining)
		minBlocked = minCount > int64(l.PerMinute)
	}
	switch {
	case minBlocked:
		d.Allowed = false
		d.RetryAfter = max(d.Reset, 1)
	case secBlocked:
		d.Allowed = false
		d.RetryAfter = 1
	}
	return d
}

func remaining(limit, count int64, cur int) int {
	r := limit - count
	if r < 0 {
		r = 0
	}
	if r < int64(cur) {
		return int(r)
	}
	return cur
}
