package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	redisadapter "github.com/ltikit/ltikit/adapters/redis"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/session"
)

// --state-store (LTIKIT_STATE_STORE) puts the values a launch writes and
// takes again, the login states with their nonces and the launch
// sessions, in Redis; platforms, deployments, the tool's keys and the
// answered deep linking requests stay in --db. Empty: everything in --db.

// stateStoreSchemes are the URL schemes --state-store takes: redis:// and,
// with TLS, rediss:// (go-redis's ParseURL).
var stateStoreSchemes = []string{"redis", "rediss"}

// prefixParam is the query parameter of --state-store that sets the key
// prefix (redisadapter.WithPrefix; default "ltikit:"), so several tools
// share one Redis. go-redis does not know it: it is taken out first.
const prefixParam = "prefix"

// splitStateStore takes the prefix parameter out of a --state-store URL.
func splitStateStore(raw string) (redisURL, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", err
	}
	q := u.Query()
	if !q.Has(prefixParam) {
		return raw, redisadapter.DefaultPrefix, nil
	}
	prefix = q.Get(prefixParam)
	q.Del(prefixParam)
	u.RawQuery = q.Encode()
	return u.String(), prefix, nil
}

// checkStateStore checks a --state-store value; what names the flag or
// environment variable it came from. The password is never shown.
func checkStateStore(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return usagef("%s: want a redis:// or rediss:// URL, like redis://127.0.0.1:6379/0", show(what, redactDSN(raw)))
	}
	scheme := strings.ToLower(u.Scheme)
	known := false
	for _, s := range stateStoreSchemes {
		known = known || scheme == s
	}
	if !known {
		return usagef("%s: unknown scheme %q: want redis:// or rediss:// (Redis), like redis://127.0.0.1:6379/0", show(what, redactDSN(raw)), u.Scheme)
	}
	redisURL, _, _ := splitStateStore(raw)
	if _, err := redis.ParseURL(redisURL); err != nil {
		return usagef("%s is not a usable Redis URL: %s", show(what, redactDSN(raw)), redactedError(err, raw))
	}
	return nil
}

// redactedError is err's text without the password of raw, which go-redis
// may quote.
func redactedError(err error, raw string) string {
	msg := err.Error()
	if u, perr := url.Parse(raw); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// describeStateStore is the state store as shown to the user.
func describeStateStore(raw string) string {
	if raw == "" {
		return "the database"
	}
	return "Redis " + redactDSN(raw)
}

// stateStoreFlagHasPassword reports whether args give --state-store a URL
// with a password, which the process list shows to every local user;
// LTIKIT_STATE_STORE does not.
func stateStoreFlagHasPassword(args []string) bool {
	for i, a := range args {
		if a == "--" {
			break
		}
		var v string
		switch {
		case a == "--state-store" || a == "-state-store":
			if i+1 >= len(args) {
				continue
			}
			v = args[i+1]
		case strings.HasPrefix(a, "--state-store="), strings.HasPrefix(a, "-state-store="):
			_, v, _ = strings.Cut(a, "=")
		default:
			continue
		}
		if u, err := url.Parse(v); err == nil {
			if pw, ok := u.User.Password(); ok && pw != "" {
				return true
			}
		}
	}
	return false
}

// stateStoreTimeout bounds the first PING of the state store at start.
const stateStoreTimeout = 10 * time.Second

// redisStates is a backend whose login states, nonces and launch
// sessions are kept in Redis (redisadapter.Store) and everything else in
// the database underneath.
type redisStates struct {
	*gormBackend
	states *redisadapter.Store
	client *redis.Client
}

var (
	_ backend       = (*redisStates)(nil)
	_ nonce.Carrier = (*redisStates)(nil)
)

// withStateStore puts db's single-use values in the Redis raw names. It
// checks that Redis answers; the caller keeps closing db on an error.
func withStateStore(ctx context.Context, db *gormBackend, raw string) (*redisStates, error) {
	redisURL, prefix, err := splitStateStore(raw)
	if err != nil {
		return nil, fmt.Errorf("state store %s: %s", redactDSN(raw), redactedError(err, raw))
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("state store %s: %s", redactDSN(raw), redactedError(err, raw))
	}
	client := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, stateStoreTimeout)
	defer cancel()
	states, err := redisadapter.New(pctx, client, redisadapter.WithPrefix(prefix))
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("state store %s: %s", redactDSN(raw), redactedError(err, raw))
	}
	return &redisStates{gormBackend: db, states: states, client: client}, nil
}

// CarriesNonce implements nonce.Carrier: the Redis state record keeps the
// nonce.
func (r *redisStates) CarriesNonce() bool { return r.states.CarriesNonce() }

// PutState implements nonce.StateStore in Redis.
func (r *redisStates) PutState(ctx context.Context, l nonce.Login) error {
	return r.states.PutState(ctx, l)
}

// TakeState implements nonce.StateStore in Redis.
func (r *redisStates) TakeState(ctx context.Context, state string) (nonce.Login, error) {
	return r.states.TakeState(ctx, state)
}

// PutNonce implements nonce.Store in Redis.
func (r *redisStates) PutNonce(ctx context.Context, n nonce.Nonce) error {
	return r.states.PutNonce(ctx, n)
}

// ConsumeNonce implements nonce.Store in Redis.
func (r *redisStates) ConsumeNonce(ctx context.Context, value, issuer, clientID string) error {
	return r.states.ConsumeNonce(ctx, value, issuer, clientID)
}

// PutSession implements session.Store in Redis.
func (r *redisStates) PutSession(ctx context.Context, rec session.Record) error {
	return r.states.PutSession(ctx, rec)
}

// GetSession implements session.Store in Redis.
func (r *redisStates) GetSession(ctx context.Context, id string) (session.Record, error) {
	return r.states.GetSession(ctx, id)
}

// TouchSession implements session.Store in Redis.
func (r *redisStates) TouchSession(ctx context.Context, id string, idleUntil time.Time) error {
	return r.states.TouchSession(ctx, id, idleUntil)
}

// DeleteSession implements session.Store in Redis.
func (r *redisStates) DeleteSession(ctx context.Context, id string) error {
	return r.states.DeleteSession(ctx, id)
}

// Ping implements backend: the database and Redis both answer.
func (r *redisStates) Ping(ctx context.Context) error {
	return errors.Join(r.gormBackend.Ping(ctx), r.states.Ping(ctx))
}

// Close implements backend: the Redis client, then the database.
func (r *redisStates) Close() error {
	return errors.Join(r.client.Close(), r.gormBackend.Close())
}
