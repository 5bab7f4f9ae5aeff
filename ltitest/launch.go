package ltitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/ltikit/ltikit/lti"
)

// LaunchOption changes one launch: the login initiation the platform sends,
// the claims of the id_token it mints, how it signs it, or its answer.
type LaunchOption func(*launchConfig)

type launchConfig struct {
	// cfg is the platform configuration the launch started with (see
	// Platform.conf): a registration that runs meanwhile does not change
	// where this launch goes. nil: the platform's current one.
	cfg *Config

	user          *User // nil: the role's default user
	learner       bool
	anonymous     bool
	deepLinking   bool
	targetLinkURI string
	deploymentID  string
	loginMethod   string
	loginMutators []func(url.Values)
	omitClientID  bool
	platformError *platformError
	claimMutators []func(map[string]any)
	tokenOpts     []TokenOption

	// storageTarget is the lti_storage_target of the login initiation
	// ("" sends none); omitStorageTargetAtLaunch leaves it out of the auth
	// endpoint's form post.
	storageTarget             string
	omitStorageTargetAtLaunch bool
}

type platformError struct{ code, description string }

// WithClaim sets the top-level claim name to value in the id_token, after
// every preset (role, user, deep linking): it always wins.
func WithClaim(name string, value any) LaunchOption {
	return WithClaims(func(c map[string]any) { c[name] = value })
}

// WithoutClaim removes the top-level claim name from the id_token, e.g.
// "nonce" or lti.ClaimDeploymentID.
func WithoutClaim(name string) LaunchOption {
	return WithClaims(func(c map[string]any) { delete(c, name) })
}

// WithClaims changes the id_token's claims with f, after every preset.
// Claim changes (WithClaim, WithoutClaim, WithClaims) apply in order. See
// [Platform.DefaultClaims] for the Go types of the values.
func WithClaims(f func(claims map[string]any)) LaunchOption {
	return func(lc *launchConfig) { lc.claimMutators = append(lc.claimMutators, f) }
}

// WithTokenOptions signs the id_token with the given options.
func WithTokenOptions(opts ...TokenOption) LaunchOption {
	return func(lc *launchConfig) { lc.tokenOpts = append(lc.tokenOpts, opts...) }
}

// AsLearner launches as a learner: the Learner role, and [DefaultLearner]
// unless [WithUser] names the user.
func AsLearner() LaunchOption { return func(lc *launchConfig) { lc.learner = true } }

// AsInstructor launches as an instructor (the default): the Instructor
// role, and [DefaultInstructor] unless [WithUser] names the user.
func AsInstructor() LaunchOption { return func(lc *launchConfig) { lc.learner = false } }

// Anonymous makes an anonymous launch (LTI 1.3 Core §5.3.6): no sub, no
// name, no email. The login initiation still carries a login_hint.
func Anonymous() LaunchOption { return func(lc *launchConfig) { lc.anonymous = true } }

// WithUser launches as the given user: sub, name (split into given_name and
// family_name at the first space) and email. An empty name or email leaves
// those claims out; an empty sub is sent as "sub":"" (an invalid token).
func WithUser(sub, name, email string) LaunchOption {
	return func(lc *launchConfig) { lc.user = &User{Sub: sub, Name: name, Email: email} }
}

// DeepLinking sends an LtiDeepLinkingRequest instead of a resource link
// launch: no resource_link claim, and deep_linking_settings with
// deep_link_return_url = [Platform.DeepLinkReturnURL], accept_types,
// accept_presentation_document_targets and an opaque data value.
func DeepLinking() LaunchOption { return func(lc *launchConfig) { lc.deepLinking = true } }

// WithTargetLinkURI sets target_link_uri in both the login initiation and
// the id_token. (To make them differ, add [WithClaim] or [WithLoginParams].)
func WithTargetLinkURI(uri string) LaunchOption {
	return func(lc *launchConfig) { lc.targetLinkURI = uri }
}

// WithDeploymentID sets the deployment_id in both the login initiation
// (lti_deployment_id) and the id_token.
func WithDeploymentID(id string) LaunchOption {
	return func(lc *launchConfig) { lc.deploymentID = id }
}

// WithLoginMethod sends the login initiation with method "GET" (a redirect,
// parameters in the query) or "POST" (an auto-submitted form, parameters in
// the body, as Moodle does; the default).
func WithLoginMethod(method string) LaunchOption {
	return func(lc *launchConfig) { lc.loginMethod = strings.ToUpper(method) }
}

// WithLoginParams changes the login initiation parameters with f before
// they are sent (set, change or delete iss, login_hint, target_link_uri,
// lti_message_hint, client_id, lti_deployment_id, lti_storage_target, or
// add others). The auth endpoint then expects the login_hint and
// lti_message_hint as sent, and repeats the lti_storage_target as sent.
func WithLoginParams(f func(params url.Values)) LaunchOption {
	return func(lc *launchConfig) { lc.loginMutators = append(lc.loginMutators, f) }
}

// WithoutClientID sends the login initiation without client_id (it is
// optional, LTI 1.3 Core §4.1). The tool must still send client_id in its
// auth request.
func WithoutClientID() LaunchOption { return func(lc *launchConfig) { lc.omitClientID = true } }

// WithStorageTarget sends lti_storage_target=name in the login initiation
// (1EdTech LTI Client Side postMessages): the window the tool's pages send
// their platform storage messages (lti.put_data, lti.get_data) to.
// [StorageTargetParent] ("_parent") is the window that frames the tool (or
// its opener); any other name is a frame of that window, such as
// [StorageFrameName] in the framed launch page at [PathFrame] with
// storage=frame. The platform answers storage messages only on its own
// pages ([PathFrame], [PathStorage]): the option only says where to send
// them. By default the auth endpoint repeats the target in its form post
// to the tool, beside id_token and state (as Canvas and Moodle do); see
// [WithoutStorageTargetAtLaunch]. An empty name sends none.
func WithStorageTarget(name string) LaunchOption {
	return func(lc *launchConfig) { lc.storageTarget = name }
}

// WithoutStorageTargetAtLaunch leaves lti_storage_target out of the auth
// endpoint's form post to the tool's redirect URI, as Blackboard Learn
// does: the tool sees the target in the login initiation only.
func WithoutStorageTargetAtLaunch() LaunchOption {
	return func(lc *launchConfig) { lc.omitStorageTargetAtLaunch = true }
}

// WithPlatformError makes the auth endpoint answer a valid auth request with
// an error instead of an id_token: it posts error, error_description and
// state to the redirect_uri (OIDC Core §3.1.2.6).
func WithPlatformError(code, description string) LaunchOption {
	return func(lc *launchConfig) { lc.platformError = &platformError{code, description} }
}

func (p *Platform) newLaunchConfig(opts []LaunchOption) (*launchConfig, error) {
	lc := &launchConfig{cfg: p.conf(), loginMethod: http.MethodPost}
	for _, o := range opts {
		o(lc)
	}
	if lc.loginMethod != http.MethodGet && lc.loginMethod != http.MethodPost {
		return nil, fmt.Errorf("ltitest: login method must be GET or POST, not %q", lc.loginMethod)
	}
	return lc, nil
}

func (lc *launchConfig) currentUser() User {
	switch {
	case lc.user != nil:
		return *lc.user
	case lc.learner:
		return DefaultLearner
	default:
		return DefaultInstructor
	}
}

// Login initiation parameter names (LTI 1.3 Core §4.1).
var loginParamOrder = []string{"iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id", "lti_deployment_id", paramStorageTarget}

// paramStorageTarget is the login initiation parameter (and launch form
// field) that names the platform storage target (LTI Client Side
// postMessages).
const paramStorageTarget = "lti_storage_target"

// startLogin records a pending launch and returns the login initiation
// parameters to send.
func (p *Platform) startLogin(lc *launchConfig) url.Values {
	seq := p.launchSeq.Add(1)
	id := randomHex(8)
	hint, _ := json.Marshal(map[string]any{"cmid": 1, "launchid": fmt.Sprintf("ltitest%d_%s", seq, id)})
	loginHint := lc.currentUser().Sub
	if loginHint == "" || lc.anonymous {
		loginHint = "ltitest-anonymous-" + id
	}
	v := url.Values{}
	v.Set("iss", p.Issuer())
	v.Set("login_hint", loginHint)
	v.Set("target_link_uri", lc.targetLink(p))
	v.Set("lti_message_hint", string(hint))
	if !lc.omitClientID {
		v.Set("client_id", lc.conf(p).ClientID)
	}
	v.Set("lti_deployment_id", lc.deployment(p))
	if lc.storageTarget != "" {
		v.Set(paramStorageTarget, lc.storageTarget)
	}
	for _, f := range lc.loginMutators {
		f(v)
	}
	p.addPending(&pendingLaunch{id: id, lc: lc, login: cloneValues(v), storageTarget: v.Get(paramStorageTarget), created: time.Now()})
	return v
}

func (lc *launchConfig) targetLink(p *Platform) string {
	if lc.targetLinkURI != "" {
		return lc.targetLinkURI
	}
	return lc.conf(p).TargetLinkURI
}

func (lc *launchConfig) deployment(p *Platform) string {
	if lc.deploymentID != "" {
		return lc.deploymentID
	}
	return lc.conf(p).DeploymentID
}

// conf returns the configuration snapshot the launch started with.
func (lc *launchConfig) conf(p *Platform) *Config {
	if lc.cfg != nil {
		return lc.cfg
	}
	return p.conf()
}

// claims builds the id_token claims of a launch.
func (p *Platform) launchClaims(lc *launchConfig, nonce, dlData string) map[string]any {
	c := p.DefaultClaims(nonce)
	if lc.learner {
		c[lti.ClaimRoles] = []string{RoleLearner}
	}
	setUser(c, lc.currentUser())
	if lc.anonymous {
		setAnonymous(c)
	}
	if lc.deepLinking {
		p.setDeepLinking(c, dlData)
	}
	c[lti.ClaimTargetLinkURI] = lc.targetLink(p)
	c[lti.ClaimDeploymentID] = lc.deployment(p)
	for _, f := range lc.claimMutators {
		f(c)
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// AuthResponse is the platform's answer to the tool's auth request: the
// form the browser would post to the tool.
type AuthResponse struct {
	// Action is the form's action: the redirect_uri the tool asked for.
	Action string
	// Form holds the fields [Platform.Post] sends: id_token and state, or
	// error, error_description and state, and lti_storage_target when the
	// login initiation sent one (unless [WithoutStorageTargetAtLaunch]).
	// Change it to tamper with the post.
	Form url.Values
	// IDToken and State are the id_token and state the platform sent (a copy:
	// changing them does not change Form).
	IDToken, State string
	// Login holds the login initiation parameters the platform sent.
	Login url.Values
	// AuthRequest holds the parameters of the tool's auth request.
	AuthRequest url.Values
}

// Claims decodes the id_token's claims without verifying it.
func (ar *AuthResponse) Claims() (map[string]any, error) {
	_, c, err := DecodeUnverified(ar.IDToken)
	return c, err
}

// LoginError reports that the tool did not answer the login initiation with
// a redirect (or an auto-submitting form) to the platform's auth endpoint.
// A tool that refuses a bad login initiation yields one.
type LoginError struct {
	// StatusCode is the status of the tool's last response.
	StatusCode int
	// Location is where the tool redirected to, if it did.
	Location string
	// Body is the start (up to 4 KiB) of the tool's last response body.
	Body string
	// Login holds the login initiation parameters the platform sent.
	Login url.Values
}

// Error describes the tool's answer.
func (e *LoginError) Error() string {
	if e.Location != "" {
		return fmt.Sprintf("ltitest: the tool answered the login initiation with %d and a redirect to %s, not to the platform's auth endpoint", e.StatusCode, e.Location)
	}
	return fmt.Sprintf("ltitest: the tool answered the login initiation with %d and no redirect to the platform's auth endpoint: %.200s", e.StatusCode, e.Body)
}

// Code is invalid_request: the tool under test refused the login
// initiation (its own answer, with its own code, is in Body).
func (e *LoginError) Code() lti.Code { return lti.CodeInvalidRequest }

// AuthError reports that the platform's auth endpoint refused the tool's
// auth request (1EdTech Security Framework §5.1.1.2).
type AuthError struct {
	// StatusCode is the HTTP status of the auth endpoint's answer (400).
	StatusCode int
	// ErrorCode is the OAuth error code, e.g. "invalid_request",
	// "unauthorized_client", "invalid_scope", "unsupported_response_type".
	ErrorCode string
	// Description says what was wrong.
	Description string
	// Parameter names the offending auth request parameter.
	Parameter string
	// AuthRequest holds the parameters of the tool's auth request.
	AuthRequest url.Values
}

// Error describes the refusal.
func (e *AuthError) Error() string {
	return fmt.Sprintf("ltitest: the auth endpoint refused the tool's auth request (%d %s): %s", e.StatusCode, e.ErrorCode, e.Description)
}

// Code is platform_error: the platform refused the auth request; the
// OAuth error code it answered with is ErrorCode.
func (e *AuthError) Code() lti.Code { return lti.CodePlatformError }

// ErrNoCookieJar is returned by [Platform.Launch] and [Platform.Authorize]
// for a client without a cookie jar: the tool's state cookie would be lost.
// Its code is invalid_request.
var ErrNoCookieJar = lti.NewSentinel(lti.CodeInvalidRequest, "ltitest: the http.Client has no cookie jar (client.Jar is nil); a launch needs one to carry the tool's state cookie, use NewBrowser")

// NewBrowser returns an http.Client with its own cookie jar, standing in for
// one browser. Like browsers, the jar sends Secure cookies to loopback
// hosts over plain http. (It ignores SameSite, and the test servers
// share a site anyway: check the tool's Set-Cookie attributes directly.)
func NewBrowser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// Launch runs a whole launch with client as the browser: the login
// initiation to the tool, the tool's auth request to the platform, and the
// post of the id_token form to the tool. It returns the tool's response to
// that post (redirects are not followed); the caller closes its body.
// client must have a cookie jar. See [Platform.Authorize] and
// [Platform.Post] for the two halves.
func (p *Platform) Launch(ctx context.Context, client *http.Client, opts ...LaunchOption) (*http.Response, error) {
	ar, err := p.Authorize(ctx, client, opts...)
	if err != nil {
		return nil, err
	}
	return p.Post(ctx, client, ar)
}

// maxHops bounds the redirects followed between the login initiation and
// the auth endpoint.
const maxHops = 10

// Authorize runs the first half of a launch with client as the browser:
// it sends the login initiation to the tool (a POST form unless
// [WithLoginMethod] says GET), follows the tool's redirects (within the
// tool's origin, at most 10) to the platform's auth endpoint (or submits the
// tool's auto-submitting form to it), and returns the form the platform
// would post back to the tool.
//
// It fails with a *[LoginError] when the tool does not send the browser to
// the auth endpoint, and with an *[AuthError] when the auth endpoint
// refuses the tool's auth request. client must have a cookie jar.
func (p *Platform) Authorize(ctx context.Context, client *http.Client, opts ...LaunchOption) (*AuthResponse, error) {
	if client == nil {
		return nil, errors.New("ltitest: nil http.Client; use NewBrowser")
	}
	if client.Jar == nil {
		return nil, ErrNoCookieJar
	}
	lc, err := p.newLaunchConfig(opts)
	if err != nil {
		return nil, err
	}
	loginURL := lc.cfg.ToolLoginURL
	if loginURL == "" {
		return nil, errors.New("ltitest: Config.ToolLoginURL is empty: the platform does not know where to start a launch")
	}
	login := p.startLogin(lc)
	nf := noFollow(client)

	var req *http.Request
	if lc.loginMethod == http.MethodGet {
		u, err := withQuery(loginURL, login)
		if err != nil {
			return nil, err
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
	} else {
		req, err = p.formRequest(ctx, http.MethodPost, loginURL, login)
		if err != nil {
			return nil, err
		}
	}

	for hop := 0; ; hop++ {
		if hop > maxHops {
			return nil, fmt.Errorf("ltitest: more than %d redirects after the login initiation", maxHops)
		}
		if p.isAuthEndpoint(req.URL) {
			return p.doAuth(nf, req, login)
		}
		resp, err := nf.Do(req)
		if err != nil {
			return nil, fmt.Errorf("ltitest: login initiation: %w", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxFormBytes))
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			loc, err := resp.Location()
			if err != nil {
				return nil, &LoginError{StatusCode: resp.StatusCode, Body: snippet(body), Login: login}
			}
			if !p.isAuthEndpoint(loc) && !sameOrigin(loc, req.URL) {
				// The tool sent the browser somewhere else entirely.
				return nil, &LoginError{StatusCode: resp.StatusCode, Location: loc.String(), Body: snippet(body), Login: login}
			}
			if req, err = redirectRequest(ctx, req, resp.StatusCode, loc); err != nil {
				return nil, err
			}
		case http.StatusOK:
			f, ok := parseForm(body, resp.Request.URL)
			if !ok || !p.isAuthEndpoint(f.action) {
				return nil, &LoginError{StatusCode: resp.StatusCode, Body: snippet(body), Login: login}
			}
			// The tool answered with an auto-submitting auth request form.
			if f.method == http.MethodGet {
				u := *f.action
				u.RawQuery = f.values.Encode()
				req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
			} else {
				req, err = p.formRequest(ctx, http.MethodPost, f.action.String(), f.values)
			}
			if err != nil {
				return nil, err
			}
		default:
			return nil, &LoginError{StatusCode: resp.StatusCode, Body: snippet(body), Login: login}
		}
	}
}

// doAuth sends the auth request and reads the platform's answer.
func (p *Platform) doAuth(client *http.Client, req *http.Request, login url.Values) (*AuthResponse, error) {
	authReq, err := requestParams(req)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ltitest: auth request: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxFormBytes))
	if resp.StatusCode != http.StatusOK {
		ae := &AuthError{StatusCode: resp.StatusCode, AuthRequest: authReq}
		var oe oauthError
		if json.Unmarshal(body, &oe) == nil {
			ae.ErrorCode, ae.Description, ae.Parameter = oe.Error, oe.Description, oe.Parameter
		} else {
			ae.Description = snippet(body)
		}
		return nil, ae
	}
	f, ok := parseForm(body, resp.Request.URL)
	if !ok {
		return nil, fmt.Errorf("ltitest: the auth endpoint's answer has no form: %.200s", body)
	}
	return &AuthResponse{
		Action:      f.action.String(),
		Form:        f.values,
		IDToken:     f.values.Get("id_token"),
		State:       f.values.Get("state"),
		Login:       login,
		AuthRequest: authReq,
	}, nil
}

// Post runs the second half of a launch: it posts ar.Form to ar.Action with
// client as the browser (its cookies included, as a browser does for the
// platform's auto-submitting form) and returns the tool's response without
// following redirects. The caller closes the body. Post may be called more
// than once with one AuthResponse (a replay), with another client (a
// different browser, or one without cookies), or after changing ar.Form.
func (p *Platform) Post(ctx context.Context, client *http.Client, ar *AuthResponse) (*http.Response, error) {
	if client == nil {
		return nil, errors.New("ltitest: nil http.Client; use NewBrowser")
	}
	if ar == nil {
		return nil, errors.New("ltitest: nil AuthResponse")
	}
	req, err := p.formRequest(ctx, http.MethodPost, ar.Action, ar.Form)
	if err != nil {
		return nil, err
	}
	return noFollow(client).Do(req)
}

// formRequest builds a form post as a browser sends it from a platform page.
func (p *Platform) formRequest(ctx context.Context, method, target string, form url.Values) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", p.baseURL.Scheme+"://"+p.baseURL.Host)
	return req, nil
}

// redirectRequest builds the request a browser sends for a redirect.
func redirectRequest(ctx context.Context, prev *http.Request, status int, loc *url.URL) (*http.Request, error) {
	if (status == http.StatusTemporaryRedirect || status == http.StatusPermanentRedirect) && prev.Method == http.MethodPost {
		body, err := prev.GetBody()
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, loc.String(), body)
		if err != nil {
			return nil, err
		}
		req.GetBody = prev.GetBody
		req.Header.Set("Content-Type", prev.Header.Get("Content-Type"))
		if o := prev.Header.Get("Origin"); o != "" {
			req.Header.Set("Origin", o)
		}
		return req, nil
	}
	return http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
}

// requestParams returns the parameters of a GET query or a POST form.
func requestParams(req *http.Request) (url.Values, error) {
	if req.Method == http.MethodGet {
		return req.URL.Query(), nil
	}
	if req.GetBody == nil {
		return url.Values{}, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	return url.ParseQuery(string(b))
}

func noFollow(c *http.Client) *http.Client {
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &nc
}

func (p *Platform) isAuthEndpoint(u *url.URL) bool {
	return u != nil && strings.EqualFold(u.Scheme, p.baseURL.Scheme) && strings.EqualFold(u.Host, p.baseURL.Host) &&
		u.EscapedPath() == p.basePath+PathAuth
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

func withQuery(raw string, params url.Values) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = append(q[k], vs...)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func snippet(b []byte) string {
	const max = 4 << 10
	if len(b) > max {
		b = b[:max]
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}
