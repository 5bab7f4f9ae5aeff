package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Headroom is how many of the server's connection slots Reserve leaves to
// connections nobody reserves: each test process's one admin connection,
// on which it creates and drops its schemas, psql, monitoring.
const Headroom = 10

// maxWait is how long Reserve waits for connections before it fails the
// test; a run whose tests hold connections this long is stuck.
const maxWait = 10 * time.Minute

// capacities caches, per server address, how many connections Reserve may
// hand out in all: max_connections less the superuser slots and Headroom.
var capacities sync.Map // address → int

// Reserve holds conns of the PostgreSQL server's connection slots for tb
// until tb ends (a cleanup registered now, so it runs after the cleanups
// of pools opened later), waiting while tests elsewhere hold too many.
// conns is the most connections the test has open at once: two
// saturated pools of 16 and an admin connection are 33.
//
// The test packages run as separate processes at once (scripts/test.sh
// runs twice as many as there are CPUs), and their tests together can
// open more connections than a default server allows (max_connections is
// 100). A connection refused
// with "too many clients" would fail a test for a reason that is not the
// code's. Reservations are files in a directory of the system's temporary
// directory, one per server address, each locked (flock) by the process
// that holds it: every test process on the machine counts the same
// reservations, and a process that dies releases its own. The sum stays
// under max_connections less superuser_reserved_connections and Headroom.
//
// A test reserves once, before it opens anything: a test that held
// connections while it waited for more could wait forever on another
// doing the same. Reserve fails a test when the test or a test it runs
// under already holds a reservation.
func Reserve(tb testing.TB, dsn string, conns int) {
	tb.Helper()
	reserveFor(tb, dsn, conns, false)
}

// ReserveSessions is [Reserve] for a test that opens its sessions through
// [DB] only (besides its process's admin connection): the idle sessions
// of its process then count against its reservation from the start. It
// may take over a reservation that an ended test left for idle sessions
// (see DB) instead of making one: a race test that follows another then
// finds the sessions it needs open, and waits on no other process.
func ReserveSessions(tb testing.TB, dsn string, conns int) {
	tb.Helper()
	reserveFor(tb, dsn, conns, true)
}

// reserveFor is Reserve, or ReserveSessions when sessionsOnly.
func reserveFor(tb testing.TB, dsn string, conns int, sessionsOnly bool) {
	tb.Helper()
	if holder, _ := heldBy(tb.Name()); holder != "" {
		tb.Fatalf("pgtest.Reserve: %s already holds PostgreSQL connections: reserve them all at once, before opening any (a second schema of the same test takes conns 0)", holder)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatalf("pgtest.Reserve: the DSN does not parse: %v", err)
	}
	addr := addrOf(cfg)
	capacity, err := capacityOf(tb.Context(), addr, dsn)
	if err != nil {
		tb.Fatalf("pgtest.Reserve: reading max_connections at %s: %v", addr, err)
	}
	if conns > capacity {
		tb.Fatalf("pgtest.Reserve: the test needs %d connections; the server at %s gives tests %d (max_connections less superuser_reserved_connections and %d)",
			conns, addr, capacity, Headroom)
	}
	dir := budgetDir(addr)
	name := tb.Name()
	var r *reservation
	if sessionsOnly {
		r = takeKept(name, addr, conns)
	}
	if r == nil {
		start := time.Now()
		// One try first: before it waits on other processes, the test
		// gives back what its own process kept for idle sessions (see
		// DB).
		release, err := reserve(tb.Context(), dir, conns, capacity, start)
		if errors.Is(err, errTimeout) {
			dropKept(addr)
			release, err = reserve(tb.Context(), dir, conns, capacity, start.Add(maxWait))
		}
		if err != nil {
			tb.Fatalf("pgtest.Reserve: %d of %d connections at %s: %v", conns, capacity, addr, err)
		}
		if waited := time.Since(start); waited > time.Second {
			tb.Logf("pgtest: waited %v for %d PostgreSQL connections", waited.Round(time.Millisecond), conns)
		}
		r = begin(name, addr, conns, release, sessionsOnly)
	}
	// Given back, or kept a while when the test leaves idle sessions for
	// the next (see DB).
	tb.Cleanup(func() { r.end(name) })
}

// addrOf is the server address of cfg, as reservations and lent sessions
// are keyed.
func addrOf(cfg *pgx.ConnConfig) string {
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// budgetDir is the directory of the reservations at the server address
// addr, in the system's temporary directory.
func budgetDir(addr string) string {
	sum := sha256.Sum256([]byte(addr))
	return filepath.Join(os.TempDir(), "ltikit-pgtest-"+hex.EncodeToString(sum[:6]))
}

// reserveNow makes a reservation of conns at addr if it fits at once, and
// returns nil otherwise. Reserve has read the address's capacity before.
func reserveNow(addr string, conns int) func() {
	capacity, ok := capacities.Load(addr)
	if !ok {
		return nil
	}
	release, err := reserve(context.Background(), budgetDir(addr), conns, capacity.(int), time.Now())
	if err != nil {
		return nil
	}
	return release
}

// heldBy returns the test, name itself or one it runs under, that holds a
// reservation in this process, and the reservation, or "" and nil.
func heldBy(name string) (string, *reservation) {
	sessions.Lock()
	defer sessions.Unlock()
	for h, r := range sessions.active {
		if name == h || strings.HasPrefix(name, h+"/") {
			return h, r
		}
	}
	return "", nil
}

// capacityOf returns (and caches) the connections Reserve may hand out at
// addr, asking the server through dsn the first time.
func capacityOf(ctx context.Context, addr, dsn string) (int, error) {
	if c, ok := capacities.Load(addr); ok {
		return c.(int), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := admin(dsn)
	if err != nil {
		return 0, err
	}
	var n int
	if err := p.QueryRow(ctx, `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int`).Scan(&n); err != nil {
		return 0, err
	}
	capacities.Store(addr, n-Headroom)
	return n - Headroom, nil
}

// reservationName is a reservation's file name: its connections, then a
// part that makes it unique on the machine.
func reservationName(conns int, unique string) string {
	return strconv.Itoa(conns) + "-" + unique
}

// connsOf reads a reservation's connections from its file name.
func connsOf(name string) (int, bool) {
	head, _, ok := strings.Cut(name, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(head)
	return n, err == nil && n > 0
}

// errTimeout is reserve's error when the deadline passes first.
var errTimeout = fmt.Errorf("still held by other tests after %v", maxWait)
