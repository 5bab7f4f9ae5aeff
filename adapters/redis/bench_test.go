package redisadapter_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	redisadapter "github.com/ltikit/ltikit/adapters/redis"
	"github.com/ltikit/ltikit/internal/redistest"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/session"
)

// The benchmarks measure the Store against the Redis of the tests
// (LTIKIT_TEST_REDIS_URL, else 127.0.0.1:6379), with 1 and 16 goroutines,
// as adapters/gorm's benchmarks of the same names do on PostgreSQL and
// SQLite:
//
//	go test -run='^$' -bench=. ./adapters/redis/
//	go test -run='^$' -bench='StatePutTake|NonceStoreConsume' ./adapters/gorm/

// concurrency is the number of goroutines each benchmark is measured with.
var concurrency = []int{1, 16}

// parallel measures fn with 1 and with 16 goroutines (sub-benchmarks par=1
// and par=16), each goroutine minting its own values.
func parallel(b *testing.B, fn func(ctx context.Context, s *redisadapter.Store, v *values) error) {
	s := newStore(b, redistest.Client(b))
	for _, n := range concurrency {
		b.Run(fmt.Sprintf("par=%d", n), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			procs := runtime.GOMAXPROCS(0)
			if n%procs != 0 {
				if n != 1 {
					b.Skipf("%d goroutines cannot be run with GOMAXPROCS=%d", n, procs)
				}
				v := newValues()
				for b.Loop() {
					if err := fn(ctx, s, v); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(1, "goroutines")
				return
			}
			b.SetParallelism(n / procs)
			var failed atomic.Pointer[error]
			b.RunParallel(func(pb *testing.PB) {
				v := newValues()
				for pb.Next() {
					if err := fn(ctx, s, v); err != nil {
						failed.CompareAndSwap(nil, &err)
						return
					}
				}
			})
			if err := failed.Load(); err != nil {
				b.Fatal(*err)
			}
			b.ReportMetric(float64(n), "goroutines")
		})
	}
}

// values mints unique 43-character values (the length of nonce.NewValue's)
// cheaply, so the benchmarks measure storage and not crypto/rand.
type values struct {
	prefix string
	n      int64
}

func newValues() *values { return &values{prefix: randomHex(16)} }

func (v *values) next() string {
	v.n++
	s := strconv.FormatInt(v.n, 36)
	return v.prefix + "-0000000000"[:43-32-len(s)] + s
}

const (
	benchIssuer = "https://lms.example.com"
	benchClient = "client-bench"
)

// BenchmarkStatePutTake is PutState + TakeState, the two writes of a
// launch: one SET NX and one GETDEL.
func BenchmarkStatePutTake(b *testing.B) {
	parallel(b, func(ctx context.Context, s *redisadapter.Store, v *values) error {
		l := nonce.Login{State: v.next(), Nonce: v.next(), Issuer: benchIssuer, ClientID: benchClient,
			TargetLinkURI: "https://tool.example.com/launch", DeploymentID: "1:deployment", ExpiresAt: time.Now().Add(10 * time.Minute)}
		l.Binding = l.Bind()
		if err := s.PutState(ctx, l); err != nil {
			return err
		}
		_, err := s.TakeState(ctx, l.State)
		return err
	})
}

// BenchmarkNonceStoreConsume is PutNonce + ConsumeNonce: one SET NX and
// one script.
func BenchmarkNonceStoreConsume(b *testing.B) {
	parallel(b, func(ctx context.Context, s *redisadapter.Store, v *values) error {
		n := nonce.Nonce{Value: v.next(), Issuer: benchIssuer, ClientID: benchClient, ExpiresAt: time.Now().Add(10 * time.Minute)}
		if err := s.PutNonce(ctx, n); err != nil {
			return err
		}
		return s.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID)
	})
}

// BenchmarkSessionPutGetTouch is a launch session's life on a page: the
// put at the launch, then a read and a touch.
func BenchmarkSessionPutGetTouch(b *testing.B) {
	claims := []byte(`{"iss":"https://lms.example.com","sub":"user-1","https://purl.imsglobal.org/spec/lti/claim/roles":["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]}`)
	parallel(b, func(ctx context.Context, s *redisadapter.Store, v *values) error {
		now := time.Now()
		r := session.Record{ID: v.next(), Issuer: benchIssuer, ClientID: benchClient, DeploymentID: "1", Subject: "user-1",
			Claims: claims, CSRF: v.next(), CreatedAt: now, IdleExpiresAt: now.Add(30 * time.Minute), ExpiresAt: now.Add(8 * time.Hour)}
		if err := s.PutSession(ctx, r); err != nil {
			return err
		}
		if _, err := s.GetSession(ctx, r.ID); err != nil {
			return err
		}
		return s.TouchSession(ctx, r.ID, now.Add(time.Hour))
	})
}
