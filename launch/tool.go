package launch

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
)

// Tool runs the launch pipeline for one tool. It is safe for concurrent use.
type Tool struct {
	registrations registration.Store
	deployments   deployment.Store
	states        nonce.StateStore
	// nonces is nil when carrier: the state store consumes the nonce with
	// the state (nonce.Carrier).
	nonces  nonce.Store
	carrier bool
	keys    keys.Provider
	// tel are the OpenTelemetry instruments (telemetry.go); the stores
	// above are wrapped to record every call.
	tel         *instruments
	base        *url.URL
	redirectURI string
	// redirectOrigin is the redirect URI's scheme://host: the origin of
	// the platform storage launch page, which its own post must come from.
	redirectOrigin string
	opt            options
}

// New returns a Tool. cfg.BaseURL and the stores are required: each store
// field of [Config], or cfg.Storage for those left nil. An error names
// every missing store.
func New(cfg Config, opts ...Option) (*Tool, error) {
	base, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	o := options{
		now:          time.Now,
		skew:         DefaultClockSkew,
		maxAge:       DefaultMaxTokenAge,
		stateTTL:     DefaultStateTTL,
		algs:         map[jwa.SignatureAlgorithm]bool{jwa.RS256: true},
		messageTypes: map[string]bool{lti.MessageResourceLink: true, lti.MessageDeepLinking: true, lti.MessageSubmissionReview: true},
		targetHosts:  map[string]bool{},
		audiences:    map[string]bool{},
		maxBody:      DefaultMaxBodyBytes,
		cookiePrefix: DefaultCookiePrefix,
		partitioned:  true,
		hostPrefix:   true,
		maxCookies:   DefaultMaxStateCookies,
		storage:      true,
		storageWait:  DefaultStorageTimeout,
		errorHandler: WriteError,
	}
	for _, opt := range opts {
		opt(&o)
	}
	for a := range o.algs {
		if forbiddenAlg(a) {
			return nil, errors.New("launch: algorithm " + a.String() + " can never verify an id_token")
		}
	}
	if o.stateTTL <= 0 || o.maxBody <= 0 || o.skew < 0 || o.maxCookies < 1 || o.storageWait <= 0 {
		return nil, errors.New("launch: state TTL, body limit, state cookie bound and storage timeout must be positive, clock skew non-negative")
	}
	o.targetHosts[strings.ToLower(base.Host)] = true
	if o.hostPrefix && base.Scheme == "https" && !strings.HasPrefix(o.cookiePrefix, hostCookiePrefix) {
		o.cookiePrefix = hostCookiePrefix + o.cookiePrefix
	}
	redirect, _ := url.Parse(cfg.RedirectURI) // validated above
	tel := newInstruments(&o)
	if cfg.Keys == nil {
		cfg.Keys = keys.NewCache(keys.WithMeterProvider(o.meters), keys.WithTracerProvider(o.tracers))
	}
	carrier := carries(cfg.States) // before the state store is wrapped
	var nonces nonce.Store
	if !carrier {
		nonces = meteredNonces{s: cfg.Nonces, in: tel}
	}
	return &Tool{
		registrations:  meteredRegistrations{s: cfg.Registrations, in: tel},
		deployments:    meteredDeployments{s: cfg.Deployments, in: tel},
		states:         meteredStates{s: cfg.States, in: tel},
		nonces:         nonces,
		carrier:        carrier,
		keys:           cfg.Keys,
		tel:            tel,
		base:           base,
		redirectURI:    cfg.RedirectURI,
		redirectOrigin: redirect.Scheme + "://" + redirect.Host,
		opt:            o,
	}, nil
}

// RedirectURI is the redirect (launch) URI the tool sends in auth requests;
// register it with the platform.
func (t *Tool) RedirectURI() string { return t.redirectURI }

func forbiddenAlg(a jwa.SignatureAlgorithm) bool {
	switch a {
	case jwa.NoSignature, jwa.HS256, jwa.HS384, jwa.HS512, "":
		return true
	}
	return false
}

// storageErr maps a storage failure to storage_unavailable.
func storageErr(err error) *lti.Error {
	var e *lti.Error
	if errors.As(err, &e) && e.Code() == lti.CodeStorageUnavailable {
		return e
	}
	return lti.ErrStorageUnavailable.WithCause(err)
}

// registrationErr maps a registration lookup error.
func registrationErr(err error) *lti.Error {
	switch {
	case errors.Is(err, registration.ErrNotFound):
		return lti.ErrUnknownRegistration.WithCause(err).WithSpec("LTI 1.3 Core §4.1")
	case errors.Is(err, registration.ErrAmbiguous):
		return lti.ErrUnknownRegistration.WithCause(err).
			WithDescription("several registrations match the issuer and the request names no client_id").
			WithSpec("LTI 1.3 Core §4.1")
	default:
		return storageErr(err)
	}
}

func (t *Tool) findRegistration(ctx context.Context, issuer, clientID string) (registration.Registerable, registration.Registration, *lti.Error) {
	host, err := t.registrations.FindRegistration(ctx, issuer, clientID)
	if err != nil {
		return nil, registration.Registration{}, registrationErr(err)
	}
	if host == nil {
		return nil, registration.Registration{}, storageErr(errors.New("registration store returned nil without an error"))
	}
	reg := host.LTIRegistration()
	// A store must not hand back a registration for another platform.
	if reg.Issuer != issuer || (clientID != "" && reg.ClientID != clientID) {
		return nil, registration.Registration{}, storageErr(errors.New("registration store returned a registration that does not match the lookup"))
	}
	return host, reg, nil
}

func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// errAs converts any error to an *lti.Error, failing closed.
func errAs(err error) *lti.Error { return lti.AsError(err) }
