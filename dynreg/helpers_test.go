package dynreg_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ltikit/ltikit/dynreg"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// validConfig returns a platform configuration that passes every rule, for
// an issuer at base.
func validConfig(base string) map[string]any {
	return map[string]any{
		"issuer":                                base,
		"authorization_endpoint":                base + "/auth",
		"token_endpoint":                        base + "/token",
		"token_endpoint_auth_methods_supported": []any{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []any{"RS256"},
		"jwks_uri":                              base + "/jwks",
		"registration_endpoint":                 base + "/register",
		"scopes_supported":                      []any{"openid", lti.ScopeAGSLineItem, lti.ScopeAGSScore},
		"response_types_supported":              []any{"id_token"},
		"subject_types_supported":               []any{"public"},
		"id_token_signing_alg_values_supported": []any{"RS256"},
		"claims_supported":                      []any{"iss", "sub"},
		dynreg.PlatformConfigurationClaim: map[string]any{
			"product_family_code": "fake",
			"version":             "2.0",
			"messages_supported": []any{
				map[string]any{"type": "LtiResourceLinkRequest"},
				map[string]any{"type": "LtiDeepLinkingRequest", "placements": []any{"ContentArea"}},
			},
		},
	}
}

// posted is one registration request the fake platform received.
type posted struct {
	Auth string
	Tool dynreg.ToolConfiguration
}

// fakePlatform serves an OpenID configuration and a registration endpoint
// whose answers the test controls.
type fakePlatform struct {
	srv *httptest.Server

	mu       sync.Mutex
	config   map[string]any
	register http.HandlerFunc // nil: answer 201 with client_id and deployment_id
	posts    []posted
	fetches  int
}

func newFakePlatform(t *testing.T) *fakePlatform {
	t.Helper()
	f := &fakePlatform{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.fetches++
		cfg := f.config
		f.mu.Unlock()
		if r.Header.Get("Accept") != "application/json" {
			http.Error(w, "want Accept: application/json", http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(cfg)
	})
	mux.HandleFunc("/register", func(w http.ResponseWriter, r *http.Request) {
		var tc dynreg.ToolConfiguration
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &tc); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.posts = append(f.posts, posted{Auth: r.Header.Get("Authorization"), Tool: tc})
		h := f.register
		f.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		tc.ClientID = "client-1"
		tc.LTI.DeploymentID = "deployment-1"
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(tc)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.config = validConfig(f.srv.URL)
	return f
}

func (f *fakePlatform) configURL() string { return f.srv.URL + "/.well-known/openid-configuration" }

func (f *fakePlatform) setConfig(mut func(map[string]any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mut(f.config)
}

func (f *fakePlatform) setRegister(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.register = h
}

func (f *fakePlatform) received() []posted {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.posts)
}

// fakeRegistrar is a storage.Registrar in memory.
type fakeRegistrar struct {
	mu      sync.Mutex
	entries []storage.Entry
	fail    error // returned by every call when set
}

var _ storage.Registrar = (*fakeRegistrar)(nil)

func (f *fakeRegistrar) find(key registration.Key) int {
	return slices.IndexFunc(f.entries, func(e storage.Entry) bool { return e.Registration.Key() == key })
}

func (f *fakeRegistrar) CreateRegistration(_ context.Context, reg registration.Registration, deploymentIDs ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if err := reg.Validate(); err != nil {
		return err
	}
	if f.find(reg.Key()) >= 0 {
		return fmt.Errorf("fake: %s: %w", reg.Key(), storage.ErrExists)
	}
	f.entries = append(f.entries, storage.Entry{Registration: reg, Deployments: slices.Clone(deploymentIDs)})
	return nil
}

func (f *fakeRegistrar) CreateDeployment(_ context.Context, key registration.Key, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	i := f.find(key)
	if i < 0 {
		return registration.ErrNotFound
	}
	if slices.Contains(f.entries[i].Deployments, id) {
		return storage.ErrExists
	}
	f.entries[i].Deployments = append(f.entries[i].Deployments, id)
	return nil
}

func (f *fakeRegistrar) DeleteRegistration(context.Context, registration.Key) error {
	return errors.New("fake: not implemented")
}

func (f *fakeRegistrar) DeleteDeployment(context.Context, registration.Key, string) error {
	return errors.New("fake: not implemented")
}

func (f *fakeRegistrar) Registrations(context.Context) ([]storage.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	out := make([]storage.Entry, len(f.entries))
	for i, e := range f.entries {
		out[i] = storage.Entry{Registration: e.Registration, Deployments: slices.Clone(e.Deployments)}
	}
	return out, nil
}

// approveAll is an Approve hook that approves everything.
func approveAll(context.Context, *dynreg.Request) (dynreg.Decision, error) {
	return dynreg.Decision{Verdict: dynreg.Approve}, nil
}

// page is the last page as the admin's browser gets it.
type page struct {
	status int
	header http.Header
	body   string
}

// initiate sends the registration initiation request to h.
func initiate(t *testing.T, h http.Handler, method string, query url.Values) page {
	t.Helper()
	target := "https://tool.example/lti/register"
	if query != nil {
		target += "?" + query.Encode()
	}
	req := httptest.NewRequestWithContext(t.Context(), method, target, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return page{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

func (p page) errorCode() string {
	const open = `<code id="error-code">`
	i := strings.Index(p.body, open)
	if i < 0 {
		return ""
	}
	rest := p.body[i+len(open):]
	return rest[:strings.Index(rest, "<")]
}
