package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// Short-lived records in the shared database: the sessions the pages after
// a launch read, and the deep linking requests that wait for the user's
// pick. They live in the database, not in the process, so that behind a
// load balancer a follow-up request may reach any node, and a restart
// keeps them. One table holds both kinds:
//
//	CREATE TABLE demo_tool_records (
//	    kind       VARCHAR(16) NOT NULL,  -- "session" or "deeplink"
//	    id         VARCHAR(64) NOT NULL,  -- 128 random bits (crypto/rand.Text)
//	    data       TEXT        NOT NULL,  -- the record as JSON
//	    expires_at BIGINT      NOT NULL,  -- Unix microseconds
//	    PRIMARY KEY (kind, id))
//
// Expired rows are never returned, and are deleted at most once a minute
// by whichever node writes (an index on expires_at keeps that cheap).

const recordsTable = "demo_tool_records"

// recordSweepEvery is how often a node deletes expired records.
const recordSweepEvery = time.Minute

// migrateRecords creates the records table if it does not exist.
func migrateRecords(ctx context.Context, db *gorm.DB) error {
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS ` + recordsTable + ` (
			kind VARCHAR(16) NOT NULL,
			id VARCHAR(64) NOT NULL,
			data TEXT NOT NULL,
			expires_at BIGINT NOT NULL,
			PRIMARY KEY (kind, id))`,
		`CREATE INDEX IF NOT EXISTS ` + recordsTable + `_expires_at ON ` + recordsTable + ` (expires_at)`,
	} {
		if err := db.WithContext(ctx).Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
}

// errRecords wraps every database failure of a record store.
var errRecords = errors.New("demo-tool: session storage unavailable")

// records keeps records of type T (JSON-encodable) of one kind for ttl
// under random ids. It is safe for concurrent use, by any number of nodes
// sharing the database.
type records[T any] struct {
	db        *gorm.DB
	kind      string
	ttl       time.Duration
	now       func() time.Time
	lastSweep atomic.Int64 // Unix microseconds of this node's last sweep
}

func newRecords[T any](db *gorm.DB, kind string, ttl time.Duration) *records[T] {
	return &records[T]{db: db, kind: kind, ttl: ttl, now: time.Now}
}

func (s *records[T]) fail(op string, err error) error {
	return fmt.Errorf("%w: %s %s: %w", errRecords, op, s.kind, err)
}

// put stores v for the store's TTL under a new random id (128 bits) and
// returns the id.
func (s *records[T]) put(ctx context.Context, v T) (string, error) {
	id := rand.Text()
	now := s.now()
	if err := s.insert(ctx, id, v, now.Add(s.ttl)); err != nil {
		return "", err
	}
	s.sweep(ctx, now)
	return id, nil
}

func (s *records[T]) insert(ctx context.Context, id string, v T, expires time.Time) error {
	data, err := json.Marshal(v)
	if err != nil {
		return s.fail("encode", err)
	}
	err = s.db.WithContext(ctx).Exec(`INSERT INTO `+recordsTable+` (kind, id, data, expires_at) VALUES (?, ?, ?, ?)`,
		s.kind, id, string(data), expires.UnixMicro()).Error
	if err != nil {
		return s.fail("put", err)
	}
	return nil
}

// sweep deletes expired records when this node has not for a while. A
// failure is left for the next one: expired rows are never returned.
func (s *records[T]) sweep(ctx context.Context, now time.Time) {
	last := s.lastSweep.Load()
	if now.UnixMicro()-last < recordSweepEvery.Microseconds() || !s.lastSweep.CompareAndSwap(last, now.UnixMicro()) {
		return
	}
	_ = s.db.WithContext(ctx).Exec(`DELETE FROM `+recordsTable+` WHERE expires_at <= ?`, now.UnixMicro()).Error
}

// get returns the record id names, if it exists and has not expired.
func (s *records[T]) get(ctx context.Context, id string) (T, bool, error) {
	var zero T
	rows, err := s.db.WithContext(ctx).Raw(`SELECT data FROM `+recordsTable+` WHERE kind = ? AND id = ? AND expires_at > ?`,
		s.kind, id, s.now().UnixMicro()).Rows()
	if err != nil {
		return zero, false, s.fail("get", err)
	}
	v, _, ok, err := s.scan(rows, false)
	if err != nil {
		return zero, false, s.fail("get", err)
	}
	return v, ok, nil
}

// take deletes the record id names and returns it with its expiry, if it
// has not expired: one conditional DELETE … RETURNING, so of concurrent
// takes of one id, on any node, exactly one succeeds.
func (s *records[T]) take(ctx context.Context, id string) (T, time.Time, bool, error) {
	var zero T
	rows, err := s.db.WithContext(ctx).Raw(`DELETE FROM `+recordsTable+` WHERE kind = ? AND id = ? AND expires_at > ? RETURNING data, expires_at`,
		s.kind, id, s.now().UnixMicro()).Rows()
	if err != nil {
		return zero, time.Time{}, false, s.fail("take", err)
	}
	v, exp, ok, err := s.scan(rows, true)
	if err != nil {
		return zero, time.Time{}, false, s.fail("take", err)
	}
	return v, exp, ok, nil
}

// restore puts back a record take returned, with its id and expiry, after
// the use it was taken for failed.
func (s *records[T]) restore(ctx context.Context, id string, v T, expires time.Time) error {
	return s.insert(ctx, id, v, expires)
}

// scan reads at most one row of (data[, expires_at]) and closes rows.
func (s *records[T]) scan(rows *sql.Rows, withExpiry bool) (T, time.Time, bool, error) {
	var (
		v    T
		data string
		exp  int64
		err  error
	)
	got := rows.Next()
	if got {
		if withExpiry {
			err = rows.Scan(&data, &exp)
		} else {
			err = rows.Scan(&data)
		}
	}
	if err == nil {
		err = rows.Err()
	}
	// Close before anything else: on SQLite the write lock lasts until then.
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil || !got {
		return v, time.Time{}, false, err
	}
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return v, time.Time{}, false, err
	}
	return v, time.UnixMicro(exp), true, nil
}
