package dynreg_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/dynreg"
	"github.com/ltikit/ltikit/lti"
)

// FuzzParseConfiguration feeds the configuration parser and validator
// arbitrary documents and URLs: it must never panic, must refuse with a
// *dynreg.Error, and whatever it accepts must keep the rules that matter
// for security.
func FuzzParseConfiguration(f *testing.F) {
	good, _ := json.Marshal(validConfig(lms))
	f.Add(good, lms+"/.well-known/openid-configuration")
	f.Add(good, lms+"/a/b?c=d")
	f.Add([]byte(`{"issuer":"https://lms.example/a"}`), lms+"/ab")
	f.Add([]byte(`{"https://purl.imsglobal.org/spec/lti-platform-configuration":{"messages_supported":[{}]}}`), lms)
	f.Add([]byte(`null`), "http://127.0.0.1/x")
	f.Add([]byte(strings.Repeat("[", 1000)), lms)
	f.Fuzz(func(t *testing.T, data []byte, configURL string) {
		c, err := dynreg.ParseConfiguration(data, configURL)
		if err != nil {
			var e *dynreg.Error
			if !errors.As(err, &e) || (e.Code() != lti.CodeInvalidConfiguration && e.Code() != lti.CodeInvalidRequest) {
				t.Fatalf("refusal is not a dynreg error with a configuration code: %v", err)
			}
			if c != nil {
				t.Fatal("refused, yet returned a configuration")
			}
			return
		}
		iss, err1 := url.Parse(c.Issuer)
		cu, err2 := url.Parse(configURL)
		if err1 != nil || err2 != nil || iss.Scheme != cu.Scheme || !strings.EqualFold(iss.Host, cu.Host) ||
			!strings.HasPrefix(cu.EscapedPath(), strings.TrimSuffix(iss.EscapedPath(), "/")) {
			t.Fatalf("issuer %q accepted for %q", c.Issuer, configURL)
		}
		for _, raw := range []string{c.Issuer, c.AuthorizationEndpoint, c.TokenEndpoint, c.JWKSURI, c.RegistrationEndpoint} {
			u, err := url.Parse(raw)
			if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
				t.Fatalf("URL %q accepted", raw)
			}
			if u.Scheme == "http" {
				h := strings.ToLower(u.Hostname())
				if h != "localhost" && !strings.HasPrefix(h, "127.") && h != "::1" && !strings.HasPrefix(h, "::ffff:127.") && !strings.HasPrefix(h, "0:0:0:0:0:") {
					t.Fatalf("http URL %q on a public host accepted", raw)
				}
			}
		}
		if c.LTI == nil || c.LTI.ProductFamilyCode == "" || c.LTI.Version == "" || c.LTI.MessagesSupported == nil {
			t.Fatalf("incomplete lti-platform-configuration accepted: %+v", c.LTI)
		}
	})
}
