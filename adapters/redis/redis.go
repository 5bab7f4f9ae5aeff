package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/session"
)

// Compile-time checks.
var (
	_ nonce.StateStore = (*Store)(nil)
	_ nonce.Store      = (*Store)(nil)
	_ nonce.Carrier    = (*Store)(nil)
	_ session.Store    = (*Store)(nil)
)

// Errors of the Put methods and of values the Store cannot read, matched by
// identity with errors.Is. They reach callers wrapped in an lti
// storage_unavailable error, so errors.Is(err, lti.ErrStorageUnavailable)
// holds for them as well and the launch fails closed.
var (
	// ErrDuplicate means PutState, PutNonce or PutSession was given a key
	// that is already stored; stored values are never overwritten. Its
	// code is already_exists.
	ErrDuplicate = lti.NewSentinel(lti.CodeAlreadyExists, "redisadapter: value already stored")
	// ErrCorrupt means a key under the Store's prefix holds a value this
	// package did not write (another program shares the prefix, or the
	// value was edited by hand). The value is refused, never guessed at.
	ErrCorrupt = lti.NewSentinel(lti.CodeStorageUnavailable, "redisadapter: stored value is not a record of this adapter")
)

// Defaults of a Store.
const (
	// DefaultPrefix starts every key the Store writes.
	DefaultPrefix = "ltikit:"
	// DefaultLinger is how long a record stays in Redis past its expiry
	// unless [WithLinger] says otherwise.
	DefaultLinger = time.Minute
)

// Store keeps login states, nonces and launch sessions in Redis. Create it
// with [New]; the zero value is not usable. A Store is safe for concurrent
// use, also by many processes sharing one Redis: every operation is one
// command or one script on one key, which Redis runs atomically.
type Store struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
	linger time.Duration
}

// Option configures a [Store].
type Option func(*Store)

// WithPrefix sets the string every key starts with (default
// [DefaultPrefix]), so several tools, or several test runs, share one
// Redis without meeting. A prefix holding a hash tag ("{ltikit}:") puts
// every key in one Redis Cluster slot, on one node; without one, keys
// spread over the cluster.
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// WithClock sets the clock that judges expiry (default time.Now). The time
// is the caller's, passed to Redis as an argument, never Redis's own, so
// every node judges alike.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// WithLinger sets how long a record stays in Redis past its expiry
// (default [DefaultLinger]; at least a second): a take or a read in that
// time is told expired rather than not found, and clocks of the nodes and
// of Redis may differ by up to that much without a record vanishing before
// the node's clock says it expired. A non-positive d is ignored.
func WithLinger(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.linger = max(d, time.Second)
		}
	}
}

// New returns a Store on client, which may be a *redis.Client (one server,
// or Sentinel through redis.NewFailoverClient), a *redis.ClusterClient or
// any other redis.UniversalClient. It checks that Redis answers (PING), so
// a wrong address is an error here, wrapping lti.ErrStorageUnavailable,
// rather than a failed launch later. The Store does not own the client:
// the caller closes it after the last use.
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisadapter: nil client")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	s := &Store{client: client, prefix: DefaultPrefix, now: time.Now, linger: DefaultLinger}
	for _, o := range opts {
		o(s)
	}
	if err := s.Ping(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Ping checks that Redis answers, for health checks. A failure wraps
// lti.ErrStorageUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// Client returns the client the Store was made with.
func (s *Store) Client() redis.UniversalClient { return s.client }

// Key names. Each operation touches exactly one key, so every command and
// script runs on the one Redis Cluster node that owns it.
const (
	stateSpace   = "state:"
	nonceSpace   = "nonce:"
	sessionSpace = "session:"
)

// StateKey, NonceKey and SessionKey return the Redis key of a login state,
// a nonce and a launch session: the prefix, "state:", "nonce:" or
// "session:", and the value itself.
func (s *Store) StateKey(state string) string { return s.prefix + stateSpace + state }

// NonceKey returns the Redis key of a nonce (see [Store.StateKey]).
func (s *Store) NonceKey(value string) string { return s.prefix + nonceSpace + value }

// SessionKey returns the Redis key of a launch session (see
// [Store.StateKey]).
func (s *Store) SessionKey(id string) string { return s.prefix + sessionSpace + id }

// unavailable wraps a Redis failure as storage_unavailable.
func unavailable(op string, err error) error {
	return lti.ErrStorageUnavailable.WithCause(fmt.Errorf("redisadapter: %s: %w", op, err))
}

// ttl is how long Redis keeps a record that expires at exp: until then
// plus the linger, and at least the linger (a record put already expired
// is kept that long, so a take reports it expired).
func (s *Store) ttl(now, exp time.Time) time.Duration {
	return max(exp.Sub(now), 0) + s.linger
}

// CarriesNonce reports true: the state record keeps the nonce, and
// [Store.TakeState] takes both in one GETDEL, so a launch costs one SET and
// one GETDEL.
func (s *Store) CarriesNonce() bool { return true }

// PutState stores l under l.State until l.ExpiresAt with one SET … NX PX.
// l.State must be non-empty and l.ExpiresAt set. A state already stored
// is refused with [ErrDuplicate]; so is a state taken a moment ago that
// Redis still holds, and every refusal and failure matches
// lti.ErrStorageUnavailable.
func (s *Store) PutState(ctx context.Context, l nonce.Login) error {
	if err := ctx.Err(); err != nil {
		return unavailable("put state", err)
	}
	switch {
	case l.State == "":
		return unavailable("put state", errors.New("state is empty"))
	case l.ExpiresAt.IsZero():
		return unavailable("put state", errors.New("no expiry"))
	}
	return s.putNX(ctx, "put state", s.StateKey(l.State), encodeLogin(l), l.ExpiresAt)
}

// putNX stores val under key with SET … NX PX. A key already stored is
// ErrDuplicate, except when it holds val itself: the client retried a SET
// whose answer was lost on the network, and the first one stored it (the
// values are random and 256 bits strong, so nobody else writes the same).
func (s *Store) putNX(ctx context.Context, op, key string, val []byte, exp time.Time) error {
	ok, err := s.client.SetNX(ctx, key, val, s.ttl(s.now(), exp)).Result()
	if err != nil {
		return unavailable(op, err)
	}
	if ok {
		return nil
	}
	got, err := s.client.Get(ctx, key).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return unavailable(op, ErrDuplicate)
	case err != nil:
		return unavailable(op, err)
	case got == string(val):
		return nil
	}
	return unavailable(op, ErrDuplicate)
}

// TakeState takes the login record for state with one GETDEL: Redis runs
// it atomically, so exactly one of any number of concurrent callers, on
// any node, gets the record, and it is gone for everyone after. An
// unknown or already taken state is nonce.ErrNotFound; a record past its
// ExpiresAt (by the Store's clock) is nonce.ErrExpired, and taken all the
// same. On any error the Login is the zero value.
func (s *Store) TakeState(ctx context.Context, state string) (nonce.Login, error) {
	if err := ctx.Err(); err != nil {
		return nonce.Login{}, unavailable("take state", err)
	}
	if state == "" {
		return nonce.Login{}, nonce.ErrNotFound
	}
	raw, err := s.client.GetDel(ctx, s.StateKey(state)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nonce.Login{}, nonce.ErrNotFound
	case err != nil:
		return nonce.Login{}, unavailable("take state", err)
	}
	l, ok := decodeLogin(raw)
	if !ok {
		return nonce.Login{}, unavailable("take state", ErrCorrupt)
	}
	if !s.now().Before(l.ExpiresAt) {
		return nonce.Login{}, nonce.ErrExpired
	}
	l.State = state
	return l, nil
}

// PutNonce stores n until n.ExpiresAt with one SET … NX PX. n.Value must
// be non-empty and n.ExpiresAt set; a value already stored is refused with
// [ErrDuplicate]. The launch pipeline does not need it with this Store
// (the state carries the nonce); it is here for hosts that combine stores.
func (s *Store) PutNonce(ctx context.Context, n nonce.Nonce) error {
	if err := ctx.Err(); err != nil {
		return unavailable("put nonce", err)
	}
	switch {
	case n.Value == "":
		return unavailable("put nonce", errors.New("value is empty"))
	case n.ExpiresAt.IsZero():
		return unavailable("put nonce", errors.New("no expiry"))
	}
	return s.putNX(ctx, "put nonce", s.NonceKey(n.Value), encodeNonce(n), n.ExpiresAt)
}

// consumeScript checks and marks a nonce in one step. KEYS[1] is the
// nonce's key, ARGV[1] the owner (issuer and client_id, encoded as
// encodeNonce does) and ARGV[2] the caller's clock in Unix microseconds.
// The stored value is a status byte (l: live, u: used), the expiry in
// Unix microseconds, a newline and the owner. It answers 1 when it
// consumed the nonce, 0 for unknown or another registration's (left
// untouched), 2 for used, 3 for expired, -1 for a value it cannot read.
// The mark keeps the key's time to live (KEEPTTL).
var consumeScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local sep = string.find(v, '\n', 1, true)
if not sep then return -1 end
local exp = tonumber(string.sub(v, 2, sep - 1))
if not exp then return -1 end
if string.sub(v, sep + 1) ~= ARGV[1] then return 0 end
local status = string.sub(v, 1, 1)
if status == 'u' then return 2 end
if status ~= 'l' then return -1 end
if tonumber(ARGV[2]) >= exp then return 3 end
redis.call('SET', KEYS[1], 'u' .. string.sub(v, 2), 'KEEPTTL')
return 1
`)

// ConsumeNonce consumes the nonce value issued to (issuer, clientID) with
// one script that checks and marks it: exactly one of any number of
// concurrent callers succeeds. Unknown, or issued to another registration
// (then left untouched), is nonce.ErrNotFound; past its expiry
// nonce.ErrExpired; already consumed nonce.ErrConsumed. Consumed nonces
// stay marked until Redis drops them, after their expiry.
func (s *Store) ConsumeNonce(ctx context.Context, value, issuer, clientID string) error {
	if err := ctx.Err(); err != nil {
		return unavailable("consume nonce", err)
	}
	if value == "" {
		return nonce.ErrNotFound
	}
	res, err := consumeScript.Run(ctx, s.client, []string{s.NonceKey(value)},
		nonceOwner(issuer, clientID), s.now().UnixMicro()).Int()
	if err != nil {
		return unavailable("consume nonce", err)
	}
	switch res {
	case 1:
		return nil
	case 0:
		return nonce.ErrNotFound
	case 2:
		return nonce.ErrConsumed
	case 3:
		return nonce.ErrExpired
	}
	return unavailable("consume nonce", ErrCorrupt)
}
