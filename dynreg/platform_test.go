package dynreg_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/dynreg"
	"github.com/ltikit/ltikit/lti"
)

const lms = "https://lms.example"

func TestParseConfiguration(t *testing.T) {
	ltic := func(c map[string]any) map[string]any { return c[dynreg.PlatformConfigurationClaim].(map[string]any) }
	const pc = dynreg.PlatformConfigurationClaim
	tests := []struct {
		name      string
		configURL string // default lms + "/.well-known/openid-configuration"
		mutate    func(c map[string]any)
		opts      []dynreg.Option
		code      lti.Code // "" = valid
		field     string
	}{
		{name: "valid"},
		{name: "valid, issuer with path", configURL: lms + "/moodle/mod/lti/openid-configuration.php",
			mutate: func(c map[string]any) { c["issuer"] = lms + "/moodle" }},
		{name: "valid, issuer with trailing slash", mutate: func(c map[string]any) { c["issuer"] = lms + "/" }},
		{name: "valid, issuer host in other case", mutate: func(c map[string]any) { c["issuer"] = "https://LMS.example" }},
		{name: "valid, config URL with query", configURL: lms + "/api/openid-configuration?registration_token=x"},
		{name: "valid, http on loopback", configURL: "http://127.0.0.1:8080/.well-known/openid-configuration",
			mutate: func(c map[string]any) { setBase(c, "http://127.0.0.1:8080") }},
		{name: "valid, http on localhost", configURL: "http://localhost:8080/oidc",
			mutate: func(c map[string]any) { setBase(c, "http://localhost:8080") }},
		{name: "valid, http on [::1]", configURL: "http://[::1]:8080/oidc",
			mutate: func(c map[string]any) { setBase(c, "http://[::1]:8080") }},
		{name: "valid, http on an allowed host", configURL: "http://lms.internal/oidc",
			opts: []dynreg.Option{dynreg.WithInsecureHTTP("LMS.internal")}, mutate: func(c map[string]any) { setBase(c, "http://lms.internal") }},
		{name: "valid, no token endpoint auth lists", mutate: func(c map[string]any) {
			delete(c, "token_endpoint_auth_methods_supported")
			delete(c, "token_endpoint_auth_signing_alg_values_supported")
		}},
		{name: "valid, empty messages_supported", mutate: func(c map[string]any) { ltic(c)["messages_supported"] = []any{} }},
		{name: "valid, ES256 accepted", opts: []dynreg.Option{dynreg.WithAlgorithms("ES256")},
			mutate: func(c map[string]any) { c["id_token_signing_alg_values_supported"] = []any{"ES256"} }},

		{name: "config URL is http on a public host", configURL: "http://lms.example/.well-known/openid-configuration",
			mutate: func(c map[string]any) { setBase(c, "http://lms.example") }, code: lti.CodeInvalidRequest, field: "openid_configuration"},
		{name: "config URL is relative", configURL: "/.well-known/openid-configuration", code: lti.CodeInvalidRequest, field: "openid_configuration"},
		{name: "issuer missing", mutate: func(c map[string]any) { delete(c, "issuer") }, code: lti.CodeInvalidConfiguration, field: "issuer"},
		{name: "issuer not a string", mutate: func(c map[string]any) { c["issuer"] = 42 }, code: lti.CodeInvalidConfiguration, field: "issuer"},
		{name: "issuer on another host", mutate: func(c map[string]any) { c["issuer"] = "https://other.example" }, code: lti.CodeInvalidConfiguration, field: "issuer"},
		{name: "issuer on another port", mutate: func(c map[string]any) { c["issuer"] = lms + ":8443" }, code: lti.CodeInvalidConfiguration, field: "issuer"},
		{name: "issuer with another scheme", configURL: "http://localhost/.well-known/openid-configuration",
			mutate: func(c map[string]any) { setBase(c, "http://localhost"); c["issuer"] = "https://localhost" }, code: lti.CodeInvalidConfiguration, field: "issuer"},
		{name: "issuer path not a prefix", mutate: func(c map[string]any) { c["issuer"] = lms + "/other" }, code: lti.CodeInvalidConfiguration, field: "issuer"},
		{name: "issuer path a prefix but not a segment", configURL: lms + "/ab/.well-known/openid-configuration",
			mutate: func(c map[string]any) { c["issuer"] = lms + "/a" }, code: lti.CodeInvalidConfiguration, field: "issuer"},
		{name: "issuer with query", mutate: func(c map[string]any) { c["issuer"] = lms + "?x=1" }, code: lti.CodeInvalidConfiguration, field: "issuer"},
		{name: "issuer with fragment", mutate: func(c map[string]any) { c["issuer"] = lms + "#x" }, code: lti.CodeInvalidConfiguration, field: "issuer"},
		{name: "issuer with user info", mutate: func(c map[string]any) { c["issuer"] = "https://u@lms.example" }, code: lti.CodeInvalidConfiguration, field: "issuer"},
		{name: "issuer not a URL", mutate: func(c map[string]any) { c["issuer"] = "lms.example" }, code: lti.CodeInvalidConfiguration, field: "issuer"},
		{name: "authorization_endpoint missing", mutate: func(c map[string]any) { delete(c, "authorization_endpoint") }, code: lti.CodeInvalidConfiguration, field: "authorization_endpoint"},
		{name: "authorization_endpoint http", mutate: func(c map[string]any) { c["authorization_endpoint"] = "http://lms.example/auth" }, code: lti.CodeInvalidConfiguration, field: "authorization_endpoint"},
		{name: "token_endpoint missing", mutate: func(c map[string]any) { delete(c, "token_endpoint") }, code: lti.CodeInvalidConfiguration, field: "token_endpoint"},
		{name: "token_endpoint relative", mutate: func(c map[string]any) { c["token_endpoint"] = "/token" }, code: lti.CodeInvalidConfiguration, field: "token_endpoint"},
		{name: "jwks_uri missing", mutate: func(c map[string]any) { delete(c, "jwks_uri") }, code: lti.CodeInvalidConfiguration, field: "jwks_uri"},
		{name: "jwks_uri javascript", mutate: func(c map[string]any) { c["jwks_uri"] = "javascript:alert(1)" }, code: lti.CodeInvalidConfiguration, field: "jwks_uri"},
		{name: "registration_endpoint missing", mutate: func(c map[string]any) { delete(c, "registration_endpoint") }, code: lti.CodeInvalidConfiguration, field: "registration_endpoint"},
		{name: "registration_endpoint too long", mutate: func(c map[string]any) { c["registration_endpoint"] = lms + "/" + strings.Repeat("a", 3000) },
			code: lti.CodeInvalidConfiguration, field: "registration_endpoint"},
		{name: "no RS256", mutate: func(c map[string]any) { c["id_token_signing_alg_values_supported"] = []any{"HS256", "none"} },
			code: lti.CodeInvalidConfiguration, field: "id_token_signing_alg_values_supported"},
		{name: "signing algs missing", mutate: func(c map[string]any) { delete(c, "id_token_signing_alg_values_supported") },
			code: lti.CodeInvalidConfiguration, field: "id_token_signing_alg_values_supported"},
		{name: "scopes without openid", mutate: func(c map[string]any) { c["scopes_supported"] = []any{lti.ScopeAGSScore} },
			code: lti.CodeInvalidConfiguration, field: "scopes_supported"},
		{name: "scopes a string", mutate: func(c map[string]any) { c["scopes_supported"] = "openid" },
			code: lti.CodeInvalidConfiguration, field: "scopes_supported"},
		{name: "response types without id_token", mutate: func(c map[string]any) { c["response_types_supported"] = []any{"code"} },
			code: lti.CodeInvalidConfiguration, field: "response_types_supported"},
		{name: "token endpoint without private_key_jwt", mutate: func(c map[string]any) { c["token_endpoint_auth_methods_supported"] = []any{"client_secret_basic"} },
			code: lti.CodeInvalidConfiguration, field: "token_endpoint_auth_methods_supported"},
		{name: "token endpoint without RS256", mutate: func(c map[string]any) { c["token_endpoint_auth_signing_alg_values_supported"] = []any{"ES256"} },
			code: lti.CodeInvalidConfiguration, field: "token_endpoint_auth_signing_alg_values_supported"},
		{name: "authorization_server too long", mutate: func(c map[string]any) { c["authorization_server"] = strings.Repeat("a", 3000) },
			code: lti.CodeInvalidConfiguration, field: "authorization_server"},
		{name: "no lti-platform-configuration", mutate: func(c map[string]any) { delete(c, pc) }, code: lti.CodeInvalidConfiguration, field: pc},
		{name: "lti-platform-configuration null", mutate: func(c map[string]any) { c[pc] = nil }, code: lti.CodeInvalidConfiguration, field: pc},
		{name: "lti-platform-configuration a string", mutate: func(c map[string]any) { c[pc] = "moodle" }, code: lti.CodeInvalidConfiguration, field: pc},
		{name: "no product_family_code", mutate: func(c map[string]any) { delete(ltic(c), "product_family_code") }, code: lti.CodeInvalidConfiguration, field: pc + ".product_family_code"},
		{name: "no version", mutate: func(c map[string]any) { delete(ltic(c), "version") }, code: lti.CodeInvalidConfiguration, field: pc + ".version"},
		{name: "no messages_supported", mutate: func(c map[string]any) { delete(ltic(c), "messages_supported") }, code: lti.CodeInvalidConfiguration, field: pc + ".messages_supported"},
		{name: "message without type", mutate: func(c map[string]any) {
			ltic(c)["messages_supported"] = []any{map[string]any{"placements": []any{"x"}}}
		},
			code: lti.CodeInvalidConfiguration, field: pc + ".messages_supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(lms)
			if tt.mutate != nil {
				tt.mutate(c)
			}
			configURL := tt.configURL
			if configURL == "" {
				configURL = lms + "/.well-known/openid-configuration"
			}
			data, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dynreg.ParseConfiguration(data, configURL, tt.opts...)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if got.Issuer != c["issuer"] || got.LTI == nil || got.LTI.ProductFamilyCode != "fake" {
					t.Fatalf("parsed %+v", got)
				}
				return
			}
			var e *dynreg.Error
			if !errors.As(err, &e) {
				t.Fatalf("want a *dynreg.Error %s, got %v", tt.code, err)
			}
			if e.Code() != tt.code || e.Field() != tt.field {
				t.Fatalf("got code %s field %q, want %s %q (%v)", e.Code(), e.Field(), tt.code, tt.field, e)
			}
			if got != nil {
				t.Fatal("a refused configuration was returned")
			}
		})
	}
}

func TestParseConfigurationNotJSON(t *testing.T) {
	for _, data := range []string{"", "null", "[]", `"x"`, "<html>", "{", `{"issuer": }`, "{}"} {
		_, err := dynreg.ParseConfiguration([]byte(data), lms+"/.well-known/openid-configuration")
		if !errors.Is(err, dynreg.ErrInvalidConfiguration) {
			t.Errorf("%q: got %v, want invalid_configuration", data, err)
		}
	}
}

func TestPlatformConfigurationHelpers(t *testing.T) {
	data, _ := json.Marshal(validConfig(lms))
	c, err := dynreg.ParseConfiguration(data, lms+"/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Supports(dynreg.MessageDeepLinking) || c.Supports("LtiSubmissionReviewRequest") {
		t.Error("Supports")
	}
	if c.TokenAudience() != lms+"/token" {
		t.Errorf("TokenAudience = %q", c.TokenAudience())
	}
	c.AuthorizationServer = "https://auth.lms.example"
	if c.TokenAudience() != "https://auth.lms.example" {
		t.Errorf("TokenAudience = %q", c.TokenAudience())
	}
}

// setBase moves every URL of c to base.
func setBase(c map[string]any, base string) {
	c["issuer"] = base
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint"} {
		s := c[k].(string)
		c[k] = base + s[strings.Index(s[len("https://"):], "/")+len("https://"):]
	}
}
