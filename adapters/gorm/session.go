package gormadapter

import (
	"context"
	_ "embed"
	"errors"
	"time"

	"github.com/ltikit/ltikit/session"
)

// LaunchSessionsTable holds the launch sessions of package session, one row
// per session ([Adapter.PutSession] and the other [session.Store] methods).
const LaunchSessionsTable = "ltikit_launch_sessions"

// The launch sessions schema as SQL, like the other schema strings.
// [Migrate] and [MigrateLoginTables] run it.
var (
	// PostgresSessionsSQL creates ltikit_launch_sessions on PostgreSQL.
	//
	//go:embed schema/postgres_sessions.sql
	PostgresSessionsSQL string
	// SQLiteSessionsSQL creates ltikit_launch_sessions on SQLite.
	//
	//go:embed schema/sqlite_sessions.sql
	SQLiteSessionsSQL string
)

var _ session.Store = (*Adapter)(nil)

// The statements of the session store; GORM rewrites the placeholders.
const (
	sqlPutSession = "INSERT INTO ltikit_launch_sessions (id, issuer, client_id, deployment_id, subject, claims, csrf, created_at, idle_expires_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
	sqlGetSession = "SELECT issuer, client_id, deployment_id, subject, claims, csrf, created_at, idle_expires_at, expires_at FROM ltikit_launch_sessions WHERE id = ?"
	// sqlTouchSession is the one conditional statement of TouchSession:
	// the new idle expiry is the later of the stored one and the one asked
	// for, capped at expires_at (every row has idle_expires_at <=
	// expires_at, PutSession refuses others), and only a live row is
	// changed. (IS TRUE keeps planners on the primary key, as in
	// sqlConsumeNonce.)
	sqlTouchSession  = "UPDATE ltikit_launch_sessions SET idle_expires_at = CASE WHEN expires_at <= ? THEN expires_at WHEN idle_expires_at >= ? THEN idle_expires_at ELSE ? END WHERE id = ? AND (idle_expires_at > ?) IS TRUE AND (expires_at > ?) IS TRUE"
	sqlSessionReason = "SELECT idle_expires_at, expires_at FROM ltikit_launch_sessions WHERE id = ?"
	sqlDeleteSession = "DELETE FROM ltikit_launch_sessions WHERE id = ?"
	// sqlPurgeSessions deletes sessions past their idle expiry, which is
	// never after their absolute one.
	sqlPurgeSessions = "DELETE FROM ltikit_launch_sessions WHERE id IN (SELECT id FROM ltikit_launch_sessions WHERE idle_expires_at <= ? LIMIT ?)"
)

// PutSession implements [session.Store] with one INSERT … ON CONFLICT DO
// NOTHING. A record that fails [session.Record.Validate], has strings that
// are not UTF-8 or hold NUL, or whose ID is already stored ([ErrDuplicate])
// is refused; every refusal and failure matches lti.ErrStorageUnavailable.
func (a *Adapter) PutSession(ctx context.Context, r session.Record) error {
	if err := ctx.Err(); err != nil {
		return unavailable("put session", err)
	}
	if err := r.Validate(); err != nil {
		return unavailable("put session", err)
	}
	if !usable(r.ID) {
		return unavailable("put session", errors.New("the id must be UTF-8 without NUL"))
	}
	claims := r.Claims
	if claims == nil {
		claims = []byte{}
	}
	res := a.db.WithContext(ctx).Exec(sqlPutSession, r.ID, r.Issuer, r.ClientID, r.DeploymentID, r.Subject,
		claims, r.CSRF, a.ts(r.CreatedAt), a.ts(r.IdleExpiresAt), a.ts(r.ExpiresAt))
	if res.Error != nil {
		return unavailable("put session", res.Error)
	}
	if res.RowsAffected == 0 {
		return unavailable("put session", ErrDuplicate)
	}
	return nil
}

// GetSession implements [session.Store] with one primary-key read; expiry
// is judged with the adapter's clock ([WithClock]).
func (a *Adapter) GetSession(ctx context.Context, id string) (session.Record, error) {
	if err := ctx.Err(); err != nil {
		return session.Record{}, unavailable("get session", err)
	}
	if !usable(id) {
		return session.Record{}, session.ErrNotFound
	}
	now := a.clock()
	rows, err := a.db.WithContext(ctx).Raw(sqlGetSession, id).Rows()
	if err != nil {
		return session.Record{}, unavailable("get session", err)
	}
	r := session.Record{ID: id}
	var created, idle, exp dbTime
	got := rows.Next()
	if got {
		err = rows.Scan(&r.Issuer, &r.ClientID, &r.DeploymentID, &r.Subject, &r.Claims, &r.CSRF, &created, &idle, &exp)
	}
	if err == nil {
		err = rows.Err()
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return session.Record{}, unavailable("get session", err)
	case !got:
		return session.Record{}, session.ErrNotFound
	}
	r.CreatedAt, r.IdleExpiresAt, r.ExpiresAt = created.t, idle.t, exp.t
	if r.Expired(now) {
		return session.Record{}, session.ErrExpired
	}
	return r, nil
}

// TouchSession implements [session.Store] with one conditional UPDATE, so
// concurrent touches on any node leave the latest time and none revives an
// expired or deleted row. A zero-row result is read back once for the
// reason: session.ErrNotFound or session.ErrExpired.
func (a *Adapter) TouchSession(ctx context.Context, id string, idleUntil time.Time) error {
	if err := ctx.Err(); err != nil {
		return unavailable("touch session", err)
	}
	if !usable(id) {
		return session.ErrNotFound
	}
	now, until := a.ts(a.clock()), a.ts(idleUntil)
	res := a.db.WithContext(ctx).Exec(sqlTouchSession, until, until, until, id, now, now)
	if res.Error != nil {
		return unavailable("touch session", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	idle, exp, got, err := a.readTimes(ctx, sqlSessionReason, id)
	switch {
	case err != nil:
		return unavailable("touch session", err)
	case !got:
		return session.ErrNotFound
	case (session.Record{IdleExpiresAt: idle.t, ExpiresAt: exp.t}).Expired(a.clock()):
		return session.ErrExpired
	default:
		// Live now but not matched a moment ago: only a clock that went
		// backwards does that. Refuse as a failure rather than guess.
		return unavailable("touch session", errors.New("row neither touched nor expired"))
	}
}

// DeleteSession implements [session.Store] with one DELETE; deleting an
// unknown id is not an error. The database serialises it with reads and
// touches on every node, so once it returns no node finds the session.
func (a *Adapter) DeleteSession(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return unavailable("delete session", err)
	}
	if !usable(id) {
		return nil
	}
	if err := a.db.WithContext(ctx).Exec(sqlDeleteSession, id).Error; err != nil {
		return unavailable("delete session", err)
	}
	return nil
}
