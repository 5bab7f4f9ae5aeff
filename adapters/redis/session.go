package redisadapter

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ltikit/ltikit/session"
)

// A launch session is one Redis hash under [Store.SessionKey]: field r
// holds the record (encodeSession), fields i and e its IdleExpiresAt and
// ExpiresAt in Unix microseconds, in decimal, which the touch script
// compares as numbers. Redis drops the hash at its idle expiry plus the
// linger; a touch moves that forward with the idle expiry.
const (
	fieldRecord = "r"
	fieldIdle   = "i"
	fieldExp    = "e"
)

// putSessionScript stores a session unless its key exists: KEYS[1] the
// key, ARGV[1..3] the record, idle and absolute expiry, ARGV[4] the time
// to live in milliseconds. It answers 1 when it stored, 0 when the key was
// taken.
var putSessionScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'r', ARGV[1], 'i', ARGV[2], 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// touchSessionScript moves a live session's idle expiry forward: KEYS[1]
// the key, ARGV[1] the caller's clock and ARGV[2] the idle expiry asked
// for, both Unix microseconds, ARGV[3] the linger in milliseconds. It
// answers 0 for no session, 2 for an expired one (left as it is), 1 when
// the session is live (touched, or already idle until then or later).
// The new idle expiry is written as one of the two strings it was given
// or read, never formatted from a Lua number (which has 14 digits).
var touchSessionScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'i', 'e')
if not v[1] or not v[2] then return 0 end
local idle, exp = tonumber(v[1]), tonumber(v[2])
local now, want = tonumber(ARGV[1]), tonumber(ARGV[2])
if not idle or not exp or not now or not want then return -1 end
if now >= idle or now >= exp then return 2 end
local text = ARGV[2]
if want > exp then want, text = exp, v[2] end
if want > idle then
  redis.call('HSET', KEYS[1], 'i', text)
  redis.call('PEXPIRE', KEYS[1], math.floor((want - now) / 1000) + tonumber(ARGV[3]))
end
return 1
`)

// PutSession implements [session.Store] with one script that stores the
// hash unless its key exists. A record that fails
// [session.Record.Validate], or whose ID is already stored
// ([ErrDuplicate]), expired or not, is refused; every refusal and failure
// matches lti.ErrStorageUnavailable.
func (s *Store) PutSession(ctx context.Context, r session.Record) error {
	if err := ctx.Err(); err != nil {
		return unavailable("put session", err)
	}
	if err := r.Validate(); err != nil {
		return unavailable("put session", err)
	}
	now := s.now()
	ttl := s.ttl(now, r.IdleExpiresAt)
	stored, err := putSessionScript.Run(ctx, s.client, []string{s.SessionKey(r.ID)},
		encodeSession(r), micros(r.IdleExpiresAt), micros(r.ExpiresAt), ttl.Milliseconds()).Int()
	if err != nil {
		return unavailable("put session", err)
	}
	if stored != 1 {
		return unavailable("put session", ErrDuplicate)
	}
	return nil
}

// GetSession implements [session.Store] with one HMGET; expiry is judged
// with the Store's clock ([WithClock]). A session Redis has dropped (past
// its idle expiry plus the linger) is session.ErrNotFound, one it still
// holds past an expiry session.ErrExpired.
func (s *Store) GetSession(ctx context.Context, id string) (session.Record, error) {
	if err := ctx.Err(); err != nil {
		return session.Record{}, unavailable("get session", err)
	}
	if id == "" {
		return session.Record{}, session.ErrNotFound
	}
	vals, err := s.client.HMGet(ctx, s.SessionKey(id), fieldRecord, fieldIdle, fieldExp).Result()
	if err != nil {
		return session.Record{}, unavailable("get session", err)
	}
	var f [3]string
	n := 0
	for i, v := range vals {
		if str, ok := v.(string); ok && i < len(f) {
			f[i] = str
			n++
		}
	}
	if n == 0 {
		return session.Record{}, session.ErrNotFound
	}
	r, ok := decodeSession([]byte(f[0]))
	idle, okIdle := parseMicros(f[1])
	exp, okExp := parseMicros(f[2])
	if n != len(f) || !ok || !okIdle || !okExp {
		return session.Record{}, unavailable("get session", ErrCorrupt)
	}
	r.ID, r.IdleExpiresAt, r.ExpiresAt = id, idle, exp
	if r.Expired(s.now()) {
		return session.Record{}, session.ErrExpired
	}
	return r, nil
}

// TouchSession implements [session.Store] with one script that reads the
// two expiries, refuses an expired session and moves the idle expiry
// forward (capped at ExpiresAt), all atomically: concurrent touches on any
// node leave the latest time, and none revives a session that expired or
// was deleted.
func (s *Store) TouchSession(ctx context.Context, id string, idleUntil time.Time) error {
	if err := ctx.Err(); err != nil {
		return unavailable("touch session", err)
	}
	if id == "" {
		return session.ErrNotFound
	}
	res, err := touchSessionScript.Run(ctx, s.client, []string{s.SessionKey(id)},
		micros(s.now()), micros(idleUntil), s.linger.Milliseconds()).Int()
	if err != nil {
		return unavailable("touch session", err)
	}
	switch res {
	case 1:
		return nil
	case 0:
		return session.ErrNotFound
	case 2:
		return session.ErrExpired
	}
	return unavailable("touch session", ErrCorrupt)
}

// DeleteSession implements [session.Store] with one DEL; deleting an
// unknown id is not an error. Redis runs it in order with every read and
// touch of the key, so once it returns no node finds the session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return unavailable("delete session", err)
	}
	if id == "" {
		return nil
	}
	if err := s.client.Del(ctx, s.SessionKey(id)).Err(); err != nil {
		return unavailable("delete session", err)
	}
	return nil
}
