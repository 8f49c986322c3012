package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// expiryMargin is added to each window's length when its Redis key is given
// a time to live, so that nodes whose clocks differ slightly still find the
// key while they count in that window.
const expiryMargin = 2 * time.Second

// allowScript counts one call in both windows and returns both counts. A
// window key gets its time to live when it is created; the script runs
// atomically, so no key is left without one.
var allowScript = redis.NewScript(`
local s = redis.call('INCR', KEYS[1])
if s == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local m = redis.call('INCR', KEYS[2])
if m == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return {s, m}
`)

// Redis is a Limiter whose counters live in Redis, shared by every node that
// uses the same Redis and prefix. Each Allow is one round trip (a Lua script;
// the very first call on a connection to a fresh server loads the script).
type Redis struct {
	client redis.UniversalClient
	prefix string
	ttlSec string // PEXPIRE argument for second windows, in ms
	ttlMin string // PEXPIRE argument for minute windows, in ms
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter that keeps its counters in client under keys
// starting with prefix, e.g. "connect:rl:". The keys of one client are
//
//	prefix + "{" + len(key) + ":" + key + "}:s:" + window start (epoch s)
//	prefix + "{" + len(key) + ":" + key + "}:m:" + window start (epoch s)
//
// The length makes the name unambiguous, so no client id can name another
// client's keys, and the braces form a Redis Cluster hash tag that puts both
// keys of a client in one slot (the prefix must not contain braces).
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{
		client: client,
		prefix: prefix,
		ttlSec: strconv.FormatInt((time.Second + expiryMargin).Milliseconds(), 10),
		ttlMin: strconv.FormatInt((time.Minute + expiryMargin).Milliseconds(), 10),
	}
}

// RedisFromURL opens a client for a URL such as CONNECT_REDIS_URL
// ("redis://[user:password@]host:port/db", or rediss:// for TLS), parsed by
// redis.ParseURL. It does not connect yet.
func RedisFromURL(url string) (redis.UniversalClient, error) {
	if url == "" {
		return nil, errors.New("ratelimit: empty Redis URL")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: Redis URL: %w", err)
	}
	return redis.NewClient(opts), nil
}

// Allow counts one call for key at now under l. It returns Redis's error, if
// any, with a zero Decision; callers decide whether to fail open.
func (r *Redis) Allow(ctx context.Context, key string, l Limit, now time.Time) (Decision, error) {
	if l.unlimited() {
		return unlimitedDecision(now), nil
	}
	second, minute := windows(now)
	secKey, minKey := r.keys(key, second, minute)
	res, err := allowScript.Run(ctx, r.client, []string{secKey, minKey}, r.ttlSec, r.ttlMin).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("ratelimit: redis: script returned %d values, want 2", len(res))
	}
	return decide(l, res[0], res[1], now, minute), nil
}

// keys returns the names of the second and minute window keys of a client.
func (r *Redis) keys(key string, second, minute int64) (secKey, minKey string) {
	b := make([]byte, 0, len(r.prefix)+len(key)+32)
	b = append(b, r.prefix...)
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(key)), 10)
	b = append(b, ':')
	b = append(b, key...)
	b = append(b, "}:"...)
	n := len(b)
	b = append(b, "s:"...)
	b = strconv.AppendInt(b, second, 10)
	secKey = string(b)
	b = append(b[:n], "m:"...)
	b = strconv.AppendInt(b, minute*60, 10)
	minKey = string(b)
	return secKey, minKey
}
