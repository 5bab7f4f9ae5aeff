package launch_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/ltitest"
)

// The login sends the browser to the auth endpoint as registered: its
// query byte for byte, the auth request parameters appended (OIDC Core
// §3.1.2.1, Security Framework §5.1.1.2).
func TestAuthEndpointUsedAsRegistered(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, tc := range []struct{ name, registered, prefix string }{
		{"WordPress LTI Platform", "https://lms.example/?lti-platform&auth", "https://lms.example/?lti-platform&auth&"},
		{"no query", "https://lms.example/auth", "https://lms.example/auth?"},
		{"ends in ?", "https://lms.example/auth?", "https://lms.example/auth?"},
		{"ends in &", "https://lms.example/auth?a=1&", "https://lms.example/auth?a=1&"},
		{"encoded characters", "https://lms.example/auth?x=%2F%20y&z=a+b&e=", "https://lms.example/auth?x=%2F%20y&z=a+b&e=&"},
		{"repeated keys, unsorted", "https://lms.example/auth?k=2&b&k=1&a", "https://lms.example/auth?k=2&b&k=1&a&"},
		{"encoded path", "https://lms.example/wp%2Djson/lti/auth?x", "https://lms.example/wp%2Djson/lti/auth?x&"},
		{"fragment dropped", "https://lms.example/auth?a#frag", "https://lms.example/auth?a&"},
		{"auth parameters replaced", "https://lms.example/auth?client_id=old&tenant=7&scope=x&pr%6Fmpt=login", "https://lms.example/auth?tenant=7&"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := e.platform.Registration()
			reg.AuthEndpoint = tc.registered
			ctx := context.Background()
			if err := e.store.DeleteRegistration(ctx, reg.Key()); err != nil {
				t.Fatal(err)
			}
			if err := e.store.CreateRegistration(ctx, reg, ltitest.DefaultDeploymentID); err != nil {
				t.Fatal(err)
			}
			b := e.browser()
			b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			params := e.loginParams()
			params.Set("lti_message_hint", "a b&c=d")
			resp, err := b.PostForm(e.srv.URL+"/lti/login", params)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, tc.prefix) {
				t.Fatalf("%d, Location %q: want the prefix %q", resp.StatusCode, loc, tc.prefix)
			}
			q, err := url.ParseQuery(strings.TrimPrefix(loc, tc.prefix))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
				"client_id": e.platform.ClientID(), "redirect_uri": e.srv.URL + "/lti/launch",
				"login_hint": "user-1", "lti_message_hint": "a b&c=d",
			}
			for k, v := range want {
				if got := q[k]; len(got) != 1 || got[0] != v {
					t.Errorf("%s = %q, want exactly %q", k, got, v)
				}
			}
			if len(q["state"]) != 1 || len(q["nonce"]) != 1 || len(q) != len(want)+2 {
				t.Errorf("appended parameters %v", q)
			}
		})
	}
}
