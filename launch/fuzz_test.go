package launch_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
)

// FuzzLoginRequest feeds arbitrary query strings and bodies to the login
// initiation handler: it must never panic, and must answer either a
// redirect to the registered auth endpoint or a 4xx with a stable code.
func FuzzLoginRequest(f *testing.F) {
	e := newEnv(f, envOpts{})
	good := e.loginParams().Encode()
	f.Add("GET", good, "")
	f.Add("POST", "", good)
	f.Add("POST", good, "iss=%zz")
	f.Add("GET", "iss=&login_hint=&target_link_uri=", "")
	f.Add("GET", strings.Replace(good, "app", "%2e%2e/app", 1), "")
	f.Add("POST", "", "iss="+e.platform.Issuer()+"&login_hint=1&target_link_uri=javascript:alert(1)")
	f.Add("POST", "", "iss=a&iss=b&login_hint=1&target_link_uri=x")
	f.Add("GET", "target_link_uri=https://tool.example@evil.example/", "")
	f.Add("PUT", good, good)
	h := e.tool.LoginHandler()
	f.Fuzz(func(t *testing.T, method, query, body string) {
		if method != "GET" && method != "POST" {
			method = "PUT"
		}
		req := httptest.NewRequest(method, "/lti/login", strings.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusFound:
			if !strings.HasPrefix(rec.Header().Get("Location"), e.platform.AuthEndpoint()+"?") {
				t.Fatalf("redirect to %q", rec.Header().Get("Location"))
			}
		case http.StatusBadRequest, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// FuzzLaunchForm feeds arbitrary launch form posts with a matching state
// cookie: none may be accepted, and every refusal is an *lti.Error.
func FuzzLaunchForm(f *testing.F) {
	e := newEnv(f, envOpts{})
	_, ar := e.authorize()
	f.Add(ar.Form.Encode(), ar.State)
	f.Add("id_token=a.b.c&state=s", "s")
	f.Add("id_token=..&state=s", "s")
	f.Add("id_token=eyJhbGciOiJub25lIn0.e30.&state=s", "s")
	f.Add("id_token=eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.bnVsbA.AAAA&state=s", "s")
	f.Add("error=login_required&error_description=%3Cscript%3E&state=s", "s")
	f.Add("state=s&state=t&id_token=x", "s")
	f.Add("%zz", "")
	f.Fuzz(func(t *testing.T, body, cookieState string) {
		req := httptest.NewRequest(http.MethodPost, "/lti/launch", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookieState != "" {
			req.AddCookie(&http.Cookie{Name: cookieName(cookieState), Value: cookieState})
		}
		lc, err := e.tool.ValidateLaunch(context.Background(), req)
		if err == nil {
			// Only the one genuine form, once, may succeed.
			if lc == nil || body != ar.Form.Encode() {
				t.Fatalf("accepted a forged launch: %q", body)
			}
			return
		}
		var le *lti.Error
		if !errors.As(err, &le) {
			t.Fatalf("error %v is not an *lti.Error", err)
		}
		if le.Status() >= 500 && le.Code != lti.CodeStorageUnavailable && le.Code != lti.CodeKeysetUnavailable {
			t.Fatalf("5xx for bad input: %v", err)
		}
		_ = launch.DefaultCookiePrefix
	})
}
