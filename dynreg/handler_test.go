package dynreg_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ltikit/ltikit/dynreg"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
)

const toolBase = "https://tool.example"

func newHandler(t *testing.T, cfg dynreg.Config, opts ...dynreg.Option) *dynreg.Handler {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = toolBase
	}
	if cfg.ClientName == "" {
		cfg.ClientName = "Test tool"
	}
	h, err := dynreg.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func query(f *fakePlatform, token string) url.Values {
	q := url.Values{"openid_configuration": {f.configURL()}}
	if token != "" {
		q.Set("registration_token", token)
	}
	return q
}

func TestRegisterApproved(t *testing.T) {
	f := newFakePlatform(t)
	reg := &fakeRegistrar{}
	var got *dynreg.Request
	var registered *dynreg.Result
	h := newHandler(t, dynreg.Config{
		Registrar:             reg,
		Scopes:                []string{lti.ScopeAGSLineItem, lti.ScopeNRPSMembership},
		DeepLinkingURL:        toolBase + "/lti/launch",
		DeepLinkingPlacements: []string{"ContentArea", "Unknown"},
		Description:           "A tool",
		LogoURL:               toolBase + "/logo.png",
		CustomParameters:      map[string]string{"a": "b"},
		Approve: func(_ context.Context, req *dynreg.Request) (dynreg.Decision, error) {
			got = req
			return dynreg.Decision{Verdict: dynreg.Approve}, nil
		},
		OnRegistered: func(_ context.Context, res *dynreg.Result) { registered = res },
	})
	p := initiate(t, h, http.MethodGet, query(f, "tok-1"))
	if p.status != http.StatusOK {
		t.Fatalf("status %d: %s", p.status, p.body)
	}
	if got == nil || !got.HasRegistrationToken || got.HTTPRequest == nil || got.Platform.LTI.ProductFamilyCode != "fake" ||
		!slices.Equal(got.MissingScopes, []string{lti.ScopeNRPSMembership}) {
		t.Fatalf("Approve got %+v", got)
	}
	posts := f.received()
	if len(posts) != 1 || posts[0].Auth != "Bearer tok-1" {
		t.Fatalf("posts %+v", posts)
	}
	tc := posts[0].Tool
	want := dynreg.ToolConfiguration{
		ApplicationType:         "web",
		ResponseTypes:           []string{"id_token"},
		GrantTypes:              []string{"implicit", "client_credentials"},
		InitiateLoginURI:        toolBase + "/lti/login",
		RedirectURIs:            []string{toolBase + "/lti/launch"},
		ClientName:              "Test tool",
		JWKSURI:                 toolBase + "/.well-known/jwks.json",
		LogoURI:                 toolBase + "/logo.png",
		TokenEndpointAuthMethod: "private_key_jwt",
		Scope:                   lti.ScopeAGSLineItem,
		LTI: dynreg.LTIToolConfiguration{
			Domain:           "tool.example",
			TargetLinkURI:    toolBase + "/lti/launch",
			CustomParameters: map[string]string{"a": "b"},
			Description:      "A tool",
			Claims:           dynreg.DefaultClaims,
			Messages: []dynreg.ToolMessage{
				{Type: dynreg.MessageResourceLink, TargetLinkURI: toolBase + "/lti/launch", Label: "Test tool"},
				{Type: dynreg.MessageDeepLinking, TargetLinkURI: toolBase + "/lti/launch", Label: "Test tool", Placements: []string{"ContentArea"}},
			},
		},
	}
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(tc)
	if string(wj) != string(gj) {
		t.Fatalf("tool configuration\n got %s\nwant %s", gj, wj)
	}
	entries, _ := reg.Registrations(t.Context())
	wantReg := registration.Registration{
		Issuer: f.srv.URL, ClientID: "client-1", AuthEndpoint: f.srv.URL + "/auth",
		TokenEndpoint: f.srv.URL + "/token", KeySetURL: f.srv.URL + "/jwks",
	}
	if len(entries) != 1 || entries[0].Registration.Key() != wantReg.Key() ||
		entries[0].Registration.AuthEndpoint != wantReg.AuthEndpoint || entries[0].Registration.KeySetURL != wantReg.KeySetURL ||
		entries[0].Registration.TokenEndpoint != wantReg.TokenEndpoint || !slices.Equal(entries[0].Deployments, []string{"deployment-1"}) {
		t.Fatalf("stored %+v", entries)
	}
	if registered == nil || registered.DeploymentID != "deployment-1" || registered.Existing || registered.Pending {
		t.Fatalf("OnRegistered got %+v", registered)
	}
	for _, s := range []string{"Registration complete", "client-1", "deployment-1", `data-outcome="registered"`} {
		if !strings.Contains(p.body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	checkPage(t, p, f.srv.URL, true)
}

// checkPage checks the last page's headers and close script.
func checkPage(t *testing.T, p page, targetOrigin string, autoClose bool) {
	t.Helper()
	csp := p.header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'nonce-([^']+)'`).FindStringSubmatch(csp)
	if m == nil || !strings.Contains(p.body, `<script nonce="`+m[1]+`">`) || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q does not match the script", csp)
	}
	if p.header.Get("Referrer-Policy") != "no-referrer" || p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", p.header)
	}
	wantOrigin, _ := json.Marshal(targetOrigin)
	if !strings.Contains(p.body, "var targetOrigin = "+string(wantOrigin)+";") {
		t.Errorf("targetOrigin is not %s in\n%s", wantOrigin, p.body)
	}
	if got := strings.Contains(p.body, "if ( true )") || strings.Contains(p.body, "if (true)"); got != autoClose {
		t.Errorf("auto close = %v, want %v", got, autoClose)
	}
	if !strings.Contains(p.body, `postMessage({subject: "org.imsglobal.lti.close"}, targetOrigin)`) {
		t.Error("no close message")
	}
}

func TestRegisterRefusals(t *testing.T) {
	f := newFakePlatform(t)
	other := newFakePlatform(t)
	tests := []struct {
		name    string
		method  string
		query   url.Values
		cfg     dynreg.Config
		opts    []dynreg.Option
		setup   func()
		code    lti.Code
		status  int
		posted  bool
		pstatus int
	}{
		{name: "POST", method: http.MethodPost, query: query(f, ""), code: lti.CodeInvalidRequest, status: http.StatusMethodNotAllowed},
		{name: "no openid_configuration", query: url.Values{"registration_token": {"x"}}, code: lti.CodeInvalidRequest, status: 400},
		{name: "openid_configuration twice", query: url.Values{"openid_configuration": {f.configURL(), other.configURL()}}, code: lti.CodeInvalidRequest, status: 400},
		{name: "registration_token twice", query: url.Values{"openid_configuration": {f.configURL()}, "registration_token": {"a", "b"}}, code: lti.CodeInvalidRequest, status: 400},
		{name: "openid_configuration relative", query: url.Values{"openid_configuration": {"/x"}}, code: lti.CodeInvalidRequest, status: 400},
		{name: "openid_configuration http on a public host", query: url.Values{"openid_configuration": {"http://lms.example/x"}}, code: lti.CodeInvalidRequest, status: 400},
		{name: "openid_configuration file", query: url.Values{"openid_configuration": {"file:///etc/passwd"}}, code: lti.CodeInvalidRequest, status: 400},
		{name: "token with spaces", query: url.Values{"openid_configuration": {f.configURL()}, "registration_token": {"a b"}}, code: lti.CodeInvalidRequest, status: 400},
		{name: "no Approve hook", query: query(f, ""), cfg: dynreg.Config{Approve: nil}, code: lti.CodeRegistrationNotAllowed, status: 403},
		{name: "refused by Approve", query: query(f, ""), cfg: dynreg.Config{Approve: func(context.Context, *dynreg.Request) (dynreg.Decision, error) {
			return dynreg.Decision{Verdict: dynreg.Refuse, Reason: "ask the tool's admin for a registration link"}, nil
		}}, code: lti.CodeRegistrationNotAllowed, status: 403},
		{name: "Approve fails", query: query(f, ""), cfg: dynreg.Config{Approve: func(context.Context, *dynreg.Request) (dynreg.Decision, error) {
			return dynreg.Decision{}, errors.New("database down")
		}}, code: lti.CodeInternal, status: 500},
		{name: "unknown verdict", query: query(f, ""), cfg: dynreg.Config{Approve: func(context.Context, *dynreg.Request) (dynreg.Decision, error) {
			return dynreg.Decision{Verdict: 42}, nil
		}}, code: lti.CodeRegistrationNotAllowed, status: 403},
		{name: "Pending without OnPending", query: query(f, ""), cfg: dynreg.Config{Approve: func(context.Context, *dynreg.Request) (dynreg.Decision, error) {
			return dynreg.Decision{Verdict: dynreg.Pending}, nil
		}}, code: lti.CodeInternal, status: 500},
		{name: "precheck refuses", query: query(f, ""), opts: []dynreg.Option{dynreg.WithPrecheck(func(r *http.Request) error {
			if r.URL.Query().Get("invite") != "secret" {
				return errors.New("no invitation")
			}
			return nil
		})}, code: lti.CodeRegistrationNotAllowed, status: 403},
		{name: "config answers 404", query: url.Values{"openid_configuration": {f.srv.URL + "/missing"}}, code: lti.CodeConfigurationUnavailable, status: 502, pstatus: 404},
		{name: "config unreachable", query: url.Values{"openid_configuration": {"http://127.0.0.1:1/x"}}, code: lti.CodeConfigurationUnavailable, status: 502},
		{name: "config of another platform", query: url.Values{"openid_configuration": {f.configURL()}}, setup: func() {
			f.setConfig(func(c map[string]any) { c["issuer"] = other.srv.URL })
		}, code: lti.CodeInvalidConfiguration, status: 502},
		{name: "registration refused", query: query(f, "used-token"), setup: func() {
			f.setRegister(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error":"invalid_token","error_description":"the token was used\u0000 <b>"}`))
			})
		}, code: lti.CodeRegistrationRefused, status: 502, posted: true, pstatus: 401},
		{name: "registration redirected", query: query(f, "t"), setup: func() {
			f.setRegister(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.srv.URL+"/register", http.StatusTemporaryRedirect)
			})
		}, code: lti.CodeRegistrationRefused, status: 502, posted: true, pstatus: 307},
		{name: "answer without client_id", query: query(f, ""), setup: func() {
			f.setRegister(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"client_name":"x"}`))
			})
		}, code: lti.CodeRegistrationFailed, status: 502, posted: true},
		{name: "answer not JSON", query: query(f, ""), setup: func() {
			f.setRegister(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte(`<html>ok</html>`))
			})
		}, code: lti.CodeRegistrationFailed, status: 502, posted: true},
		{name: "answer too large", query: query(f, ""), opts: []dynreg.Option{dynreg.WithMaxBodyBytes(4 << 10)}, setup: func() {
			f.setRegister(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"client_id":"` + strings.Repeat("a", 8<<10) + `"}`))
			})
		}, code: lti.CodeRegistrationFailed, status: 502, posted: true},
		{name: "storage fails", query: query(f, ""), cfg: dynreg.Config{Registrar: &fakeRegistrar{fail: errors.New("disk full")}},
			code: lti.CodeStorageUnavailable, status: 503, posted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.setConfig(func(c map[string]any) { c["issuer"] = f.srv.URL })
			f.setRegister(nil)
			if tt.setup != nil {
				tt.setup()
			}
			before := len(f.received())
			cfg := tt.cfg
			if cfg.Registrar == nil {
				cfg.Registrar = &fakeRegistrar{}
			}
			if cfg.Approve == nil && tt.name != "no Approve hook" {
				cfg.Approve = approveAll
			}
			h := newHandler(t, cfg, tt.opts...)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			p := initiate(t, h, method, tt.query)
			if p.status != tt.status || p.errorCode() != string(tt.code) {
				t.Fatalf("got %d %q, want %d %s:\n%s", p.status, p.errorCode(), tt.status, tt.code, p.body)
			}
			if posted := len(f.received()) > before; posted != tt.posted {
				t.Errorf("posted = %v, want %v", posted, tt.posted)
			}
			if tt.pstatus != 0 && !strings.Contains(p.body, `<dd id="platform-status">`) {
				t.Errorf("page does not show the platform's status")
			}
			if strings.Contains(p.body, "\x00") || strings.Contains(p.body, "<b>") {
				t.Error("the platform's words are not cleaned")
			}
			if strings.Contains(p.body, "used-token") {
				t.Error("the page shows the registration token")
			}
			if !strings.Contains(p.body, "if (false)") && !strings.Contains(p.body, "if ( false )") {
				t.Error("an error page closes by itself")
			}
		})
	}
}

func TestRegisterErrorsMatch(t *testing.T) {
	f := newFakePlatform(t)
	f.setRegister(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_client_metadata","error_description":"bad jwks_uri"}`))
	})
	h := newHandler(t, dynreg.Config{Registrar: &fakeRegistrar{}}, dynreg.AllowAll())
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, toolBase+"/register?"+query(f, "").Encode(), nil)
	_, err := h.Register(req)
	var e *dynreg.Error
	if !errors.Is(err, dynreg.ErrRegistrationRefused) || !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if e.PlatformStatus() != 400 || e.PlatformError() != "invalid_client_metadata" || e.PlatformErrorDescription() != "bad jwks_uri" || e.Status() != http.StatusBadGateway {
		t.Fatalf("got %+v", e)
	}
	if errors.Is(err, dynreg.ErrRegistrationFailed) {
		t.Fatal("matches another code")
	}
}

// TestRegisterRefusalWordsNotRFC7591: a refusal without the RFC 7591
// members (Canvas answers 422 {"errors": [...]}) keeps the platform's
// words as a cleaned excerpt, with secrets masked.
func TestRegisterRefusalWordsNotRFC7591(t *testing.T) {
	f := newFakePlatform(t)
	f.setRegister(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte("{\"errors\": [{\"field\": \"scopes\",\n \"message\": \"cannot contain openid\"}], \"echo\": \"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl\"}"))
	})
	h := newHandler(t, dynreg.Config{Registrar: &fakeRegistrar{}}, dynreg.AllowAll())
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, toolBase+"/register?"+query(f, "").Encode(), nil)
	_, err := h.Register(req)
	var e *dynreg.Error
	if !errors.Is(err, dynreg.ErrRegistrationRefused) || !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	desc := e.PlatformErrorDescription()
	if e.PlatformStatus() != http.StatusUnprocessableEntity || e.PlatformError() != "" ||
		!strings.Contains(desc, "cannot contain openid") || strings.Contains(desc, "eyJhbGciOiJSUzI1NiJ9") || strings.ContainsAny(desc, "\n") {
		t.Fatalf("status %d, error %q, description %q", e.PlatformStatus(), e.PlatformError(), desc)
	}
}

func TestRegisterPending(t *testing.T) {
	f := newFakePlatform(t)
	reg := &fakeRegistrar{}
	var pending *dynreg.Result
	h := newHandler(t, dynreg.Config{
		Registrar: reg,
		Approve: func(context.Context, *dynreg.Request) (dynreg.Decision, error) {
			return dynreg.Decision{Verdict: dynreg.Pending}, nil
		},
		OnPending: func(_ context.Context, res *dynreg.Result) error { pending = res; return nil },
		OnRegistered: func(context.Context, *dynreg.Result) {
			t.Error("OnRegistered called for a pending registration")
		},
	})
	p := initiate(t, h, http.MethodGet, query(f, ""))
	if p.status != http.StatusOK || !strings.Contains(p.body, `data-outcome="pending"`) {
		t.Fatalf("status %d: %s", p.status, p.body)
	}
	if pending == nil || !pending.Pending || pending.Registration.ClientID != "client-1" || pending.DeploymentID != "deployment-1" {
		t.Fatalf("OnPending got %+v", pending)
	}
	if err := pending.Registration.Validate(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := reg.Registrations(t.Context()); len(entries) != 0 {
		t.Fatalf("a pending registration was stored: %+v", entries)
	}
	if posts := f.received(); len(posts) != 1 || posts[0].Auth != "" {
		t.Fatalf("posts %+v", posts)
	}
	checkPage(t, p, f.srv.URL, true)
}

func TestRegisterDuplicate(t *testing.T) {
	f := newFakePlatform(t)
	reg := &fakeRegistrar{}
	h := newHandler(t, dynreg.Config{Registrar: reg, Approve: approveAll})
	if p := initiate(t, h, http.MethodGet, query(f, "")); p.status != http.StatusOK {
		t.Fatalf("first: %d %s", p.status, p.body)
	}
	// The platform issues the same client_id again, with a new deployment.
	f.setRegister(func(w http.ResponseWriter, r *http.Request) {
		var tc dynreg.ToolConfiguration
		_ = json.NewDecoder(r.Body).Decode(&tc)
		tc.ClientID, tc.LTI.DeploymentID = "client-1", "deployment-2"
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(tc)
	})
	var res *dynreg.Result
	h = newHandler(t, dynreg.Config{Registrar: reg, Approve: approveAll, OnRegistered: func(_ context.Context, r *dynreg.Result) { res = r }})
	if p := initiate(t, h, http.MethodGet, query(f, "")); p.status != http.StatusOK {
		t.Fatalf("second: %d %s", p.status, p.body)
	}
	entries, _ := reg.Registrations(t.Context())
	if len(entries) != 1 || !slices.Equal(entries[0].Deployments, []string{"deployment-1", "deployment-2"}) || res == nil || !res.Existing {
		t.Fatalf("stored %+v, result %+v", entries, res)
	}
	// The same client_id with other endpoints is a conflict.
	f.setConfig(func(c map[string]any) { c["jwks_uri"] = f.srv.URL + "/other-jwks" })
	p := initiate(t, h, http.MethodGet, query(f, ""))
	if p.status != http.StatusConflict || p.errorCode() != string(lti.CodeRegistrationConflict) {
		t.Fatalf("conflict: %d %s", p.status, p.body)
	}
	if entries, _ := reg.Registrations(t.Context()); entries[0].Registration.KeySetURL != f.srv.URL+"/jwks" {
		t.Fatal("the conflicting registration overwrote the stored one")
	}
}

func TestRegisterApproveChangesTool(t *testing.T) {
	f := newFakePlatform(t)
	h := newHandler(t, dynreg.Config{Registrar: &fakeRegistrar{}, Approve: func(_ context.Context, req *dynreg.Request) (dynreg.Decision, error) {
		req.Tool.LTI.CustomParameters = map[string]string{"tenant": "t-1"}
		return dynreg.Decision{Verdict: dynreg.Approve}, nil
	}})
	if p := initiate(t, h, http.MethodGet, query(f, "")); p.status != http.StatusOK {
		t.Fatalf("%d %s", p.status, p.body)
	}
	if posts := f.received(); posts[0].Tool.LTI.CustomParameters["tenant"] != "t-1" {
		t.Fatalf("posted %+v", posts[0].Tool.LTI)
	}
}

func TestRegisterNoDeepLinkingWhenUnsupported(t *testing.T) {
	f := newFakePlatform(t)
	f.setConfig(func(c map[string]any) {
		c[dynreg.PlatformConfigurationClaim].(map[string]any)["messages_supported"] = []any{map[string]any{"type": "LtiResourceLinkRequest"}}
	})
	h := newHandler(t, dynreg.Config{Registrar: &fakeRegistrar{}, DeepLinkingURL: toolBase + "/dl"}, dynreg.AllowAll())
	if p := initiate(t, h, http.MethodGet, query(f, "")); p.status != http.StatusOK {
		t.Fatalf("%d %s", p.status, p.body)
	}
	if msgs := f.received()[0].Tool.LTI.Messages; len(msgs) != 1 || msgs[0].Type != dynreg.MessageResourceLink {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestFetchLimits(t *testing.T) {
	f := newFakePlatform(t)
	other := newFakePlatform(t)
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("/same", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, f.configURL(), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/cross", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.configURL(), http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"` + strings.Repeat("a", 100<<10) + `"}`))
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`{}`))
	})
	mux.HandleFunc("/slow", func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()

	// Redirects within the platform's own origin are followed.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/.well-known/openid-configuration", http.StatusFound)
	}))
	defer proxy.Close()

	tests := []struct {
		name string
		url  string
		code lti.Code
	}{
		{"redirect to another origin", srv.URL + "/cross", lti.CodeConfigurationUnavailable},
		{"redirect loop", srv.URL + "/loop", lti.CodeConfigurationUnavailable},
		{"too large", srv.URL + "/big", lti.CodeInvalidConfiguration},
		{"not JSON", srv.URL + "/html", lti.CodeInvalidConfiguration},
		{"time-out", srv.URL + "/slow", lti.CodeConfigurationUnavailable},
		// /same redirects to f's origin: another origin than srv's.
		{"redirect to the platform from elsewhere", srv.URL + "/same", lti.CodeConfigurationUnavailable},
	}
	h := newHandler(t, dynreg.Config{Registrar: &fakeRegistrar{}}, dynreg.AllowAll(), dynreg.WithTimeout(200*time.Millisecond))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := initiate(t, h, http.MethodGet, url.Values{"openid_configuration": {tt.url}})
			if p.errorCode() != string(tt.code) {
				t.Fatalf("got %d %q, want %s", p.status, p.errorCode(), tt.code)
			}
		})
	}
}

func TestSameOriginRedirectFollowed(t *testing.T) {
	f := newFakePlatform(t)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, _ *http.Request) {
		c := validConfig(srv.URL)
		c["registration_endpoint"] = f.srv.URL + "/register"
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(c)
	})
	h := newHandler(t, dynreg.Config{Registrar: &fakeRegistrar{}}, dynreg.AllowAll())
	p := initiate(t, h, http.MethodGet, url.Values{"openid_configuration": {srv.URL + "/old"}})
	if p.status != http.StatusOK {
		t.Fatalf("%d %s", p.status, p.body)
	}
}

func TestCloseTargetOrigin(t *testing.T) {
	f := newFakePlatform(t)
	h := newHandler(t, dynreg.Config{Registrar: &fakeRegistrar{}}, dynreg.AllowAll(), dynreg.WithCloseTargetOrigin("*"))
	checkPage(t, initiate(t, h, http.MethodGet, query(f, "")), "*", true)
	// A request without a usable URL gets a page that posts nothing.
	p := initiate(t, h, http.MethodGet, nil)
	if p.status != http.StatusBadRequest {
		t.Fatal(p.status)
	}
	h = newHandler(t, dynreg.Config{Registrar: &fakeRegistrar{}}, dynreg.AllowAll())
	p = initiate(t, h, http.MethodGet, url.Values{"openid_configuration": {"javascript:alert(1)"}})
	if !strings.Contains(p.body, `var targetOrigin = "";`) || strings.Contains(p.body, `id="close"`) {
		t.Fatalf("a bad URL became a target origin:\n%s", p.body)
	}
	if _, err := dynreg.New(dynreg.Config{BaseURL: toolBase, ClientName: "x", Registrar: &fakeRegistrar{}},
		dynreg.WithCloseTargetOrigin("https://lms.example/path")); err == nil {
		t.Fatal("a path was accepted as an origin")
	}
}

func TestNewChecksConfig(t *testing.T) {
	reg := &fakeRegistrar{}
	for _, cfg := range []dynreg.Config{
		{ClientName: "x", Registrar: reg},
		{BaseURL: "tool.example", ClientName: "x", Registrar: reg},
		{BaseURL: toolBase, Registrar: reg},
		{BaseURL: toolBase, ClientName: "x"},
		{BaseURL: toolBase, ClientName: "x", Registrar: reg, LoginURL: "/login"},
		{BaseURL: toolBase, ClientName: "x", Registrar: reg, RedirectURIs: []string{"https://tool.example/a#b"}},
		{BaseURL: toolBase, ClientName: "x", Registrar: reg, DeepLinkingURL: "ftp://tool.example/dl"},
	} {
		if _, err := dynreg.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	h, err := dynreg.New(dynreg.Config{BaseURL: "http://localhost:8080/", ClientName: "x", OnPending: func(context.Context, *dynreg.Result) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	tc := h.ToolConfiguration(&dynreg.PlatformConfiguration{})
	if tc.InitiateLoginURI != "http://localhost:8080/lti/login" || tc.JWKSURI != "http://localhost:8080/.well-known/jwks.json" ||
		tc.LTI.Domain != "localhost:8080" || tc.LTI.TargetLinkURI != "http://localhost:8080/lti/launch" {
		t.Fatalf("defaults %+v", tc)
	}
	// Without an Approve hook or AllowAll every registration is refused.
	f := newFakePlatform(t)
	p := initiate(t, h, http.MethodGet, query(f, ""))
	if p.status != http.StatusForbidden {
		t.Fatalf("%d %s", p.status, p.body)
	}
}

func TestErrorsDoNotCarryTheToken(t *testing.T) {
	h := newHandler(t, dynreg.Config{Registrar: &fakeRegistrar{}}, dynreg.AllowAll())
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, toolBase+"/register?"+url.Values{
		"openid_configuration": {"http://127.0.0.1:1/config?registration_token=s3cret"},
	}.Encode(), nil)
	_, err := h.Register(req)
	if !errors.Is(err, dynreg.ErrConfigurationUnavailable) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("got %v", err)
	}
}
