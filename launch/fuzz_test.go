package launch_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	f.Add("POST", "", good+"&lti_storage_target=_parent")
	f.Add("GET", good+"&lti_storage_target=%3C%2Fscript%3E%22", "")
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
		case http.StatusOK:
			// The platform storage page: it goes on to the auth endpoint
			// only, and its one script is the tool's own.
			page := rec.Body.String()
			if !strings.Contains(page, `"next":"`+e.platform.AuthEndpoint()+"?") || strings.Count(page, "<script") != 1 ||
				strings.Count(page, "</script") != 1 {
				t.Fatalf("storage page:\n%s", page)
			}
		case http.StatusBadRequest, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// FuzzLaunchForm feeds arbitrary launch form posts with a state cookie
// named for cookieState and holding cookieValue, and an Origin header: only
// the genuine launch may be accepted, and every refusal is an *lti.Error
// (or the platform storage page's *launch.StorageLaunch, which consumes
// nothing and unwraps to one).
func FuzzLaunchForm(f *testing.F) {
	e := newEnv(f, envOpts{})
	b, ar := e.authorize()
	var genuineCookie string
	for _, c := range b.Jar.Cookies(mustParse(f, e.srv.URL)) {
		if strings.HasPrefix(c.Name, "__Host-"+launch.DefaultCookiePrefix) {
			genuineCookie = c.Value
		}
	}
	f.Add(ar.Form.Encode(), ar.State, genuineCookie, "")
	f.Add(ar.Form.Encode(), ar.State, ar.State, "")
	f.Add("id_token=a.b.c&state=s", "s", "0.s", "")
	f.Add("id_token=..&state=s", "s", "", "")
	f.Add("id_token=eyJhbGciOiJub25lIn0.e30.&state=s", "s", "", "")
	f.Add("id_token=eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.bnVsbA.AAAA&state=s", "s", "", "")
	f.Add("error=login_required&error_description=%3Cscript%3E&state=s", "s", "", "")
	f.Add("state=s&state=t&id_token=x", "s", "", "")
	f.Add("%zz", "", "", "")
	// Platform storage: a state that carries a target, a posted secret, a
	// reported failure.
	f.Add("id_token=a.b.c&state=abc.X3BhcmVudA", "", "", "")
	f.Add(ar.Form.Encode()+"&ltikit_storage_secret="+strings.Repeat("A", 43), "", "", e.srv.URL)
	f.Add(ar.Form.Encode()+"&ltikit_storage_secret=x&ltikit_storage_secret=y", "", "", e.srv.URL)
	f.Add(ar.Form.Encode()+"&ltikit_storage_error=%3Cb%3E", "", "", "null")
	f.Fuzz(func(t *testing.T, body, cookieState, cookieValue, origin string) {
		req := httptest.NewRequest(http.MethodPost, "/lti/launch", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookieState != "" {
			req.AddCookie(&http.Cookie{Name: cookieName(cookieState), Value: cookieValue})
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		l, err := e.tool.ValidateLaunch(context.Background(), req)
		if err == nil {
			// Only the one genuine form, once, may succeed.
			if l == nil || body != ar.Form.Encode() {
				t.Fatalf("accepted a forged launch: %q", body)
			}
			return
		}
		var le *lti.Error
		if !errors.As(err, &le) {
			t.Fatalf("error %v is not an *lti.Error", err)
		}
		if le.Status() >= 500 && le.Code() != lti.CodeStorageUnavailable && le.Code() != lti.CodeKeysetUnavailable {
			t.Fatalf("5xx for bad input: %v", err)
		}
	})
}

func mustParse(t testing.TB, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
