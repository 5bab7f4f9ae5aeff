package redisadapter

import (
	"bytes"
	"testing"
	"time"

	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/session"
)

// TestCodecRoundTrip: every field of a login and a session record comes
// back byte for byte, times to the microsecond.
func TestCodecRoundTrip(t *testing.T) {
	at := time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 3600))
	logins := []nonce.Login{
		{Nonce: "n", Issuer: "https://lms.example.com", ClientID: "c", TargetLinkURI: "https://tool/x?é=1", DeploymentID: "d", Binding: "b", ExpiresAt: at},
		{ExpiresAt: time.Unix(0, 0)},
		{Nonce: "\x00\xff", Issuer: string(bytes.Repeat([]byte("i"), 70000)), ExpiresAt: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for i, want := range logins {
		got, ok := decodeLogin(encodeLogin(want))
		want.ExpiresAt = want.ExpiresAt.Truncate(time.Microsecond)
		if !ok || got.Nonce != want.Nonce || got.Issuer != want.Issuer || got.ClientID != want.ClientID ||
			got.TargetLinkURI != want.TargetLinkURI || got.DeploymentID != want.DeploymentID || got.Binding != want.Binding ||
			!got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Errorf("login %d: decoded %+v, %v", i, got, ok)
		}
	}
	sessions := []session.Record{
		{Issuer: "i", ClientID: "c", DeploymentID: "d", Subject: "s", CSRF: "x", Claims: []byte("{\"a\":\"\xff\x00\"}"), CreatedAt: at},
		{},
	}
	for i, want := range sessions {
		got, ok := decodeSession(encodeSession(want))
		if !ok || got.Issuer != want.Issuer || got.ClientID != want.ClientID || got.DeploymentID != want.DeploymentID ||
			got.Subject != want.Subject || got.CSRF != want.CSRF || !bytes.Equal(got.Claims, want.Claims) ||
			!got.CreatedAt.Equal(want.CreatedAt.Truncate(time.Microsecond)) {
			t.Errorf("session %d: decoded %+v, %v", i, got, ok)
		}
		if want.CreatedAt.IsZero() && !got.CreatedAt.IsZero() {
			t.Errorf("session %d: a zero CreatedAt came back as %v", i, got.CreatedAt)
		}
	}
}

// TestCodecRefuses: a value that is not exactly what the encoder writes
// is refused.
func TestCodecRefuses(t *testing.T) {
	good := encodeLogin(nonce.Login{Nonce: "n", Issuer: "i", ExpiresAt: time.Now()})
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"Empty", nil},
		{"OtherVersion", append([]byte{9}, good[1:]...)},
		{"Truncated", good[:len(good)-1]},
		{"Trailing", append(append([]byte(nil), good...), 0)},
		{"LengthPastEnd", []byte{loginFormat, 0x7f, 'a'}},
		{"Text", []byte("hello")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if l, ok := decodeLogin(tc.b); ok || l != (nonce.Login{}) {
				t.Errorf("decodeLogin accepted %q: %+v", tc.b, l)
			}
			if _, ok := decodeSession(tc.b); ok {
				t.Errorf("decodeSession accepted %q", tc.b)
			}
		})
	}
}

// FuzzDecode: the decoders never panic on bytes found in Redis, and what
// they accept encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(encodeLogin(nonce.Login{Nonce: "n", Issuer: "i", ClientID: "c", ExpiresAt: time.Now()}))
	f.Add(encodeSession(session.Record{Issuer: "i", Claims: []byte("{}"), CreatedAt: time.Now()}))
	f.Add([]byte{loginFormat, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if l, ok := decodeLogin(b); ok {
			if again := encodeLogin(l); !bytes.Equal(again, b) && canonical(b) {
				t.Errorf("login %q re-encodes as %q", b, again)
			}
		}
		if r, ok := decodeSession(b); ok {
			if again := encodeSession(r); !bytes.Equal(again, b) && canonical(b) {
				t.Errorf("session %q re-encodes as %q", b, again)
			}
		}
	})
}

// canonical reports whether b's varints are minimal, as the encoder writes
// them (the decoder also takes padded ones, e.g. 0x80 0x00 for 0).
func canonical(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if b[i] == 0x00 && b[i-1]&0x80 != 0 {
			return false
		}
	}
	return true
}
