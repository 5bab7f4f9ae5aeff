package session_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/session"
)

// Start stores exactly one record per launch (one write, nothing else),
// with what the launch verified, and sets the cookie with the attributes
// the BaseURL and options ask for.
func TestStart(t *testing.T) {
	type cookieWant struct {
		Name                          string
		Path, Domain                  string
		MaxAge                        int
		HttpOnly, Secure, Partitioned bool
		SameSite                      http.SameSite
	}
	tests := []struct {
		name string
		o    envOpts
		want cookieWant
	}{
		{"HTTPS", envOpts{}, cookieWant{"__Host-ltikit_session", "/", "", 7200, true, true, true, http.SameSiteNoneMode}},
		{"HTTPSNotPartitioned", envOpts{opts: []session.Option{session.WithPartitionedCookie(false)}},
			cookieWant{"__Host-ltikit_session", "/", "", 7200, true, true, false, http.SameSiteNoneMode}},
		{"HTTPSOwnNameAndLifetime", envOpts{opts: []session.Option{session.WithCookieName("app_sess"), session.WithMaxLifetime(time.Hour)}},
			cookieWant{"__Host-app_sess", "/", "", 3600, true, true, true, http.SameSiteNoneMode}},
		{"PlainHTTP", envOpts{plain: true}, cookieWant{"ltikit_session", "/", "", 7200, true, true, true, http.SameSiteNoneMode}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.o)
			l := e.launch(e.browser())
			if l.status != http.StatusOK {
				t.Fatalf("launch: %d %s", l.status, l.code)
			}
			if got := e.store.puts.Load(); got != 1 || e.store.writes() != 1 || e.store.gets.Load() != 0 {
				t.Errorf("store calls: %d puts, %d writes, %d gets; want exactly one PutSession and nothing else",
					got, e.store.writes(), e.store.gets.Load())
			}
			if got := e.mgr.CookieName(); got != tc.want.Name {
				t.Errorf("CookieName() = %q, want %q", got, tc.want.Name)
			}
			c := cookieNamed(l.cookies, tc.want.Name)
			if c == nil {
				t.Fatalf("no %s cookie among %v", tc.want.Name, l.cookies)
			}
			got := cookieWant{c.Name, c.Path, c.Domain, c.MaxAge, c.HttpOnly, c.Secure, c.Partitioned, c.SameSite}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("cookie (-want +got):\n%s", d)
			}
			if c.Value != l.view.Token {
				t.Error("the cookie does not carry the session token")
			}
			for h, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "same-origin"} {
				if got := l.header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}

			// The record: the launch's registration, deployment, user and
			// claims, keyed by the token's hash; the token is stored nowhere.
			rec, err := e.record(l.view.Token)
			if err != nil {
				t.Fatalf("the record of the token: %v", err)
			}
			now := e.clk.Now()
			maxLife := time.Duration(tc.want.MaxAge) * time.Second
			want := session.Record{
				ID:            session.IDOf(l.view.Token),
				Issuer:        e.platform.Issuer(),
				ClientID:      e.platform.ClientID(),
				DeploymentID:  e.platform.DeploymentID(),
				Subject:       "user-42",
				CSRF:          l.view.CSRF,
				CreatedAt:     now,
				IdleExpiresAt: now.Add(min(30*time.Minute, maxLife)),
				ExpiresAt:     now.Add(maxLife),
			}
			claims := rec.Claims
			rec.Claims = nil
			if d := cmp.Diff(want, rec); d != "" {
				t.Errorf("record (-want +got):\n%s", d)
			}
			var m map[string]any
			if err := json.Unmarshal(claims, &m); err != nil || m["sub"] != "user-42" || m["iss"] != e.platform.Issuer() {
				t.Errorf("stored claims are not the launch's payload: %v %v", m, err)
			}
			if rec.ID == l.view.Token || bytes.Contains(claims, []byte(l.view.Token)) || len(l.view.Token) < 43 || len(l.view.CSRF) < 43 {
				t.Error("token stored, or token/CSRF shorter than 256 bits")
			}
		})
	}
}

// Two launches never share a token or a CSRF token.
func TestTokensAreFresh(t *testing.T) {
	e := newEnv(t, envOpts{})
	seen := map[string]bool{}
	for range 5 {
		v := e.mustLaunch(e.browser())
		for _, s := range []string{v.Token, v.CSRF} {
			if seen[s] {
				t.Fatal("a token was minted twice")
			}
			seen[s] = true
		}
	}
}

// Require rebuilds the launch: launch.FromContext on a later page returns
// it with the host's own registration struct, whichever way the token came.
func TestRequireRestoresLaunch(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	v := e.mustLaunch(b)
	want := gradeView{Sub: "user-42", Deployment: e.platform.DeploymentID(), Tenant: "tenant-7", Method: http.MethodGet, SessionToken: v.Token}
	for name, res := range map[string]result{
		"Cookie":   e.get(b, "/grade"),
		"URLToken": e.get(e.bare(), v.Link),
		"Bearer":   e.withBearer(v.Token),
	} {
		if res.status != http.StatusOK {
			t.Errorf("%s: status %d %s", name, res.status, res.code)
			continue
		}
		if d := cmp.Diff(want, res.view); d != "" {
			t.Errorf("%s: the page's launch (-want +got):\n%s", name, d)
		}
		for h, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "same-origin"} {
			if got := res.header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", name, h, got, want)
			}
		}
	}
	if !strings.HasPrefix(v.Link, "/grade?x=1&lti_session=") {
		t.Errorf("Session.URL gave %q", v.Link)
	}
}

// Every way a request may carry its token, and every way it is refused.
func TestTokenSources(t *testing.T) {
	e := newEnv(t, envOpts{})
	v := e.mustLaunch(e.browser())
	other := e.mustLaunch(e.browser()) // a second, live session
	cookie := &http.Cookie{Name: e.mgr.CookieName(), Value: v.Token}
	form := func(vals url.Values) io.Reader { return strings.NewReader(vals.Encode()) }
	multipartBody := func(vals url.Values) (io.Reader, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, vs := range vals {
			for _, v := range vs {
				mw.WriteField(k, v)
			}
		}
		fw, _ := mw.CreateFormFile("upload", "essay.txt")
		fw.Write([]byte("an essay"))
		mw.Close()
		return &buf, mw.FormDataContentType()
	}
	tests := []struct {
		name       string
		method     string
		query      string
		body       func() (io.Reader, string)
		header     map[string]string
		cookie     bool
		wantStatus int
		wantCode   lti.Code
		wantScore  string
		wantBody   string
	}{
		{name: "BearerGET", method: "GET", header: map[string]string{"Authorization": "Bearer " + v.Token}, wantStatus: 200},
		{name: "BearerLowercaseScheme", method: "GET", header: map[string]string{"Authorization": "bearer " + v.Token}, wantStatus: 200},
		{name: "QueryGET", method: "GET", query: "lti_session=" + v.Token, wantStatus: 200},
		{name: "QueryHEAD", method: "HEAD", query: "lti_session=" + v.Token, wantStatus: 200},
		{name: "CookieGET", method: "GET", cookie: true, wantStatus: 200},
		{name: "BasicAuthIgnoredCookieUsed", method: "GET", cookie: true, header: map[string]string{"Authorization": "Basic dXNlcjpwdw=="}, wantStatus: 200},
		{name: "FormFieldPOSTNoCSRFNeeded", method: "POST",
			body: func() (io.Reader, string) {
				return form(url.Values{"lti_session": {v.Token}, "score": {"7"}}), "application/x-www-form-urlencoded"
			},
			wantStatus: 200, wantScore: "7"},
		{name: "MultipartFormFieldPOST", method: "POST",
			body:       func() (io.Reader, string) { return multipartBody(url.Values{"lti_session": {v.Token}, "score": {"8"}}) },
			wantStatus: 200, wantScore: "8"},
		{name: "BearerPOSTNoCSRFNeeded", method: "POST", header: map[string]string{"Authorization": "Bearer " + v.Token},
			body: func() (io.Reader, string) {
				return form(url.Values{"score": {"9"}}), "application/x-www-form-urlencoded"
			},
			wantStatus: 200, wantScore: "9"},
		{name: "CookiePOSTWithCSRFField", method: "POST", cookie: true,
			body: func() (io.Reader, string) {
				return form(url.Values{"csrf_token": {v.CSRF}, "score": {"5"}}), "application/x-www-form-urlencoded"
			},
			wantStatus: 200, wantScore: "5"},
		{name: "CookiePOSTWithCSRFHeaderJSONBodyUntouched", method: "POST", cookie: true, header: map[string]string{"X-CSRF-Token": v.CSRF},
			body:       func() (io.Reader, string) { return strings.NewReader(`{"score":6}`), "application/json" },
			wantStatus: 200, wantBody: `{"score":6}`},
		{name: "CookieDELETEWithCSRFHeader", method: "DELETE", cookie: true, header: map[string]string{"X-CSRF-Token": v.CSRF}, wantStatus: 200},
		{name: "CookieOPTIONSNoCSRFNeeded", method: "OPTIONS", cookie: true, wantStatus: 200},

		{name: "CookiePOSTWithoutCSRF", method: "POST", cookie: true,
			body: func() (io.Reader, string) {
				return form(url.Values{"score": {"1"}}), "application/x-www-form-urlencoded"
			},
			wantStatus: 400, wantCode: lti.CodeInvalidRequest},
		{name: "CookiePOSTWrongCSRF", method: "POST", cookie: true,
			body: func() (io.Reader, string) {
				return form(url.Values{"csrf_token": {other.CSRF}}), "application/x-www-form-urlencoded"
			},
			wantStatus: 400, wantCode: lti.CodeInvalidRequest},
		{name: "CookiePOSTCSRFTruncated", method: "POST", cookie: true, header: map[string]string{"X-CSRF-Token": v.CSRF[:20]},
			wantStatus: 400, wantCode: lti.CodeInvalidRequest},
		{name: "CookiePOSTJSONWithoutCSRF", method: "POST", cookie: true,
			body: func() (io.Reader, string) {
				return strings.NewReader(`{"csrf_token":"` + v.CSRF + `"}`), "application/json"
			},
			wantStatus: 400, wantCode: lti.CodeInvalidRequest},
		{name: "QueryTokenOnPOSTRefused", method: "POST", query: "lti_session=" + v.Token,
			body: func() (io.Reader, string) {
				return form(url.Values{"csrf_token": {v.CSRF}}), "application/x-www-form-urlencoded"
			},
			wantStatus: 400, wantCode: lti.CodeInvalidRequest},
		{name: "QueryTokenOnPOSTRefusedEvenWithCookie", method: "POST", query: "lti_session=" + v.Token, cookie: true,
			header: map[string]string{"X-CSRF-Token": v.CSRF}, wantStatus: 400, wantCode: lti.CodeInvalidRequest},
		{name: "FormFieldOnGETIgnored", method: "GET",
			body: func() (io.Reader, string) {
				return form(url.Values{"lti_session": {v.Token}}), "application/x-www-form-urlencoded"
			},
			wantStatus: 401, wantCode: lti.CodeNoSession},
		{name: "NoToken", method: "GET", wantStatus: 401, wantCode: lti.CodeNoSession},
		{name: "BadBearerNoFallbackToCookie", method: "GET", cookie: true, header: map[string]string{"Authorization": "Bearer nope"},
			wantStatus: 401, wantCode: lti.CodeNoSession},
		{name: "UnknownQueryTokenNoFallbackToCookie", method: "GET", cookie: true, query: "lti_session=" + session.IDOf("x"),
			wantStatus: 401, wantCode: lti.CodeNoSession},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			ctype := ""
			if tc.body != nil {
				body, ctype = tc.body()
			}
			target := e.srv.URL + "/grade"
			if tc.query != "" {
				target += "?" + tc.query
			}
			req, err := http.NewRequest(tc.method, target, body)
			if err != nil {
				t.Fatal(err)
			}
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			if tc.cookie {
				req.AddCookie(cookie)
			}
			before := e.gradePages.Load()
			res := e.do(e.bare(), req)
			if res.status != tc.wantStatus || lti.Code(res.code) != tc.wantCode {
				t.Fatalf("status %d, code %q (%s); want %d %q", res.status, res.code, res.desc, tc.wantStatus, tc.wantCode)
			}
			called := e.gradePages.Load() > before
			if called != (tc.wantStatus == 200) {
				t.Errorf("the page was called: %v, for status %d", called, res.status)
			}
			if tc.method == "HEAD" || tc.wantStatus != 200 {
				return
			}
			if res.view.SessionToken != v.Token || res.view.Sub != "user-42" || res.view.Method != tc.method {
				t.Errorf("page saw %+v", res.view)
			}
			if res.view.Score != tc.wantScore || res.view.Body != tc.wantBody {
				t.Errorf("page read score %q, body %q; want %q, %q", res.view.Score, res.view.Body, tc.wantScore, tc.wantBody)
			}
		})
	}
}

// Tokens that are not the package's, of any shape and in any place, are
// refused as no session (401), never a server error, and none reaches the
// store. The handler is called directly, so bytes a client would refuse to
// send are tried too.
func TestGarbageTokens(t *testing.T) {
	e := newEnv(t, envOpts{})
	random := make([]byte, 200)
	rand.Read(random)
	valid := e.mustLaunch(e.browser()).Token
	garbage := map[string]string{
		"200Chars":          strings.Repeat("A", 200),
		"200RandomBytes":    string(random),
		"Empty":             "",
		"Short":             "abc",
		"43NonBase64":       strings.Repeat("!", 43),
		"Padded":            valid[:42] + "=",
		"NonCanonical":      valid[:42] + "B",
		"StandardAlphabet":  strings.Repeat("+", 43),
		"UnicodeSameLength": strings.Repeat("é", 21) + "A",
		"NUL":               valid[:42] + "\x00",
		"Spaces":            " " + valid + " ",
		"TwoTokens":         valid + "," + valid,
	}
	page := e.mgr.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the page ran for %s %s", r.Method, r.URL)
	}))
	serve := func(req *http.Request) (int, string) {
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		page.ServeHTTP(rec, req)
		return rec.Code, errorCode(rec.Body.Bytes())
	}
	for name, g := range garbage {
		t.Run(name, func(t *testing.T) {
			gets := e.store.gets.Load()
			reqs := map[string]*http.Request{}
			r := httptest.NewRequest(http.MethodGet, "/grade", nil)
			r.Header["Authorization"] = []string{"Bearer " + g}
			reqs["Bearer"] = r
			reqs["Query"] = httptest.NewRequest(http.MethodGet, "/grade?lti_session="+url.QueryEscape(g), nil)
			r = httptest.NewRequest(http.MethodPost, "/grade", strings.NewReader("lti_session="+url.QueryEscape(g)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			reqs["Form"] = r
			r = httptest.NewRequest(http.MethodPost, "/grade", nil)
			r.Header["Cookie"] = []string{e.mgr.CookieName() + "=" + g}
			reqs["Cookie"] = r
			for where, req := range reqs {
				if code, ecode := serve(req); code != http.StatusUnauthorized || ecode != string(lti.CodeNoSession) {
					t.Errorf("%s: status %d, code %q; want 401 no_session", where, code, ecode)
				}
			}
			if got := e.store.gets.Load() - gets; got != 0 {
				t.Errorf("%d store reads for malformed tokens", got)
			}
		})
	}
	// Several Authorization headers are refused, not resolved.
	r := httptest.NewRequest(http.MethodGet, "/grade", nil)
	r.Header["Authorization"] = []string{"Bearer " + valid, "Bearer " + valid}
	if code, _ := serve(r); code != http.StatusUnauthorized {
		t.Errorf("two Authorization headers: %d", code)
	}
	// A well-formed token that names no session.
	if res := e.withBearer(session.IDOf("nothing")); res.status != http.StatusUnauthorized || res.desc != session.ErrNoSession.Description() {
		t.Errorf("unknown token: %d %q", res.status, res.desc)
	}
}

// A form body over the limit is refused before the page runs.
func TestFormBodyLimit(t *testing.T) {
	e := newEnv(t, envOpts{opts: []session.Option{session.WithMaxFormBytes(1 << 10)}})
	v := e.mustLaunch(e.browser())
	for _, size := range []int{100, 2 << 10} {
		vals := url.Values{"lti_session": {v.Token}, "pad": {strings.Repeat("x", size)}}
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/grade", strings.NewReader(vals.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res := e.do(e.bare(), req)
		want := http.StatusOK
		if size > 1<<10 {
			want = http.StatusBadRequest
		}
		if res.status != want {
			t.Errorf("%d-byte form: status %d %s; want %d", size, res.status, res.code, want)
		}
	}
}

// Idle expiry, absolute expiry and when the idle expiry moves.
func TestExpiry(t *testing.T) {
	type step struct {
		advance    time.Duration
		wantStatus int
		wantTouch  bool // whether this request moves the idle expiry
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"IdleTimeout", []step{
			{29 * time.Minute, 200, true},
			{29 * time.Minute, 200, true},
			{30 * time.Minute, 401, false},
		}},
		{"IdleTimeoutJustBefore", []step{
			{30*time.Minute - time.Nanosecond, 200, true},
		}},
		{"TouchOnlyAfterHalfIdle", []step{
			{10 * time.Minute, 200, false},
			{4*time.Minute + 59*time.Second, 200, false}, // 15m01s left
			{2 * time.Second, 200, true},                 // 14m59s left
			{0, 200, false},                              // 30m left again
			{14 * time.Minute, 200, false},
			{2 * time.Minute, 200, true},
		}},
		{"AbsoluteLifetime", []step{
			{25 * time.Minute, 200, true},
			{25 * time.Minute, 200, true},
			{25 * time.Minute, 200, true},
			{25 * time.Minute, 200, true},  // 1h40m: idle capped at 2h
			{10 * time.Minute, 200, false}, // 1h50m: idle is already at the cap
			{10*time.Minute - time.Nanosecond, 200, false},
			{time.Nanosecond, 401, false}, // 2h
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			b := e.browser()
			v := e.mustLaunch(b)
			start := e.clk.Now()
			for i, st := range tc.steps {
				e.clk.Add(st.advance)
				touches := e.store.touches.Load()
				before, _ := e.record(v.Token)
				res := e.get(b, "/grade")
				if res.status != st.wantStatus {
					t.Fatalf("step %d (%s after the launch): status %d %s; want %d", i, e.clk.Now().Sub(start), res.status, res.code, st.wantStatus)
				}
				touched := e.store.touches.Load() > touches
				if touched != st.wantTouch {
					t.Fatalf("step %d: touched %v, want %v", i, touched, st.wantTouch)
				}
				if res.status != 200 {
					continue
				}
				after, err := e.record(v.Token)
				if err != nil {
					t.Fatal(err)
				}
				wantIdle := before.IdleExpiresAt
				if st.wantTouch {
					wantIdle = earlier(e.clk.Now().Add(30*time.Minute), start.Add(2*time.Hour))
				}
				if !after.IdleExpiresAt.Equal(wantIdle) || !after.ExpiresAt.Equal(start.Add(2*time.Hour)) {
					t.Fatalf("step %d: idle %s, absolute %s; want %s, %s", i,
						after.IdleExpiresAt.Sub(start), after.ExpiresAt.Sub(start), wantIdle.Sub(start), 2*time.Hour)
				}
			}
		})
	}
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Revoke and End end a session at once; a revoked token is refused.
func TestRevokeAndEnd(t *testing.T) {
	t.Run("Revoke", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		v := e.mustLaunch(e.browser())
		if res := e.withBearer(v.Token); res.status != 200 {
			t.Fatalf("before Revoke: %d", res.status)
		}
		if err := e.mgr.Revoke(t.Context(), v.Token); err != nil {
			t.Fatal(err)
		}
		if res := e.withBearer(v.Token); res.status != 401 || res.code != string(lti.CodeNoSession) {
			t.Errorf("after Revoke: %d %s", res.status, res.code)
		}
		for _, tok := range []string{v.Token, "garbage", ""} {
			if err := e.mgr.Revoke(t.Context(), tok); err != nil {
				t.Errorf("Revoke of a token without session: %v", err)
			}
		}
		e.store.fail.Store(true)
		other := session.IDOf("z") // well formed: reaches the store
		if err := e.mgr.Revoke(t.Context(), other); !errors.Is(err, lti.ErrStorageUnavailable) || !errors.Is(err, errInjected) {
			t.Errorf("Revoke with a failing store: %v", err)
		}
	})
	t.Run("End", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		b := e.browser()
		v := e.mustLaunch(b)
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/end", strings.NewReader(url.Values{"csrf_token": {v.CSRF}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c := cookieNamed(resp.Cookies(), e.mgr.CookieName())
		if resp.StatusCode != 200 || c == nil || c.MaxAge >= 0 || !c.Partitioned || !c.Secure {
			t.Fatalf("End: status %d, cookie %+v; want 200 and the cookie cleared with its attributes", resp.StatusCode, c)
		}
		if res := e.withBearer(v.Token); res.status != 401 {
			t.Errorf("the ended session still works: %d", res.status)
		}
		if res := e.get(b, "/grade"); res.status != 401 {
			t.Errorf("the browser still has a session: %d", res.status)
		}
		// End outside Require ends what the request presents.
		v2 := e.mustLaunch(b)
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/logout?lti_session="+v2.Token, nil)
		if err := e.mgr.End(rec, r); err != nil {
			t.Fatal(err)
		}
		if res := e.withBearer(v2.Token); res.status != 401 {
			t.Errorf("End without Require left the session: %d", res.status)
		}
	})
}

// A new launch replaces the browser's session: the earlier one is deleted
// before the new one is stored.
func TestNewLaunchReplacesSession(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	first := e.mustLaunch(b)
	if d := e.store.deletes.Load(); d != 0 {
		t.Fatalf("first launch deleted %d sessions", d)
	}
	second := e.mustLaunch(b)
	if d, p := e.store.deletes.Load(), e.store.puts.Load(); d != 1 || p != 2 {
		t.Errorf("second launch: %d deletes, %d puts in all; want 1 and 2", d, p)
	}
	if _, err := e.record(first.Token); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("the first session's record: %v; want ErrNotFound", err)
	}
	if res := e.withBearer(first.Token); res.status != 401 {
		t.Errorf("the first session still works: %d", res.status)
	}
	if res := e.get(b, "/grade"); res.status != 200 || res.view.SessionToken != second.Token {
		t.Errorf("the browser's session after the second launch: %d %s", res.status, res.code)
	}
	// Another browser's launch leaves this one's session alone.
	e.mustLaunch(e.browser())
	if res := e.withBearer(second.Token); res.status != 200 {
		t.Errorf("another browser's launch ended this session: %d", res.status)
	}
}

// A store failure is storage_unavailable (503) and the page is not called:
// at the launch, at the earlier session's deletion, on a later page, and at
// the idle refresh.
func TestStoreFailure(t *testing.T) {
	t.Run("Start", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		e.store.fail.Store(true)
		l := e.launch(e.browser())
		if l.status != http.StatusServiceUnavailable || l.code != string(lti.CodeStorageUnavailable) {
			t.Errorf("launch with a failing store: %d %s", l.status, l.code)
		}
		if n := e.launchPages.Load(); n != 0 {
			t.Errorf("the launch page ran %d times", n)
		}
		if c := cookieNamed(l.cookies, e.mgr.CookieName()); c != nil {
			t.Errorf("a session cookie was set: %+v", c)
		}
	})
	t.Run("StartDeletingEarlier", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		b := e.browser()
		e.mustLaunch(b)
		e.store.fail.Store(true)
		if l := e.launch(b); l.status != http.StatusServiceUnavailable || e.launchPages.Load() != 1 {
			t.Errorf("relaunch with a failing store: %d, %d pages", l.status, e.launchPages.Load())
		}
	})
	for _, tc := range []struct {
		name    string
		advance time.Duration
	}{{"Require", 0}, {"RequireTouch", 20 * time.Minute}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			v := e.mustLaunch(e.browser())
			e.clk.Add(tc.advance)
			if tc.advance > 0 {
				// Fail only the touch: reads work.
				e.store.failTouch.Store(true)
			} else {
				e.store.fail.Store(true)
			}
			res := e.withBearer(v.Token)
			if res.status != http.StatusServiceUnavailable || res.code != string(lti.CodeStorageUnavailable) {
				t.Errorf("status %d %s; want 503 storage_unavailable", res.status, res.code)
			}
			if n := e.gradePages.Load(); n != 0 {
				t.Errorf("the page ran %d times", n)
			}
		})
	}
}

// Start outside LaunchHandler is a wiring fault: a 5xx, next not called.
func TestStartWithoutLaunch(t *testing.T) {
	e := newEnv(t, envOpts{})
	called := false
	h := e.mgr.Start(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/lti/launch", nil)
	req.Header.Set("Accept", "application/json")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || called || errorCode(rec.Body.Bytes()) != string(lti.CodeStorageUnavailable) {
		t.Errorf("status %d, next called %v, body %s", rec.Code, called, rec.Body)
	}
	if e.store.writes() != 0 {
		t.Error("Start without a launch wrote to the store")
	}
}

// Session.URL adds the token to the tool's own URLs only; FormFields
// carries both tokens.
func TestSessionHelpers(t *testing.T) {
	e := newEnv(t, envOpts{})
	v := e.mustLaunch(e.browser())
	e.mu.Lock()
	s := e.sessions[0]
	e.mu.Unlock()
	tok := "lti_session=" + v.Token
	base := e.srv.URL
	tests := []struct{ in, want string }{
		{"/grade", "/grade?" + tok},
		{"grade", "grade?" + tok},
		{"", "?" + tok},
		{"/grade?x=1&y=a%20b#frag", "/grade?x=1&y=a%20b&" + tok + "#frag"},
		{"/grade?lti_session=old&y=2&lti%5Fsession=old2", "/grade?y=2&" + tok},
		{"/grade?", "/grade?" + tok},
		{base + "/roster", base + "/roster?" + tok},
		{strings.ToUpper(base[:5]) + base[5:] + "/roster", strings.ToUpper(base[:5]) + base[5:] + "/roster?" + tok},
		// Never to another origin, nor to what a browser may read as one.
		{"https://evil.example/x", "https://evil.example/x"},
		{"//evil.example/x", "//evil.example/x"},
		{"/\\evil.example/x", "/\\evil.example/x"},
		{"\\\\evil.example/x", "\\\\evil.example/x"},
		{" //evil.example/x", " //evil.example/x"},
		{"/x\t", "/x\t"},
		{"http" + strings.TrimPrefix(base, "https") + "/x", "http" + strings.TrimPrefix(base, "https") + "/x"},
		{"https://user@" + strings.TrimPrefix(base, "https://") + "/x", "https://user@" + strings.TrimPrefix(base, "https://") + "/x"},
		{"javascript:alert(1)", "javascript:alert(1)"},
		{"mailto:a@b.example", "mailto:a@b.example"},
		{"/%zz", "/%zz"},
	}
	for _, tc := range tests {
		if got := s.URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	ff := string(s.FormFields())
	for _, want := range []string{`name="lti_session" value="` + v.Token + `"`, `name="csrf_token" value="` + v.CSRF + `"`} {
		if !strings.Contains(ff, want) {
			t.Errorf("FormFields() = %s; want it to contain %s", ff, want)
		}
	}
	if s.CSRFToken() != v.CSRF || s.Token() != v.Token || !s.ExpiresAt().Equal(e.clk.Now().Add(2*time.Hour)) || s.Launch().Subject() != "user-42" {
		t.Errorf("Session accessors disagree with the launch page")
	}
	if _, ok := session.FromContext(context.Background()); ok {
		t.Error("FromContext found a session in an empty context")
	}
}

// New refuses configurations that cannot work.
func TestNewErrors(t *testing.T) {
	e := newEnv(t, envOpts{})
	good := session.Config{Store: e.store, Tool: e.tool, BaseURL: "https://tool.example"}
	tests := []struct {
		name string
		cfg  func(session.Config) session.Config
		opts []session.Option
	}{
		{"NilStore", func(c session.Config) session.Config { c.Store = nil; return c }, nil},
		{"NilTool", func(c session.Config) session.Config { c.Tool = nil; return c }, nil},
		{"RelativeBaseURL", func(c session.Config) session.Config { c.BaseURL = "/tool"; return c }, nil},
		{"FTPBaseURL", func(c session.Config) session.Config { c.BaseURL = "ftp://tool.example"; return c }, nil},
		{"ZeroIdle", nil, []session.Option{session.WithIdleTimeout(0)}},
		{"SubSecondLifetime", nil, []session.Option{session.WithMaxLifetime(time.Millisecond)}},
		{"ZeroFormLimit", nil, []session.Option{session.WithMaxFormBytes(0)}},
		{"BadCookieName", nil, []session.Option{session.WithCookieName("a b;")}},
		{"EmptyCookieName", func(c session.Config) session.Config { c.BaseURL = "http://tool.example"; return c }, []session.Option{session.WithCookieName("")}},
		{"HostPrefixOverHTTP", func(c session.Config) session.Config { c.BaseURL = "http://tool.example"; return c }, []session.Option{session.WithCookieName("__Host-x")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			if tc.cfg != nil {
				cfg = tc.cfg(cfg)
			}
			if m, err := session.New(cfg, tc.opts...); err == nil {
				t.Errorf("New succeeded: %+v", m)
			}
		})
	}
	m, err := session.New(good, session.WithCookieName("__Host-own"), session.WithIdleTimeout(5*time.Hour))
	if err != nil || m.CookieName() != "__Host-own" {
		t.Errorf("New with a prefixed name and an idle timeout above the lifetime: %v", err)
	}
}

// Nothing secret reaches the log: not the token, not the CSRF token, not a
// claim.
func TestLogsNoSecrets(t *testing.T) {
	var logBuf syncBuffer
	e := newEnvWithLog(t, &logBuf)
	v := e.mustLaunch(e.browser())
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/grade", strings.NewReader(url.Values{"csrf_token": {v.CSRF + "x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: e.mgr.CookieName(), Value: v.Token})
	e.do(e.bare(), req)
	e.get(e.bare(), "/grade?lti_session="+v.Token[:40]+"AAA")
	e.store.fail.Store(true)
	e.withBearer(v.Token)
	out := logBuf.String()
	if !strings.Contains(out, "csrf") || !strings.Contains(out, "storage_unavailable") {
		t.Fatalf("the refusals were not logged: %s", out)
	}
	for _, secret := range []string{v.Token, v.Token[:40], v.CSRF, "user-42", "Ada"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows a secret or claim %q:\n%s", secret, out)
		}
	}
}

func newEnvWithLog(t *testing.T, w *syncBuffer) *env {
	t.Helper()
	return newEnv(t, envOpts{opts: []session.Option{session.WithLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))}})
}

// syncBuffer is a log sink the server's goroutines and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
