package sqladapter_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormpostgres "github.com/ltikit/ltikit/adapters/gorm/postgres"
	"github.com/ltikit/ltikit/examples/sqladapter"
	"github.com/ltikit/ltikit/internal/cputime"
	"github.com/ltikit/ltikit/internal/pgtest"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// The benchmarks measure this adapter ("sql") and the GORM adapter
// ("gorm", adapters/gorm with its default models) on the same PostgreSQL
// server in the same run, each in a fresh schema of its own, each on a
// pool of 16 connections through pgx's database/sql driver. Compare the
// sql and gorm lines of one operation and concurrency:
//
//	go test -run '^$' -bench . -benchmem -count 5 ./examples/sqladapter/
//
// The adapters do the same work per operation but in one place: a taken
// state is deleted here, and marked taken (an UPDATE) by the GORM adapter.

const (
	benchIssuer = "https://lms.example.com"
	benchClient = "client-bench"
	benchRegs   = 1000 // registrations FindRegistration chooses among
)

// benchAdapter is one adapter under measurement.
type benchAdapter struct {
	name string
	a    storage.Adapter
}

// benchAdapters returns both adapters, each on a fresh, migrated schema
// of the test database. With seed, each holds the benchmark's 1,000
// registrations.
func benchAdapters(b *testing.B, seed bool) []benchAdapter {
	b.Helper()
	ctx := context.Background()

	// The connections of both pools, this one and the GORM one below.
	db, err := sqladapter.Open(ctx, pgtest.Schema(b, "bench_sql_", sqladapter.MaxConns+gormpostgres.MaxConns+1))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := sqladapter.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	if seed {
		// The same rows as the GORM adapter's below, in one statement.
		_, err := db.ExecContext(ctx, `INSERT INTO platforms (issuer, client_id, auth_endpoint, key_set_url)
			SELECT 'https://lms-' || (g % 250) || '.example.com', 'client-' || g,
				'https://lms-' || (g % 250) || '.example.com/auth', 'https://lms-' || (g % 250) || '.example.com/jwks'
			FROM generate_series(0, $1 - 1) AS g`, benchRegs)
		if err != nil {
			b.Fatal(err)
		}
	}

	gdb, err := gormpostgres.Open(pgtest.Schema(b, "bench_gorm_", 0)) // reserved above
	if err != nil {
		b.Fatal(err)
	}
	if sqlDB, err := gdb.DB(); err == nil {
		b.Cleanup(func() { sqlDB.Close() })
	}
	if err := gormadapter.Migrate(ctx, gdb); err != nil {
		b.Fatal(err)
	}
	ga, err := gormadapter.New(ctx, gdb)
	if err != nil {
		b.Fatal(err)
	}
	if seed {
		rows := make([]*gormadapter.Registration, benchRegs)
		for i := range rows {
			iss := benchRegIssuer(i)
			rows[i] = gormadapter.NewRegistration(registration.Registration{Issuer: iss, ClientID: "client-" + strconv.Itoa(i),
				AuthEndpoint: iss + "/auth", KeySetURL: iss + "/jwks"})
		}
		if err := gdb.CreateInBatches(rows, 200).Error; err != nil {
			b.Fatal(err)
		}
	}
	return []benchAdapter{{"sql", mustNew(b, db)}, {"gorm", ga}}
}

func benchRegIssuer(i int) string { return fmt.Sprintf("https://lms-%d.example.com", i%250) }

// measure measures op on each adapter with 1 and with 16 goroutines
// (par=1/adapter=sql, par=1/adapter=gorm, then par=16): the two adapters
// of one concurrency run back to back, so a change in the machine's load
// between them is as short as it can be (benchstat -col /adapter puts
// them side by side). RunParallel starts
// SetParallelism × GOMAXPROCS goroutines, so 16 needs a GOMAXPROCS that
// divides it; one goroutine is a plain loop.
func measure(b *testing.B, adapters []benchAdapter, op func(ctx context.Context, a storage.Adapter, v *values) error) {
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("par=%d", n), func(b *testing.B) {
			for _, ba := range adapters {
				b.Run("adapter="+ba.name, func(b *testing.B) { measureOne(b, n, ba.a, op) })
			}
		})
	}
}

func measureOne(b *testing.B, n int, a storage.Adapter, op func(ctx context.Context, a storage.Adapter, v *values) error) {
	ctx := context.Background()
	b.ReportAllocs()
	// The benchmark process's CPU time per operation: what the adapter,
	// database/sql and pgx cost the tool itself, less sensitive than
	// ns/op to the load of others on a shared machine. The database
	// server's CPU is not in it.
	defer cputime.PerOp(b)()
	if n == 1 {
		v := newValues()
		for range b.N {
			if err := op(ctx, a, v); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	procs := runtime.GOMAXPROCS(0)
	if n%procs != 0 {
		b.Skipf("%d goroutines cannot be run with GOMAXPROCS=%d", n, procs)
	}
	b.SetParallelism(n / procs)
	var failed atomic.Pointer[error]
	b.RunParallel(func(pb *testing.PB) {
		v := newValues()
		for pb.Next() {
			if err := op(ctx, a, v); err != nil {
				failed.CompareAndSwap(nil, &err)
				return
			}
		}
	})
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}

// values mints unique 43-character values (the length of nonce.NewValue's)
// cheaply, so the benchmarks measure storage and not crypto/rand.
type values struct {
	prefix string
	n      int64
}

func newValues() *values { return &values{prefix: nonce.NewValue()[:32]} }

func (v *values) next() string {
	v.n++
	s := strconv.FormatInt(v.n, 36)
	return v.prefix + "-0000000000"[:43-32-len(s)] + s
}

// BenchmarkStatePutTake is PutState + TakeState: the two writes of a
// launch (the state carries the nonce in both adapters).
func BenchmarkStatePutTake(b *testing.B) {
	measure(b, benchAdapters(b, false), func(ctx context.Context, a storage.Adapter, v *values) error {
		l := nonce.Login{State: v.next(), Nonce: v.next(), Issuer: benchIssuer, ClientID: benchClient,
			TargetLinkURI: "https://tool.example.com/lti/launch", DeploymentID: "1:deployment", ExpiresAt: time.Now().Add(10 * time.Minute)}
		l.Binding = l.Bind()
		if err := a.PutState(ctx, l); err != nil {
			return err
		}
		_, err := a.TakeState(ctx, l.State)
		return err
	})
}

// BenchmarkNonceConsume is PutNonce + ConsumeNonce, the nonce store of a
// host whose states live elsewhere.
func BenchmarkNonceConsume(b *testing.B) {
	measure(b, benchAdapters(b, false), func(ctx context.Context, a storage.Adapter, v *values) error {
		n := nonce.Nonce{Value: v.next(), Issuer: benchIssuer, ClientID: benchClient, ExpiresAt: time.Now().Add(10 * time.Minute)}
		if err := a.PutNonce(ctx, n); err != nil {
			return err
		}
		return a.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID)
	})
}

// BenchmarkFindRegistration looks one registration up by issuer and
// client_id among 1,000 (250 issuers), straight from the database (no
// storage.CacheLookups).
func BenchmarkFindRegistration(b *testing.B) {
	measure(b, benchAdapters(b, true), func(ctx context.Context, a storage.Adapter, v *values) error {
		i := int(v.n % benchRegs)
		v.n++
		r, err := a.FindRegistration(ctx, benchRegIssuer(i), "client-"+strconv.Itoa(i))
		if err == nil && r.LTIRegistration().ClientID != "client-"+strconv.Itoa(i) {
			err = fmt.Errorf("found %s", r.LTIRegistration().Key())
		}
		return err
	})
}
