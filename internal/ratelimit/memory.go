package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// memoryShards is the number of independently locked parts of a Memory
// limiter; a power of two.
const memoryShards = 64

// Memory is an in-process Limiter, safe for concurrent use. Keys are spread
// over shards, each with its own mutex. A shard drops the counters of clients
// that have not called for a full minute the first time it is used in a new
// minute, so memory stays proportional to the clients active recently.
type Memory struct {
	seed   maphash.Seed
	mask   uint64
	shards []memoryShard
}

type memoryShard struct {
	mu      sync.Mutex
	m       map[string]*counter
	swept   int64 // the minute window in which the shard was last swept
	_padded [40]byte
}

// counter holds one client's two windows.
type counter struct {
	second, secondN int64 // epoch second and calls counted in it
	minute, minuteN int64 // epoch minute and calls counted in it
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an empty in-process limiter.
func NewMemory() *Memory { return newMemory(memoryShards) }

func newMemory(shards int) *Memory {
	m := &Memory{seed: maphash.MakeSeed(), mask: uint64(shards - 1), shards: make([]memoryShard, shards)}
	for i := range m.shards {
		m.shards[i].m = make(map[string]*counter)
	}
	return m
}

// Allow counts one call for key at now under l. It never fails.
func (m *Memory) Allow(_ context.Context, key string, l Limit, now time.Time) (Decision, error) {
	if l.unlimited() {
		return unlimitedDecision(now), nil
	}
	second, minute := windows(now)
	sh := &m.shards[maphash.String(m.seed, key)&m.mask]

	sh.mu.Lock()
	if minute > sh.swept {
		sh.sweep(minute)
	}
	c := sh.m[key]
	if c == nil {
		c = &counter{second: second, minute: minute}
		sh.m[key] = c
	}
	// A call stamped earlier than the current window (clocks of concurrent
	// callers differ slightly) counts in the current window.
	if second > c.second {
		c.second, c.secondN = second, 0
	}
	if minute > c.minute {
		c.minute, c.minuteN = minute, 0
	}
	c.secondN++
	c.minuteN++
	secN, minN, win := c.secondN, c.minuteN, c.minute
	sh.mu.Unlock()

	return decide(l, secN, minN, now, win), nil
}

// sweep drops the counters whose minute window ended before the previous
// minute: they would be reset by their next call anyway. The previous minute
// is kept so that a caller whose clock lags slightly does not lose its count.
// It runs at most once per minute per shard. The caller holds sh.mu.
func (sh *memoryShard) sweep(minute int64) {
	for k, c := range sh.m {
		if c.minute < minute-1 {
			delete(sh.m, k)
		}
	}
	sh.swept = minute
}

// len returns the number of clients with counters held (for tests).
func (m *Memory) len() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
