package ratelimit

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// base is the start of an epoch minute; every case's times are offsets from
// it.
var base = time.Unix(1_800_000_000, 0).UTC()

func init() {
	if base.Unix()%60 != 0 {
		panic("base must start a minute")
	}
}

// step makes n calls for key at base+at; allowed is how many of them must be
// allowed and want is the decision of the last one.
type step struct {
	at      time.Duration
	key     string
	n       int
	allowed int
	want    Decision
}

type behaviourCase struct {
	name  string
	limit Limit
	steps []step
}

func ok(remaining, reset int) Decision {
	return Decision{Allowed: true, Remaining: remaining, Reset: reset}
}
func no(reset, retryAfter int) Decision {
	return Decision{Allowed: false, Remaining: 0, Reset: reset, RetryAfter: retryAfter}
}

// behaviour is the table every Limiter implementation must pass.
func behaviour() []behaviourCase {
	fullMinute := make([]step, 0, 24)
	for s := range 20 { // 100 calls in each of 20 seconds: 2000, all allowed
		fullMinute = append(fullMinute, step{at: time.Duration(s) * time.Second, key: "c", n: 100, allowed: 100,
			want: ok(0, 60-s)}) // the second window is always full
	}
	fullMinute = append(fullMinute,
		step{at: 20 * time.Second, key: "c", n: 1, allowed: 0, want: no(40, 40)},         // 2001st
		step{at: 59500 * time.Millisecond, key: "c", n: 1, allowed: 0, want: no(1, 1)},   // still blocked
		step{at: 60 * time.Second, key: "c", n: 1, allowed: 1, want: ok(99, 60)},         // new minute
		step{at: 60 * time.Second, key: "c", n: 99, allowed: 99, want: ok(0, 60)},        // second window full
		step{at: 60*time.Second + 999*time.Millisecond, key: "c", n: 1, want: no(60, 1)}, // 101st in that second
	)

	return []behaviourCase{
		{name: "101st call in one second rejected", limit: Default, steps: []step{
			{at: 0, key: "c", n: 1, allowed: 1, want: ok(99, 60)},
			{at: 0, key: "c", n: 99, allowed: 99, want: ok(0, 60)},
			{at: 999 * time.Millisecond, key: "c", n: 1, allowed: 0, want: no(60, 1)},
			{at: 999 * time.Millisecond, key: "c", n: 5, allowed: 0, want: no(60, 1)},
		}},
		{name: "new second resets the second window", limit: Default, steps: []step{
			{at: 0, key: "c", n: 101, allowed: 100, want: no(60, 1)},
			{at: time.Second, key: "c", n: 1, allowed: 1, want: ok(99, 59)}, // minute: 2000-102 = 1898 left
		}},
		{name: "2001st call in a minute rejected", limit: Default, steps: fullMinute},
		{name: "remaining is the min of both windows", limit: Limit{PerSecond: 10, PerMinute: 12}, steps: []step{
			{at: 0, key: "c", n: 3, allowed: 3, want: ok(7, 60)},                  // second 7, minute 9
			{at: time.Second, key: "c", n: 1, allowed: 1, want: ok(8, 59)},        // second 9, minute 8
			{at: 2 * time.Second, key: "c", n: 4, allowed: 4, want: ok(4, 58)},    // second 6, minute 4
			{at: 3 * time.Second, key: "c", n: 5, allowed: 4, want: no(57, 57)},   // minute exhausted
			{at: 59 * time.Second, key: "c", n: 1, allowed: 0, want: no(1, 1)},    // still the same minute
			{at: 60 * time.Second, key: "c", n: 1, allowed: 1, want: ok(9, 60)},   // second 9, minute 11
			{at: 61 * time.Second, key: "c", n: 10, allowed: 10, want: ok(0, 59)}, // second 0, minute 1
		}},
		{name: "reset counts down to the end of the minute", limit: Default, steps: []step{
			{at: 0, key: "c", n: 1, allowed: 1, want: ok(99, 60)},
			{at: 500 * time.Millisecond, key: "c", n: 1, allowed: 1, want: ok(98, 60)}, // 59.5 s left: rounds up
			{at: time.Second, key: "c", n: 1, allowed: 1, want: ok(99, 59)},
			{at: 30200 * time.Millisecond, key: "c", n: 1, allowed: 1, want: ok(99, 30)},
			{at: 59 * time.Second, key: "c", n: 1, allowed: 1, want: ok(99, 1)},
			{at: 59999 * time.Millisecond, key: "c", n: 1, allowed: 1, want: ok(98, 1)},
			{at: 60 * time.Second, key: "c", n: 1, allowed: 1, want: ok(99, 60)},
			{at: 125 * time.Second, key: "c", n: 1, allowed: 1, want: ok(99, 55)},
		}},
		{name: "unlimited both windows", limit: Limit{}, steps: []step{
			{at: 0, key: "c", n: 5000, allowed: 5000, want: ok(math.MaxInt32, 60)},
			{at: 10 * time.Second, key: "c", n: 1, allowed: 1, want: ok(math.MaxInt32, 50)},
		}},
		{name: "negative limits are unlimited", limit: Limit{PerSecond: -1, PerMinute: -5}, steps: []step{
			{at: 0, key: "c", n: 3000, allowed: 3000, want: ok(math.MaxInt32, 60)},
		}},
		{name: "unlimited second window", limit: Limit{PerSecond: 0, PerMinute: 50}, steps: []step{
			{at: 0, key: "c", n: 50, allowed: 50, want: ok(0, 60)},
			{at: 0, key: "c", n: 10, allowed: 0, want: no(60, 60)},
			{at: 60 * time.Second, key: "c", n: 1, allowed: 1, want: ok(49, 60)},
		}},
		{name: "unlimited minute window", limit: Limit{PerSecond: 5, PerMinute: -1}, steps: []step{
			{at: 0, key: "c", n: 5, allowed: 5, want: ok(0, 60)},
			{at: 0, key: "c", n: 1, allowed: 0, want: no(60, 1)},
			{at: time.Second, key: "c", n: 4, allowed: 4, want: ok(1, 59)},
			{at: 2 * time.Second, key: "c", n: 5, allowed: 5, want: ok(0, 58)},
		}},
		{name: "rejected calls count", limit: Limit{PerSecond: 2, PerMinute: 3}, steps: []step{
			{at: 0, key: "c", n: 3, allowed: 2, want: no(60, 1)}, // third call blocked by the second window
			{at: time.Second, key: "c", n: 1, allowed: 0, want: no(59, 59)},
		}},
		{name: "both windows blocked waits for the minute", limit: Limit{PerSecond: 2, PerMinute: 2}, steps: []step{
			{at: 0, key: "c", n: 3, allowed: 2, want: no(60, 60)},
		}},
		{name: "independent keys", limit: Limit{PerSecond: 2, PerMinute: 0}, steps: []step{
			{at: 0, key: "a", n: 3, allowed: 2, want: no(60, 1)},
			{at: 0, key: "b", n: 1, allowed: 1, want: ok(1, 60)},
			// Ids that could collide with "a"'s keys under a naive naming.
			{at: 0, key: "", n: 1, allowed: 1, want: ok(1, 60)},
			{at: 0, key: "a}", n: 1, allowed: 1, want: ok(1, 60)},
			{at: 0, key: "{a}", n: 1, allowed: 1, want: ok(1, 60)},
			{at: 0, key: "1:a", n: 1, allowed: 1, want: ok(1, 60)},
			{at: 0, key: "a}:s:1800000000", n: 1, allowed: 1, want: ok(1, 60)},
			{at: 0, key: "a:s:1800000000", n: 1, allowed: 1, want: ok(1, 60)},
			{at: 0, key: "a", n: 1, allowed: 0, want: no(60, 1)},
			{at: 0, key: "b", n: 1, allowed: 1, want: ok(0, 60)},
		}},
	}
}

// runBehaviour runs the shared table against limiters made by newLimiter,
// one per case.
func runBehaviour(t *testing.T, newLimiter func(t *testing.T) Limiter) {
	for _, tc := range behaviour() {
		t.Run(tc.name, func(t *testing.T) {
			lim := newLimiter(t)
			ctx := t.Context()
			for i, s := range tc.steps {
				var last Decision
				allowed := 0
				for range s.n {
					d, err := lim.Allow(ctx, s.key, tc.limit, base.Add(s.at))
					if err != nil {
						t.Fatalf("step %d: Allow: %v", i, err)
					}
					if d.Allowed {
						allowed++
						if d.RetryAfter != 0 {
							t.Fatalf("step %d: allowed with RetryAfter %d", i, d.RetryAfter)
						}
					}
					if d.Remaining < 0 || d.Reset < 0 || d.Reset > 60 {
						t.Fatalf("step %d: out of range: %+v", i, d)
					}
					last = d
				}
				if allowed != s.allowed {
					t.Errorf("step %d (key %q at %v): %d of %d calls allowed, want %d", i, s.key, s.at, allowed, s.n, s.allowed)
				}
				if last != s.want {
					t.Errorf("step %d (key %q at %v): last decision %+v, want %+v", i, s.key, s.at, last, s.want)
				}
			}
		})
	}
}

// runConcurrent checks that concurrent callers at one instant get exactly
// the limit's worth of allowed calls.
func runConcurrent(t *testing.T, lim Limiter, l Limit, want int) {
	const goroutines, perG = 8, 40
	var allowed atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, goroutines)
	now := base.Add(30 * time.Second)
	for range goroutines {
		wg.Go(func() {
			for range perG {
				d, err := lim.Allow(t.Context(), "shared", l, now)
				if err != nil {
					errc <- err
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if got := allowed.Load(); got != int64(want) {
		t.Errorf("%d of %d concurrent calls allowed, want exactly %d", got, goroutines*perG, want)
	}
}

func TestMemoryBehaviour(t *testing.T) {
	runBehaviour(t, func(*testing.T) Limiter { return NewMemory() })
}

func TestMemoryConcurrent(t *testing.T) {
	t.Run("second window", func(t *testing.T) { runConcurrent(t, NewMemory(), Default, 100) })
	t.Run("minute window", func(t *testing.T) { runConcurrent(t, NewMemory(), Limit{PerMinute: 150}, 150) })
}

func TestMemoryDropsStaleClients(t *testing.T) {
	m := newMemory(1) // one shard, so any call sweeps every client
	ctx := t.Context()
	for _, k := range []string{"a", "b", "c"} {
		if _, err := m.Allow(ctx, k, Default, base); err != nil {
			t.Fatal(err)
		}
	}
	// "b" still calls in the next minute; the others stop.
	if _, err := m.Allow(ctx, "b", Default, base.Add(61*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := m.len(); got != 3 {
		t.Fatalf("after one minute: %d clients held, want 3 (the previous minute is kept)", got)
	}
	if _, err := m.Allow(ctx, "d", Default, base.Add(121*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := m.len(); got != 2 { // "b" (previous minute) and "d"
		t.Fatalf("after two minutes: %d clients held, want 2", got)
	}
	if _, err := m.Allow(ctx, "e", Default, base.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := m.len(); got != 1 {
		t.Fatalf("after ten minutes: %d clients held, want 1", got)
	}
	// Unlimited clients keep no state at all.
	if _, err := m.Allow(ctx, "free", Limit{}, base.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := m.len(); got != 1 {
		t.Fatalf("unlimited client held: %d clients, want 1", got)
	}
}

func TestMemoryLateCallCountsInCurrentWindow(t *testing.T) {
	m := NewMemory()
	ctx := t.Context()
	l := Limit{PerSecond: 2, PerMinute: 100}
	if d, _ := m.Allow(ctx, "c", l, base.Add(61*time.Second)); !d.Allowed {
		t.Fatal("first call rejected")
	}
	// A caller whose clock lags slightly: counted in the newer windows, not
	// resetting them.
	d, _ := m.Allow(ctx, "c", l, base.Add(59900*time.Millisecond))
	if !d.Allowed || d.Remaining != 0 || d.Reset != 60 {
		t.Fatalf("late call: %+v, want allowed, Remaining 0, Reset 60", d)
	}
	if d, _ := m.Allow(ctx, "c", l, base.Add(61*time.Second)); d.Allowed {
		t.Fatalf("third call in the second allowed: %+v", d)
	}
}

func TestDecideRetryAfterNeverZeroWhenRejected(t *testing.T) {
	// Counting in a minute that has already ended (clock went back) must not
	// produce RetryAfter 0 for a rejected call.
	d := decide(Limit{PerMinute: 1}, 1, 2, base.Add(2*time.Minute), base.Unix()/60)
	if d.Allowed || d.RetryAfter < 1 || d.Reset != 0 {
		t.Fatalf("got %+v", d)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	m := NewMemory()
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = "no.example.client-" + string(rune('a'+i%26)) + "-" + time.Duration(i).String()
	}
	var seq atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1)) * 7919
		for pb.Next() {
			if _, err := m.Allow(ctx, keys[i&(len(keys)-1)], Default, time.Now()); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
