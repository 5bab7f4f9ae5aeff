package session

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

const fuzzCookie = "__Host-ltikit_session"

// A token this package could have minted, for the seeds.
const seedToken = "q1w2e3r4t5y6u7i8o9p0AsDfGhJkLzXcVbNm-_qwert"

// FuzzTokenFromRequest holds the token parser to its rules for any request:
// it never panics; every token it returns is well formed and is one the
// request carries where the rules allow it (Bearer header; lti_session in
// the query only on GET and HEAD, in a form body otherwise; the cookie);
// a query token on another method is refused; and the first source present
// decides.
func FuzzTokenFromRequest(f *testing.F) {
	f.Add("GET", "Bearer "+seedToken, "", "", "", "")
	f.Add("GET", "", "lti_session="+seedToken, "", "", "")
	f.Add("POST", "", "lti_session="+seedToken, "application/x-www-form-urlencoded", "csrf_token=x", "")
	f.Add("POST", "", "", "application/x-www-form-urlencoded", "lti_session="+seedToken+"&score=1", "")
	f.Add("POST", "", "", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"lti_session\"\r\n\r\n"+seedToken+"\r\n--b--\r\n", "")
	f.Add("GET", "", "", "", "", fuzzCookie+"="+seedToken)
	f.Add("POST", "Basic dXNlcjpwdw==", "", "application/json", `{"lti_session":"x"}`, fuzzCookie+"="+seedToken+"; "+fuzzCookie+"=other")
	f.Add("GET", "bearer "+strings.Repeat("A", 200), "lti_session=%zz&lti_session=", "", "", fuzzCookie+"=\"x\"")
	f.Add("HEAD", "Bearer", "lti_session="+seedToken+"&lti_session="+seedToken, "", "", "")
	f.Add("PUT", "Bearer  "+seedToken, "", "application/x-www-form-urlencoded; charset=utf-8", "lti_session=%"+seedToken, "")
	f.Fuzz(func(t *testing.T, method, auth, rawQuery, ctype, body, cookie string) {
		r := &http.Request{
			Method: method,
			URL:    &url.URL{Path: "/grade", RawQuery: rawQuery},
			Header: http.Header{},
			Body:   io.NopCloser(strings.NewReader(body)),
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		toks, src, lerr := tokensFrom(httptest.NewRecorder(), r, fuzzCookie, 1<<10)

		_, hasQuery := r.URL.Query()[ParamName]
		authTok, isBearer := bearer(r.Header)
		switch {
		case isBearer:
			if src != fromBearer {
				t.Fatalf("a Bearer header did not decide: source %v", src)
			}
		case hasQuery && !queryMethod(method):
			if lerr != errTokenInQuery {
				t.Fatalf("a query token on %q was not refused: %v %v", method, toks, lerr)
			}
		case hasQuery:
			if src != fromParam {
				t.Fatalf("a query token on %q did not decide: source %v", method, src)
			}
		}
		if lerr != nil {
			if len(toks) != 0 {
				t.Fatalf("tokens %q with an error %v", toks, lerr)
			}
			if st := lerr.Status(); st != http.StatusUnauthorized && st != http.StatusBadRequest {
				t.Fatalf("status %d for a request's token", st)
			}
			return
		}
		if (len(toks) == 0) != (src == fromNone) || len(toks) > maxCookieTries {
			t.Fatalf("%d tokens from source %v", len(toks), src)
		}
		for _, tok := range toks {
			if !wellFormed(tok) {
				t.Fatalf("malformed token %q returned", tok)
			}
			var carried bool
			switch src {
			case fromBearer:
				carried = tok == authTok
			case fromParam:
				if queryMethod(method) {
					carried = slices.Contains(r.URL.Query()[ParamName], tok)
				} else {
					carried = slices.Contains(r.PostForm[ParamName], tok)
				}
			case fromCookie:
				for _, c := range r.CookiesNamed(fuzzCookie) {
					carried = carried || c.Value == tok
				}
			}
			if !carried {
				t.Fatalf("token %q is not carried by the request where source %v says", tok, src)
			}
		}
	})
}

// FuzzSessionURL: Session.URL either returns its input unchanged or adds
// the token to a URL that a browser resolves to the tool itself, with the
// token exactly once in the query.
func FuzzSessionURL(f *testing.F) {
	for _, seed := range []string{"/grade", "/grade?x=1#f", "//evil.example/x", "/\\evil.example", " /x", "https://tool.example/a",
		"https://TOOL.example/a?lti_session=1", "HTTPS://evil.example", "javascript:x", "?a=b&&lti%5Fsession=c", "/%zz", "/a#b?c"} {
		f.Add(seed)
	}
	s := &Session{token: seedToken, origin: &url.URL{Scheme: "https", Host: "tool.example"}}
	base, _ := url.Parse("https://tool.example/dir/page")
	f.Fuzz(func(t *testing.T, raw string) {
		out := s.URL(raw)
		if out == raw {
			return
		}
		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("URL(%q) = %q, which does not parse: %v", raw, out, err)
		}
		abs := base.ResolveReference(u)
		if !strings.EqualFold(abs.Host, "tool.example") || !strings.EqualFold(abs.Scheme, "https") {
			t.Fatalf("URL(%q) = %q sends the token to %s://%s", raw, out, abs.Scheme, abs.Host)
		}
		if strings.ContainsAny(out, "\\\t\r\n") || out != strings.TrimSpace(out) {
			t.Fatalf("URL(%q) = %q, which a browser may read differently", raw, out)
		}
		if got := u.Query()[ParamName]; len(got) != 1 || got[0] != seedToken {
			t.Fatalf("URL(%q) = %q: lti_session = %q", raw, out, got)
		}
	})
}
