package registration

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/lti"
)

// Registration is what the library needs to know about one platform
// registration (LTI 1.3 Core §3.1.3, 1EdTech Security Framework §5.1.1).
type Registration struct {
	// Issuer is the platform's issuer identifier, compared byte for byte
	// with the id_token's iss claim.
	Issuer string
	// ClientID is the OAuth 2 client_id the platform issued to the tool.
	ClientID string
	// AuthEndpoint is the platform's OIDC authorization endpoint, the only
	// place the login initiation redirects the browser to.
	AuthEndpoint string
	// TokenEndpoint is the platform's OAuth 2 token endpoint, used by the
	// LTI Advantage services. It may be empty for launch-only tools.
	TokenEndpoint string
	// TokenAudience is the aud of client assertions sent to the token
	// endpoint when the platform declares one; empty means TokenEndpoint.
	TokenAudience string
	// KeySetURL is the platform's JWKS URL. Exactly one of KeySetURL and
	// KeySet must be set.
	KeySetURL string
	// KeySet is a static platform key set, for platforms that publish no
	// JWKS URL and for tests. The set may be changed in place (keys.Cache
	// notices keys added, removed or replaced, and indexes the set again),
	// but a key in it must not be: to change a key, remove it and add a
	// new one.
	KeySet jwk.Set
}

// LTIRegistration returns r itself, so a Registration is Registerable.
func (r Registration) LTIRegistration() Registration { return r }

// Key identifies the registration: issuer and client_id.
func (r Registration) Key() Key { return Key{Issuer: r.Issuer, ClientID: r.ClientID} }

// Validate reports whether the registration is usable for launches.
func (r Registration) Validate() error {
	if r.Issuer == "" {
		return errors.New("registration: issuer is empty")
	}
	if r.ClientID == "" {
		return errors.New("registration: client_id is empty")
	}
	if err := checkURL("auth endpoint", r.AuthEndpoint, true); err != nil {
		return err
	}
	if err := checkURL("token endpoint", r.TokenEndpoint, false); err != nil {
		return err
	}
	switch {
	case r.KeySetURL == "" && r.KeySet == nil:
		return errors.New("registration: neither a key set URL nor a static key set is configured")
	case r.KeySetURL != "" && r.KeySet != nil:
		return errors.New("registration: both a key set URL and a static key set are configured")
	case r.KeySetURL != "":
		return checkURL("key set URL", r.KeySetURL, true)
	}
	return nil
}

func checkURL(what, raw string, required bool) error {
	if raw == "" {
		if required {
			return fmt.Errorf("registration: %s is empty", what)
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("registration: %s: %w", what, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("registration: %s must be an absolute http(s) URL", what)
	}
	return nil
}

// Key is the identity of a registration: an issuer and a client_id.
type Key struct {
	// Issuer is the platform's issuer identifier (the iss of its
	// id_tokens), compared byte for byte.
	Issuer string
	// ClientID is the client_id the platform issued to the tool.
	ClientID string
}

// String returns "issuer|client_id" for logs.
func (k Key) String() string { return k.Issuer + "|" + k.ClientID }

// Registerable is implemented by any host type that describes a platform
// registration. The validated launch (launch.Launch) keeps the host's value
// and returns it to the host after the launch, so hosts get their own struct
// (database id, tenant, settings) back without a second query.
type Registerable interface {
	// LTIRegistration extracts what the library needs. It must be cheap
	// and must not do I/O: it is called on every launch.
	LTIRegistration() Registration
}

// Store finds registrations. Implementations must be safe for concurrent use.
type Store interface {
	// FindRegistration returns the registration for issuer and clientID.
	//
	// clientID may be empty: the login initiation request carries client_id
	// only optionally (LTI 1.3 Core §4.1). With an empty clientID a single
	// registration for the issuer is returned; several are ErrAmbiguous.
	// Matching is exact and case-sensitive. Nothing found is ErrNotFound.
	FindRegistration(ctx context.Context, issuer, clientID string) (Registerable, error)
}

// Errors returned by a Store, matched by identity with errors.Is. Their
// code is unknown_registration (see lti.Classify).
var (
	// ErrNotFound means no registration matches.
	ErrNotFound = lti.NewSentinel(lti.CodeUnknownRegistration, "registration: not found")
	// ErrAmbiguous means several registrations match an issuer and no
	// client_id was given to choose between them.
	ErrAmbiguous = lti.NewSentinel(lti.CodeUnknownRegistration, "registration: ambiguous, several registrations match the issuer")
)
