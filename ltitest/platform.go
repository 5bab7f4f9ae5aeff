package ltitest

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/registration"
)

// Defaults used when the corresponding [Config] field is empty.
const (
	// DefaultClientID is the default Config.ClientID.
	DefaultClientID = "ltitest-client"
	// DefaultDeploymentID is the default Config.DeploymentID.
	DefaultDeploymentID = "ltitest-deployment"
)

// Endpoint paths, relative to the platform's base URL.
const (
	// PathAuth is the OIDC authorization endpoint (1EdTech Security
	// Framework §5.1.1.2).
	PathAuth = "/auth"
	// PathToken is the OAuth 2 token endpoint: the client credentials grant
	// with a JWT client assertion (see [Platform.SetToolKeySet]).
	PathToken = "/token"
	// PathJWKS is the platform's public key set.
	PathJWKS = "/jwks"
	// PathDeepLinks is the deep_link_return_url of deep linking requests.
	PathDeepLinks = "/deep_links"
	// PathLaunch starts a launch from a real browser (see [Platform.ServeHTTP]).
	PathLaunch = "/launch"
	// PathReturn is the launch_presentation return_url: a page that shows
	// the lti_msg / lti_errormsg the tool returns with (LTI 1.3 Core §5.4.4.1).
	PathReturn = "/return"
	// PathFrame is an LMS course page that frames a launch in an iframe
	// named [ToolFrameName] and answers the tool's LTI Client Side
	// postMessages, platform storage included (see [Platform.ServeHTTP]).
	PathFrame = "/frame"
	// PathStorage is the platform storage frame: a page that keeps the
	// data of lti.put_data in its memory, per tool origin, and answers
	// lti.capabilities, lti.put_data and lti.get_data. [PathFrame] embeds
	// it, hidden, as the frame [StorageFrameName] with storage=frame.
	PathStorage = "/storage"
)

// Config describes the tool the platform launches, as an administrator would
// register it in an LMS. Every field is optional: a platform without tool
// URLs still serves its key set and mints tokens, but cannot run a launch.
type Config struct {
	// ClientID is the client_id the platform issued to the tool.
	// Default: DefaultClientID.
	ClientID string
	// DeploymentID is the deployment_id of the tool's one deployment.
	// Default: DefaultDeploymentID.
	DeploymentID string
	// ToolLoginURL is the tool's OIDC login initiation URL (LTI 1.3 Core
	// §4.1), where a launch starts.
	ToolLoginURL string
	// ToolRedirectURIs are the tool's registered redirect (launch) URIs. The
	// auth endpoint refuses any other redirect_uri.
	ToolRedirectURIs []string
	// TargetLinkURI is the default target_link_uri, both in the login
	// initiation and in the id_token. Default: ToolRedirectURIs[0].
	TargetLinkURI string
	// ToolJWKSURL is the tool's public key set URL, which the platform
	// verifies the tool's JWTs with (client assertions at the token
	// endpoint, deep linking responses); see also [Platform.SetToolKeySet].
	ToolJWKSURL string
	// RequireRegistrationToken makes the registration endpoint (LTI
	// Dynamic Registration, [PathRegister]) refuse requests without a
	// bearer token from [Platform.NewRegistrationToken]. A token that is
	// sent is always checked.
	RequireRegistrationToken bool
	// GenerateKeys makes the platform generate its RSA keys. By default it
	// signs with keys built into this package (lent to one open platform
	// at a time, see [Platform.Close]), which saves the key generation a
	// platform would otherwise cost every test. Their private halves are
	// public, in this package's source: a platform that anyone but the
	// test can reach, such as a sandbox LMS on a shared address, sets
	// GenerateKeys.
	GenerateKeys bool
}

// Platform is an LTI 1.3 platform (an LMS) for tests: it publishes a key
// set, answers OIDC authorization requests with signed id_tokens and drives
// launches from Go. Create one with [NewPlatform] (its own test server) or
// [NewHandler] (mounted in another server). All methods are safe for
// concurrent use.
type Platform struct {
	// cfg is the current configuration, an immutable snapshot: a
	// registration (dynreg.go) swaps in a new one, so readers Load it once
	// per operation and never write to it (see conf).
	cfg      atomic.Pointer[Config]
	base     string   // absolute base URL, no trailing slash
	baseURL  *url.URL // parsed base
	basePath string   // path of base, no trailing slash ("" at the root)
	server   *httptest.Server

	// generateKeys is Config.GenerateKeys at creation.
	generateKeys bool

	mu       sync.Mutex
	borrowed []*rsa.PrivateKey // built-in keys lent to p, returned by Close
	closed   bool
	keys     []*signingKey // published keys, oldest first
	active   *signingKey   // signs new tokens; normally also in keys
	jwksFail int
	pending  map[string]*pendingLaunch
	dlPosts  []string

	jwksRequests atomic.Int64
	launchSeq    atomic.Int64

	tokens tokenState // the token endpoint (tokenendpoint.go)
	svc    svcState   // the AGS and NRPS endpoints (ags*.go, nrps*.go)

	dl deepLinkState // deep linking requests and responses (deeplink.go)

	dr dynRegState // LTI Dynamic Registration (dynreg.go)
}

// NewPlatform starts a platform on a new local HTTP test server. Its issuer
// is the server's URL (e.g. "http://127.0.0.1:41234"). Close it when done.
func NewPlatform(cfg Config) (*Platform, error) {
	srv := httptest.NewUnstartedServer(nil)
	p, err := NewHandler("http://"+srv.Listener.Addr().String(), cfg)
	if err != nil {
		srv.Close()
		return nil, err
	}
	srv.Config.Handler = p
	srv.Start()
	p.server = srv
	return p, nil
}

// NewHandler returns a platform that is served by the caller, e.g. mounted
// under a path prefix of another server. baseURL is the absolute URL the
// platform is reachable at, prefix included (e.g.
// "http://localhost:8080/sandbox"); it is the issuer and the base of every
// endpoint URL. The handler accepts request paths with or without the prefix,
// so it can be mounted with or without http.StripPrefix.
func NewHandler(baseURL string, cfg Config) (*Platform, error) {
	base := strings.TrimRight(baseURL, "/")
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("ltitest: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("ltitest: base URL must be an absolute http(s) URL without query, fragment or user info")
	}
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.DeploymentID == "" {
		cfg.DeploymentID = DefaultDeploymentID
	}
	cfg.ToolRedirectURIs = append([]string(nil), cfg.ToolRedirectURIs...)
	if cfg.TargetLinkURI == "" && len(cfg.ToolRedirectURIs) > 0 {
		cfg.TargetLinkURI = cfg.ToolRedirectURIs[0]
	}
	if cfg.ToolLoginURL != "" {
		if err := checkToolURL("tool login URL", cfg.ToolLoginURL); err != nil {
			return nil, err
		}
	}
	for _, r := range cfg.ToolRedirectURIs {
		if err := checkToolURL("tool redirect URI", r); err != nil {
			return nil, err
		}
	}
	if cfg.ToolJWKSURL != "" {
		if err := checkToolURL("tool JWKS URL", cfg.ToolJWKSURL); err != nil {
			return nil, err
		}
	}
	p := &Platform{
		base:     base,
		baseURL:  u,
		basePath: strings.TrimRight(u.EscapedPath(), "/"),
		pending:  make(map[string]*pendingLaunch),
	}
	p.cfg.Store(&cfg)
	p.generateKeys = cfg.GenerateKeys
	k, err := p.newKey()
	if err != nil {
		return nil, err
	}
	p.keys = []*signingKey{k}
	p.active = k
	return p, nil
}

func checkToolURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("ltitest: %s: %w", what, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("ltitest: %s %q must be an absolute http(s) URL", what, raw)
	}
	return nil
}

// Close shuts down the test server started by [NewPlatform] and gives the
// built-in keys the platform signed with back for other platforms to use.
// A platform made with [NewHandler] must not serve or sign after Close.
// Close may be called more than once.
func (p *Platform) Close() {
	if p.server != nil {
		p.server.Close()
	}
	p.mu.Lock()
	keys := p.borrowed
	p.borrowed = nil
	p.closed = true
	p.mu.Unlock()
	returnKeys(keys)
}

// Server returns the test server started by [NewPlatform], or nil for a
// platform made with [NewHandler].
func (p *Platform) Server() *httptest.Server { return p.server }

// URL returns the platform's base URL, which is also its issuer.
func (p *Platform) URL() string { return p.base }

// Issuer returns the iss of the platform's id_tokens: its base URL.
func (p *Platform) Issuer() string { return p.base }

// ClientID returns the client_id the platform issued to the tool.
func (p *Platform) ClientID() string { return p.conf().ClientID }

// DeploymentID returns the deployment_id of the tool's deployment.
func (p *Platform) DeploymentID() string { return p.conf().DeploymentID }

// Config returns the platform's configuration with defaults filled in,
// including the tool URLs a registration ([PathRegister]) adopted.
func (p *Platform) Config() Config {
	c := *p.conf()
	c.ToolRedirectURIs = append([]string(nil), c.ToolRedirectURIs...)
	return c
}

// conf returns the current configuration snapshot. It is shared and
// immutable: callers read it, never write to it or to its slices, and load
// it once when they read several fields that belong together, so that a
// registration running meanwhile cannot mix two configurations.
func (p *Platform) conf() *Config { return p.cfg.Load() }

// AuthEndpoint returns the URL of the OIDC authorization endpoint.
func (p *Platform) AuthEndpoint() string { return p.base + PathAuth }

// TokenEndpoint returns the URL of the OAuth 2 token endpoint.
func (p *Platform) TokenEndpoint() string { return p.base + PathToken }

// KeySetURL returns the URL of the platform's JWKS.
func (p *Platform) KeySetURL() string { return p.base + PathJWKS }

// DeepLinkReturnURL returns the deep_link_return_url of deep linking
// requests.
func (p *Platform) DeepLinkReturnURL() string { return p.base + PathDeepLinks }

// Registration returns the registration a tool needs to accept this
// platform's launches: issuer, client_id and endpoint URLs.
func (p *Platform) Registration() registration.Registration {
	return registration.Registration{
		Issuer:        p.Issuer(),
		ClientID:      p.conf().ClientID,
		AuthEndpoint:  p.AuthEndpoint(),
		TokenEndpoint: p.TokenEndpoint(),
		KeySetURL:     p.KeySetURL(),
	}
}

// Deployment returns the tool's deployment on this platform.
func (p *Platform) Deployment() deployment.Deployment {
	return deployment.Deployment{DeploymentID: p.conf().DeploymentID}
}

// DeepLinkingResponses returns the JWT form values posted to the
// deep_link_return_url so far, oldest first, as posted (refused ones
// included); [Platform.DeepLinkingResults] has what the platform made of
// them.
func (p *Platform) DeepLinkingResponses() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.dlPosts...)
}

// ServeHTTP serves the platform's endpoints below its base path:
//
//	GET      /jwks        the public key set (see SetKeySetFailure)
//	GET/POST /auth        the OIDC authorization endpoint
//	POST     /token       the OAuth 2 token endpoint (client credentials
//	                      grant with a JWT client assertion)
//	POST     /deep_links  verifies and records a deep linking response
//	                      (see DeepLinkingResults)
//	GET/POST /ags/lineitems, GET/PUT/DELETE /ags/lineitems/<n>/lineitem,
//	POST     …/lineitem/scores, GET …/lineitem/results
//	                      Assignment and Grade Services (see WithAGS)
//	GET      /nrps/memberships
//	                      Names and Role Provisioning Services (see WithNRPS)
//	GET      /return      the launch_presentation return_url: shows lti_msg
//	                      and lti_errormsg
//	GET      /launch      starts a launch from a browser: an auto-submitting
//	                      login initiation form to the tool. Query parameters:
//	                      role=learner|instructor, message=deep_linking,
//	                      login_method=get|post, anonymous=1,
//	                      storage_target=<name> (WithStorageTarget),
//	                      storage_target_at_launch=0
//	                      (WithoutStorageTargetAtLaunch)
//	GET      /frame       an LMS course page that frames a launch: an iframe
//	                      named "tool" whose src is /launch with the same
//	                      query, plus storage=parent (the default: the page
//	                      answers storage messages itself; target _parent),
//	                      storage=frame (a hidden /storage frame named
//	                      lti_storage answers them; target lti_storage) or
//	                      storage=off (no postMessage support, no target),
//	                      and forger=<URL> (test only: an iframe named
//	                      "forger" of another origin, see ForgerHandler)
//	GET      /storage     the platform storage frame (LTI Client Side
//	                      postMessages and Platform Storage)
//	GET      /.well-known/openid-configuration
//	                      the OpenID configuration (LTI Dynamic Registration)
//	POST     /register    the registration endpoint (see NewRegistrationToken,
//	                      ToolRegistrations)
//	GET      /register-tool?url=<tool registration URL>
//	                      an admin page that registers the tool in an iframe
//	GET      /            an index page with launch links
func (p *Platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if p.basePath != "" && (path == p.basePath || strings.HasPrefix(path, p.basePath+"/")) {
		path = strings.TrimPrefix(path, p.basePath)
	}
	switch path {
	case PathJWKS:
		p.serveJWKS(w, r)
	case PathAuth:
		p.serveAuth(w, r)
	case PathToken:
		p.serveToken(w, r)
	case PathDeepLinks:
		p.serveDeepLinks(w, r)
	case PathLaunch:
		p.serveBrowserLaunch(w, r)
	case PathReturn:
		p.serveReturn(w, r)
	case PathFrame:
		p.serveFrame(w, r)
	case PathStorage:
		p.serveStorage(w, r)
	case PathOpenIDConfiguration:
		p.serveOpenIDConfiguration(w, r)
	case PathRegister:
		p.serveRegister(w, r)
	case PathRegisterTool:
		p.serveRegisterTool(w, r)
	case "", "/":
		p.serveIndex(w, r)
	default:
		if !p.serveServices(w, r, path) {
			http.NotFound(w, r)
		}
	}
}

// oauthError is the JSON body of an error answer (RFC 6749 §5.2), with the
// offending parameter for easier test failures.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Parameter   string `json:"parameter,omitempty"`
}

func writeJSONError(w http.ResponseWriter, status int, code, desc, param string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(oauthError{Error: code, Description: desc, Parameter: param})
}

func (p *Platform) serveJWKS(w http.ResponseWriter, r *http.Request) {
	p.jwksRequests.Add(1)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET", "")
		return
	}
	p.mu.Lock()
	fail := p.jwksFail
	p.mu.Unlock()
	if fail != 0 {
		writeJSONError(w, fail, "keyset_failure", "ltitest: key set failure injected with SetKeySetFailure", "")
		return
	}
	body, err := json.Marshal(p.PublicKeySet())
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "server_error", err.Error(), "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

const maxFormBytes = 1 << 20

var indexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>ltitest platform</title></head>
<body>
<h1>ltitest platform</h1>
<dl>
<dt>Issuer</dt><dd>{{.Issuer}}</dd>
<dt>Client ID</dt><dd>{{.ClientID}}</dd>
<dt>Deployment ID</dt><dd>{{.DeploymentID}}</dd>
<dt>Auth endpoint</dt><dd>{{.Auth}}</dd>
<dt>Key set</dt><dd><a href="{{.JWKS}}">{{.JWKS}}</a></dd>
</dl>
{{if .CanLaunch}}<ul>
<li><a href="{{.Launch}}?role=instructor">Launch as instructor</a></li>
<li><a href="{{.Launch}}?role=learner">Launch as learner</a></li>
<li><a href="{{.Launch}}?role=learner&amp;anonymous=1">Anonymous launch</a></li>
<li><a href="{{.Launch}}?role=instructor&amp;message=deep_linking">Deep linking request</a></li>
<li><a href="{{.Frame}}?role=instructor&amp;storage=parent">Framed launch as instructor (platform storage, _parent)</a></li>
<li><a href="{{.Frame}}?role=instructor&amp;storage=frame">Framed launch as instructor (platform storage frame)</a></li>
<li><a href="{{.Frame}}?role=instructor&amp;storage=off">Framed launch as instructor (no platform storage)</a></li>
</ul>{{else}}<p>No tool login URL is configured.</p>{{end}}
</body></html>
`))

func (p *Platform) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	cfg := p.conf()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = indexTemplate.Execute(w, map[string]any{
		"Issuer":       p.Issuer(),
		"ClientID":     cfg.ClientID,
		"DeploymentID": cfg.DeploymentID,
		"Auth":         p.AuthEndpoint(),
		"JWKS":         p.KeySetURL(),
		"Launch":       p.base + PathLaunch,
		"Frame":        p.base + PathFrame,
		"CanLaunch":    cfg.ToolLoginURL != "",
	})
}

var returnTemplate = template.Must(template.New("return").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>ltitest platform</title></head>
<body>
<h1>Back on the ltitest platform</h1>
{{with .Msg}}<p>Message: {{.}}</p>{{end}}
{{with .ErrMsg}}<p>Error: {{.}}</p>{{end}}
<p><a href="{{.Index}}">Platform home</a></p>
</body></html>
`))

func (p *Platform) serveReturn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = returnTemplate.Execute(w, map[string]string{
		"Msg":    q.Get("lti_msg"),
		"ErrMsg": q.Get("lti_errormsg"),
		"Index":  p.base + "/",
	})
}

// serveBrowserLaunch starts a launch from a real browser.
func (p *Platform) serveBrowserLaunch(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if p.conf().ToolLoginURL == "" {
		http.Error(w, "ltitest: no tool login URL is configured", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	var opts []LaunchOption
	switch q.Get("role") {
	case "", "instructor":
		opts = append(opts, AsInstructor())
	case "learner":
		opts = append(opts, AsLearner())
	default:
		http.Error(w, "ltitest: role must be instructor or learner", http.StatusBadRequest)
		return
	}
	switch q.Get("message") {
	case "", "resource_link":
	case "deep_linking":
		opts = append(opts, DeepLinking())
	default:
		http.Error(w, "ltitest: message must be resource_link or deep_linking", http.StatusBadRequest)
		return
	}
	if q.Get("anonymous") == "1" {
		opts = append(opts, Anonymous())
	}
	if m := q.Get("login_method"); m != "" {
		opts = append(opts, WithLoginMethod(m))
	}
	storage, err := StorageLaunchOptions(q)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	opts = append(opts, storage...)
	p.StartBrowserLaunch(w, r, opts...)
}

// pendingLaunch is a login initiation the platform sent and whose auth
// request it expects.
type pendingLaunch struct {
	id      string
	lc      *launchConfig
	login   url.Values // the login initiation parameters as sent
	created time.Time

	// storageTarget is the lti_storage_target the login initiation sent
	// ("" for none), which the auth endpoint's form post repeats.
	storageTarget string
}

const (
	pendingTTL = 10 * time.Minute
	maxPending = 4096
)

// addPending records a launch, dropping expired ones and, past maxPending,
// the oldest.
func (p *Platform) addPending(pl *pendingLaunch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	var oldest *pendingLaunch
	for id, x := range p.pending {
		if now.Sub(x.created) > pendingTTL {
			delete(p.pending, id)
			continue
		}
		if oldest == nil || x.created.Before(oldest.created) {
			oldest = x
		}
	}
	if len(p.pending) >= maxPending && oldest != nil {
		delete(p.pending, oldest.id)
	}
	p.pending[pl.id] = pl
}
