package dynreg_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ltikit/ltikit/dynreg"
	"github.com/ltikit/ltikit/lti"
)

const canvasConfigPath = "/api/lti/security/openid-configuration"

// canvasConfig is a configuration shaped like Canvas Cloud's: the shared
// issuer, the endpoints on the school's host.
func canvasConfig(issuer, school string) map[string]any {
	c := validConfig(school)
	c["issuer"] = issuer
	c["authorization_endpoint"] = "https://sso.canvaslms.com/api/lti/authorize_redirect"
	c["token_endpoint"] = school + "/login/oauth2/token"
	c["jwks_uri"] = school + "/api/lti/security/jwks"
	c["registration_endpoint"] = school + "/api/lti/registrations"
	c[dynreg.PlatformConfigurationClaim].(map[string]any)["product_family_code"] = "canvas"
	return c
}

func TestIssuerExceptions(t *testing.T) {
	const school = "https://school.instructure.com"
	vendor := dynreg.WithIssuerException("https://lms.vendor.example", "tenants.vendor.example")
	tests := []struct {
		name      string
		issuer    string
		configURL string
		opts      []dynreg.Option
		code      lti.Code // "" = accepted
	}{
		// Accepted Canvas Cloud shapes.
		{name: "production issuer from a school host", issuer: dynreg.CanvasIssuer, configURL: school + canvasConfigPath},
		{name: "with the registration token in the URL", issuer: dynreg.CanvasIssuer, configURL: school + canvasConfigPath + "?registration_token=abc"},
		{name: "beta issuer from a beta school host", issuer: dynreg.CanvasBetaIssuer, configURL: "https://school.beta.instructure.com" + canvasConfigPath},
		{name: "test issuer from a test school host", issuer: dynreg.CanvasTestIssuer, configURL: "https://school.test.instructure.com" + canvasConfigPath},
		{name: "school host in upper case", issuer: dynreg.CanvasIssuer, configURL: "https://School.Instructure.COM" + canvasConfigPath},
		{name: "explicit default port", issuer: dynreg.CanvasIssuer, configURL: "https://school.instructure.com:443" + canvasConfigPath},
		{name: "the suffix itself", issuer: dynreg.CanvasIssuer, configURL: "https://instructure.com" + canvasConfigPath},
		{name: "the issuer's own host", issuer: dynreg.CanvasIssuer, configURL: dynreg.CanvasIssuer + canvasConfigPath},
		{name: "another host's exception", issuer: "https://lms.vendor.example", configURL: "https://a.tenants.vendor.example/oidc",
			opts: []dynreg.Option{vendor}},
		{name: "exceptions add up", issuer: "https://lms.vendor.example", configURL: "https://a.tenants.vendor.example/oidc",
			opts: []dynreg.Option{dynreg.CanvasCloud(), vendor}},

		// Refused.
		{name: "strict by default", issuer: dynreg.CanvasIssuer, configURL: school + canvasConfigPath, opts: []dynreg.Option{},
			code: lti.CodeInvalidConfiguration},
		{name: "look-alike: evilinstructure.com", issuer: dynreg.CanvasIssuer, configURL: "https://evilinstructure.com" + canvasConfigPath,
			code: lti.CodeInvalidConfiguration},
		{name: "look-alike: school.evilinstructure.com", issuer: dynreg.CanvasIssuer, configURL: "https://school.evilinstructure.com" + canvasConfigPath,
			code: lti.CodeInvalidConfiguration},
		{name: "look-alike: instructure.com.evil.example", issuer: dynreg.CanvasIssuer, configURL: "https://instructure.com.evil.example" + canvasConfigPath,
			code: lti.CodeInvalidConfiguration},
		{name: "look-alike: school.instructure.com.evil.example", issuer: dynreg.CanvasIssuer, configURL: "https://school.instructure.com.evil.example" + canvasConfigPath,
			code: lti.CodeInvalidConfiguration},
		{name: "look-alike: instructure.co", issuer: dynreg.CanvasIssuer, configURL: "https://school.instructure.co" + canvasConfigPath,
			code: lti.CodeInvalidConfiguration},
		{name: "host with a trailing dot", issuer: dynreg.CanvasIssuer, configURL: "https://school.instructure.com." + canvasConfigPath,
			code: lti.CodeInvalidConfiguration},
		{name: "another port", issuer: dynreg.CanvasIssuer, configURL: "https://school.instructure.com:8443" + canvasConfigPath,
			code: lti.CodeInvalidConfiguration},
		{name: "http config URL", issuer: dynreg.CanvasIssuer, configURL: "http://school.instructure.com" + canvasConfigPath,
			code: lti.CodeInvalidRequest},
		{name: "http config URL on an allowed host", issuer: dynreg.CanvasIssuer, configURL: "http://school.instructure.com" + canvasConfigPath,
			opts: []dynreg.Option{dynreg.CanvasCloud(), dynreg.WithInsecureHTTP("school.instructure.com")}, code: lti.CodeInvalidConfiguration},
		{name: "http issuer", issuer: "http://canvas.instructure.com", configURL: school + canvasConfigPath,
			opts: []dynreg.Option{dynreg.CanvasCloud(), dynreg.WithInsecureHTTP("canvas.instructure.com")}, code: lti.CodeInvalidConfiguration},
		{name: "http exception never applies", issuer: "http://canvas.instructure.com", configURL: "http://school.instructure.com" + canvasConfigPath,
			opts: []dynreg.Option{dynreg.WithIssuerException("http://canvas.instructure.com", "instructure.com"),
				dynreg.WithInsecureHTTP("canvas.instructure.com", "school.instructure.com")}, code: lti.CodeInvalidConfiguration},
		{name: "another issuer from a school host", issuer: "https://other.example", configURL: school + canvasConfigPath,
			code: lti.CodeInvalidConfiguration},
		{name: "another instructure issuer", issuer: "https://evil.instructure.com", configURL: school + canvasConfigPath,
			code: lti.CodeInvalidConfiguration},
		{name: "issuer with a trailing slash", issuer: dynreg.CanvasIssuer + "/", configURL: school + canvasConfigPath,
			code: lti.CodeInvalidConfiguration},
		{name: "issuer in other case", issuer: "https://Canvas.Instructure.com", configURL: school + canvasConfigPath,
			code: lti.CodeInvalidConfiguration},
		{name: "Canvas issuer from the vendor's tenants", issuer: dynreg.CanvasIssuer, configURL: "https://a.tenants.vendor.example/oidc",
			opts: []dynreg.Option{dynreg.CanvasCloud(), vendor}, code: lti.CodeInvalidConfiguration},
		{name: "vendor issuer from a Canvas host", issuer: "https://lms.vendor.example", configURL: school + canvasConfigPath,
			opts: []dynreg.Option{dynreg.CanvasCloud(), vendor}, code: lti.CodeInvalidConfiguration},
		{name: "malformed exception never matches", issuer: dynreg.CanvasIssuer, configURL: school + canvasConfigPath,
			opts: []dynreg.Option{dynreg.WithIssuerException(dynreg.CanvasIssuer, "com")}, code: lti.CodeInvalidConfiguration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.configURL)
			if err != nil {
				t.Fatal(err)
			}
			c := canvasConfig(tt.issuer, u.Scheme+"://"+u.Host)
			data, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			opts := tt.opts
			if opts == nil {
				opts = []dynreg.Option{dynreg.CanvasCloud()}
			}
			got, err := dynreg.ParseConfiguration(data, tt.configURL, opts...)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("want accepted, got %v", err)
				}
				if got.Issuer != tt.issuer {
					t.Fatalf("issuer %q", got.Issuer)
				}
				return
			}
			var e *dynreg.Error
			if !errors.As(err, &e) || e.Code() != tt.code || got != nil {
				t.Fatalf("want %s, got %v", tt.code, err)
			}
			if tt.code == lti.CodeInvalidConfiguration && e.Field() != "issuer" {
				t.Fatalf("field %q, want issuer (%v)", e.Field(), e)
			}
		})
	}
}

func TestIssuerExceptionOptionErrors(t *testing.T) {
	tests := []struct {
		name     string
		issuer   string
		suffixes []string
		ok       bool
	}{
		{name: "valid", issuer: "https://lms.vendor.example", suffixes: []string{"vendor.example", ".Tenants.Vendor.Example"}, ok: true},
		{name: "http issuer", issuer: "http://lms.vendor.example", suffixes: []string{"vendor.example"}},
		{name: "issuer with port", issuer: "https://lms.vendor.example:8443", suffixes: []string{"vendor.example"}},
		{name: "issuer with query", issuer: "https://lms.vendor.example?x=1", suffixes: []string{"vendor.example"}},
		{name: "issuer with user info", issuer: "https://u@lms.vendor.example", suffixes: []string{"vendor.example"}},
		{name: "issuer not a URL", issuer: "lms.vendor.example", suffixes: []string{"vendor.example"}},
		{name: "no suffix", issuer: "https://lms.vendor.example"},
		{name: "one-label suffix", issuer: "https://lms.vendor.example", suffixes: []string{"com"}},
		{name: "empty suffix", issuer: "https://lms.vendor.example", suffixes: []string{""}},
		{name: "wildcard suffix", issuer: "https://lms.vendor.example", suffixes: []string{"*.vendor.example"}},
		{name: "suffix with scheme", issuer: "https://lms.vendor.example", suffixes: []string{"https://vendor.example"}},
		{name: "suffix with port", issuer: "https://lms.vendor.example", suffixes: []string{"vendor.example:443"}},
		{name: "suffix with empty label", issuer: "https://lms.vendor.example", suffixes: []string{"vendor..example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dynreg.New(dynreg.Config{BaseURL: toolBase, ClientName: "tool", Registrar: &fakeRegistrar{}},
				dynreg.WithIssuerException(tt.issuer, tt.suffixes...))
			if (err == nil) != tt.ok {
				t.Fatalf("New: %v", err)
			}
		})
	}
	if _, err := dynreg.New(dynreg.Config{BaseURL: toolBase, ClientName: "tool", Registrar: &fakeRegistrar{}}, dynreg.CanvasCloud()); err != nil {
		t.Fatalf("CanvasCloud: %v", err)
	}
}

// canvasClient routes every host to srv, verifying srv's test certificate
// (issued for example.com) whatever the URL's host.
func canvasClient(srv *httptest.Server) *http.Client {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = tr.TLSClientConfig.Clone()
	tr.TLSClientConfig.ServerName = "example.com"
	tr.TLSClientConfig.MinVersion = tls.VersionTLS12
	addr := srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr}
}

// TestCanvasCloudRegistration runs a whole registration with a platform
// shaped like Canvas Cloud: refused by default, stored under the shared
// issuer with CanvasCloud.
func TestCanvasCloudRegistration(t *testing.T) {
	const school = "https://school.instructure.com"
	var (
		mu    sync.Mutex
		hosts []string
	)
	seen := func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hosts = append(hosts, r.Host)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(canvasConfigPath, func(w http.ResponseWriter, r *http.Request) {
		seen(r)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(canvasConfig(dynreg.CanvasIssuer, school))
	})
	mux.HandleFunc("/api/lti/registrations", func(w http.ResponseWriter, r *http.Request) {
		seen(r)
		var tc dynreg.ToolConfiguration
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &tc); err != nil || r.Header.Get("Authorization") != "Bearer canvas-token" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		tc.ClientID = "10000000000042"
		tc.LTI.DeploymentID = "42:abc"
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(tc)
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	q := url.Values{"openid_configuration": {school + canvasConfigPath}, "registration_token": {"canvas-token"}}

	for _, tc := range []struct {
		name   string
		opts   []dynreg.Option
		status int
		code   string
	}{
		{name: "strict", status: http.StatusBadGateway, code: string(lti.CodeInvalidConfiguration)},
		{name: "CanvasCloud", opts: []dynreg.Option{dynreg.CanvasCloud()}, status: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			hosts = nil
			mu.Unlock()
			reg := &fakeRegistrar{}
			h := newHandler(t, dynreg.Config{Registrar: reg, Approve: approveAll},
				append([]dynreg.Option{dynreg.WithHTTPClient(canvasClient(srv))}, tc.opts...)...)
			p := initiate(t, h, http.MethodGet, q)
			if p.status != tc.status || p.errorCode() != tc.code {
				t.Fatalf("got %d %q\n%s", p.status, p.errorCode(), p.body)
			}
			entries, _ := reg.Registrations(t.Context())
			mu.Lock()
			defer mu.Unlock()
			if tc.code != "" {
				if len(entries) != 0 || len(hosts) != 1 {
					t.Fatalf("stored %+v after requests to %v", entries, hosts)
				}
				return
			}
			if len(entries) != 1 {
				t.Fatalf("stored %+v", entries)
			}
			r := entries[0].Registration
			if r.Issuer != dynreg.CanvasIssuer || r.ClientID != "10000000000042" || r.KeySetURL != school+"/api/lti/security/jwks" ||
				r.TokenEndpoint != school+"/login/oauth2/token" || entries[0].Deployments[0] != "42:abc" {
				t.Fatalf("stored %+v", entries[0])
			}
			if strings.Join(hosts, " ") != "school.instructure.com school.instructure.com" {
				t.Fatalf("requests went to %v", hosts)
			}
			// The close message goes to the school's origin, where the
			// admin's Canvas page is.
			if !strings.Contains(p.body, school) {
				t.Fatalf("the last page does not name the school's origin:\n%s", p.body)
			}
		})
	}
}

// FuzzParseConfigurationCanvasCloud checks the relaxed rule: with
// CanvasCloud, an accepted configuration either passes the strict issuer
// rule or names a Canvas issuer and was served over https from a host on
// an instructure.com label boundary.
func FuzzParseConfigurationCanvasCloud(f *testing.F) {
	good, _ := json.Marshal(canvasConfig(dynreg.CanvasIssuer, "https://school.instructure.com"))
	f.Add(good, "https://school.instructure.com"+canvasConfigPath)
	f.Add(good, "https://evilinstructure.com"+canvasConfigPath)
	f.Add(good, "https://instructure.com.evil.example/x")
	f.Add(good, "http://school.instructure.com/x")
	f.Fuzz(func(t *testing.T, data []byte, configURL string) {
		c, err := dynreg.ParseConfiguration(data, configURL, dynreg.CanvasCloud())
		if err != nil {
			var e *dynreg.Error
			if !errors.As(err, &e) || c != nil {
				t.Fatalf("refusal %v, %v", c, err)
			}
			return
		}
		iss, err1 := url.Parse(c.Issuer)
		cu, err2 := url.Parse(configURL)
		if err1 != nil || err2 != nil {
			t.Fatalf("accepted unparsable URLs %q %q", c.Issuer, configURL)
		}
		if iss.Scheme == cu.Scheme && strings.EqualFold(iss.Host, cu.Host) {
			return
		}
		host := strings.ToLower(cu.Hostname())
		canvas := c.Issuer == dynreg.CanvasIssuer || c.Issuer == dynreg.CanvasBetaIssuer || c.Issuer == dynreg.CanvasTestIssuer
		if !canvas || cu.Scheme != "https" || (host != "instructure.com" && !strings.HasSuffix(host, ".instructure.com")) {
			t.Fatalf("issuer %q accepted for %q", c.Issuer, configURL)
		}
	})
}
