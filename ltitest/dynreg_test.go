package ltitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/dynreg"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
)

// dynRegTool is a tool with LTI Dynamic Registration (package dynreg) and
// the launch endpoints of package launch, sharing a memory store.
type dynRegTool struct {
	srv   *httptest.Server
	base  string // the tool's base URL (host may differ from srv's)
	store *memory.Store
	reg   *dynreg.Handler
}

const toolRegisterPath = "/lti/register"

// newDynRegTool starts a tool whose registration handler approves every
// registration that carries the host's own invitation (?invite=ok). host
// replaces 127.0.0.1 in its base URL when not empty (e.g. "localhost").
func newDynRegTool(t *testing.T, host string) *dynRegTool {
	t.Helper()
	mux := http.NewServeMux()
	tt := &dynRegTool{srv: httptest.NewServer(mux), store: memory.New()}
	t.Cleanup(tt.srv.Close)
	tt.base = tt.srv.URL
	if host != "" {
		tt.base = strings.Replace(tt.srv.URL, "127.0.0.1", host, 1)
	}
	h, err := dynreg.New(dynreg.Config{
		BaseURL:        tt.base,
		ClientName:     "dynreg test tool",
		Scopes:         []string{lti.ScopeAGSScore, lti.ScopeNRPSMembership, "https://example.com/unknown-scope"},
		DeepLinkingURL: tt.base + "/lti/launch",
		Registrar:      tt.store,
		Approve: func(_ context.Context, req *dynreg.Request) (dynreg.Decision, error) {
			if req.HTTPRequest.URL.Query().Get("invite") != "ok" {
				return dynreg.Decision{Verdict: dynreg.Refuse, Reason: "no invitation"}, nil
			}
			return dynreg.Decision{Verdict: dynreg.Approve}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tt.reg = h
	tool, err := launch.New(launch.Config{Storage: tt.store, BaseURL: tt.base})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(toolRegisterPath, h)
	mux.Handle("/lti/login", tool.LoginHandler())
	mux.Handle("/lti/launch", tool.LaunchHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lc, _ := launch.FromContext(r.Context())
		fmt.Fprintf(w, "launched %s for %s", lc.MessageType(), lc.Subject())
	})))
	return tt
}

func fetchPage(t *testing.T, u string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDynamicRegistrationThenLaunch(t *testing.T) {
	tool := newDynRegTool(t, "")
	p, err := NewPlatform(Config{RequireRegistrationToken: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	u, err := p.RegistrationInitiationURL(tool.base + toolRegisterPath + "?invite=ok")
	if err != nil {
		t.Fatal(err)
	}
	status, body := fetchPage(t, u)
	if status != http.StatusOK || !strings.Contains(body, "Registration complete") {
		t.Fatalf("registration: %d\n%s", status, body)
	}

	// The platform recorded the request and adopted the tool's URLs.
	regs := p.ToolRegistrations()
	if len(regs) != 1 || regs[0].Status != http.StatusCreated || regs[0].Token == "" {
		t.Fatalf("registrations %+v", regs)
	}
	got := regs[0]
	if got.LoginURL != tool.base+"/lti/login" || !slices.Equal(got.RedirectURIs, []string{tool.base + "/lti/launch"}) ||
		got.TargetLinkURI != tool.base+"/lti/launch" || got.JWKSURL != tool.base+"/.well-known/jwks.json" ||
		!slices.Equal(got.Scopes, []string{lti.ScopeAGSScore, lti.ScopeNRPSMembership}) {
		t.Fatalf("registration %+v", got)
	}
	c := p.Config()
	if c.ToolLoginURL != got.LoginURL || !slices.Equal(c.ToolRedirectURIs, got.RedirectURIs) || c.TargetLinkURI != got.TargetLinkURI || c.ToolJWKSURL != got.JWKSURL {
		t.Fatalf("the platform did not adopt the tool's URLs: %+v", c)
	}
	var sent dynreg.ToolConfiguration
	if err := json.Unmarshal(got.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if len(sent.LTI.Messages) != 2 || sent.LTI.Messages[1].Type != dynreg.MessageDeepLinking ||
		!slices.Equal(sent.LTI.Messages[1].Placements, nil) {
		t.Fatalf("messages %+v", sent.LTI.Messages)
	}

	// The tool stored the registration and its deployment.
	entries, err := tool.store.Registrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := p.Registration()
	if len(entries) != 1 || entries[0].Registration.Key() != want.Key() || entries[0].Registration.AuthEndpoint != want.AuthEndpoint ||
		entries[0].Registration.KeySetURL != want.KeySetURL || entries[0].Registration.TokenEndpoint != want.TokenEndpoint ||
		!slices.Equal(entries[0].Deployments, []string{p.DeploymentID()}) {
		t.Fatalf("stored %+v, want %+v", entries, want)
	}

	// A launch now reaches the tool's launch handler.
	for _, opts := range [][]LaunchOption{{AsLearner()}, {DeepLinking()}} {
		resp, err := p.Launch(t.Context(), NewBrowser(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(b), "launched Lti") {
			t.Fatalf("launch: %d %s", resp.StatusCode, b)
		}
	}

	// Registering again (the platform issues the same client_id) adds
	// nothing and succeeds.
	u, _ = p.RegistrationInitiationURL(tool.base + toolRegisterPath + "?invite=ok")
	if status, body := fetchPage(t, u); status != http.StatusOK {
		t.Fatalf("second registration: %d\n%s", status, body)
	}
	if entries, _ := tool.store.Registrations(t.Context()); len(entries) != 1 || len(entries[0].Deployments) != 1 {
		t.Fatalf("stored %+v", entries)
	}
}

func TestDynamicRegistrationTokenChecks(t *testing.T) {
	tool := newDynRegTool(t, "")
	p, err := NewPlatform(Config{RequireRegistrationToken: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	used := p.NewRegistrationToken()
	initiation := func(token string) string {
		q := url.Values{"invite": {"ok"}, "openid_configuration": {p.OpenIDConfigurationURL()}}
		if token != "" {
			q.Set("registration_token", token)
		}
		return tool.base + toolRegisterPath + "?" + q.Encode()
	}
	// The first use of the token succeeds.
	if status, body := fetchPage(t, initiation(used)); status != http.StatusOK {
		t.Fatalf("first use: %d %s", status, body)
	}
	for _, tc := range []struct{ name, token string }{
		{"missing", ""},
		{"wrong", "not-a-token"},
		{"reused", used},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(p.ToolRegistrations())
			status, body := fetchPage(t, initiation(tc.token))
			if status != http.StatusBadGateway || !strings.Contains(body, `<code id="error-code">registration_refused</code>`) ||
				!strings.Contains(body, `<dd id="platform-status">401 Unauthorized</dd>`) || !strings.Contains(body, "invalid_token") {
				t.Fatalf("got %d\n%s", status, body)
			}
			regs := p.ToolRegistrations()
			if len(regs) != n+1 || regs[n].Status != http.StatusUnauthorized || regs[n].Error != "invalid_token" {
				t.Fatalf("recorded %+v", regs[n:])
			}
		})
	}
	// Without an invitation the tool refuses before posting anything.
	n := len(p.ToolRegistrations())
	u, _ := p.RegistrationInitiationURL(tool.base + toolRegisterPath)
	status, body := fetchPage(t, u)
	if status != http.StatusForbidden || !strings.Contains(body, "No invitation.") || len(p.ToolRegistrations()) != n {
		t.Fatalf("no invitation: %d\n%s", status, body)
	}
}

func TestOpenIDConfigurationPassesDynreg(t *testing.T) {
	p, err := NewPlatform(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.OpenIDConfigurationURL(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header)
	}
	c, err := dynreg.ParseConfiguration(b, p.OpenIDConfigurationURL())
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != p.Issuer() || c.RegistrationEndpoint != p.RegistrationEndpoint() || c.LTI.ProductFamilyCode != ProductFamilyCode ||
		!c.Supports(dynreg.MessageDeepLinking) || c.JWKSURI != p.KeySetURL() {
		t.Fatalf("%+v", c)
	}
}

// validToolConfiguration is a registration request the platform accepts.
func validToolConfiguration() map[string]any {
	const tool = "https://tool.example"
	return map[string]any{
		"application_type":           "web",
		"response_types":             []any{"id_token"},
		"grant_types":                []any{"implicit", "client_credentials"},
		"initiate_login_uri":         tool + "/login",
		"redirect_uris":              []any{tool + "/launch"},
		"client_name":                "tool",
		"jwks_uri":                   tool + "/jwks",
		"token_endpoint_auth_method": "private_key_jwt",
		"scope":                      "https://purl.imsglobal.org/spec/lti-ags/scope/score openid bogus",
		"https://purl.imsglobal.org/spec/lti-tool-configuration": map[string]any{
			"domain":          "tool.example",
			"target_link_uri": tool + "/launch",
			"claims":          []any{"iss", "sub"},
			"messages":        []any{map[string]any{"type": "LtiDeepLinkingRequest", "target_link_uri": tool + "/dl"}},
		},
	}
}

func TestRegistrationEndpointValidates(t *testing.T) {
	p, err := NewPlatform(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ltc := func(c map[string]any) map[string]any {
		return c["https://purl.imsglobal.org/spec/lti-tool-configuration"].(map[string]any)
	}
	tests := []struct {
		name        string
		mutate      func(c map[string]any)
		body        string // instead of the configuration
		contentType string
		auth        string
		status      int
		code        string
	}{
		{name: "valid", status: 201},
		{name: "valid, no application_type", mutate: func(c map[string]any) { delete(c, "application_type") }, status: 201},
		{name: "not JSON", body: "client_name=x", status: 400, code: "invalid_client_metadata"},
		{name: "JSON array", body: "[]", status: 400, code: "invalid_client_metadata"},
		{name: "form content type", contentType: "application/x-www-form-urlencoded", status: 415, code: "invalid_request"},
		{name: "too large", body: `{"client_name":"` + strings.Repeat("a", 70<<10) + `"}`, status: 413, code: "invalid_request"},
		{name: "unknown bearer token", auth: "Bearer nope", status: 401, code: "invalid_token"},
		{name: "basic auth", auth: "Basic eDp5", status: 401, code: "invalid_token"},
		{name: "native application", mutate: func(c map[string]any) { c["application_type"] = "native" }, status: 400, code: "invalid_client_metadata"},
		{name: "no id_token response type", mutate: func(c map[string]any) { c["response_types"] = []any{"code"} }, status: 400, code: "invalid_client_metadata"},
		{name: "no client_credentials", mutate: func(c map[string]any) { c["grant_types"] = []any{"implicit"} }, status: 400, code: "invalid_client_metadata"},
		{name: "client secret", mutate: func(c map[string]any) { c["token_endpoint_auth_method"] = "client_secret_basic" }, status: 400, code: "invalid_client_metadata"},
		{name: "no login URL", mutate: func(c map[string]any) { delete(c, "initiate_login_uri") }, status: 400, code: "invalid_client_metadata"},
		{name: "relative login URL", mutate: func(c map[string]any) { c["initiate_login_uri"] = "/login" }, status: 400, code: "invalid_client_metadata"},
		{name: "no jwks_uri", mutate: func(c map[string]any) { delete(c, "jwks_uri") }, status: 400, code: "invalid_client_metadata"},
		{name: "no redirect URIs", mutate: func(c map[string]any) { c["redirect_uris"] = []any{} }, status: 400, code: "invalid_redirect_uri"},
		{name: "relative redirect URI", mutate: func(c map[string]any) { c["redirect_uris"] = []any{"/launch"} }, status: 400, code: "invalid_redirect_uri"},
		{name: "redirect URI with fragment", mutate: func(c map[string]any) { c["redirect_uris"] = []any{"https://tool.example/launch#x"} }, status: 400, code: "invalid_redirect_uri"},
		{name: "redirect URI elsewhere", mutate: func(c map[string]any) { c["redirect_uris"] = []any{"https://evil.example/launch"} }, status: 400, code: "invalid_client_metadata"},
		{name: "secondary domain", mutate: func(c map[string]any) {
			c["redirect_uris"] = []any{"https://launch.example/launch"}
			ltc(c)["secondary_domains"] = []any{"launch.example"}
		}, status: 201},
		{name: "no lti-tool-configuration", mutate: func(c map[string]any) { delete(c, "https://purl.imsglobal.org/spec/lti-tool-configuration") }, status: 400, code: "invalid_client_metadata"},
		{name: "no domain", mutate: func(c map[string]any) { delete(ltc(c), "domain") }, status: 400, code: "invalid_client_metadata"},
		{name: "no target_link_uri", mutate: func(c map[string]any) { delete(ltc(c), "target_link_uri") }, status: 400, code: "invalid_client_metadata"},
		{name: "unknown message type", mutate: func(c map[string]any) {
			ltc(c)["messages"] = []any{map[string]any{"type": "LtiSubmissionReviewRequest"}}
		}, status: 400, code: "invalid_client_metadata"},
		{name: "message target elsewhere", mutate: func(c map[string]any) {
			ltc(c)["messages"] = []any{map[string]any{"type": "LtiResourceLinkRequest", "target_link_uri": "https://evil.example/x"}}
		}, status: 400, code: "invalid_client_metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validToolConfiguration()
			if tt.mutate != nil {
				tt.mutate(c)
			}
			body := tt.body
			if body == "" {
				b, _ := json.Marshal(c)
				body = string(b)
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.RegistrationEndpoint(), strings.NewReader(body))
			ct := tt.contentType
			if ct == "" {
				ct = "application/json; charset=utf-8"
			}
			req.Header.Set("Content-Type", ct)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var answer map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&answer)
			if resp.StatusCode != tt.status || (tt.code != "" && answer["error"] != tt.code) {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, answer, tt.status, tt.code)
			}
			if tt.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Error("no WWW-Authenticate")
			}
			if tt.status != 201 {
				return
			}
			ans := answer["https://purl.imsglobal.org/spec/lti-tool-configuration"].(map[string]any)
			if answer["client_id"] != p.ClientID() || ans["deployment_id"] != p.DeploymentID() ||
				answer["scope"] != "https://purl.imsglobal.org/spec/lti-ags/scope/score" {
				t.Fatalf("answer %v", answer)
			}
		})
	}
	if regs := p.ToolRegistrations(); len(regs) != len(tests) {
		t.Errorf("%d registrations recorded for %d requests", len(regs), len(tests))
	}
	// GET is not a registration.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.RegistrationEndpoint(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatal(resp.Status)
	}
}

func TestRegistrationTokens(t *testing.T) {
	p, err := NewPlatform(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	post := func(token string) int {
		b, _ := json.Marshal(validToolConfiguration())
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, p.RegistrationEndpoint(), bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tok := p.NewRegistrationToken()
	// Not required, but checked when sent: once.
	if got := []int{post(""), post(tok), post(tok)}; !slices.Equal(got, []int{201, 201, 401}) {
		t.Fatalf("statuses %v", got)
	}
	if _, err := p.RegistrationInitiationURL("not a url"); err == nil {
		t.Fatal("a bad tool URL was accepted")
	}
	u, err := p.RegistrationInitiationURL("https://tool.example/register?x=1")
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	if q := pu.Query(); q.Get("x") != "1" || q.Get("openid_configuration") != p.OpenIDConfigurationURL() || len(q.Get("registration_token")) < 32 {
		t.Fatalf("initiation URL %s", u)
	}
}

func TestRegisterToolPage(t *testing.T) {
	p, err := NewPlatform(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	status, body := fetchPage(t, p.RegisterToolURL("https://tool.example/lti/register"))
	if status != http.StatusOK || !strings.Contains(body, `src="https://tool.example/lti/register?openid_configuration=`) ||
		!strings.Contains(body, `var toolOrigin = "https://tool.example";`) {
		t.Fatalf("%d\n%s", status, body)
	}
	if status, _ := fetchPage(t, p.URL()+PathRegisterTool+"?url=javascript:alert(1)"); status != http.StatusBadRequest {
		t.Fatalf("a javascript: URL got %d", status)
	}
}
