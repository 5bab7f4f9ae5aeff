package gormadapter_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/gorm"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormpostgres "github.com/ltikit/ltikit/adapters/gorm/postgres"
	gormsqlite "github.com/ltikit/ltikit/adapters/gorm/sqlite"
	"github.com/ltikit/ltikit/internal/cputime"
	"github.com/ltikit/ltikit/internal/pgtest"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// atExit holds cleanups of resources shared by several benchmark runs
// (-count), run by TestMain after all tests.
var atExit struct {
	sync.Mutex
	fns []func()
}

func runAtExit() {
	atExit.Lock()
	defer atExit.Unlock()
	for i := len(atExit.fns) - 1; i >= 0; i-- {
		atExit.fns[i]()
	}
}

// concurrency is the number of goroutines each benchmark is measured with.
var concurrency = []int{1, 16}

// parallel measures fn with 1 and with 16 goroutines (sub-benchmarks par=1
// and par=16). RunParallel starts SetParallelism × GOMAXPROCS goroutines;
// a count below GOMAXPROCS that RunParallel cannot express is measured with
// a plain loop, which is the same as one RunParallel goroutine.
//
// Besides ns/op it reports cpu-ns/op, the CPU time of the whole process
// (user and system, every thread, the garbage collector included) per
// operation where the platform tells it: on a machine shared with other
// work it varies far less than the elapsed time, and on SQLite it is
// everything the database costs (PostgreSQL's own CPU is not in it).
func parallel(b *testing.B, fn func(ctx context.Context, v *values) error) {
	for _, n := range concurrency {
		b.Run(fmt.Sprintf("par=%d", n), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			procs := runtime.GOMAXPROCS(0)
			var ops atomic.Int64
			cpu := cputime.Start()
			defer func() { cpu.Report(b, ops.Load()) }()
			if n%procs != 0 {
				if n != 1 {
					b.Skipf("%d goroutines cannot be run with GOMAXPROCS=%d", n, procs)
				}
				v := newValues()
				for b.Loop() {
					if err := fn(ctx, v); err != nil {
						b.Fatal(err)
					}
					ops.Add(1)
				}
				b.ReportMetric(1, "goroutines")
				return
			}
			b.SetParallelism(n / procs)
			var failed atomic.Pointer[error]
			b.RunParallel(func(pb *testing.PB) {
				v := newValues()
				for pb.Next() {
					if err := fn(ctx, v); err != nil {
						failed.CompareAndSwap(nil, &err)
						return
					}
					ops.Add(1)
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

// benchAdapters returns a migrated adapter per backend, with the GORM pool.
func benchAdapters(b *testing.B, fn func(b *testing.B, a *gormadapter.Adapter, db *gorm.DB)) {
	for _, bk := range backends {
		b.Run(bk.name, func(b *testing.B) {
			_, db := migrated(b, bk)
			fn(b, mustNew(b, db), db)
		})
	}
}

// BenchmarkNonceStoreConsume is PutNonce + ConsumeNonce: two statements.
func BenchmarkNonceStoreConsume(b *testing.B) {
	benchAdapters(b, func(b *testing.B, a *gormadapter.Adapter, _ *gorm.DB) {
		parallel(b, func(ctx context.Context, v *values) error {
			n := nonce.Nonce{Value: v.next(), Issuer: benchIssuer, ClientID: benchClient, ExpiresAt: time.Now().Add(10 * time.Minute)}
			if err := a.PutNonce(ctx, n); err != nil {
				return err
			}
			return a.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID)
		})
	})
}

// BenchmarkNonceStoreConsumePgx is the floor of BenchmarkNonceStoreConsume
// on PostgreSQL: the same two statements written directly with pgxpool
// (statement cache on, as in the GORM path) on a pool of the same size.
func BenchmarkNonceStoreConsumePgx(b *testing.B) {
	dsn := newPostgresSchema(b)
	db, err := gormpostgres.Open(dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer closeDB(db)
	if err := gormadapter.Migrate(context.Background(), db); err != nil {
		b.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = gormpostgres.MaxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	const (
		insert  = "INSERT INTO ltikit_nonces (nonce, issuer, client_id, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (nonce) DO NOTHING"
		consume = "UPDATE ltikit_nonces SET consumed_at = $1 WHERE nonce = $2 AND issuer = $3 AND client_id = $4 AND consumed_at IS NULL AND expires_at > $1"
	)
	parallel(b, func(ctx context.Context, v *values) error {
		value := v.next()
		tag, err := pool.Exec(ctx, insert, value, benchIssuer, benchClient, time.Now().Add(10*time.Minute).UTC().Truncate(time.Microsecond))
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errors.New("duplicate")
		}
		tag, err = pool.Exec(ctx, consume, time.Now().UTC().Truncate(time.Microsecond), value, benchIssuer, benchClient)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errors.New("not consumed")
		}
		return nil
	})
}

// BenchmarkStatePutTake is PutState + TakeState: the two writes of a launch.
func BenchmarkStatePutTake(b *testing.B) {
	benchAdapters(b, func(b *testing.B, a *gormadapter.Adapter, _ *gorm.DB) {
		parallel(b, func(ctx context.Context, v *values) error {
			l := nonce.Login{State: v.next(), Nonce: v.next(), Issuer: benchIssuer, ClientID: benchClient,
				TargetLinkURI: "https://tool.example.com/launch", DeploymentID: "1:deployment", ExpiresAt: time.Now().Add(10 * time.Minute)}
			l.Binding = l.Bind()
			if err := a.PutState(ctx, l); err != nil {
				return err
			}
			_, err := a.TakeState(ctx, l.State)
			return err
		})
	})
}

// BenchmarkFindRegistration looks one registration up by issuer and
// client_id among 1,000: from the database, and through
// storage.CacheLookups (warm after the first round of 1,000).
func BenchmarkFindRegistration(b *testing.B) {
	benchAdapters(b, func(b *testing.B, a *gormadapter.Adapter, db *gorm.DB) {
		rows := make([]*gormadapter.Registration, 1000)
		for i := range rows {
			iss := fmt.Sprintf("https://lms-%d.example.com", i%250)
			rows[i] = gormadapter.NewRegistration(registration.Registration{Issuer: iss, ClientID: fmt.Sprint("client-", i),
				AuthEndpoint: iss + "/auth", KeySetURL: iss + "/jwks"})
		}
		if err := db.CreateInBatches(rows, 200).Error; err != nil {
			b.Fatal(err)
		}
		cached := storage.CacheLookups(a, storage.CacheConfig{TTL: time.Hour})
		for _, bc := range []struct {
			name  string
			store registration.Store
		}{{"direct", a}, {"CacheLookups", cached}} {
			b.Run(bc.name, func(b *testing.B) {
				parallel(b, func(ctx context.Context, v *values) error {
					i := v.n % 1000
					v.n++
					_, err := bc.store.FindRegistration(ctx, fmt.Sprintf("https://lms-%d.example.com", i%250), fmt.Sprint("client-", i))
					return err
				})
			})
		}
	})
}

// expiredRows is how many expired nonces BenchmarkConsumeWithExpiredRows
// leaves in the table.
const expiredRows = 1_000_000

// bigTable caches the database with a million expired nonces across -count
// runs: filling it takes seconds.
var bigTable = map[string]*struct {
	once sync.Once
	a    *gormadapter.Adapter
	db   *gorm.DB
	err  error
}{"postgres": {}, "sqlite": {}}

// BenchmarkConsumeWithExpiredRows shows that a launch's cost does not grow
// with rows the sweeper has not purged yet: ConsumeNonce on an empty table
// and on a table holding a million expired nonces (half of them consumed),
// inserted in bulk with one INSERT … SELECT (generate_series on
// PostgreSQL, a recursive CTE on SQLite). The live nonces consumed are
// inserted in bulk outside the timer, so ns/op (and ns/consume) is the
// consume alone; compare the rows=0 and rows=1000000 lines.
func BenchmarkConsumeWithExpiredRows(b *testing.B) {
	for _, bk := range backends {
		b.Run(bk.name, func(b *testing.B) {
			if bk.name == "postgres" {
				requirePostgres(b)
			}
			big := bigTable[bk.name]
			big.once.Do(func() { big.a, big.db, big.err = fillExpired(bk) })
			if big.err != nil {
				b.Fatal(big.err)
			}
			_, emptyDB := migrated(b, bk)
			empty := mustNew(b, emptyDB)
			for _, c := range []struct {
				rows int
				a    *gormadapter.Adapter
				db   *gorm.DB
			}{{0, empty, emptyDB}, {expiredRows, big.a, big.db}} {
				b.Run(fmt.Sprintf("rows=%d", c.rows), func(b *testing.B) {
					prefix := randomHex(8)
					if err := insertLive(c.db, bk.name, prefix, b.N); err != nil {
						b.Fatal(err)
					}
					ctx := context.Background()
					b.ResetTimer()
					for j := range b.N {
						if err := c.a.ConsumeNonce(ctx, prefix+strconv.Itoa(j+1), benchIssuer, benchClient); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/consume")
					b.ReportMetric(float64(c.rows), "expired-rows")
				})
			}
		})
	}
}

// fillExpired makes a database of bk holding expiredRows expired nonces. It
// outlives the benchmark that made it and is dropped when TestMain ends.
func fillExpired(bk backend) (*gormadapter.Adapter, *gorm.DB, error) {
	var (
		db  *gorm.DB
		err error
	)
	switch bk.name {
	case "postgres":
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		dsn, drop, err := pgtest.NewSchema(ctx, pg.dsn, "t_")
		cancel()
		if err != nil {
			return nil, nil, err
		}
		atExitDo(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = drop(ctx)
		})
		if db, err = gormpostgres.Open(dsn); err != nil {
			return nil, nil, err
		}
	case "sqlite":
		dir, err := os.MkdirTemp("", "ltikit-bench")
		if err != nil {
			return nil, nil, err
		}
		atExitDo(func() { _ = os.RemoveAll(dir) })
		if db, err = gormsqlite.Open(filepath.Join(dir, "big.db")); err != nil {
			return nil, nil, err
		}
	}
	atExitDo(func() { closeDB(db) })
	ctx := context.Background()
	if err := gormadapter.Migrate(ctx, db); err != nil {
		return nil, nil, err
	}
	past := time.Now().Add(-24 * time.Hour).UTC()
	switch bk.name {
	case "postgres":
		err = db.Exec(`INSERT INTO ltikit_nonces (nonce, issuer, client_id, expires_at, consumed_at)
			SELECT 'expired-' || md5(g::text), ?, ?, ?::timestamptz - g * interval '1 millisecond',
				CASE WHEN g % 2 = 0 THEN ?::timestamptz END
			FROM generate_series(1, ?) AS g`, benchIssuer, benchClient, past, past, expiredRows).Error
		if err == nil {
			err = db.Exec("ANALYZE ltikit_nonces").Error
		}
	case "sqlite":
		ts := past.Format("2006-01-02 15:04:05.000000-07:00")
		err = db.Exec(`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?)
			INSERT INTO ltikit_nonces (nonce, issuer, client_id, expires_at, consumed_at)
			SELECT 'expired-' || hex(randomblob(16)), ?, ?, ?, CASE WHEN n % 2 = 0 THEN ? END FROM g`,
			expiredRows, benchIssuer, benchClient, ts, ts).Error
		if err == nil {
			err = db.Exec("ANALYZE").Error
		}
	}
	if err != nil {
		return nil, nil, err
	}
	a, err := gormadapter.New(ctx, db)
	return a, db, err
}

func atExitDo(f func()) {
	atExit.Lock()
	defer atExit.Unlock()
	atExit.fns = append(atExit.fns, f)
}

// insertLive inserts n live nonces prefix1 … prefixN in one statement.
func insertLive(db *gorm.DB, dialect, prefix string, n int) error {
	exp := time.Now().Add(time.Hour).UTC()
	if dialect == "postgres" {
		return db.Exec(`INSERT INTO ltikit_nonces (nonce, issuer, client_id, expires_at)
			SELECT ? || g, ?, ?, ? FROM generate_series(1, ?) AS g`, prefix, benchIssuer, benchClient, exp, n).Error
	}
	return db.Exec(`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?)
		INSERT INTO ltikit_nonces (nonce, issuer, client_id, expires_at) SELECT ? || n, ?, ?, ? FROM g`,
		n, prefix, benchIssuer, benchClient, exp.Format("2006-01-02 15:04:05.000000-07:00")).Error
}
