package registration_test

import (
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/registration"
)

func TestValidate(t *testing.T) {
	good := registration.Registration{Issuer: "https://lms.example", ClientID: "c1",
		AuthEndpoint: "https://lms.example/auth", KeySetURL: "https://lms.example/jwks"}
	cases := []struct {
		name string
		mut  func(*registration.Registration)
		ok   bool
	}{
		{"complete", func(*registration.Registration) {}, true},
		{"plain http (local LMS)", func(r *registration.Registration) { r.AuthEndpoint = "http://127.0.0.1:8080/auth" }, true},
		{"static key set", func(r *registration.Registration) { r.KeySetURL = ""; r.KeySet = jwk.NewSet() }, true},
		{"no issuer", func(r *registration.Registration) { r.Issuer = "" }, false},
		{"no client_id", func(r *registration.Registration) { r.ClientID = "" }, false},
		{"no auth endpoint", func(r *registration.Registration) { r.AuthEndpoint = "" }, false},
		{"relative auth endpoint", func(r *registration.Registration) { r.AuthEndpoint = "/auth" }, false},
		{"javascript auth endpoint", func(r *registration.Registration) { r.AuthEndpoint = "javascript:alert(1)" }, false},
		{"bad token endpoint", func(r *registration.Registration) { r.TokenEndpoint = "ftp://x/token" }, false},
		{"no keys", func(r *registration.Registration) { r.KeySetURL = "" }, false},
		{"both key sources", func(r *registration.Registration) { r.KeySet = jwk.NewSet() }, false},
	}
	for _, c := range cases {
		r := good
		c.mut(&r)
		if err := r.Validate(); (err == nil) != c.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", c.name, err, c.ok)
		}
	}
	if k := good.Key(); k.Issuer != good.Issuer || k.ClientID != good.ClientID || good.LTIRegistration().Key() != k {
		t.Errorf("Key() = %+v", k)
	}
}
