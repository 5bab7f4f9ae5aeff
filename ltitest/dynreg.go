package ltitest

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ltikit/ltikit/lti"
)

// LTI Dynamic Registration 1.0 paths, relative to the platform's base URL.
const (
	// PathOpenIDConfiguration is the platform's OpenID configuration
	// (OpenID Connect Discovery 1.0 §4 with LTI Dynamic Registration 1.0
	// §3.4.1), the openid_configuration a registration starts with.
	PathOpenIDConfiguration = "/.well-known/openid-configuration"
	// PathRegister is the registration endpoint (RFC 7591 §3, LTI Dynamic
	// Registration 1.0 §3.5.2), where the tool posts its configuration.
	PathRegister = "/register"
	// PathRegisterTool is an LMS admin page that runs a tool's
	// registration in an iframe: GET /register-tool?url=<the tool's
	// registration initiation URL>.
	PathRegisterTool = "/register-tool"
)

// ProductFamilyCode is the product_family_code of the platform's
// lti-platform-configuration.
const ProductFamilyCode = "ltitest"

// RegistrationTokenTTL is how long a token of [Platform.NewRegistrationToken]
// stays usable.
const RegistrationTokenTTL = 10 * time.Minute

const (
	maxRegistrationBytes = 64 << 10
	maxRegistrationToken = 1024 // outstanding tokens kept
	maxRegistrationLog   = 1024 // recorded registrations kept
)

// Scopes the platform lists in scopes_supported besides openid: the LTI
// Advantage scopes its token endpoint grants.
var supportedScopes = []string{
	"openid",
	lti.ScopeAGSLineItem,
	lti.ScopeAGSLineItemReadOnly,
	lti.ScopeAGSResultReadOnly,
	lti.ScopeAGSScore,
	lti.ScopeNRPSMembership,
}

// DeepLinkingPlacements are the placements the platform offers for
// LtiDeepLinkingRequest in messages_supported.
var DeepLinkingPlacements = []string{"ContentArea", "RichTextEditor"}

// ToolRegistration is one registration request the platform's
// registration endpoint received, and what it made of it.
type ToolRegistration struct {
	// Time is when it arrived.
	Time time.Time
	// Token is the bearer registration token it carried ("" for none).
	Token string
	// Body is the request body as received.
	Body []byte
	// Status is the HTTP status of the answer.
	Status int
	// Error is the RFC 7591 error code of a refusal ("" when accepted),
	// Description its reason.
	Error, Description string
	// ClientID and DeploymentID are what an accepted registration got.
	ClientID, DeploymentID string
	// LoginURL, RedirectURIs, TargetLinkURI and JWKSURL are the tool URLs
	// an accepted registration made the platform adopt.
	LoginURL string
	// RedirectURIs are the tool's redirect URIs (redirect_uris).
	RedirectURIs []string
	// TargetLinkURI is the tool's default launch URL (the LTI tool
	// configuration's target_link_uri).
	TargetLinkURI string
	// JWKSURL is the tool's key set URL (jwks_uri).
	JWKSURL string
	// Scopes are the scopes granted.
	Scopes []string
}

// dynRegState is the registration endpoint's state.
type dynRegState struct {
	mu     sync.Mutex
	tokens map[string]time.Time // outstanding one-time tokens → expiry
	log    []ToolRegistration
}

// OpenIDConfigurationURL returns the URL of the platform's OpenID
// configuration, the openid_configuration of a registration.
func (p *Platform) OpenIDConfigurationURL() string { return p.base + PathOpenIDConfiguration }

// RegistrationEndpoint returns the URL of the registration endpoint.
func (p *Platform) RegistrationEndpoint() string { return p.base + PathRegister }

// NewRegistrationToken mints a one-time registration token for the
// registration endpoint, valid for [RegistrationTokenTTL]. The endpoint
// consumes a token on its first use, whatever the outcome.
func (p *Platform) NewRegistrationToken() string {
	tok := randomHex(24)
	now := time.Now()
	d := &p.dr
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tokens == nil {
		d.tokens = make(map[string]time.Time)
	}
	for t, exp := range d.tokens {
		if now.After(exp) || len(d.tokens) >= maxRegistrationToken {
			delete(d.tokens, t)
		}
	}
	d.tokens[tok] = now.Add(RegistrationTokenTTL)
	return tok
}

// takeToken consumes tok and reports whether it was outstanding.
func (p *Platform) takeToken(tok string) bool {
	d := &p.dr
	d.mu.Lock()
	defer d.mu.Unlock()
	for t, exp := range d.tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			delete(d.tokens, t)
			return time.Now().Before(exp)
		}
	}
	return false
}

// RegistrationInitiationURL returns the tool's registration initiation URL
// with the platform's openid_configuration and a fresh registration token
// appended, as an LMS opens it (LTI Dynamic Registration 1.0 §3.3).
func (p *Platform) RegistrationInitiationURL(toolURL string) (string, error) {
	if err := checkToolURL("tool registration URL", toolURL); err != nil {
		return "", err
	}
	return withQuery(toolURL, url.Values{
		"openid_configuration": {p.OpenIDConfigurationURL()},
		"registration_token":   {p.NewRegistrationToken()},
	})
}

// RegisterToolURL returns the URL of the platform's admin page that
// registers the tool at toolURL in an iframe (see [PathRegisterTool]).
func (p *Platform) RegisterToolURL(toolURL string) string {
	return p.base + PathRegisterTool + "?" + url.Values{"url": {toolURL}}.Encode()
}

// ToolRegistrations returns the registration requests received so far,
// oldest first, refused ones included.
func (p *Platform) ToolRegistrations() []ToolRegistration {
	d := &p.dr
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]ToolRegistration, len(d.log))
	for i, r := range d.log {
		r.Body = slices.Clone(r.Body)
		r.RedirectURIs = slices.Clone(r.RedirectURIs)
		r.Scopes = slices.Clone(r.Scopes)
		out[i] = r
	}
	return out
}

func (p *Platform) recordRegistration(r ToolRegistration) {
	d := &p.dr
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.log) >= maxRegistrationLog {
		d.log = slices.Delete(d.log, 0, 1)
	}
	d.log = append(d.log, r)
}

// OpenIDConfiguration returns the platform's OpenID configuration document
// as served at [PathOpenIDConfiguration].
func (p *Platform) OpenIDConfiguration() map[string]any {
	return map[string]any{
		"issuer":                                p.Issuer(),
		"authorization_endpoint":                p.AuthEndpoint(),
		"token_endpoint":                        p.TokenEndpoint(),
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256"},
		"jwks_uri":                              p.KeySetURL(),
		"registration_endpoint":                 p.RegistrationEndpoint(),
		"scopes_supported":                      slices.Clone(supportedScopes),
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public", "pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported":                      []string{"iss", "sub", "aud", "name", "given_name", "family_name", "email"},
		"https://purl.imsglobal.org/spec/lti-platform-configuration": map[string]any{
			"product_family_code": ProductFamilyCode,
			"version":             "1.0",
			"messages_supported": []map[string]any{
				{"type": "LtiResourceLinkRequest"},
				{"type": "LtiDeepLinkingRequest", "placements": DeepLinkingPlacements},
			},
			"variables": []string{"Context.id", "ResourceLink.id", "User.id"},
		},
	}
}

func (p *Platform) serveOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET", "")
		return
	}
	body, err := json.Marshal(p.OpenIDConfiguration())
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "server_error", err.Error(), "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// toolConfiguration is the part of a registration request the platform
// reads (RFC 7591 §2, LTI Dynamic Registration 1.0 §3.5.2).
type toolConfiguration struct {
	ApplicationType         *string  `json:"application_type"`
	ResponseTypes           []string `json:"response_types"`
	GrantTypes              []string `json:"grant_types"`
	InitiateLoginURI        string   `json:"initiate_login_uri"`
	RedirectURIs            []string `json:"redirect_uris"`
	ClientName              string   `json:"client_name"`
	JWKSURI                 string   `json:"jwks_uri"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Scope                   string   `json:"scope"`
	LTI                     *struct {
		Domain           string   `json:"domain"`
		SecondaryDomains []string `json:"secondary_domains"`
		TargetLinkURI    string   `json:"target_link_uri"`
		Claims           []string `json:"claims"`
		Messages         []struct {
			Type          string `json:"type"`
			TargetLinkURI string `json:"target_link_uri"`
		} `json:"messages"`
	} `json:"https://purl.imsglobal.org/spec/lti-tool-configuration"`
}

// regError is a refused registration request (RFC 7591 §3.2.2).
type regError struct {
	status      int
	code, desc  string
	bearerError bool // answer with WWW-Authenticate
}

// check validates a registration request as the platform must before it
// creates a client.
func (tc *toolConfiguration) check() *regError {
	meta := func(desc string) *regError {
		return &regError{status: http.StatusBadRequest, code: "invalid_client_metadata", desc: desc}
	}
	switch {
	case tc.ApplicationType != nil && *tc.ApplicationType != "web":
		return meta(`application_type must be "web"`)
	case !slices.Contains(tc.ResponseTypes, "id_token"):
		return meta("response_types must include id_token")
	case !slices.Contains(tc.GrantTypes, "implicit") || !slices.Contains(tc.GrantTypes, "client_credentials"):
		return meta("grant_types must include implicit and client_credentials")
	case tc.TokenEndpointAuthMethod != "private_key_jwt":
		return meta(`token_endpoint_auth_method must be "private_key_jwt"`)
	case tc.InitiateLoginURI == "" || checkToolURL("initiate_login_uri", tc.InitiateLoginURI) != nil:
		return meta("initiate_login_uri must be an absolute http(s) URL")
	case tc.JWKSURI == "" || checkToolURL("jwks_uri", tc.JWKSURI) != nil:
		return meta("jwks_uri must be an absolute http(s) URL")
	case len(tc.RedirectURIs) == 0:
		return &regError{status: http.StatusBadRequest, code: "invalid_redirect_uri", desc: "redirect_uris is empty"}
	case tc.LTI == nil:
		return meta("the lti-tool-configuration object is missing")
	case tc.LTI.Domain == "":
		return meta("lti-tool-configuration domain is missing")
	case tc.LTI.TargetLinkURI == "" || checkToolURL("target_link_uri", tc.LTI.TargetLinkURI) != nil:
		return meta("lti-tool-configuration target_link_uri must be an absolute http(s) URL")
	}
	for _, ru := range tc.RedirectURIs {
		u, err := url.Parse(ru)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			return &regError{status: http.StatusBadRequest, code: "invalid_redirect_uri", desc: "every redirect URI must be an absolute http(s) URL without fragment"}
		}
	}
	// The tool's URLs must lie in its declared domains (LTI Dynamic
	// Registration 1.0 §3.5.2: domain and secondary_domains).
	domains := append([]string{tc.LTI.Domain}, tc.LTI.SecondaryDomains...)
	inDomain := func(raw string) bool {
		u, err := url.Parse(raw)
		if err != nil {
			return false
		}
		for _, d := range domains {
			if strings.EqualFold(u.Host, d) || strings.EqualFold(u.Hostname(), d) {
				return true
			}
		}
		return false
	}
	for _, raw := range append([]string{tc.InitiateLoginURI, tc.LTI.TargetLinkURI}, tc.RedirectURIs...) {
		if !inDomain(raw) {
			return meta("a tool URL is outside the lti-tool-configuration domain and secondary_domains")
		}
	}
	for _, m := range tc.LTI.Messages {
		switch m.Type {
		case "LtiResourceLinkRequest", "LtiDeepLinkingRequest":
		default:
			return meta("lti-tool-configuration messages lists a message type the platform does not support")
		}
		if m.TargetLinkURI != "" && (checkToolURL("message target_link_uri", m.TargetLinkURI) != nil || !inDomain(m.TargetLinkURI)) {
			return meta("a message's target_link_uri must be an absolute http(s) URL in the tool's domain")
		}
	}
	return nil
}

// serveRegister is the registration endpoint: it checks the bearer
// registration token (required when Config.RequireRegistrationToken, and
// checked whenever one is sent), validates the tool's configuration,
// adopts the tool's URLs and answers with the platform's client_id and
// deployment_id (LTI Dynamic Registration 1.0 §3.6).
func (p *Platform) serveRegister(w http.ResponseWriter, r *http.Request) {
	rec := ToolRegistration{Time: time.Now()}
	fail := func(e *regError) {
		rec.Status, rec.Error, rec.Description = e.status, e.code, e.desc
		p.recordRegistration(rec)
		if e.bearerError {
			w.Header().Set("WWW-Authenticate", `Bearer error="`+e.code+`"`)
		}
		writeJSONError(w, e.status, e.code, e.desc, "")
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		fail(&regError{status: http.StatusMethodNotAllowed, code: "invalid_request", desc: "use POST"})
		return
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, tok, ok := strings.Cut(auth, " ")
		rec.Token = tok
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			fail(&regError{status: http.StatusUnauthorized, code: "invalid_token", desc: "the Authorization header is not a bearer token", bearerError: true})
			return
		}
		if !p.takeToken(tok) {
			fail(&regError{status: http.StatusUnauthorized, code: "invalid_token", desc: "the registration token is unknown, expired or used", bearerError: true})
			return
		}
	} else if p.conf().RequireRegistrationToken {
		fail(&regError{status: http.StatusUnauthorized, code: "invalid_token", desc: "a registration token is required", bearerError: true})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		fail(&regError{status: http.StatusUnsupportedMediaType, code: "invalid_request", desc: "the body must be application/json"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRegistrationBytes+1))
	rec.Body = body
	if err != nil || len(body) > maxRegistrationBytes {
		fail(&regError{status: http.StatusRequestEntityTooLarge, code: "invalid_request", desc: "the body is unreadable or too large"})
		return
	}
	var tc toolConfiguration
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &tc) != nil {
		fail(&regError{status: http.StatusBadRequest, code: "invalid_client_metadata", desc: "the body is not a JSON object of client metadata"})
		return
	}
	if e := tc.check(); e != nil {
		fail(e)
		return
	}
	var granted []string
	for _, s := range strings.Fields(tc.Scope) {
		if s != "openid" && slices.Contains(supportedScopes, s) && !slices.Contains(granted, s) {
			granted = append(granted, s)
		}
	}
	// Adopt the tool's URLs, so launches go to them: swap in a new
	// configuration snapshot. Launches that already started keep the one
	// they loaded; later ones see the new URLs. The snapshot is never
	// written after the swap, so readers need no lock.
	next := p.adoptTool(func(c *Config) {
		c.ToolLoginURL = tc.InitiateLoginURI
		c.ToolRedirectURIs = slices.Clone(tc.RedirectURIs)
		c.TargetLinkURI = tc.LTI.TargetLinkURI
		c.ToolJWKSURL = tc.JWKSURI
	})
	clientID, deploymentID := next.ClientID, next.DeploymentID

	rec.Status = http.StatusCreated
	rec.ClientID, rec.DeploymentID = clientID, deploymentID
	rec.LoginURL, rec.RedirectURIs, rec.TargetLinkURI, rec.JWKSURL = tc.InitiateLoginURI, slices.Clone(tc.RedirectURIs), tc.LTI.TargetLinkURI, tc.JWKSURI
	rec.Scopes = granted
	p.recordRegistration(rec)

	// The answer is the registered configuration (RFC 7591 §3.2.1): the
	// request as sent, with client_id, the granted scope and the
	// deployment_id added.
	var answer map[string]any
	_ = json.Unmarshal(body, &answer)
	answer["client_id"] = clientID
	answer["scope"] = strings.Join(granted, " ")
	if ltc, ok := answer["https://purl.imsglobal.org/spec/lti-tool-configuration"].(map[string]any); ok {
		ltc["deployment_id"] = deploymentID
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(answer)
}

// adoptTool swaps in a copy of the current configuration changed by f and
// returns it. f gets a copy whose slices it may replace but must not
// write into (they are shared with the old snapshot).
func (p *Platform) adoptTool(f func(*Config)) *Config {
	for {
		old := p.cfg.Load()
		next := *old
		f(&next)
		if p.cfg.CompareAndSwap(old, &next) {
			return &next
		}
	}
}

var registerToolTemplate = template.Must(template.New("register-tool").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ltitest: register a tool</title>
<style nonce="{{.Nonce}}">iframe{width:100%;height:32rem;border:1px solid #888}</style></head>
<body>
<h1>Register a tool</h1>
<p>Tool registration URL: <code>{{.ToolURL}}</code></p>
<p id="status">registration in progress</p>
<iframe id="registration" title="tool registration" src="{{.Src}}"></iframe>
<script nonce="{{.Nonce}}">
(function () {
  var toolOrigin = {{.ToolOrigin}};
  var frame = document.getElementById("registration");
  window.addEventListener("message", function (event) {
    var d = event.data;
    if (event.origin !== toolOrigin || event.source !== frame.contentWindow) { return; }
    if (typeof d !== "object" || d === null || d.subject !== "org.imsglobal.lti.close") { return; }
    document.getElementById("status").textContent = "registration closed";
    frame.remove();
  });
})();
</script>
</body></html>
`))

// serveRegisterTool is an LMS admin page that opens a tool's registration
// initiation URL, with openid_configuration and a fresh registration token,
// in an iframe, and closes it when the tool posts
// {subject: "org.imsglobal.lti.close"} from its origin (LTI Dynamic
// Registration 1.0 §3.7); the page then says "registration closed".
func (p *Platform) serveRegisterTool(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	toolURL := r.URL.Query().Get("url")
	src, err := p.RegistrationInitiationURL(toolURL)
	if err != nil {
		http.Error(w, "ltitest: url must be the tool's absolute http(s) registration URL", http.StatusBadRequest)
		return
	}
	u, _ := url.Parse(toolURL)
	toolOrigin := u.Scheme + "://" + u.Host
	nonce := newNonce()
	writePageHeaders(w, fmt.Sprintf("default-src 'none'; script-src 'nonce-%s'; style-src 'nonce-%s'; frame-src %s; base-uri 'none'; form-action 'none'",
		nonce, nonce, toolOrigin))
	_ = registerToolTemplate.Execute(w, map[string]string{
		"Nonce":      nonce,
		"ToolURL":    toolURL,
		"Src":        src,
		"ToolOrigin": toolOrigin,
	})
}
