package launch

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
)

// LoginRequest is a parsed third-party login initiation request
// (1EdTech Security Framework §5.1.1.1, LTI 1.3 Core §4.1). Nothing in it is
// signed; it only selects a registration and is echoed to the platform.
type LoginRequest struct {
	// Issuer is iss: the platform's issuer identifier. Required.
	Issuer string
	// LoginHint is login_hint: an opaque value the tool echoes in its
	// authentication request, which the platform uses to know the user.
	// Required.
	LoginHint string
	// TargetLinkURI is target_link_uri: where the launch is meant to land;
	// it must point at the tool. Required.
	TargetLinkURI string
	// LTIMessageHint is lti_message_hint: an opaque value echoed like
	// LoginHint. Empty when absent.
	LTIMessageHint string
	// ClientID is client_id: the tool's client_id on the platform, which
	// selects the registration when the issuer has several (LTI 1.3 Core
	// §4.1.3). Empty when absent.
	ClientID string
	// DeploymentID is lti_deployment_id: the deployment the launch comes
	// through; when present the launch's deployment_id must equal it (LTI
	// 1.3 Core §4.1.2). Empty when absent.
	DeploymentID string
	// LTIStorageTarget is lti_storage_target: the name of the platform
	// frame that answers LTI Client Side postMessages, for a browser that
	// keeps no cookie of a framed tool. Empty when the platform offers no
	// storage.
	LTIStorageTarget string
}

// ParseLoginRequest reads the login initiation parameters from a GET query
// or a POST form, bounded to maxBody bytes. Required parameters missing, a
// parameter given twice, an over-long value, or another method is
// invalid_request.
func ParseLoginRequest(r *http.Request, maxBody int64) (*LoginRequest, error) {
	var vals url.Values
	switch r.Method {
	case http.MethodGet:
		vals = r.URL.Query()
	case http.MethodPost:
		if err := parsePostForm(r, maxBody); err != nil {
			return nil, err
		}
		// Platforms post the parameters as a form; some add them to the
		// query too. The form wins when both carry one.
		vals = r.URL.Query()
		for k, v := range r.PostForm {
			vals[k] = v
		}
	default:
		return nil, errMethod
	}
	lr := &LoginRequest{}
	for _, f := range []struct {
		name     string
		dst      *string
		required bool
		max      int
	}{
		{"iss", &lr.Issuer, true, maxParamLen},
		{"login_hint", &lr.LoginHint, true, maxParamLen},
		{"target_link_uri", &lr.TargetLinkURI, true, maxParamLen},
		{"lti_message_hint", &lr.LTIMessageHint, false, maxMessageHintLen},
		{"client_id", &lr.ClientID, false, maxParamLen},
		{"lti_deployment_id", &lr.DeploymentID, false, 255},
		{"lti_storage_target", &lr.LTIStorageTarget, false, maxParamLen},
	} {
		v := vals[f.name]
		switch {
		case len(v) > 1:
			return nil, lti.ErrInvalidRequest.WithDescription("login parameter " + f.name + " is repeated")
		case len(v) == 0 || v[0] == "":
			if f.required {
				return nil, lti.ErrInvalidRequest.WithDescription("login parameter " + f.name + " is missing").
					WithSpec("1EdTech Security Framework §5.1.1.1")
			}
		case len(v[0]) > f.max:
			return nil, lti.ErrInvalidRequest.WithDescription("login parameter " + f.name + " is too long")
		default:
			*f.dst = v[0]
		}
	}
	return lr, nil
}

var errMethod = lti.ErrInvalidRequest.WithDescription("method not allowed")

// checkTarget refuses a target_link_uri that does not point at the tool
// itself, so the login can never be used as an open redirect (LTI
// Implementation Guide, "Open redirects").
func (t *Tool) checkTarget(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil {
		return lti.ErrInvalidRequest.WithDescription("target_link_uri is not an absolute URL")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && t.base.Scheme == "http") {
		return lti.ErrInvalidRequest.WithDescription("target_link_uri has a scheme the tool does not serve")
	}
	if !t.opt.targetHosts[strings.ToLower(u.Host)] {
		return lti.ErrInvalidRequest.WithDescription("target_link_uri does not point at this tool")
	}
	return nil
}

// InitiateLogin handles a third-party login initiation request: it finds
// the registration, mints a state, a nonce and a browser secret (256 bits
// each, crypto/rand), stores the login record, sets the state cookie and
// redirects the browser to the platform's OIDC auth endpoint (1EdTech
// Security Framework §5.1.1.2). When the request carries
// lti_storage_target (and platform storage is on), it answers a page that
// also stores the secret in the platform's storage and then goes on to the
// auth endpoint. On error nothing is written to w and no redirect happens.
//
// The auth endpoint is used as registered: its query is kept byte for byte
// and the auth request parameters are appended (see the package
// documentation, "Registered URLs"). InitiateLogin does not log;
// LoginHandler logs each refusal. The storage calls run under ctx; a
// handler passes r.Context().
func (t *Tool) InitiateLogin(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var f facts
	return t.initiateLogin(ctx, w, r, &f)
}

// initiateLogin is InitiateLogin, recording in f how far it got and the
// values that locate a refusal, in a span of its own, and counting and
// timing the login (telemetry.go).
func (t *Tool) initiateLogin(ctx context.Context, w http.ResponseWriter, r *http.Request, f *facts) error {
	in := t.tel
	on := in.logins.Enabled(ctx) || in.loginDur.Enabled(ctx)
	var start time.Time
	if on {
		start = time.Now()
	}
	ctx, span := in.tracer.Start(ctx, in.loginSpan)
	err := t.login(ctx, w, r, f)
	in.endLogin(ctx, span, on, start, err, f)
	return err
}

// login runs the login initiation (see InitiateLogin).
func (t *Tool) login(ctx context.Context, w http.ResponseWriter, r *http.Request, f *facts) error {
	f.stage = stageRequest
	lr, err := ParseLoginRequest(r, t.opt.maxBody)
	if err != nil {
		return err
	}
	f.iss, f.clientID, f.deploymentID, f.targetLinkURI = lr.Issuer, lr.ClientID, lr.DeploymentID, lr.TargetLinkURI
	f.stage = stageTarget
	if err := t.checkTarget(lr.TargetLinkURI); err != nil {
		return err
	}
	f.stage = stageRegistration
	_, reg, lerr := t.findRegistration(ctx, lr.Issuer, lr.ClientID)
	if lerr != nil {
		return lerr
	}
	f.regFound, f.regIssuer, f.regClientID, f.authEndpoint = true, reg.Issuer, reg.ClientID, reg.AuthEndpoint
	f.stage = stageAuthEndpoint
	authBase, ok := authRequestBase(reg.AuthEndpoint)
	if !ok {
		return storageErr(errors.New("registration has no usable auth endpoint"))
	}
	// Platform storage needs the origin the platform's frames run on: the
	// auth endpoint's (LTI Client Side postMessages, Platform Storage).
	target := ""
	platformOrigin, originOK := origin(reg.AuthEndpoint)
	if t.opt.storage && usableTarget(lr.LTIStorageTarget) && originOK {
		target = lr.LTIStorageTarget
	}
	f.stage = stageLoginStore
	state := newState(target)
	secret, nv := nonce.NewValue(), nonce.NewValue()
	now := t.opt.now()
	login := nonce.Login{
		// The record is found only with the state and the browser secret
		// together (storage.go).
		State:         stateKey(state, secret),
		Nonce:         nv,
		Issuer:        reg.Issuer,
		ClientID:      reg.ClientID,
		TargetLinkURI: lr.TargetLinkURI,
		DeploymentID:  lr.DeploymentID,
		ExpiresAt:     now.Add(t.opt.stateTTL),
	}
	login.Binding = login.Bind()
	if err := t.states.PutState(ctx, login); err != nil {
		return storageErr(err)
	}
	if !t.carrier {
		// The nonce must outlive any token that carries it: it is kept
		// until the state expires plus the longest accepted token life.
		n := nonce.Nonce{Value: nv, Issuer: reg.Issuer, ClientID: reg.ClientID,
			ExpiresAt: login.ExpiresAt.Add(t.opt.maxAge + t.opt.skew)}
		if err := t.nonces.PutNonce(ctx, n); err != nil {
			return storageErr(err)
		}
	}

	authURL := authRequestURL(authBase, reg.ClientID, t.redirectURI, lr.LoginHint, lr.LTIMessageHint, state, nv)

	t.expireOldCookies(w, r)
	http.SetCookie(w, t.stateCookie(t.cookieName(state), cookieValue(secret, now), int(t.opt.stateTTL.Seconds())))
	if target != "" {
		// The secret also goes to the platform's storage, for a browser
		// that will not send the cookie back to a framed tool.
		writeStoragePage(w, "Starting the launch", "Starting the launch…", storagePage{
			Mode:       "login",
			Origin:     platformOrigin,
			Targets:    []string{target},
			Key:        t.storageKey(state),
			Value:      secret,
			Next:       authURL,
			Timeout:    t.opt.storageWait.Milliseconds(),
			CapTimeout: capTimeout(t.opt.storageWait).Milliseconds(),
		})
		return nil
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", authURL)
	w.WriteHeader(http.StatusFound)
	return nil
}

// capTimeout is how long the pages wait for lti.capabilities: a platform
// that does not answer it delays the login by this much.
func capTimeout(d time.Duration) time.Duration {
	return min(d, 500*time.Millisecond)
}

// LoginHandler serves login initiation (GET and POST), rendering errors
// with the error handler.
func (t *Tool) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f facts
		if err := t.initiateLogin(r.Context(), w, r, &f); err != nil {
			e := errAs(err)
			t.logRefusal(r.Context(), false, e, &f, r)
			if e == errMethod {
				w.Header().Set("Allow", "GET, POST")
			}
			t.opt.errorHandler(w, r, e)
		}
	})
}

// authParams are the names of the auth request parameters the tool sends
// (OpenID Connect Core §3.1.2.1, 1EdTech Security Framework §5.1.1.2). A
// registered auth endpoint's own query parameter of one of these names is
// left out of the request: RFC 6749 §3.1 forbids sending a parameter
// twice, and the tool's value is the one the flow needs.
var authParams = map[string]bool{
	"scope": true, "response_type": true, "client_id": true, "redirect_uri": true,
	"login_hint": true, "state": true, "response_mode": true, "nonce": true,
	"prompt": true, "lti_message_hint": true,
}

// authRequestBase prepares a registered auth endpoint for the auth
// request parameters: the URL exactly as registered up to its fragment,
// which is dropped (RFC 6749 §3.1: the endpoint must not have one, and a
// browser never sends it), with query pairs named like an auth request
// parameter left out, and ending in "?" or "&" so the parameters can be
// appended. Every other byte of the query is kept as registered: a
// platform such as the WordPress LTI Platform plugin, whose endpoint is
// /?lti-platform&auth, routes by the query's exact spelling. It reports
// false for a URL that is not an absolute http(s) URL.
func authRequestBase(registered string) (string, bool) {
	u, err := url.Parse(registered)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return "", false
	}
	raw, _, _ := strings.Cut(registered, "#")
	base, query, _ := strings.Cut(raw, "?")
	kept, dropped := make([]string, 0, 4), false
	for rest := query; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		name, _, _ := strings.Cut(pair, "=")
		if n, err := url.QueryUnescape(name); err == nil && authParams[n] {
			dropped = true
			continue
		}
		kept = append(kept, pair)
	}
	if dropped {
		query = strings.Join(kept, "&")
	}
	if query != "" && !strings.HasSuffix(query, "&") {
		query += "&"
	}
	return base + "?" + query, true
}

// authRequestURL appends the auth request parameters (OpenID Connect Core
// §3.1.2.1, 1EdTech Security Framework §5.1.1.2), each query-escaped, to
// base, a result of authRequestBase.
func authRequestURL(base, clientID, redirectURI, loginHint, messageHint, state, nonce string) string {
	var b strings.Builder
	b.Grow(len(base) + 200 + len(clientID) + 2*len(redirectURI) + len(loginHint) + len(messageHint) + len(state) + len(nonce))
	b.WriteString(base)
	param := func(name, value string) {
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(value))
	}
	param("scope", "openid")
	b.WriteString("&response_type=id_token&response_mode=form_post&prompt=none&")
	param("client_id", clientID)
	b.WriteByte('&')
	param("redirect_uri", redirectURI)
	b.WriteByte('&')
	param("login_hint", loginHint)
	if messageHint != "" {
		b.WriteByte('&')
		param("lti_message_hint", messageHint)
	}
	b.WriteByte('&')
	param("state", state)
	b.WriteByte('&')
	param("nonce", nonce)
	return b.String()
}
