package nonce_test

import (
	"encoding/base64"
	"testing"

	"github.com/ltikit/ltikit/nonce"
)

func TestNewValue(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		v := nonce.NewValue()
		// 43 base64url characters: stored states and nonces must keep
		// fitting the columns sized for them.
		if len(v) != 43 {
			t.Fatalf("%q: %d characters, want 43", v, len(v))
		}
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) != nonce.ValueBytes {
			t.Fatalf("%q: %d bytes (%v), want %d (256 bits)", v, len(b), err, nonce.ValueBytes)
		}
		if seen[v] {
			t.Fatalf("value %q repeated", v)
		}
		seen[v] = true
	}
}

func TestBindCoversEveryField(t *testing.T) {
	base := nonce.Login{State: "s", Nonce: "n", Issuer: "i", ClientID: "c", TargetLinkURI: "t", DeploymentID: "d"}
	muts := map[string]func(*nonce.Login){
		"state":    func(l *nonce.Login) { l.State = "s2" },
		"nonce":    func(l *nonce.Login) { l.Nonce = "n2" },
		"issuer":   func(l *nonce.Login) { l.Issuer = "i2" },
		"client":   func(l *nonce.Login) { l.ClientID = "c2" },
		"target":   func(l *nonce.Login) { l.TargetLinkURI = "t2" },
		"deploy":   func(l *nonce.Login) { l.DeploymentID = "" },
		"boundary": func(l *nonce.Login) { l.State, l.Nonce = "sn", "" }, // same concatenation, other split
	}
	want := base.Bind()
	if len(want) != 64 {
		t.Fatalf("binding %q is not a hex SHA-256", want)
	}
	for name, m := range muts {
		l := base
		m(&l)
		if l.Bind() == want {
			t.Errorf("changing %s does not change the binding", name)
		}
	}
}
