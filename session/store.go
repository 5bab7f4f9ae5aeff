package session

import (
	"context"
	"errors"
	"time"

	"github.com/ltikit/ltikit/lti"
)

// Record is one stored launch session: what the pages after a launch need
// to rebuild it, and when it ends. The token the browser holds is never
// stored; ID is derived from it ([IDOf]).
type Record struct {
	// ID is the store key: the SHA-256 of the session token, base64url
	// encoded without padding (43 characters). Whoever reads the store
	// learns no usable token.
	ID string
	// Issuer is the issuer of the registration the launch came through.
	Issuer string
	// ClientID is the client_id of that registration.
	ClientID string
	// DeploymentID is the launch's deployment_id.
	DeploymentID string
	// Subject is the launch's sub, empty for an anonymous launch.
	Subject string
	// Claims is the id_token payload the launch verified
	// (launch.Launch.RawClaims), kept byte for byte. Stores treat it as
	// opaque bytes: it need not be valid UTF-8.
	Claims []byte
	// CSRF is a random value of this session, which forms and scripts
	// send back (CSRFFieldName, CSRFHeader) on requests that the session
	// cookie alone would authenticate.
	CSRF string
	// CreatedAt is when the launch started the session.
	CreatedAt time.Time
	// IdleExpiresAt is when the session ends unless it is used: the idle
	// expiry, moved forward by TouchSession, never past ExpiresAt.
	IdleExpiresAt time.Time
	// ExpiresAt is when the session ends however busy it is: the absolute
	// expiry, fixed at the launch.
	ExpiresAt time.Time
}

// Validate reports whether r can be stored: ID, IdleExpiresAt and
// ExpiresAt set, and IdleExpiresAt not after ExpiresAt. Stores call it in
// PutSession.
func (r Record) Validate() error {
	switch {
	case r.ID == "":
		return errors.New("session: record without ID")
	case r.ExpiresAt.IsZero():
		return errors.New("session: record without ExpiresAt")
	case r.IdleExpiresAt.IsZero():
		return errors.New("session: record without IdleExpiresAt")
	case r.IdleExpiresAt.After(r.ExpiresAt):
		return errors.New("session: record's IdleExpiresAt is after its ExpiresAt")
	}
	return nil
}

// Expired reports whether r is unusable at now: now is at or past its
// IdleExpiresAt or its ExpiresAt. A session is usable strictly before both.
func (r Record) Expired(now time.Time) bool {
	return !now.Before(r.IdleExpiresAt) || !now.Before(r.ExpiresAt)
}

// Errors a Store returns for a refused id, matched by identity with
// errors.Is; their code is no_session, and the Manager answers
// [ErrNoSession]. Any other error means the store failed; the Manager then
// answers storage_unavailable.
var (
	// ErrNotFound: no session has this id (never stored, deleted, or
	// purged after it expired).
	ErrNotFound = lti.NewSentinel(lti.CodeNoSession, "session: not found")
	// ErrExpired: the session is past its IdleExpiresAt or ExpiresAt and
	// has not been purged yet.
	ErrExpired = lti.NewSentinel(lti.CodeNoSession, "session: expired")
)

// Store keeps launch sessions. Implementations must be safe for concurrent
// use, and across processes when they share a database; package
// session/sessiontest is the conformance suite every implementation runs.
//
// Contract shared by every method: expiry is judged with the store's own
// clock, strictly (a record is live before its IdleExpiresAt and its
// ExpiresAt, expired at them), at second precision or finer; a cancelled or
// expired ctx makes the method return an error that is neither ErrNotFound
// nor ErrExpired (a storage failure, not a verdict on the session), and
// change nothing.
type Store interface {
	// PutSession stores r under r.ID. A record that fails
	// [Record.Validate] (no ID, no ExpiresAt or IdleExpiresAt, idle expiry
	// after the absolute one) is an error, and so is an ID that is already
	// stored, expired or not: records are never overwritten. It is one
	// write.
	PutSession(ctx context.Context, r Record) error
	// GetSession returns the record stored under id. An unknown id is
	// ErrNotFound; a record past its IdleExpiresAt or ExpiresAt is
	// ErrExpired (or ErrNotFound once purged). On any error the Record is
	// the zero value. The returned Claims are the caller's to keep.
	GetSession(ctx context.Context, id string) (Record, error)
	// TouchSession moves the IdleExpiresAt of the live record id forward
	// to idleUntil, or to its ExpiresAt if idleUntil is later; an
	// idleUntil not after the current IdleExpiresAt changes nothing and is
	// not an error. The check and the change are one atomic operation:
	// concurrent touches leave the latest of their times, and a touch never
	// revives a record that expired or was deleted. An unknown id is
	// ErrNotFound, an expired record ErrExpired (or ErrNotFound).
	TouchSession(ctx context.Context, id string, idleUntil time.Time) error
	// DeleteSession removes the record id, live or expired, so that every
	// later GetSession and TouchSession, on any node, is ErrNotFound.
	// Deleting an unknown id is not an error.
	DeleteSession(ctx context.Context, id string) error
}
