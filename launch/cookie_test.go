package launch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
)

// A browser keeps at most DefaultMaxStateCookies of the tool's state
// cookies: a page that sends it through the login again and again expires
// the oldest, and the newest logins still launch.
func TestStateCookieBound(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	u, _ := url.Parse(e.srv.URL)
	var ars []*ltitest.AuthResponse
	for i := range 3 * launch.DefaultMaxStateCookies {
		ar, err := e.platform.Authorize(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		ars = append(ars, ar)
		n := 0
		for _, c := range b.Jar.Cookies(u) {
			if strings.HasPrefix(c.Name, "__Host-"+launch.DefaultCookiePrefix) {
				n++
			}
		}
		if want := min(i+1, launch.DefaultMaxStateCookies); n != want {
			t.Fatalf("after %d logins the browser holds %d state cookies, want %d", i+1, n, want)
		}
	}
	// The newest logins launch; the oldest lost their cookie.
	if o := e.post(b, ars[len(ars)-1]); o.code != ok {
		t.Fatalf("newest login: %+v", o)
	}
	if o := e.post(b, ars[len(ars)-launch.DefaultMaxStateCookies]); o.code != ok {
		t.Fatalf("oldest login still within the bound: %+v", o)
	}
	if o := e.post(b, ars[0]); o.code != cState {
		t.Fatalf("first login, whose cookie was expired: %+v", o)
	}
}

// The state cookie's attributes follow the options and the base URL's
// scheme: __Host- only over https, Partitioned unless turned off.
func TestStateCookieAttributes(t *testing.T) {
	cases := []struct {
		name            string
		base            string
		opts            []launch.Option
		wantPrefix      string
		wantPartitioned bool
	}{
		{"https default", "https://tool.example", nil, "__Host-ltikit_state_", true},
		{"http: no __Host- prefix", "http://localhost:8080", nil, "ltikit_state_", true},
		{"https without the prefix", "https://tool.example", []launch.Option{launch.WithHostPrefix(false)}, "ltikit_state_", true},
		{"https, not partitioned", "https://tool.example", []launch.Option{launch.WithPartitionedCookie(false)}, "__Host-ltikit_state_", false},
		{"custom prefix", "https://tool.example", []launch.Option{launch.WithCookiePrefix("st_")}, "__Host-st_", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ltitest.NewPlatform(ltitest.Config{ToolLoginURL: c.base + "/lti/login", ToolRedirectURIs: []string{c.base + "/lti/launch"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			store := memory.New()
			if err := store.AddRegistration(p.Registration()); err != nil {
				t.Fatal(err)
			}
			tool, err := launch.New(launch.Config{Storage: store, BaseURL: c.base}, c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			q := url.Values{"iss": {p.Issuer()}, "login_hint": {"u"}, "target_link_uri": {c.base + "/lti/launch"}}
			rec := httptest.NewRecorder()
			tool.LoginHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.base+"/lti/login?"+q.Encode(), nil))
			cookies := rec.Result().Cookies()
			if rec.Code != http.StatusFound || len(cookies) != 1 {
				t.Fatalf("status %d, %d cookies", rec.Code, len(cookies))
			}
			ck := cookies[0]
			rest, ok := strings.CutPrefix(ck.Name, c.wantPrefix)
			if !ok || strings.HasPrefix(rest, "__Host-") || len(rest) != 16 {
				t.Errorf("name %q, want %s + 16 hex digits", ck.Name, c.wantPrefix)
			}
			if ck.Partitioned != c.wantPartitioned || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteNoneMode || ck.Path != "/" || ck.Domain != "" {
				t.Errorf("cookie %+v", ck)
			}
		})
	}
}
