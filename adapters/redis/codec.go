package redisadapter

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/session"
)

// The values the Store writes. Strings are kept byte for byte, each after
// its length as a uvarint; times as Unix microseconds (a remainder below a
// microsecond is dropped, so a record expires early rather than late).
// The first byte is the format's version, so a later format can be told
// from this one; a value that does not decode exactly is refused
// (ErrCorrupt), never guessed at.
const (
	loginFormat   = 1
	sessionFormat = 1
)

// encodeLogin encodes a login record without its State, which is the key.
func encodeLogin(l nonce.Login) []byte {
	b := make([]byte, 0, 1+len(l.Nonce)+len(l.Issuer)+len(l.ClientID)+len(l.TargetLinkURI)+len(l.DeploymentID)+len(l.Binding)+6*2+10)
	b = append(b, loginFormat)
	for _, f := range [...]string{l.Nonce, l.Issuer, l.ClientID, l.TargetLinkURI, l.DeploymentID, l.Binding} {
		b = appendString(b, f)
	}
	return binary.AppendVarint(b, l.ExpiresAt.UnixMicro())
}

// decodeLogin decodes what encodeLogin wrote; State is left empty.
func decodeLogin(b []byte) (nonce.Login, bool) {
	if len(b) == 0 || b[0] != loginFormat {
		return nonce.Login{}, false
	}
	r := reader{b: b[1:]}
	l := nonce.Login{
		Nonce:         r.string(),
		Issuer:        r.string(),
		ClientID:      r.string(),
		TargetLinkURI: r.string(),
		DeploymentID:  r.string(),
		Binding:       r.string(),
		ExpiresAt:     r.time(),
	}
	if !r.done() {
		return nonce.Login{}, false
	}
	return l, true
}

// nonceOwner encodes the registration a nonce was issued to.
func nonceOwner(issuer, clientID string) string {
	b := appendString(make([]byte, 0, len(issuer)+len(clientID)+2), issuer)
	return string(append(b, clientID...))
}

// encodeNonce encodes a nonce as consumeScript reads it: "l" (live), its
// expiry in Unix microseconds in decimal, a newline, and its owner.
func encodeNonce(n nonce.Nonce) []byte {
	b := make([]byte, 0, 24+len(n.Issuer)+len(n.ClientID))
	b = append(b, 'l')
	b = strconv.AppendInt(b, n.ExpiresAt.UnixMicro(), 10)
	b = append(b, '\n')
	return append(b, nonceOwner(n.Issuer, n.ClientID)...)
}

// encodeSession encodes a session's fields but its ID (the key) and its
// two expiries, which sit in hash fields of their own that the touch
// script reads and writes.
func encodeSession(r session.Record) []byte {
	b := make([]byte, 0, 1+len(r.Issuer)+len(r.ClientID)+len(r.DeploymentID)+len(r.Subject)+len(r.CSRF)+len(r.Claims)+6*3+10)
	b = append(b, sessionFormat)
	for _, f := range [...]string{r.Issuer, r.ClientID, r.DeploymentID, r.Subject, r.CSRF} {
		b = appendString(b, f)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Claims)))
	b = append(b, r.Claims...)
	return binary.AppendVarint(b, r.CreatedAt.UnixMicro())
}

// decodeSession decodes what encodeSession wrote into a record with ID,
// IdleExpiresAt and ExpiresAt left empty. Claims are a fresh slice.
func decodeSession(b []byte) (session.Record, bool) {
	if len(b) == 0 || b[0] != sessionFormat {
		return session.Record{}, false
	}
	rd := reader{b: b[1:]}
	r := session.Record{
		Issuer:       rd.string(),
		ClientID:     rd.string(),
		DeploymentID: rd.string(),
		Subject:      rd.string(),
		CSRF:         rd.string(),
	}
	r.Claims = []byte(rd.string())
	r.CreatedAt = rd.time()
	if !rd.done() {
		return session.Record{}, false
	}
	return r, true
}

// micros formats t as Unix microseconds in decimal, for the hash fields
// and script arguments that Lua compares as numbers.
func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// parseMicros parses what micros wrote.
func parseMicros(s string) (time.Time, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMicro(n).UTC(), true
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader decodes a value; any error sticks, and done reports whether every
// byte was read without one.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) string() string {
	n, k := binary.Uvarint(r.b)
	if r.bad || k <= 0 || n > uint64(len(r.b)-k) {
		r.bad = true
		return ""
	}
	s := string(r.b[k : k+int(n)])
	r.b = r.b[k+int(n):]
	return s
}

func (r *reader) time() time.Time {
	v, k := binary.Varint(r.b)
	if r.bad || k <= 0 {
		r.bad = true
		return time.Time{}
	}
	r.b = r.b[k:]
	return time.UnixMicro(v).UTC()
}

func (r *reader) done() bool { return !r.bad && len(r.b) == 0 }
