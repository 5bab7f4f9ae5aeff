package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// Single-use marks in the shared database: what makes an action happen at
// most once across every node and restart, such as the answer to a deep
// linking request (deeplinking.go). A mark is a row; the first claim of an
// id inserts it, and every later claim of that id, on any node, finds it
// and fails, until the row expires. The table:
//
//	CREATE TABLE demo_tool_records (
//	    kind       VARCHAR(16) NOT NULL,  -- what is marked, e.g. "dl-answer"
//	    id         VARCHAR(64) NOT NULL,  -- the marked thing's id
//	    data       TEXT        NOT NULL,  -- unused by marks: ''
//	    expires_at BIGINT      NOT NULL,  -- Unix microseconds
//	    PRIMARY KEY (kind, id))
//
// (Its data column is from earlier versions, which kept their own
// sessions here; package session keeps them now, in
// ltikit_launch_sessions. Rows of those versions expire and are swept.)
// Expired rows count as absent, and are deleted at most once a minute by
// whichever node writes (an index on expires_at keeps that cheap).

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

// errRecords wraps every database failure of a marks store.
var errRecords = errors.New("demo-tool: record storage unavailable")

// maxMarkID bounds a mark's id: the column's width.
const maxMarkID = 64

// marks keeps single-use marks of one kind for ttl. It is safe for
// concurrent use, by any number of nodes sharing the database.
type marks struct {
	db        *gorm.DB
	kind      string
	ttl       time.Duration
	now       func() time.Time
	lastSweep atomic.Int64 // Unix microseconds of this node's last sweep
}

func newMarks(db *gorm.DB, kind string, ttl time.Duration) *marks {
	return &marks{db: db, kind: kind, ttl: ttl, now: time.Now}
}

func (m *marks) fail(op string, err error) error {
	return fmt.Errorf("%w: %s %s: %w", errRecords, op, m.kind, err)
}

// sqlClaimMark inserts a mark, or takes over the row of an expired one:
// one statement, so of concurrent claims of one id, on any node, exactly
// one changes a row. (SQLite and PostgreSQL both have this upsert.)
const sqlClaimMark = `INSERT INTO ` + recordsTable + ` (kind, id, data, expires_at) VALUES (?, ?, '', ?)
	ON CONFLICT (kind, id) DO UPDATE SET expires_at = excluded.expires_at WHERE ` + recordsTable + `.expires_at <= ?`

// claim marks id for the store's TTL and reports whether this call did: false
// when id is marked already (and the mark has not expired). An id longer
// than the column is an error.
func (m *marks) claim(ctx context.Context, id string) (bool, error) {
	if id == "" || len(id) > maxMarkID {
		return false, m.fail("claim", errors.New("id empty or too long"))
	}
	now := m.now()
	res := m.db.WithContext(ctx).Exec(sqlClaimMark, m.kind, id, now.Add(m.ttl).UnixMicro(), now.UnixMicro())
	if res.Error != nil {
		return false, m.fail("claim", res.Error)
	}
	m.sweep(ctx, now)
	return res.RowsAffected == 1, nil
}

// release removes the mark of id, after the action it was claimed for
// failed: the next claim succeeds.
func (m *marks) release(ctx context.Context, id string) error {
	if err := m.db.WithContext(ctx).Exec(`DELETE FROM `+recordsTable+` WHERE kind = ? AND id = ?`, m.kind, id).Error; err != nil {
		return m.fail("release", err)
	}
	return nil
}

// sweep deletes expired records when this node has not for a while. A
// failure is left for the next one: expired rows count as absent.
func (m *marks) sweep(ctx context.Context, now time.Time) {
	last := m.lastSweep.Load()
	if now.UnixMicro()-last < recordSweepEvery.Microseconds() || !m.lastSweep.CompareAndSwap(last, now.UnixMicro()) {
		return
	}
	_ = m.db.WithContext(ctx).Exec(`DELETE FROM `+recordsTable+` WHERE expires_at <= ?`, now.UnixMicro()).Error
}
