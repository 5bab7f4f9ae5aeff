package sqladapter

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ltikit/ltikit/nonce"
)

// The statements of the single-use values. Each put is one INSERT that
// never overwrites; each take is one statement that both finds and uses
// the row, so no second caller can slip in between a read and a write.
const (
	sqlPutState = `INSERT INTO lti_login_states (state, nonce, issuer, client_id, target_link_uri, deployment_id, binding, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (state) DO NOTHING`
	sqlTakeState = `DELETE FROM lti_login_states WHERE state = $1
		RETURNING nonce, issuer, client_id, target_link_uri, deployment_id, binding, expires_at`
	sqlPutNonce = `INSERT INTO lti_nonces (nonce, issuer, client_id, expires_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (nonce) DO NOTHING`
	sqlConsumeNonce = `UPDATE lti_nonces SET consumed = true
		WHERE nonce = $1 AND issuer = $2 AND client_id = $3 AND NOT consumed
		RETURNING expires_at`
	sqlNonceConsumed = "SELECT consumed FROM lti_nonces WHERE nonce = $1 AND issuer = $2 AND client_id = $3"
	// The purges delete in batches, so that no statement holds many row
	// locks for long.
	sqlPurgeStates = `DELETE FROM lti_login_states WHERE state IN
		(SELECT state FROM lti_login_states WHERE expires_at <= $1 LIMIT $2)`
	sqlPurgeNonces = `DELETE FROM lti_nonces WHERE nonce IN
		(SELECT nonce FROM lti_nonces WHERE expires_at <= $1 LIMIT $2)`
)

// CarriesNonce reports true: the state row keeps the Login's nonce, and
// TakeState takes both at once, so the launch pipeline needs no nonce
// Store with this adapter (nonce.Carrier).
func (s *Store) CarriesNonce() bool { return true }

// PutState stores l until l.ExpiresAt with INSERT … ON CONFLICT DO
// NOTHING. A state already stored is never overwritten: no row is
// affected, and PutState fails with [ErrDuplicate]. A Login without
// ExpiresAt, or with a field PostgreSQL cannot store, is refused before
// any statement.
func (s *Store) PutState(ctx context.Context, l nonce.Login) error {
	if l.ExpiresAt.IsZero() {
		return unavailable("put state", errors.New("the login record has no ExpiresAt"))
	}
	for _, f := range [...]string{l.State, l.Nonce, l.Issuer, l.ClientID} {
		if !usable(f) {
			return unavailable("put state", errors.New("state, nonce, issuer and client_id must be non-empty UTF-8 without NUL"))
		}
	}
	res, err := s.db.ExecContext(ctx, sqlPutState, l.State, l.Nonce, l.Issuer, l.ClientID,
		l.TargetLinkURI, l.DeploymentID, l.Binding, l.ExpiresAt.UTC())
	return inserted("put state", res, err)
}

// TakeState deletes the row of state and returns it, in one DELETE …
// RETURNING: of any number of concurrent callers on any number of nodes,
// the database lets exactly one delete it. No row is nonce.ErrNotFound
// (unknown, or taken already); a row past its expiry is nonce.ErrExpired,
// and is gone too. A refusal returns the zero Login.
func (s *Store) TakeState(ctx context.Context, state string) (nonce.Login, error) {
	if !usable(state) {
		return nonce.Login{}, nonce.ErrNotFound
	}
	now := s.now()
	l := nonce.Login{State: state}
	err := s.db.QueryRowContext(ctx, sqlTakeState, state).
		Scan(&l.Nonce, &l.Issuer, &l.ClientID, &l.TargetLinkURI, &l.DeploymentID, &l.Binding, &l.ExpiresAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nonce.Login{}, nonce.ErrNotFound
	case err != nil:
		// A cancelled context lands here too: a failure, not a refusal.
		return nonce.Login{}, unavailable("take state", err)
	case !l.ExpiresAt.After(now):
		// Refused even though the sweeper has not purged it yet.
		return nonce.Login{}, nonce.ErrExpired
	}
	l.ExpiresAt = l.ExpiresAt.UTC()
	return l, nil
}

// PutNonce stores n until n.ExpiresAt with INSERT … ON CONFLICT DO
// NOTHING; a value already stored, consumed or not, fails with
// [ErrDuplicate] and changes nothing.
func (s *Store) PutNonce(ctx context.Context, n nonce.Nonce) error {
	if n.ExpiresAt.IsZero() {
		return unavailable("put nonce", errors.New("the nonce has no ExpiresAt"))
	}
	for _, f := range [...]string{n.Value, n.Issuer, n.ClientID} {
		if !usable(f) {
			return unavailable("put nonce", errors.New("value, issuer and client_id must be non-empty UTF-8 without NUL"))
		}
	}
	res, err := s.db.ExecContext(ctx, sqlPutNonce, n.Value, n.Issuer, n.ClientID, n.ExpiresAt.UTC())
	return inserted("put nonce", res, err)
}

// ConsumeNonce marks the nonce value of (issuer, clientID) consumed with
// one conditional UPDATE … RETURNING: exactly one of any number of
// concurrent callers matches the row while it is unconsumed. A nonce past
// its expiry is nonce.ErrExpired. When nothing matched, one more read says
// why: a consumed row is nonce.ErrConsumed, no row for this registration
// nonce.ErrNotFound. Consumed rows stay until they expire, so a replay is
// reported as already used.
func (s *Store) ConsumeNonce(ctx context.Context, value, issuer, clientID string) error {
	if !usable(value) || !usable(issuer) || !usable(clientID) {
		return nonce.ErrNotFound
	}
	now := s.now()
	var exp time.Time
	err := s.db.QueryRowContext(ctx, sqlConsumeNonce, value, issuer, clientID).Scan(&exp)
	switch {
	case err == nil && !exp.After(now):
		return nonce.ErrExpired
	case err == nil:
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return unavailable("consume nonce", err)
	}
	// Nothing matched. The read only explains the refusal: the UPDATE has
	// decided already, and every answer below refuses.
	var consumed bool
	err = s.db.QueryRowContext(ctx, sqlNonceConsumed, value, issuer, clientID).Scan(&consumed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nonce.ErrNotFound
	case err != nil:
		return unavailable("consume nonce", err)
	case consumed:
		return nonce.ErrConsumed
	default:
		// Stored after the UPDATE looked: it was not there to consume.
		return nonce.ErrNotFound
	}
}

// inserted checks the result of an INSERT … ON CONFLICT DO NOTHING: one
// row, or the value was there already.
func inserted(op string, res sql.Result, err error) error {
	if err != nil {
		return unavailable(op, err)
	}
	n, err := res.RowsAffected()
	switch {
	case err != nil:
		return unavailable(op, err)
	case n != 1:
		return unavailable(op, ErrDuplicate)
	}
	return nil
}

// purgeBatch is how many rows one DELETE of PurgeExpired removes.
const purgeBatch = 5000

// PurgeExpired deletes the login states and nonces whose expiry has passed
// (taken, consumed or not) and returns how many rows it deleted. Run it
// every few minutes from one node or all (it is safe to run at once on
// several); launches never depend on it. A database failure wraps
// lti.ErrStorageUnavailable, with the count deleted before it.
func (s *Store) PurgeExpired(ctx context.Context) (int64, error) {
	now := s.now().UTC()
	var total int64
	for _, q := range [...]string{sqlPurgeStates, sqlPurgeNonces} {
		for {
			res, err := s.db.ExecContext(ctx, q, now, purgeBatch)
			if err != nil {
				return total, unavailable("purge expired", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return total, unavailable("purge expired", err)
			}
			total += n
			if n < purgeBatch {
				break
			}
		}
	}
	return total, nil
}
