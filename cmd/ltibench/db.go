package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgSchema creates a schema of its own in the database dsn names and
// returns a DSN whose connections use it (search_path), so each
// configuration starts from empty tables without needing CREATE DATABASE,
// and a function that drops the schema again. The DSN's connections carry
// the schema's name as their application_name, so that pg_stat_activity
// tells the backends serving this configuration (pgBackends).
func pgSchema(ctx context.Context, dsn, name string) (string, func(), error) {
	ident := pgx.Identifier{name}.Sanitize()
	u, drop, err := pgCreate(ctx, dsn, "DROP SCHEMA IF EXISTS "+ident+" CASCADE", "CREATE SCHEMA "+ident)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", name)
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// pgDatabase creates a database of its own on the server dsn names and
// returns its URL and a function that drops it.
func pgDatabase(ctx context.Context, dsn, name string) (string, func(), error) {
	ident := pgx.Identifier{name}.Sanitize()
	u, drop, err := pgCreate(ctx, dsn, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)", "CREATE DATABASE "+ident)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// pgCreate runs dropSQL then createSQL on the server dsn names (dropping a
// leftover of an interrupted run first) and returns dsn parsed and a
// function that runs dropSQL again.
func pgCreate(ctx context.Context, dsn, dropSQL, createSQL string) (*url.URL, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, nil, fmt.Errorf("-postgres %q: want a postgres:// URL", redact(dsn))
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{dropSQL, createSQL} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return nil, nil, fmt.Errorf("postgres: %s: %w", stmt, err)
		}
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = c.Exec(ctx, dropSQL)
			_ = c.Close(ctx)
		}
	}
	return u, drop, nil
}

// pgBackends lists the PostgreSQL backends serving one tool: the client
// backends pg_stat_activity shows with application_name app (a schema of
// pgSchema) or connected to database datname (the ltijs peer's, of
// pgDatabase). The connection asking is neither.
func pgBackends(ctx context.Context, dsn, app, datname string) ([]int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND ((application_name = $1 AND $1 <> '') OR (datname = $2 AND $2 <> ''))`, app, datname)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}

// backendCPU reads the CPU time of each backend from /proc (PostgreSQL on
// this machine); a backend that has exited is left out.
func backendCPU(pids []int) map[int]time.Duration {
	out := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		if c, err := procCPU(pid); err == nil {
			out[pid] = c
		}
	}
	return out
}

// backendsUsed is the CPU the backends at the end of a measurement spent
// since its start: a backend that connected meanwhile counts whole, one
// that disconnected meanwhile is lost (the tools keep pooled connections
// open). Never below 0.
func backendsUsed(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, c := range after {
		d += max(c-before[pid], 0)
	}
	return d
}

// redact hides a DSN's password.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// rowWrites counts the rows launches have written into the login tables
// so far: one per stored state or nonce, one more per consumed one. The
// difference over a run, divided by its launches, is the database writes
// per launch.
func rowWrites(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM ltikit_login_states) + (SELECT count(*) FROM ltikit_login_states WHERE consumed_at IS NOT NULL) +
		(SELECT count(*) FROM ltikit_nonces) + (SELECT count(*) FROM ltikit_nonces WHERE consumed_at IS NOT NULL)`).Scan(&n)
	return n, err
}

// sqliteTime is the layout the GORM adapter writes SQLite times in.
const sqliteTime = "2006-01-02 15:04:05.000000-07:00"

// fill stores regs registrations (one deployment each) and states login
// states, every other one expired, none ever taken, as a tool that has
// run for a long while without purging would hold.
func fill(ctx context.Context, db *sql.DB, dialect string, regs, states int) error {
	past, future := time.Now().Add(-time.Hour).UTC(), time.Now().Add(24*time.Hour).UTC()
	var stmts []string
	var args [][]any
	switch dialect {
	case "postgres":
		stmts = []string{
			`INSERT INTO ltikit_registrations (issuer, client_id, auth_endpoint, key_set_url)
			 SELECT 'https://fill-' || g || '.example', 'client-' || g, 'https://fill-' || g || '.example/auth', 'https://fill-' || g || '.example/jwks'
			 FROM generate_series(1, $1::int) g`,
			`INSERT INTO ltikit_deployments (registration_id, deployment_id)
			 SELECT id, 'deployment-1' FROM ltikit_registrations WHERE issuer LIKE 'https://fill-%'`,
			`INSERT INTO ltikit_login_states (state, nonce, issuer, client_id, target_link_uri, deployment_id, binding, expires_at)
			 SELECT md5('s' || g) || md5('t' || g), md5('n' || g) || md5('o' || g), 'https://fill-' || (g % $2::int + 1) || '.example',
			        'client-' || (g % $2::int + 1), 'https://tool.example/app', '', md5('b' || g),
			        CASE WHEN g % 2 = 0 THEN $3::timestamptz ELSE $4::timestamptz END
			 FROM generate_series(1, $1::int) g`,
			// Settle the tables as a long-running database would be:
			// vacuumed, analyzed, checkpointed (CHECKPOINT needs a
			// privileged role; without one it is skipped).
			`VACUUM ANALYZE ltikit_registrations, ltikit_deployments, ltikit_login_states`,
			`CHECKPOINT`,
		}
		args = [][]any{{regs}, nil, {states, max(regs, 1), past, future}, nil, nil}
	case "sqlite":
		stmts = []string{
			`WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < ?)
			 INSERT INTO ltikit_registrations (issuer, client_id, auth_endpoint, key_set_url)
			 SELECT 'https://fill-' || x || '.example', 'client-' || x, 'https://fill-' || x || '.example/auth', 'https://fill-' || x || '.example/jwks' FROM g`,
			`INSERT INTO ltikit_deployments (registration_id, deployment_id)
			 SELECT id, 'deployment-1' FROM ltikit_registrations WHERE issuer LIKE 'https://fill-%'`,
			`WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < ?)
			 INSERT INTO ltikit_login_states (state, nonce, issuer, client_id, target_link_uri, deployment_id, binding, expires_at)
			 SELECT printf('fill-state-%064d', x), printf('fill-nonce-%064d', x), 'https://fill-' || (x % ? + 1) || '.example',
			        'client-' || (x % ? + 1), 'https://tool.example/app', '', 'b',
			        CASE WHEN x % 2 = 0 THEN ? ELSE ? END
			 FROM g`,
			`ANALYZE`,
			`PRAGMA wal_checkpoint(TRUNCATE)`,
		}
		args = [][]any{{regs}, nil, {states, max(regs, 1), max(regs, 1), past.Format(sqliteTime), future.Format(sqliteTime)}, nil, nil}
	default:
		return fmt.Errorf("fill: dialect %q", dialect)
	}
	if regs <= 0 {
		stmts, args = stmts[2:], args[2:]
	}
	for i, s := range stmts {
		if _, err := db.ExecContext(ctx, s, args[i]...); err != nil {
			if s == "CHECKPOINT" {
				continue
			}
			return fmt.Errorf("fill: %w", err)
		}
	}
	return nil
}

// floorResult is a raw database floor: one insert and one conditional
// consume of a state row, the two writes a launch needs, without the
// adapter, GORM or HTTP.
type floorResult struct {
	Name      string  `json:"name"`
	P50Micros float64 `json:"p50_us"`           // one client, one pair after another
	PairsPerS float64 `json:"pairs_per_s"`      // clients concurrent clients
	Clients   int     `json:"clients"`          // for pairs_per_s
	Error     string  `json:"error,omitempty"`  // the floor could not be measured
	Detail    string  `json:"detail,omitempty"` // how it was measured
}

const floorTable = `CREATE TABLE IF NOT EXISTS ltibench_floor (
	state       TEXT PRIMARY KEY,
	nonce       TEXT NOT NULL,
	expires_at  TIMESTAMPTZ NOT NULL,
	consumed_at TIMESTAMPTZ
)`

// pgxFloor measures the pgx floor on the Postgres that dsn names (with the
// bench schema on its search_path): INSERT a state row, then UPDATE …
// WHERE consumed_at IS NULL AND expires_at > now RETURNING it.
func pgxFloor(ctx context.Context, dsn string, clients int, dur time.Duration) floorResult {
	res := floorResult{Name: "PostgreSQL insert + conditional consume (pgx)", Clients: clients,
		Detail: "INSERT, then UPDATE … WHERE consumed_at IS NULL AND expires_at > $now RETURNING, on one pooled connection each"}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	cfg.MaxConns = int32(max(clients, 1))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, floorTable); err != nil {
		res.Error = err.Error()
		return res
	}
	var seq atomic.Int64
	pair := func(ctx context.Context) error {
		state := "floor-" + strconv.FormatInt(seq.Add(1), 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		now := time.Now()
		if _, err := pool.Exec(ctx, `INSERT INTO ltibench_floor (state, nonce, expires_at) VALUES ($1, $2, $3)`,
			state, "nonce-"+state, now.Add(10*time.Minute)); err != nil {
			return err
		}
		var n string
		return pool.QueryRow(ctx, `UPDATE ltibench_floor SET consumed_at = $1 WHERE state = $2 AND consumed_at IS NULL AND expires_at > $1 RETURNING nonce`,
			now, state).Scan(&n)
	}
	res.P50Micros, res.PairsPerS, err = measurePairs(ctx, pair, clients, dur)
	if err != nil {
		res.Error = err.Error()
	}
	return res
}

// sqlFloor is the same pair through database/sql on a *sql.DB (the SQLite
// pool the adapter uses).
func sqlFloor(ctx context.Context, name string, db *sql.DB, clients int, dur time.Duration) floorResult {
	res := floorResult{Name: name, Clients: clients,
		Detail: "INSERT, then UPDATE … WHERE consumed_at IS NULL AND expires_at > $now RETURNING, through database/sql"}
	if _, err := db.ExecContext(ctx, strings.Replace(floorTable, "TIMESTAMPTZ", "DATETIME", 2)); err != nil {
		res.Error = err.Error()
		return res
	}
	var seq atomic.Int64
	pair := func(ctx context.Context) error {
		state := "floor-" + strconv.FormatInt(seq.Add(1), 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		now := time.Now().UTC()
		if _, err := db.ExecContext(ctx, `INSERT INTO ltibench_floor (state, nonce, expires_at) VALUES (?, ?, ?)`,
			state, "nonce-"+state, now.Add(10*time.Minute).Format(sqliteTime)); err != nil {
			return err
		}
		var n string
		return db.QueryRowContext(ctx, `UPDATE ltibench_floor SET consumed_at = ? WHERE state = ? AND consumed_at IS NULL AND expires_at > ? RETURNING nonce`,
			now.Format(sqliteTime), state, now.Format(sqliteTime)).Scan(&n)
	}
	var err error
	res.P50Micros, res.PairsPerS, err = measurePairs(ctx, pair, clients, dur)
	if err != nil {
		res.Error = err.Error()
	}
	return res
}

// measurePairs runs pair one at a time for dur/2 (its median latency),
// then from clients goroutines for dur/2 (pairs per second).
func measurePairs(ctx context.Context, pair func(context.Context) error, clients int, dur time.Duration) (p50us, perSec float64, err error) {
	for range 20 { // warm the connections and the plan cache
		if err := pair(ctx); err != nil {
			return 0, 0, err
		}
	}
	var lats []time.Duration
	end := time.Now().Add(dur / 2)
	for time.Now().Before(end) || len(lats) < 50 {
		t := time.Now()
		if err := pair(ctx); err != nil {
			return 0, 0, err
		}
		lats = append(lats, time.Since(t))
	}
	slices.Sort(lats)
	p50us = float64(percentile(lats, 50)) / float64(time.Microsecond)

	var (
		n    atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	start := time.Now()
	end = start.Add(dur / 2)
	for range max(clients, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				if err := pair(ctx); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	perSec = float64(n.Load()) / time.Since(start).Seconds()
	return p50us, perSec, errors.Join(errs...)
}
