package pgtest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// keepFor is how long the idle sessions of a test that has ended stay
// open, and reserved, for another test of the process to take over (see
// [DB]). A variable for the package's tests.
var keepFor = 2 * time.Second

// sessions holds, per server address, the server sessions that the pools
// [DB] returns borrow, and the reservations that cover them: the running
// tests' own (active) and those made for the idle sessions of ended tests
// (kept).
//
// The process never holds more sessions at an address than its
// reservations there allow (Reserve's budget). A test's pools hold no
// more sessions than its reservation. Idle sessions must fit in what the
// reservations leave unused ([addrSessions.coverage]): the kept ones, and
// of each running test whose sessions all come from DB (ReserveSessions,
// or a test with a DB pool), what its pools have not opened. When a test
// ends and its idle sessions do not fit, a reservation of just those is
// made and kept (end); a test that reserves with ReserveSessions takes
// the kept ones over (takeKept); a pool that starts or borrows lets
// settle give back those no longer needed; after keepFor the rest are
// given back and the idle sessions they covered closed (expire), and a
// test about to wait on other processes has its own process give them
// back at once (dropKept).
var sessions = struct {
	sync.Mutex
	byAddr map[string]*addrSessions
	active map[string]*reservation // by the name of the test that holds it
}{byAddr: map[string]*addrSessions{}, active: map[string]*reservation{}}

// addrSessions are the sessions of one server address.
type addrSessions struct {
	addr string
	// lender holds the sessions, on the database and as the user of key:
	// the first a DB pool asked for. Pools on another database of the
	// server connect afresh, so that an idle session can always serve
	// the next pool that connects.
	lender *pgxpool.Pool
	key    string
	kept   []*reservation // of ended tests, covering idle sessions
}

// reservation is one reservation of this process: a running test's, or
// one made for the idle sessions of ended tests (kept).
type reservation struct {
	addr    string
	conns   int
	release func()
	pools   []*sql.DB   // the pools DB made for its test
	timer   *time.Timer // gives it back, once kept
	// sessionsOnly: its test opens sessions through DB only
	// (ReserveSessions), so what it has not opened covers idle sessions
	// before its first pool too.
	sessionsOnly bool
}

// DB returns a database/sql pool of at most maxConns connections, all
// kept open while idle, on the schema of dsn (a DSN [Schema] or
// [CreateSchema] returned, whose search_path names the schema). The pool
// is closed when tb ends. tb, or a test it runs under, must hold a
// reservation of at least maxConns: best one from [ReserveSessions] or
// [SchemaForDB], which take over the sessions an ended test left; one
// from [Reserve] or [Schema] serves too.
//
// The pool's connections are server sessions that this test process keeps
// between tests. A new PostgreSQL session costs the server a process of
// its own (fork, start-up, catalog caches, exit): some 30 ms of CPU on a
// 2-CPU machine, and the race tests fill two pools of 16 each, test after
// test. When a test ends, its pools' sessions stay open, still within the
// process's reservations, for a test that starts within keepFor (see
// [ReserveSessions]); a pool that connects takes an idle session before
// it opens a new one. Within a test nothing changes: each pool is a pool
// of its own, two pools never hold the same session at once, and every
// session a pool holds is one server process with its own transactions
// and locks, as with pools that connect afresh. A test whose pools come
// from DB opens no other sessions on the server (its process's admin
// connection aside).
//
// A session lent to a pool starts as a new one would, on the pool's
// schema: DISCARD ALL drops what an earlier pool left in it (settings,
// prepared statements, temporary tables, advisory locks, LISTEN
// registrations, cursors), pgx forgets the statements it had prepared on
// it, and SET search_path names the schema. A session returned inside a
// transaction is closed, not kept.
func DB(tb testing.TB, dsn string, maxConns int) *sql.DB {
	tb.Helper()
	holder, r := heldBy(tb.Name())
	if r == nil {
		tb.Fatalf("pgtest.DB: %s holds no PostgreSQL reservation: call Reserve or Schema first", tb.Name())
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatalf("pgtest.DB: the DSN does not parse: %v", err)
	}
	schema := cfg.RuntimeParams["search_path"]
	if schema == "" {
		tb.Fatalf("pgtest.DB: the DSN names no schema (search_path): use one Schema or CreateSchema returned")
	}
	addr := addrOf(cfg)
	if r.addr != addr {
		tb.Fatalf("pgtest.DB: the reservation of %s is not for the server at %s", holder, addr)
	}
	lender, err := lenderOf(tb.Context(), addr, dsn, cfg)
	if err != nil {
		tb.Fatalf("pgtest.DB: PostgreSQL at %s: %v", addr, err)
	}
	var db *sql.DB
	if lender != nil {
		db = sql.OpenDB(&schemaConnector{addr: addr, schema: schema, pool: stdlib.GetPoolConnector(lender)})
	} else {
		db = stdlib.OpenDB(*cfg) // another database: sessions of its own
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	tb.Cleanup(func() { db.Close() })
	sessions.Lock()
	r.pools = append(r.pools, db)
	sessions.Unlock()
	// What the test has not opened yet covers idle sessions now.
	settle(addr)
	return db
}

// lenderOf returns (and makes, the first time) the pool of sessions at
// addr, or nil when it serves another database or user than cfg's. It may
// hold as many sessions as Reserve hands out: the reservations of the
// tests bound how many it opens.
func lenderOf(ctx context.Context, addr, dsn string, cfg *pgx.ConnConfig) (*pgxpool.Pool, error) {
	capacity, err := capacityOf(ctx, addr, dsn)
	if err != nil {
		return nil, err
	}
	key := cfg.Database + "\x00" + cfg.User
	sessions.Lock()
	defer sessions.Unlock()
	s := sessions.byAddr[addr]
	if s == nil {
		s = &addrSessions{addr: addr, key: key}
		sessions.byAddr[addr] = s
	}
	if s.key != key {
		return nil, nil
	}
	if s.lender != nil {
		return s.lender, nil
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	delete(pcfg.ConnConfig.RuntimeParams, "search_path") // each lend sets its own
	pcfg.MaxConns = int32(capacity)
	pcfg.MinConns = 0
	pcfg.MaxConnIdleTime = adminIdle
	p, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		return nil, err
	}
	s.lender = p
	return p, nil
}

// schemaConnector lends the sessions of a lender to one database/sql pool,
// each reset and on the pool's schema.
type schemaConnector struct {
	addr   string
	schema string
	pool   driver.Connector // stdlib's connector on the lender
}

// Connect takes a session from the lender (an idle one, or a new one) and
// resets it for the pool's schema.
func (c *schemaConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.pool.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := resetSession(ctx, dc.(*stdlib.Conn).Conn(), c.schema); err != nil {
		dc.Close()
		return nil, err
	}
	settle(c.addr)
	return dc, nil
}

// Driver is pgx's database/sql driver.
func (c *schemaConnector) Driver() driver.Driver { return c.pool.Driver() }

// resetSession makes conn as a new session on schema would be. DISCARD ALL
// runs alone: PostgreSQL refuses it inside a transaction block, which a
// query string of several statements is.
func resetSession(ctx context.Context, conn *pgx.Conn, schema string) error {
	// DeallocateAll empties pgx's statement caches (and deallocates on the
	// server): a cached statement would name a prepared statement DISCARD
	// ALL has dropped.
	if err := conn.DeallocateAll(ctx); err != nil {
		return fmt.Errorf("resetting a kept session: %w", err)
	}
	if _, err := conn.Exec(ctx, "DISCARD ALL"); err != nil {
		return fmt.Errorf("resetting a kept session: %w", err)
	}
	if _, err := conn.Exec(ctx, "SET search_path TO "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("setting the search_path of a kept session: %w", err)
	}
	return nil
}

// begin records the reservation that Reserve made for the test name.
func begin(name, addr string, conns int, release func(), sessionsOnly bool) *reservation {
	r := &reservation{addr: addr, conns: conns, release: release, sessionsOnly: sessionsOnly}
	sessions.Lock()
	sessions.active[name] = r
	sessions.Unlock()
	return r
}

// takeKept gives the test name, which opens its sessions through DB
// only (ReserveSessions), the reservations at addr that ended tests kept
// for idle sessions, with as many more as it needs to reach conns when
// they fit at once, or returns nil. The test's pools take the idle
// sessions before they open any, so the sessions stay within its
// reservation. A test never holds kept reservations while it waits:
// when the rest does not fit at once, Reserve gives them back (dropKept)
// before it waits, as for any test.
func takeKept(name, addr string, conns int) *reservation {
	sessions.Lock()
	defer sessions.Unlock()
	s := sessions.byAddr[addr]
	if s == nil || len(s.kept) == 0 {
		return nil
	}
	r := &reservation{addr: addr, sessionsOnly: true}
	var taken []*reservation
	for _, k := range s.kept {
		if k.timer.Stop() { // else expire is about to give it back
			taken = append(taken, k)
			r.conns += k.conns
		}
	}
	if len(taken) == 0 {
		return nil
	}
	if r.conns < conns {
		more := reserveNow(addr, conns-r.conns)
		if more == nil {
			for _, k := range taken { // kept as they were
				k.timer.Reset(keepFor)
			}
			return nil
		}
		r.conns = conns
		taken = append(taken, &reservation{release: more})
	}
	s.kept = slices.DeleteFunc(s.kept, func(k *reservation) bool { return slices.Contains(taken, k) })
	r.release = func() {
		for _, k := range taken {
			k.release()
		}
	}
	sessions.active[name] = r
	return r
}

// end is the end of r's test, after its pools have closed (cleanups run
// last in, first out): r is given back. When the test left idle sessions
// that nothing covers, a reservation of just those is made in its place
// and kept until tests take them or keepFor passes; should it not fit at
// once, the sessions are closed.
func (r *reservation) end(name string) {
	sessions.Lock()
	defer sessions.Unlock()
	delete(sessions.active, name)
	r.release()
	s := sessions.byAddr[r.addr]
	if s == nil {
		return
	}
	uncovered := s.idle() - s.coverage()
	if uncovered <= 0 {
		return
	}
	release := reserveNow(r.addr, uncovered)
	if release == nil {
		s.closeIdle(uncovered)
		return
	}
	k := &reservation{addr: r.addr, conns: uncovered, release: release}
	s.kept = append(s.kept, k)
	k.timer = time.AfterFunc(keepFor, func() { expire(k) })
}

// settle gives back the kept reservations at addr that the idle sessions
// no longer need.
func settle(addr string) {
	sessions.Lock()
	defer sessions.Unlock()
	s := sessions.byAddr[addr]
	if s == nil {
		return
	}
	idle, coverage := s.idle(), s.coverage()
	for i := 0; i < len(s.kept); {
		if k := s.kept[i]; coverage-k.conns >= idle {
			k.timer.Stop()
			k.release()
			coverage -= k.conns
			s.kept = append(s.kept[:i], s.kept[i+1:]...)
			continue
		}
		i++
	}
}

// expire gives back k once keepFor has passed. The idle sessions that
// nothing else covers are closed first: the server's slots are free
// before other test processes count them free.
func expire(k *reservation) {
	sessions.Lock()
	defer sessions.Unlock()
	s := sessions.byAddr[k.addr]
	i := slices.Index(s.kept, k)
	if i < 0 {
		return // settle gave it back
	}
	s.kept = slices.Delete(s.kept, i, i+1)
	s.closeIdle(s.idle() - s.coverage())
	k.release()
}

// dropKept gives back every kept reservation at addr at once, closing the
// idle sessions they covered: Reserve calls it before it waits for other
// processes, so that a test never waits on its own process's leftovers.
func dropKept(addr string) {
	sessions.Lock()
	defer sessions.Unlock()
	s := sessions.byAddr[addr]
	if s == nil || len(s.kept) == 0 {
		return
	}
	kept := s.kept
	s.kept = nil
	for _, k := range kept {
		k.timer.Stop()
	}
	s.closeIdle(s.idle() - s.coverage())
	for _, k := range kept {
		k.release()
	}
}

// idle is how many sessions at the address no pool holds.
func (s *addrSessions) idle() int {
	if s.lender == nil {
		return 0
	}
	return int(s.lender.Stat().IdleConns())
}

// keptConns is how many connections the kept reservations hold.
func (s *addrSessions) keptConns() int {
	n := 0
	for _, k := range s.kept {
		n += k.conns
	}
	return n
}

// coverage is how many idle sessions at s's address the reservations
// cover: the kept ones whole, and of each running test that uses DB, what
// its pools leave unused.
func (s *addrSessions) coverage() int {
	n := s.keptConns()
	for _, r := range sessions.active {
		if r.addr != s.addr || (len(r.pools) == 0 && !r.sessionsOnly) {
			continue
		}
		open := 0
		for _, p := range r.pools {
			open += p.Stats().OpenConnections
		}
		n += max(0, r.conns-open)
	}
	return n
}

// closeIdle closes n of the idle sessions, or all when fewer are idle.
func (s *addrSessions) closeIdle(n int) {
	if n <= 0 || s.lender == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range s.lender.AcquireAllIdle(ctx) {
		if n > 0 {
			c.Hijack().Close(ctx)
			n--
			continue
		}
		c.Release()
	}
}
