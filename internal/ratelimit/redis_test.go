package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testRedis connects to CONNECT_TEST_REDIS_URL, or to
// redis://127.0.0.1:6379/15 when that answers a quick ping, and returns the
// client and a prefix unique to this test. Keys under the prefix are deleted
// when the test ends. Without a Redis the test is skipped, unless
// CONNECT_TEST_REDIS_URL was set, in which case it fails.
func testRedis(tb testing.TB) (redis.UniversalClient, string) {
	tb.Helper()
	url, explicit := os.LookupEnv("CONNECT_TEST_REDIS_URL")
	if !explicit || url == "" {
		url, explicit = "redis://127.0.0.1:6379/15", false
	}
	client, err := RedisFromURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		if explicit {
			tb.Fatalf("CONNECT_TEST_REDIS_URL=%s: %v", url, err)
		}
		tb.Skipf("no Redis at %s (%v); set CONNECT_TEST_REDIS_URL", url, err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	prefix := "connect-test:ratelimit:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("cleanup scan: %v", err)
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			if err := client.Del(ctx, keys[:n]...).Err(); err != nil {
				tb.Errorf("cleanup del: %v", err)
				break
			}
			keys = keys[n:]
		}
		_ = client.Close()
	})
	return client, prefix
}

func TestRedisBehaviour(t *testing.T) {
	runBehaviour(t, func(t *testing.T) Limiter {
		client, prefix := testRedis(t)
		return NewRedis(client, prefix)
	})
}

func TestRedisConcurrent(t *testing.T) {
	t.Run("second window", func(t *testing.T) {
		client, prefix := testRedis(t)
		runConcurrent(t, NewRedis(client, prefix), Default, 100)
	})
	t.Run("minute window", func(t *testing.T) {
		client, prefix := testRedis(t)
		runConcurrent(t, NewRedis(client, prefix), Limit{PerMinute: 150}, 150)
	})
}

// Two limiters on one Redis and prefix (two nodes) share their counts.
func TestRedisSharedAcrossNodes(t *testing.T) {
	client, prefix := testRedis(t)
	nodeA, nodeB := NewRedis(client, prefix), NewRedis(client, prefix)
	l := Limit{PerSecond: 3, PerMinute: 0}
	for i, lim := range []*Redis{nodeA, nodeB, nodeA} {
		if d, err := lim.Allow(t.Context(), "c", l, base); err != nil || !d.Allowed || d.Remaining != 2-i {
			t.Fatalf("call %d: %+v, %v", i, d, err)
		}
	}
	if d, err := nodeB.Allow(t.Context(), "c", l, base); err != nil || d.Allowed {
		t.Fatalf("fourth call: %+v, %v; want rejected", d, err)
	}
	// Another prefix is another limiter.
	if d, err := NewRedis(client, prefix+"other:").Allow(t.Context(), "c", l, base); err != nil || !d.Allowed {
		t.Fatalf("other prefix: %+v, %v", d, err)
	}
}

func TestRedisKeysExpire(t *testing.T) {
	client, prefix := testRedis(t)
	r := NewRedis(client, prefix)
	if _, err := r.Allow(t.Context(), "c", Default, base.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	secKey, minKey := r.keys("c", base.Unix()+90, base.Unix()/60+1)
	for key, window := range map[string]time.Duration{secKey: time.Second, minKey: time.Minute} {
		ttl, err := client.PTTL(t.Context(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 || ttl > window+expiryMargin {
			t.Errorf("%s: TTL %v, want in (0, %v]", key, ttl, window+expiryMargin)
		}
	}
}

func TestRedisKeys(t *testing.T) {
	r := NewRedis(nil, "p:")
	secKey, minKey := r.keys("no.example.web", 1_800_000_001, 30_000_000)
	if want := "p:{14:no.example.web}:s:1800000001"; secKey != want {
		t.Errorf("second key %q, want %q", secKey, want)
	}
	if want := "p:{14:no.example.web}:m:1800000000"; minKey != want {
		t.Errorf("minute key %q, want %q", minKey, want)
	}
	// No two client ids share a key, however they are spelled.
	ids := []string{"", "a", "a}", "{a}", "1:a", "a:", "a}:s:1", "a}:m:1", "1:a}:s:1", ":", "}", "{", "a}:s:1800000001"}
	seen := map[string]string{}
	for _, id := range ids {
		for _, second := range []int64{1, 1_800_000_001} {
			s, m := r.keys(id, second, second/60)
			for _, k := range []string{s, m} {
				if prev, dup := seen[k]; dup && prev != id {
					t.Errorf("ids %q and %q share key %q", prev, id, k)
				}
				seen[k] = id
			}
			// Both keys of a client carry the same, non-empty hash tag.
			if tagOf(s) != tagOf(m) || tagOf(s) == "" {
				t.Errorf("id %q: hash tags %q and %q", id, tagOf(s), tagOf(m))
			}
		}
	}
}

// tagOf returns a key's Redis Cluster hash tag, "" when it has none.
func tagOf(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return ""
	}
	return key[i+1 : i+1+j]
}

func TestRedisErrorIsReturned(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer client.Close()
	d, err := NewRedis(client, "p:").Allow(t.Context(), "c", Default, base)
	if err == nil {
		t.Fatalf("no error from an unreachable Redis: %+v", d)
	}
	if d != (Decision{}) {
		t.Errorf("decision with error: %+v", d)
	}
	// An unlimited client needs no Redis at all.
	if d, err := NewRedis(client, "p:").Allow(t.Context(), "c", Limit{}, base); err != nil || !d.Allowed {
		t.Errorf("unlimited: %+v, %v", d, err)
	}
}

func TestRedisFromURL(t *testing.T) {
	c, err := RedisFromURL("redis://user:secret@redis.internal:6380/3")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, ok := c.(*redis.Client)
	if !ok {
		t.Fatalf("client type %T", c)
	}
	if o := rc.Options(); o.Addr != "redis.internal:6380" || o.DB != 3 || o.Username != "user" || o.Password != "secret" {
		t.Errorf("options: addr %q db %d user %q", o.Addr, o.DB, o.Username)
	}
	for _, bad := range []string{"", "http://host:6379", "redis://host:6379/notadb", "redis://u:secret@host:6379/x"} {
		if c, err := RedisFromURL(bad); err == nil {
			_ = c.Close()
			t.Errorf("RedisFromURL(%q): no error", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

func BenchmarkRedisAllow(b *testing.B) {
	client, prefix := testRedis(b)
	r := NewRedis(client, prefix)
	var seq atomic.Int64
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		key := "client-" + string(rune('a'+seq.Add(1)%26))
		for pb.Next() {
			if _, err := r.Allow(ctx, key, Default, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
