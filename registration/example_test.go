package registration_test

import (
	"fmt"

	"github.com/ltikit/ltikit/registration"
)

// A host keeps its own platform struct and tells the library what it needs
// from it; the launch context hands the same value back.
type Platform struct {
	ID       int64
	Issuer   string
	ClientID string
	AuthURL  string
	JWKSURL  string
	Plan     string
}

func (p *Platform) LTIRegistration() registration.Registration {
	return registration.Registration{
		Issuer: p.Issuer, ClientID: p.ClientID,
		AuthEndpoint: p.AuthURL, KeySetURL: p.JWKSURL,
	}
}

func ExampleRegisterable() {
	var r registration.Registerable = &Platform{
		ID: 7, Issuer: "https://moodle.example", ClientID: "abc123",
		AuthURL: "https://moodle.example/mod/lti/auth.php", JWKSURL: "https://moodle.example/mod/lti/certs.php",
		Plan: "campus",
	}
	reg := r.LTIRegistration()
	fmt.Println(reg.Key(), reg.Validate())
	// Output: https://moodle.example|abc123 <nil>
}
