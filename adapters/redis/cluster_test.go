package redisadapter_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	redisadapter "github.com/ltikit/ltikit/adapters/redis"
	"github.com/ltikit/ltikit/internal/redistest"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/session"
	"github.com/ltikit/ltikit/session/sessiontest"
	"github.com/ltikit/ltikit/storage/storagetest"
)

// clusterMasters is the size of the test's Redis Cluster.
const clusterMasters = 3

// startCluster starts a Redis Cluster of three masters (no replicas) on
// free loopback ports, each a private redis-server, joined with
// redis-cli --cluster create, and returns a ClusterClient on it.
func startCluster(t *testing.T) *redis.ClusterClient {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-cli is not installed and CI=true: install Debian's redis-tools (scripts/test.sh installs redis-server, which brings it)")
		}
		t.Skip("redis-cli is not installed: apt-get install redis-server to run this test (CI=true fails instead)")
	}
	addrs := make([]string, clusterMasters)
	for i := range addrs {
		// The cluster bus listens on the port plus 10000.
		srv := startServerAt(t, clusterPort(t), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000")
		addrs[i] = srv.addr()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	// Every node must see the cluster as ok, its 16384 slots assigned.
	for _, a := range addrs {
		n := redis.NewClient(&redis.Options{Addr: a})
		waitFor(t, "cluster_state:ok on "+a, func() bool {
			info, err := n.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
		n.Close()
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { c.Close() })
	waitFor(t, "the cluster client to see every master", func() bool {
		// ForEachMaster calls its function on every master at once.
		var masters atomic.Int64
		err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			masters.Add(1)
			return n.Ping(ctx).Err()
		})
		return err == nil && masters.Load() == clusterMasters
	})
	return c
}

// clusterPort returns a free port whose cluster bus port (plus 10000) is
// free too.
func clusterPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		p := freePort(t)
		if p+10000 > 65535 {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		if err != nil {
			continue
		}
		ln.Close()
		return p
	}
	t.Fatal("no free port pair for a cluster node")
	return 0
}

// TestCluster runs the storage and session conformance suites and the
// launch keys against a real three-master Redis Cluster through a
// ClusterClient: every command and script touches one key, so each runs
// on the node that owns it; and the keys of one run spread over all
// three masters.
func TestCluster(t *testing.T) {
	redisServer(t)
	c := startCluster(t)
	s := newStore(t, c)
	t.Run("Conformance", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storagetest.Harness { return harness(s) })
	})
	t.Run("SessionConformance", func(t *testing.T) {
		sessiontest.Run(t, func(t *testing.T) session.Store { return s })
	})
	t.Run("KeysSpread", func(t *testing.T) {
		ctx := context.Background()
		prefix := redistest.Prefix(t, c)
		spread := mustNew(t, c, redisadapter.WithPrefix(prefix))
		for range 60 {
			if err := spread.PutState(ctx, login(time.Now().Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
		}
		var (
			mu      sync.Mutex
			perNode []int
		)
		err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			keys, err := n.Keys(ctx, prefix+"*").Result()
			mu.Lock()
			perNode = append(perNode, len(keys))
			mu.Unlock()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, k := range perNode {
			total += k
			if k == 0 {
				t.Errorf("a master holds none of the 60 states: %v per master; the keys should spread", perNode)
			}
		}
		if total != 60 {
			t.Errorf("%d keys under the prefix, want 60 (%v per master)", total, perNode)
		}
	})
	t.Run("HashTagPrefix", func(t *testing.T) {
		// A prefix with a hash tag keeps every key on one node.
		ctx := context.Background()
		tag := "{" + randomHex(4) + "}:"
		one := mustNew(t, c, redisadapter.WithPrefix(tag))
		t.Cleanup(func() { _ = redistest.DeletePrefix(context.Background(), c, tag) })
		l := login(time.Now().Add(time.Hour))
		if err := one.PutState(ctx, l); err != nil {
			t.Fatal(err)
		}
		n := nonce.Nonce{Value: nonce.NewValue(), Issuer: "i", ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}
		if err := one.PutNonce(ctx, n); err != nil {
			t.Fatal(err)
		}
		slotState, err1 := c.ClusterKeySlot(ctx, one.StateKey(l.State)).Result()
		slotNonce, err2 := c.ClusterKeySlot(ctx, one.NonceKey(n.Value)).Result()
		if err1 != nil || err2 != nil || slotState != slotNonce {
			t.Errorf("slots %d and %d (%v, %v); want one slot for a hash-tagged prefix", slotState, slotNonce, err1, err2)
		}
		if _, err := one.TakeState(ctx, l.State); err != nil {
			t.Error(err)
		}
		if err := one.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID); err != nil {
			t.Error(err)
		}
	})
}
