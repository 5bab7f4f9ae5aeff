package gormadapter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormpostgres "github.com/ltikit/ltikit/adapters/gorm/postgres"
	gormsqlite "github.com/ltikit/ltikit/adapters/gorm/sqlite"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
)

// proxy is a TCP forwarder between the adapter and PostgreSQL, so a test
// can cut the database off mid-run and bring it back.
type proxy struct {
	network, target string

	mu    sync.Mutex
	addr  string
	ln    net.Listener
	conns map[net.Conn]struct{}
}

func startProxy(t *testing.T, network, target string) *proxy {
	t.Helper()
	p := &proxy{network: network, target: target, addr: "127.0.0.1:0"}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.ln, p.addr, p.conns = ln, ln.Addr().String(), map[net.Conn]struct{}{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial(p.network, p.target)
			if err != nil {
				c.Close()
				continue
			}
			if !p.track(c, u) {
				continue
			}
			go func() { io.Copy(u, c); u.Close(); c.Close() }()
			go func() { io.Copy(c, u); u.Close(); c.Close() }()
		}
	}()
	return nil
}

func (p *proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// stop closes the listener and every forwarded connection: from then on
// nothing listens on the proxy's port.
func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return
	}
	p.ln.Close()
	p.ln = nil
	for c := range p.conns {
		c.Close()
	}
}

func (p *proxy) port() uint16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, port, _ := net.SplitHostPort(p.addr)
	var n uint16
	fmt.Sscan(port, &n)
	return n
}

// pgConfig parses dsn and returns its config with fallbacks removed, and
// the network address of the server.
func pgConfig(t *testing.T, dsn string) (cfg *pgx.ConnConfig, network, addr string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Fallbacks = nil
	if strings.HasPrefix(cfg.Host, "/") {
		return cfg, "unix", fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port)
	}
	return cfg, "tcp", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
}

// openPGAt opens a GORM pool on cfg but at 127.0.0.1:port.
func openPGAt(t *testing.T, cfg *pgx.ConnConfig, port uint16) *gorm.DB {
	t.Helper()
	c := cfg.Copy()
	c.Host, c.Port, c.Fallbacks = "127.0.0.1", port, nil
	c.ConnectTimeout = 2 * time.Second
	sqlDB := stdlib.OpenDB(*c)
	t.Cleanup(func() { sqlDB.Close() })
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard, DisableAutomaticPing: true})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return port
}

// seeded is what each fault test stores before the outage.
type seeded struct {
	reg   registration.Registration
	state nonce.Login
	nonce nonce.Nonce
}

func seed(t *testing.T, db *gorm.DB, a *gormadapter.Adapter) seeded {
	t.Helper()
	ctx := context.Background()
	iss := "https://fault-" + randomHex(4) + ".example"
	s := seeded{reg: registration.Registration{Issuer: iss, ClientID: "c", AuthEndpoint: iss + "/auth", KeySetURL: iss + "/jwks"}}
	row := gormadapter.NewRegistration(s.reg)
	if err := db.Create(row).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&gormadapter.Deployment{RegistrationID: row.ID, DeploymentID: "d"}).Error; err != nil {
		t.Fatal(err)
	}
	s.state = login(t, time.Now().Add(time.Hour))
	s.nonce = nonce.Nonce{Value: newValue(t), Issuer: s.reg.Issuer, ClientID: s.reg.ClientID, ExpiresAt: time.Now().Add(time.Hour)}
	if err := a.PutState(ctx, s.state); err != nil {
		t.Fatal(err)
	}
	if err := a.PutNonce(ctx, s.nonce); err != nil {
		t.Fatal(err)
	}
	return s
}

// allFail runs every operation of a against the seeded data and checks
// that each one fails as storage_unavailable and none succeeds or is
// mistaken for a refused value.
func allFail(t *testing.T, a *gormadapter.Adapter, s seeded) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, lti.ErrStorageUnavailable) {
			t.Errorf("%s during the outage = %v; want an error matching lti.ErrStorageUnavailable", op, err)
		}
		if errors.Is(err, nonce.ErrNotFound) || errors.Is(err, nonce.ErrConsumed) || errors.Is(err, nonce.ErrExpired) {
			t.Errorf("%s during the outage looks like a refused value: %v", op, err)
		}
	}
	l, err := a.TakeState(ctx, s.state.State)
	check("TakeState", err)
	if l != (nonce.Login{}) {
		t.Errorf("TakeState during the outage returned a Login")
	}
	check("ConsumeNonce", a.ConsumeNonce(ctx, s.nonce.Value, s.nonce.Issuer, s.nonce.ClientID))
	check("PutState", a.PutState(ctx, login(t, time.Now().Add(time.Hour))))
	check("PutNonce", a.PutNonce(ctx, nonce.Nonce{Value: newValue(t), Issuer: "i", ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}))
	r, err := a.FindRegistration(ctx, s.reg.Issuer, s.reg.ClientID)
	check("FindRegistration", err)
	if r != nil {
		t.Errorf("FindRegistration during the outage returned %v", r)
	}
	d, err := a.FindDeployment(ctx, s.reg, "d")
	check("FindDeployment", err)
	if d != nil {
		t.Errorf("FindDeployment during the outage returned %v", d)
	}
	_, err = a.PurgeExpired(ctx)
	check("PurgeExpired", err)
}

// allWork checks that a works and that the outage consumed nothing: the
// seeded state and nonce are still usable, exactly once.
func allWork(t *testing.T, a *gormadapter.Adapter, s seeded) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.TakeState(ctx, s.state.State); err != nil {
		t.Errorf("TakeState after recovery: %v (did a failed call consume it?)", err)
	}
	if err := a.ConsumeNonce(ctx, s.nonce.Value, s.nonce.Issuer, s.nonce.ClientID); err != nil {
		t.Errorf("ConsumeNonce after recovery: %v", err)
	}
	reg, err := a.FindRegistration(ctx, s.reg.Issuer, s.reg.ClientID)
	if err != nil {
		t.Fatalf("FindRegistration after recovery: %v", err)
	}
	if _, err := a.FindDeployment(ctx, reg, "d"); err != nil {
		t.Errorf("FindDeployment after recovery: %v", err)
	}
	l := login(t, time.Now().Add(time.Hour))
	if err := a.PutState(ctx, l); err != nil {
		t.Errorf("PutState after recovery: %v", err)
	}
}

// TestFaultPostgres cuts PostgreSQL off three ways: a proxy in front of it
// stops (nothing listens on the pool's port any more), the pool's sql.DB is
// closed mid-run, and a pool is pointed at a port where nothing listens.
// Every call must fail as storage_unavailable and none succeed; after
// recovery operations work again and nothing was consumed by the failures.
func TestFaultPostgres(t *testing.T) {
	t.Parallel()
	dsn := newPostgresSchema(t)
	direct, err := gormpostgres.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeDB(direct) })
	if err := gormadapter.Migrate(context.Background(), direct); err != nil {
		t.Fatal(err)
	}
	cfg, network, target := pgConfig(t, dsn)

	t.Run("ProxyDown", func(t *testing.T) {
		p := startProxy(t, network, target)
		db := openPGAt(t, cfg, p.port())
		a := mustNew(t, db)
		s := seed(t, direct, a)
		p.stop()
		allFail(t, a, s)
		// The database comes back on the same address: the same pool
		// recovers, since database/sql drops the broken connections.
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
		allWork(t, a, s)
	})

	t.Run("ClosedPoolMidRun", func(t *testing.T) {
		db, err := gormpostgres.Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		a := mustNew(t, db)
		s := seed(t, direct, a)
		closeMidRun(t, db, a)
		allFail(t, a, s)
		// Recovery is a fresh pool.
		fresh, err := gormpostgres.Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeDB(fresh) })
		allWork(t, mustNew(t, fresh), s)
	})

	t.Run("WrongPort", func(t *testing.T) {
		port := freePort(t)
		// The constructor checks the database answers.
		if _, err := gormadapter.New(context.Background(), openPGAt(t, cfg, port)); !errors.Is(err, lti.ErrStorageUnavailable) {
			t.Errorf("New on a wrong port = %v; want storage_unavailable", err)
		}
		u := cfg.Copy()
		if _, err := gormpostgres.Open(fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=%s sslmode=disable connect_timeout=2", port, u.User, u.Database)); !errors.Is(err, lti.ErrStorageUnavailable) {
			t.Errorf("gormpostgres.Open on a wrong port = %v; want storage_unavailable", err)
		}
		// An adapter whose pool ends up at a port where nothing listens.
		p := startProxy(t, network, target)
		db := openPGAt(t, cfg, p.port())
		a := mustNew(t, db)
		s := seed(t, direct, a)
		p.stop()
		for range 3 {
			allFail(t, a, s)
		}
		allWork(t, mustNew(t, direct), s)
	})
}

// TestFaultSQLite closes the SQLite pool mid-run; every call fails as
// storage_unavailable, and a fresh pool on the file works again.
func TestFaultSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "fault.db")
	db, err := gormsqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := gormadapter.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	a := mustNew(t, db)
	s := seed(t, db, a)
	closeMidRun(t, db, a)
	allFail(t, a, s)
	fresh, err := gormsqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeDB(fresh) })
	allWork(t, mustNew(t, fresh), s)
}

// closeMidRun runs launches (put + take) on a from several goroutines,
// closes the pool's sql.DB while they run, and checks that every failure
// is storage_unavailable and that no call succeeds after the close.
func closeMidRun(t *testing.T, db *gorm.DB, a *gormadapter.Adapter) {
	t.Helper()
	ctx := context.Background()
	var (
		closed   atomic.Bool
		wg       sync.WaitGroup
		okBefore atomic.Int64
	)
	for range 8 {
		wg.Go(func() {
			for fails := 0; fails < 20; {
				wasClosed := closed.Load()
				l := login(t, time.Now().Add(time.Minute))
				err := a.PutState(ctx, l)
				if err == nil {
					_, err = a.TakeState(ctx, l.State)
				}
				switch {
				case err == nil && wasClosed:
					t.Errorf("a launch succeeded after the pool was closed")
					return
				case err == nil:
					okBefore.Add(1)
				case !errors.Is(err, lti.ErrStorageUnavailable):
					t.Errorf("launch failed with %v; want storage_unavailable", err)
					return
				default:
					fails++
				}
			}
		})
	}
	for okBefore.Load() < 50 {
		time.Sleep(time.Millisecond)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	// The flag is set once Close has returned: a launch that reads it
	// true then started after the close and must fail. Set before the
	// close, a goroutine could read it and get a connection in between.
	sqlDB.Close()
	closed.Store(true)
	wg.Wait()
}

var _ deployment.Store = (*gormadapter.Adapter)(nil)
