package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvURL names the variable that points the tests at a Redis server.
const EnvURL = "LTIKIT_TEST_REDIS_URL"

// LocalURL is the local server, used when EnvURL is unset.
const LocalURL = "redis://127.0.0.1:6379/0"

// URL returns the Redis URL the tests use, after checking that the server
// answers. See the package documentation for when it fails or skips.
func URL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(EnvURL)
	fromEnv := raw != ""
	if !fromEnv {
		raw = LocalURL
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatalf("%s is not a Redis URL: %v", EnvURL, err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		shown := redacted(opt)
		if fromEnv || os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s does not answer: %v (CI=true or %s set: the Redis tests must run)", shown, err, EnvURL)
		}
		t.Skipf("Redis is not reachable at %s (%v): start redis-server or set %s (CI=true fails instead)", shown, err, EnvURL)
	}
	return raw
}

// Client returns a new client on [URL], with a connection pool of its own
// (a second call plays a second process), closed when the test ends.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(URL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a fresh key prefix, "ltikit-test:" and 12 random hex
// digits and a colon, so tests sharing one Redis never meet, and deletes
// every key under it through c when the test ends.
func Prefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	p := "ltikit-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := DeletePrefix(ctx, c, p); err != nil {
			t.Logf("deleting the keys under %q: %v", p, err)
		}
	})
	return p
}

// DeletePrefix deletes every key that starts with prefix (which must hold
// no glob characters), on every master of a cluster.
func DeletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	del := func(ctx context.Context, n redis.UniversalClient) error {
		iter := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := n.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return del(ctx, n) })
	}
	return del(ctx, c)
}

// redacted is the server's address for messages, without a password.
func redacted(opt *redis.Options) string {
	return opt.Network + "://" + opt.Addr
}
