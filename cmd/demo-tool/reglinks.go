package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// One-time registration links: what lets an LMS administrator register the
// tool through LTI Dynamic Registration without opening registration to
// everyone. 'demo-tool registration link' mints a token and prints the
// link <base-url>/lti/register/<token>; the first registration that comes
// with the token, before it expires, uses it up. Only the token's SHA-256
// is stored, so the database never holds a usable link:
//
//	CREATE TABLE demo_tool_registration_links (
//	    token_hash CHAR(64)    PRIMARY KEY,  -- hex SHA-256 of the token
//	    note       VARCHAR(200) NOT NULL,    -- the admin's label, for 'registration links'
//	    created_at BIGINT      NOT NULL,     -- Unix microseconds
//	    expires_at BIGINT      NOT NULL,
//	    used_at    BIGINT)                   -- NULL until used
//
// Using a link is one conditional UPDATE, so of any number of registrations
// presenting one token at once, on any number of nodes, exactly one gets it.

const regLinksTable = "demo_tool_registration_links"

// Bounds of a registration link.
const (
	defaultLinkTTL = 24 * time.Hour
	maxLinkTTL     = 30 * 24 * time.Hour
	maxLinkNote    = 200
	// linkTokenLen is the length of a token (crypto/rand.Text).
	linkTokenLen = 26
)

// errNoLink means a token is unknown, used or expired: the three are not
// told apart, so a guess learns nothing.
var errNoLink = errors.New("the registration link is unknown, used or expired")

// migrateRegLinks creates the links table if it does not exist.
func migrateRegLinks(ctx context.Context, db *gorm.DB) error {
	return db.WithContext(ctx).Exec(`CREATE TABLE IF NOT EXISTS ` + regLinksTable + ` (
		token_hash CHAR(64) PRIMARY KEY,
		note VARCHAR(200) NOT NULL,
		created_at BIGINT NOT NULL,
		expires_at BIGINT NOT NULL,
		used_at BIGINT)`).Error
}

// regLinks keeps the one-time registration links. Safe for concurrent use
// by any number of nodes sharing the database.
type regLinks struct {
	db  *gorm.DB
	now func() time.Time
}

func newRegLinks(db *gorm.DB) *regLinks { return &regLinks{db: db, now: time.Now} }

func hashLinkToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// create mints a link token valid for ttl and returns it. The token itself
// is shown once, to the caller.
func (l *regLinks) create(ctx context.Context, ttl time.Duration, note string) (string, time.Time, error) {
	token := rand.Text() // 26 base32 characters: 130 bits from crypto/rand
	now := l.now()
	expires := now.Add(ttl)
	err := l.db.WithContext(ctx).Exec(`INSERT INTO `+regLinksTable+` (token_hash, note, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		hashLinkToken(token), note, now.UnixMicro(), expires.UnixMicro()).Error
	if err != nil {
		return "", time.Time{}, fmt.Errorf("storing the registration link: %w", err)
	}
	return token, expires, nil
}

// use spends token: nil for the one caller that gets it, errNoLink for an
// unknown, used or expired token (and for every other concurrent caller).
func (l *regLinks) use(ctx context.Context, token string) error {
	if len(token) != linkTokenLen {
		return errNoLink
	}
	now := l.now().UnixMicro()
	res := l.db.WithContext(ctx).Exec(`UPDATE `+regLinksTable+` SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`,
		now, hashLinkToken(token), now)
	if res.Error != nil {
		return fmt.Errorf("reading the registration link: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return errNoLink
	}
	return nil
}

// check reports whether token is a usable link (errNoLink if not) without
// spending it: the registration checks the link before it fetches
// anything, and spends it (use) only once it is approved.
func (l *regLinks) check(ctx context.Context, token string) error {
	if len(token) != linkTokenLen {
		return errNoLink
	}
	var n int64
	err := l.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM `+regLinksTable+` WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`,
		hashLinkToken(token), l.now().UnixMicro()).Scan(&n).Error
	if err != nil {
		return fmt.Errorf("reading the registration link: %w", err)
	}
	if n != 1 {
		return errNoLink
	}
	return nil
}

// regLinkRow is one link as 'registration links' lists it.
type regLinkRow struct {
	Note      string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// list returns the links, newest first (tokens are not stored, so not shown).
func (l *regLinks) list(ctx context.Context) ([]regLinkRow, error) {
	var rows []struct {
		Note      string
		CreatedAt int64
		ExpiresAt int64
		UsedAt    *int64
	}
	err := l.db.WithContext(ctx).Raw(`SELECT note, created_at, expires_at, used_at FROM ` + regLinksTable + ` ORDER BY created_at DESC`).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("listing the registration links: %w", err)
	}
	out := make([]regLinkRow, 0, len(rows))
	for _, r := range rows {
		row := regLinkRow{Note: r.Note, CreatedAt: time.UnixMicro(r.CreatedAt).UTC(), ExpiresAt: time.UnixMicro(r.ExpiresAt).UTC()}
		if r.UsedAt != nil {
			t := time.UnixMicro(*r.UsedAt).UTC()
			row.UsedAt = &t
		}
		out = append(out, row)
	}
	return out, nil
}
