package ltitest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/ltikit/ltikit/lti"
)

// testTool is a minimal LTI tool written for these tests only: a login
// handler that redirects to the platform's auth endpoint with a state cookie,
// and a launch handler that verifies the id_token with jwx against the
// platform's JWKS, the nonce and the state, and answers the claims as JSON.
type testTool struct {
	t        *testing.T
	srv      *httptest.Server
	platform *Platform

	// mutateAuth changes the auth request before the redirect.
	mutateAuth func(url.Values)
	// authByForm makes the login answer an auto-submitting POST form to the
	// auth endpoint instead of a redirect.
	authByForm bool

	mu     sync.Mutex
	nonces map[string]string // state -> nonce, single use
	logins []url.Values      // login initiation params received
}

type toolResult struct {
	Subject     *string        `json:"sub"`
	Name        string         `json:"name"`
	MessageType string         `json:"message_type"`
	Roles       []string       `json:"roles"`
	Custom      map[string]any `json:"custom"`
}

const (
	toolLoginPath  = "/lti/login"
	toolLaunchPath = "/lti/launch"
)

// newToolAndPlatform starts a test tool and a platform configured for it.
func newToolAndPlatform(t *testing.T, cfg Config) (*testTool, *Platform) {
	t.Helper()
	tt := &testTool{t: t, nonces: make(map[string]string)}
	mux := http.NewServeMux()
	mux.HandleFunc(toolLoginPath, tt.login)
	mux.HandleFunc(toolLaunchPath, tt.launch)
	tt.srv = httptest.NewServer(mux)
	t.Cleanup(tt.srv.Close)
	if cfg.ToolLoginURL == "" {
		cfg.ToolLoginURL = tt.srv.URL + toolLoginPath
	}
	if cfg.ToolRedirectURIs == nil {
		cfg.ToolRedirectURIs = []string{tt.srv.URL + toolLaunchPath}
	}
	p, err := NewPlatform(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	tt.platform = p
	return tt, p
}

func randomValue() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (tt *testTool) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	tt.mu.Lock()
	tt.logins = append(tt.logins, cloneValues(r.Form))
	tt.mu.Unlock()
	p := tt.platform
	if r.Form.Get("iss") != p.Issuer() || r.Form.Get("login_hint") == "" || r.Form.Get("target_link_uri") == "" {
		http.Error(w, "invalid login initiation", http.StatusBadRequest)
		return
	}
	if id := r.Form.Get("client_id"); id != "" && id != p.ClientID() {
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	}
	state, nonce := randomValue(), randomValue()
	tt.mu.Lock()
	tt.nonces[state] = nonce
	tt.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "lti_state_" + state[:8], Value: state, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode, MaxAge: 300})

	q := url.Values{
		"scope":         {"openid"},
		"response_type": {"id_token"},
		"response_mode": {"form_post"},
		"prompt":        {"none"},
		"client_id":     {p.ClientID()},
		"redirect_uri":  {tt.srv.URL + toolLaunchPath},
		"login_hint":    {r.Form.Get("login_hint")},
		"state":         {state},
		"nonce":         {nonce},
	}
	if h, ok := r.Form["lti_message_hint"]; ok {
		q["lti_message_hint"] = h
	}
	tt.mu.Lock()
	mutate, byForm := tt.mutateAuth, tt.authByForm
	tt.mu.Unlock()
	if mutate != nil {
		mutate(q)
	}
	reg := p.Registration()
	if byForm {
		writeAutoSubmitForm(w, reg.AuthEndpoint, orderedFields(q, nil))
		return
	}
	http.Redirect(w, r, reg.AuthEndpoint+"?"+q.Encode(), http.StatusFound)
}

func (tt *testTool) launch(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	state := r.PostForm.Get("state")
	if len(state) < 8 {
		http.Error(w, "invalid_state", http.StatusUnauthorized)
		return
	}
	c, err := r.Cookie("lti_state_" + state[:8])
	if err != nil || c.Value != state {
		http.Error(w, "invalid_state: no cookie", http.StatusUnauthorized)
		return
	}
	tt.mu.Lock()
	nonce, ok := tt.nonces[state]
	delete(tt.nonces, state)
	tt.mu.Unlock()
	if !ok {
		http.Error(w, "invalid_state: unknown or used", http.StatusUnauthorized)
		return
	}
	if e := r.PostForm.Get("error"); e != "" {
		http.Error(w, "platform_error: "+e+": "+r.PostForm.Get("error_description"), http.StatusBadRequest)
		return
	}
	set, err := jwk.Fetch(r.Context(), tt.platform.KeySetURL())
	if err != nil {
		http.Error(w, "keyset_unavailable", http.StatusServiceUnavailable)
		return
	}
	payload, err := jws.Verify([]byte(r.PostForm.Get("id_token")), jws.WithKeySet(set))
	if err != nil {
		http.Error(w, "invalid_signature: "+err.Error(), http.StatusUnauthorized)
		return
	}
	claims, err := lti.DecodeClaims(payload)
	if err != nil {
		http.Error(w, "invalid_claims: "+err.Error(), http.StatusUnauthorized)
		return
	}
	switch {
	case claims.Nonce != nonce:
		http.Error(w, "invalid_nonce", http.StatusUnauthorized)
		return
	case claims.Issuer != tt.platform.Issuer() || !claims.Audience.Contains(tt.platform.ClientID()):
		http.Error(w, "invalid_claims: iss/aud", http.StatusUnauthorized)
		return
	}
	res := toolResult{Subject: claims.Subject, Name: claims.Name, MessageType: claims.MessageType, Custom: claims.Custom}
	if claims.Roles != nil {
		res.Roles = *claims.Roles
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// setAuth sets mutateAuth and authByForm.
func (tt *testTool) setAuth(mutate func(url.Values), byForm bool) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.mutateAuth, tt.authByForm = mutate, byForm
}

// readResult decodes the tool's answer to a successful launch.
func readResult(t *testing.T, resp *http.Response) toolResult {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("launch: %s: %s", resp.Status, body)
	}
	var res toolResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// statusAndBody reads and closes resp.
func statusAndBody(t *testing.T, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
