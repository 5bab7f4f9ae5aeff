package token_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/token"
	"github.com/ltikit/ltikit/toolkey"
)

const (
	scopeLineItem = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
	scopeScore    = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
)

// env is one origin serving the platform (under /lms), a service endpoint
// that checks bearer tokens (/svc/), and the tool's JWKS (/tool/jwks).
type env struct {
	srv     *httptest.Server
	p       *ltitest.Platform
	keyring *toolkey.Keyring
	client  *token.Client
	reg     registration.Registration
	svcHits atomic.Int64
	svcAuth sync.Map // hit number → Authorization header
	// svcStatus, when set, is answered instead of checking the token.
	svcStatus atomic.Int32
	// jwksGate, when set, holds every request for the tool's JWKS (which
	// the platform's token endpoint makes to check a client assertion)
	// until it is closed, after a send on its entered channel.
	jwksGate atomic.Pointer[gate]
}

// gate holds requests: entered gets a value when one arrives, release is
// closed to let them all through.
type gate struct {
	entered chan struct{}
	release chan struct{}
}

// sharedKeyring is generated once: RSA key generation dominates otherwise.
var sharedKeyring = sync.OnceValue(func() *toolkey.Keyring {
	s, err := toolkey.NewMemoryStore(toolkey.StoreOptions{})
	if err != nil {
		panic(err)
	}
	k, err := toolkey.NewKeyring(s)
	if err != nil {
		panic(err)
	}
	return k
})

func newEnv(t testing.TB, opts ...token.Option) *env {
	t.Helper()
	e := &env{keyring: sharedKeyring()}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	p, err := ltitest.NewHandler(e.srv.URL+"/lms", ltitest.Config{ToolJWKSURL: e.srv.URL + "/tool/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	mux.Handle("/lms/", p)
	mux.HandleFunc("/tool/jwks", func(w http.ResponseWriter, r *http.Request) {
		if g := e.jwksGate.Load(); g != nil {
			select {
			case g.entered <- struct{}{}:
			default:
			}
			<-g.release
		}
		e.keyring.ServeHTTP(w, r)
	})
	mux.HandleFunc("/svc/", e.serveService)
	e.reg = p.Registration()
	e.client, err = token.New(token.Config{Signer: e.keyring}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// serveService is a service endpoint: 401 without a valid token for
// lineitem scope, else it echoes the body. /svc/page links to ?next=URL.
func (e *env) serveService(w http.ResponseWriter, r *http.Request) {
	n := e.svcHits.Add(1)
	e.svcAuth.Store(n, r.Header.Get("Authorization"))
	if s := e.svcStatus.Load(); s != 0 {
		w.WriteHeader(int(s))
		return
	}
	if !e.p.ValidateBearer(r, scopeLineItem) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if next := r.URL.Query().Get("next"); next != "" {
		w.Header().Set("Link", "<"+next+`>; rel="next"`)
	}
	if r.URL.Query().Get("redirect") != "" {
		http.Redirect(w, r, r.URL.Query().Get("redirect"), http.StatusFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	_, _ = w.Write(body)
}

// clock is a settable clock shared by the client and the platform.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestAssertionClaims is docs/security.md, case 45: iss = sub = client_id, aud =
// the token URL (or the declared TokenAudience), a unique jti, a short
// exp, RS256 with the tool's kid.
func TestAssertionClaims(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	active, err := e.keyring.ActiveKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		reg     func(r registration.Registration) registration.Registration
		wantAud string
	}{
		{"token endpoint", func(r registration.Registration) registration.Registration { return r }, e.p.TokenEndpoint()},
		{"declared audience", func(r registration.Registration) registration.Registration {
			r.TokenAudience = "https://lms.example/aud"
			return r
		}, "https://lms.example/aud"},
	}
	jtis := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := tc.reg(e.reg)
			for range 3 {
				before := time.Now().Unix()
				a, err := e.client.Assertion(ctx, reg)
				if err != nil {
					t.Fatal(err)
				}
				h, c, err := ltitest.DecodeUnverified(a)
				if err != nil {
					t.Fatal(err)
				}
				if h["alg"] != "RS256" || h["kid"] != active.KID() || h["typ"] != "JWT" {
					t.Fatalf("header %v", h)
				}
				if c["iss"] != reg.ClientID || c["sub"] != reg.ClientID || c["aud"] != tc.wantAud {
					t.Fatalf("iss %v sub %v aud %v", c["iss"], c["sub"], c["aud"])
				}
				jti, _ := c["jti"].(string)
				if len(jti) < 22 || jtis[jti] {
					t.Fatalf("jti %q: short or reused", jti)
				}
				jtis[jti] = true
				iat, _ := c["iat"].(json.Number).Int64()
				exp, _ := c["exp"].(json.Number).Int64()
				if iat < before || iat > time.Now().Unix() || exp-iat != 300 {
					t.Fatalf("iat %d exp %d (now %d)", iat, exp, before)
				}
			}
		})
	}

	// The platform accepts the assertion Token sends, and saw those claims.
	if _, err := e.client.Token(ctx, e.reg, []string{scopeLineItem}); err != nil {
		t.Fatal(err)
	}
	log := e.p.TokenLog()
	if len(log) != 1 || log[0].Status != http.StatusOK || log[0].GrantType != "client_credentials" ||
		log[0].AssertionType != token.ClientAssertionType || log[0].Claims["aud"] != e.p.TokenEndpoint() {
		t.Fatalf("token log %+v", log)
	}
	if _, err := token.New(token.Config{Signer: e.keyring}, token.WithAssertionLifetime(10*time.Minute)); err == nil {
		t.Fatal("an assertion lifetime over 5 minutes was accepted")
	}
}

// TestCacheHonoursExpiresIn (docs/security.md, case 46): a token is reused until
// its expiry less the margin (30 s or a tenth of the lifetime), then
// fetched again. The client and the platform share a fake clock.
func TestCacheHonoursExpiresIn(t *testing.T) {
	tests := []struct {
		name     string
		lifetime time.Duration
		// at each offset from the first fetch: whether a new request is made
		steps []struct {
			at    time.Duration
			fetch bool
		}
	}{
		{"one hour, 30 s margin", time.Hour, []struct {
			at    time.Duration
			fetch bool
		}{{0, true}, {time.Hour - 31*time.Second, false}, {time.Hour - 30*time.Second, true}, {time.Hour, false}}},
		{"one minute, 6 s margin", time.Minute, []struct {
			at    time.Duration
			fetch bool
		}{{0, true}, {53 * time.Second, false}, {54 * time.Second, true}}},
		{"expires_in 0 is never cached", 0, []struct {
			at    time.Duration
			fetch bool
		}{{0, true}, {0, true}, {time.Second, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, token.WithClock(clk.Now))
			e.p.SetTokenClock(clk.Now)
			e.p.SetTokenLifetime(tc.lifetime)
			start := clk.Now()
			var want int64
			for _, st := range tc.steps {
				clk.Add(start.Add(st.at).Sub(clk.Now()))
				if _, err := e.client.Token(context.Background(), e.reg, []string{scopeLineItem}); err != nil {
					t.Fatal(err)
				}
				if st.fetch {
					want++
				}
				if got := e.p.TokenRequests(); got != want {
					t.Fatalf("at +%s: %d token requests; want %d", st.at, got, want)
				}
			}
		})
	}
}

// TestCacheKey: one token per issuer, client_id and scope set; order and
// duplicates of scopes do not matter.
func TestCacheKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	get := func(reg registration.Registration, scopes ...string) string {
		t.Helper()
		tok, err := e.client.Token(ctx, reg, scopes)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	a := get(e.reg, scopeLineItem, scopeScore)
	if b := get(e.reg, scopeScore, scopeLineItem, scopeScore, " "); b != a {
		t.Fatal("reordered scopes fetched a new token")
	}
	if c := get(e.reg, scopeLineItem); c == a {
		t.Fatal("a different scope set shared a token")
	}
	other := e.reg
	other.ClientID = "other-client"
	if _, err := e.client.Token(ctx, other, []string{scopeLineItem}); err == nil {
		t.Fatal("the platform issued a token to another client_id")
	}
	if got := e.p.TokenRequests(); got != 3 {
		t.Fatalf("%d token requests; want 3", got)
	}
	log := e.p.TokenLog()
	if got := strings.Join(log[0].Scopes, " "); got != scopeLineItem+" "+scopeScore {
		t.Fatalf("scope parameter %q; want the sorted set", got)
	}
}

// TestConcurrentTokenOneRequest: 50 concurrent callers share one fetch.
func TestConcurrentTokenOneRequest(t *testing.T) {
	e := newEnv(t)
	const n = 50
	var (
		wg    sync.WaitGroup
		toks  [n]string
		errs  [n]error
		start = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			toks[i], errs[i] = e.client.Token(context.Background(), e.reg, []string{scopeLineItem, scopeScore})
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || toks[i] != toks[0] {
			t.Fatalf("caller %d: %q, %v", i, toks[i], errs[i])
		}
	}
	if got := e.p.TokenRequests(); got != 1 {
		t.Fatalf("%d token requests for %d concurrent callers; want 1", got, n)
	}
}

// TestCancelledCallerDoesNotFailOthers: a caller whose context is done
// gets its context's error and starts no fetch; a caller that goes away
// while the shared fetch runs gets its context's error, and the fetch goes
// on for the callers still waiting.
func TestCancelledCallerDoesNotFailOthers(t *testing.T) {
	scopes := []string{scopeLineItem}
	t.Run("cancelled before the call", func(t *testing.T) {
		e := newEnv(t)
		g := &gate{entered: make(chan struct{}, 1), release: make(chan struct{})}
		e.jwksGate.Store(g)
		release := sync.OnceFunc(func() { close(g.release) })
		t.Cleanup(release)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for range 20 { // a fetch finishing first must not win a race with ctx
			if tok, err := e.client.Token(ctx, e.reg, scopes); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled caller: %q, %v", tok, err)
			}
		}
		// A fetch started for them would reach the token endpoint, and its
		// key set request the gate, in far less than this.
		select {
		case <-g.entered:
			t.Fatal("a cancelled caller started a token request")
		case <-time.After(500 * time.Millisecond):
		}
		e.jwksGate.Store(nil)
		release()
		if _, err := e.client.Token(context.Background(), e.reg, scopes); err != nil {
			t.Fatal(err)
		}
		if got := e.p.TokenRequests(); got != 1 {
			t.Fatalf("%d token requests, want the live caller's one", got)
		}
	})
	t.Run("cancelled during the fetch", func(t *testing.T) {
		e := newEnv(t)
		g := &gate{entered: make(chan struct{}, 1), release: make(chan struct{})}
		e.jwksGate.Store(g)
		release := sync.OnceFunc(func() { close(g.release) })
		t.Cleanup(release) // registered after newEnv's: runs before the server closes
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			_, err := e.client.Token(ctx, e.reg, scopes)
			first <- err
		}()
		<-g.entered // the fetch the first caller started is at the token endpoint
		second := make(chan error, 1)
		go func() {
			_, err := e.client.Token(context.Background(), e.reg, scopes)
			second <- err
		}()
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller: %v", err)
		}
		release()
		if err := <-second; err != nil {
			t.Fatalf("the caller still waiting: %v", err)
		}
		if got := e.p.TokenRequests(); got != 1 {
			t.Fatalf("%d token requests, want the one shared fetch", got)
		}
	})
}

// TestInvalidateOnlyThatToken: a stale 401 does not evict a fresh token.
func TestInvalidateOnlyThatToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	scopes := []string{scopeLineItem}
	t1, _ := e.client.Token(ctx, e.reg, scopes)
	e.client.Invalidate(e.reg, scopes, "some-older-token")
	if t2, _ := e.client.Token(ctx, e.reg, scopes); t2 != t1 {
		t.Fatal("invalidating another token evicted the cached one")
	}
	e.client.Invalidate(e.reg, []string{scopeLineItem, scopeLineItem}, t1)
	t3, _ := e.client.Token(ctx, e.reg, scopes)
	if t3 == t1 || e.p.TokenRequests() != 2 {
		t.Fatalf("after Invalidate: same token or %d requests", e.p.TokenRequests())
	}
}

// TestDo401RefreshesOnce (docs/security.md, case 46): a 401 invalidates the token,
// fetches one new token and retries once, with the same body.
func TestDo401RefreshesOnce(t *testing.T) {
	tests := []struct {
		name          string
		revoke        bool  // revoke tokens after the first fetch: one 401, then OK
		always        int32 // the service always answers this
		body          bool
		wantStatus    int
		wantSvcHits   int64
		wantTokenReqs int64
	}{
		{"valid token", false, 0, true, http.StatusOK, 1, 1},
		{"revoked token: one refresh", true, 0, true, http.StatusOK, 2, 2},
		{"revoked token, no body", true, 0, false, http.StatusOK, 2, 2},
		{"always 401: exactly one retry", false, http.StatusUnauthorized, true, http.StatusUnauthorized, 2, 2},
		{"403 is not retried", false, http.StatusForbidden, true, http.StatusForbidden, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			scopes := []string{scopeLineItem}
			if _, err := e.client.Token(ctx, e.reg, scopes); err != nil {
				t.Fatal(err)
			}
			if tc.revoke {
				e.p.RevokeTokens()
			}
			e.svcStatus.Store(tc.always)
			var body io.Reader
			if tc.body {
				body = strings.NewReader(`{"scoreGiven":7}`)
			}
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/svc/scores", body)
			resp, err := e.client.Do(ctx, e.reg, scopes, req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d; want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus == http.StatusOK && tc.body && string(got) != `{"scoreGiven":7}` {
				t.Fatalf("retried body %q", got)
			}
			if e.svcHits.Load() != tc.wantSvcHits || e.p.TokenRequests() != tc.wantTokenReqs {
				t.Fatalf("%d service hits, %d token requests; want %d, %d", e.svcHits.Load(), e.p.TokenRequests(), tc.wantSvcHits, tc.wantTokenReqs)
			}
			if req.Header.Get("Authorization") != "" {
				t.Fatal("Do modified the caller's request")
			}
		})
	}
}

// TestDoUnreplayableBody: a body Do cannot send again is not retried.
func TestDoUnreplayableBody(t *testing.T) {
	e := newEnv(t)
	e.svcStatus.Store(http.StatusUnauthorized)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/svc/x", io.NopCloser(strings.NewReader("x")))
	resp, err := e.client.Do(context.Background(), e.reg, nil, req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || e.svcHits.Load() != 1 {
		t.Fatalf("status %d after %d hits", resp.StatusCode, e.svcHits.Load())
	}
}

// foreign is a server on another origin that records what reaches it.
type foreign struct {
	*httptest.Server
	hits atomic.Int64
	auth atomic.Value
}

func newForeign(t *testing.T) *foreign {
	f := &foreign{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		f.auth.Store(r.Header.Get("Authorization"))
	}))
	t.Cleanup(f.Close)
	return f
}

// TestBearerNotSentToForeignHost is docs/security.md, case 47: a service URL, a
// Link: next URL or a redirect on a host other than the registration's
// platform never receives the bearer token.
func TestBearerNotSentToForeignHost(t *testing.T) {
	e := newEnv(t)
	f := newForeign(t)
	ctx := context.Background()
	scopes := []string{scopeLineItem}
	samePortOtherName := strings.Replace(e.srv.URL, "127.0.0.1", "localhost", 1)
	tests := []struct {
		name string
		url  string
	}{
		{"foreign service URL", f.URL + "/lineitems"},
		{"same host, other port", f.URL},
		{"same port, other host name", samePortOtherName + "/svc/x"},
		{"other scheme", strings.Replace(e.srv.URL, "http://", "https://", 1) + "/svc/x"},
		{"not http(s)", strings.Replace(e.srv.URL, "http://", "ftp://", 1) + "/svc/x"},
		{"user info", strings.Replace(e.srv.URL, "http://", "http://user:pw@", 1) + "/svc/x"},
		{"redirect to a foreign host", e.srv.URL + "/svc/x?redirect=" + url.QueryEscape(f.URL+"/steal")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := e.client.Do(ctx, e.reg, scopes, req)
			if resp != nil {
				resp.Body.Close()
			}
			if !errors.Is(err, token.ErrForeignHost) {
				t.Fatalf("Do: %v; want ErrForeignHost", err)
			}
			if f.hits.Load() != 0 {
				t.Fatalf("the foreign host got %d requests (Authorization %q)", f.hits.Load(), f.auth.Load())
			}
		})
	}

	// Pagination: the first page is on the platform, its Link: next is not.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/svc/page?next="+url.QueryEscape(f.URL+"/page2"), nil)
	resp, err := e.client.Do(ctx, e.reg, scopes, req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	next := nextLink(resp.Header.Get("Link"))
	if next == "" {
		t.Fatal("no Link: next")
	}
	u, _ := url.Parse(next)
	if token.OnPlatform(e.reg, u) {
		t.Fatal("OnPlatform accepted the foreign next page")
	}
	req, _ = http.NewRequest(http.MethodGet, next, nil)
	if _, err := e.client.Do(ctx, e.reg, scopes, req); !errors.Is(err, token.ErrForeignHost) {
		t.Fatalf("next page: %v; want ErrForeignHost", err)
	}
	if f.hits.Load() != 0 {
		t.Fatal("the foreign next page was requested")
	}

	// WithHostPolicy admits an extra origin, and only that one.
	allowed, _ := url.Parse(f.URL)
	c, _ := token.New(token.Config{Signer: e.keyring}, token.WithHostPolicy(func(_ registration.Registration, u *url.URL) bool {
		return token.SameOrigin(u, allowed)
	}))
	req, _ = http.NewRequest(http.MethodGet, f.URL+"/ok", nil)
	resp, err = c.Do(ctx, e.reg, scopes, req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if f.hits.Load() != 1 || !strings.HasPrefix(f.auth.Load().(string), "Bearer ") {
		t.Fatalf("allowed host: %d hits, auth %q", f.hits.Load(), f.auth.Load())
	}
}

func nextLink(h string) string {
	for part := range strings.SplitSeq(h, ",") {
		u, params, _ := strings.Cut(part, ";")
		if strings.Contains(params, `rel="next"`) {
			return strings.Trim(strings.TrimSpace(u), "<>")
		}
	}
	return ""
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://lms.example/a", "https://LMS.example./b?x", true},
		{"https://lms.example/a", "https://lms.example:443/b", true},
		{"http://lms.example/a", "http://lms.example:80/b", true},
		{"https://lms.example/a", "http://lms.example/a", false},
		{"https://lms.example/a", "https://lms.example:8443/a", false},
		{"https://lms.example/a", "https://evil.lms.example/a", false},
		{"https://lms.example/a", "https://lms.example.evil/a", false},
		{"https://lms.example/a", "https://user@lms.example/a", false},
		{"https://lms.example/a", "/relative", false},
		{"https://lms.example/a", "javascript:alert(1)", false},
		{"https://[::1]:8443/a", "https://[::1]:8443/b", true},
	}
	for _, tc := range tests {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if got := token.SameOrigin(a, b); got != tc.want {
			t.Errorf("SameOrigin(%s, %s) = %v; want %v", tc.a, tc.b, got, tc.want)
		}
	}
	reg := registration.Registration{Issuer: "https://lms.example", TokenEndpoint: "https://auth.lms.example/token"}
	for raw, want := range map[string]bool{
		"https://lms.example/api/lineitems":    true,
		"https://auth.lms.example/api":         true,
		"https://cdn.lms.example/api":          false,
		"http://lms.example/api/lineitems":     false,
		"https://lms.example:444/api/lineitem": false,
	} {
		u, _ := url.Parse(raw)
		if got := token.OnPlatform(reg, u); got != want {
			t.Errorf("OnPlatform(%s) = %v; want %v", raw, got, want)
		}
	}
	if token.OnPlatform(reg, nil) {
		t.Error("OnPlatform(nil)")
	}
}

// TestTokenErrors (docs/security.md, case 46): every unusable answer is a typed
// error, nothing is cached, and no error text carries a token.
func TestTokenErrors(t *testing.T) {
	const secret = "s3cr3t-access-token"
	tests := []struct {
		name       string
		status     int
		body       string
		maxBytes   int64
		wantKind   error
		wantCode   string
		wantStatus int
	}{
		{"non-JSON 200", 200, "<html>welcome</html>", 0, token.ErrMalformedResponse, "", 200},
		{"JSON array", 200, `["access_token"]`, 0, token.ErrMalformedResponse, "", 200},
		{"10 MB", 200, `{"access_token":"` + secret + `","pad":"` + strings.Repeat("x", 10<<20) + `"}`, 0, token.ErrResponseTooLarge, "", 200},
		{"over a small limit", 200, `{"access_token":"` + secret + `","token_type":"Bearer"}`, 16, token.ErrResponseTooLarge, "", 200},
		{"no access_token", 200, `{"token_type":"Bearer","expires_in":3600}`, 0, token.ErrNoAccessToken, "", 200},
		{"empty access_token", 200, `{"access_token":"","token_type":"Bearer"}`, 0, token.ErrNoAccessToken, "", 200},
		{"access_token not a string", 200, `{"access_token":12,"token_type":"Bearer"}`, 0, token.ErrMalformedResponse, "", 200},
		{"token_type mac", 200, `{"access_token":"` + secret + `","token_type":"mac"}`, 0, token.ErrUnsupportedTokenType, "", 200},
		{"no token_type", 200, `{"access_token":"` + secret + `"}`, 0, token.ErrUnsupportedTokenType, "", 200},
		{"bad expires_in", 200, `{"access_token":"` + secret + `","token_type":"Bearer","expires_in":"soon"}`, 0, token.ErrMalformedResponse, "", 200},
		{"error JSON 400", 400, `{"error":"invalid_client","error_description":"bad assertion"}`, 0, token.ErrRejected, "invalid_client", 400},
		{"error JSON 401", 401, `{"error":"invalid_client"}`, 0, token.ErrRejected, "invalid_client", 401},
		{"error in a 200", 200, `{"error":"invalid_scope"}`, 0, token.ErrRejected, "invalid_scope", 200},
		{"HTML 500", 500, "<html>oops</html>", 0, token.ErrRejected, "", 500},
		{"empty 503", 503, "", 0, token.ErrRejected, "", 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			opts := []token.Option{token.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}
			if tc.maxBytes > 0 {
				opts = append(opts, token.WithMaxBytes(tc.maxBytes))
			}
			e := newEnv(t, opts...)
			e.p.SetTokenFailure(tc.status, tc.body)
			tok, err := e.client.Token(context.Background(), e.reg, []string{scopeLineItem})
			if err == nil || tok != "" {
				t.Fatalf("got %q, %v; want an error", tok, err)
			}
			var te *token.RetrieveError
			if !errors.As(err, &te) {
				t.Fatalf("%T %v; want a *RetrieveError", err, err)
			}
			if !errors.Is(err, tc.wantKind) || te.ErrorCode != tc.wantCode || te.Status != tc.wantStatus {
				t.Fatalf("%v (code %q, status %d); want %v, %q, %d", err, te.ErrorCode, te.Status, tc.wantKind, tc.wantCode, tc.wantStatus)
			}
			if want := tc.wantKind.(lti.Coded).Code(); te.Code() != want || lti.Classify(err).Code != want {
				t.Fatalf("code %q, Classify %+v; want %q, the code of %v", te.Code(), lti.Classify(err), want, tc.wantKind)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
				t.Fatal("the error or the log shows the token")
			}
			if tc.maxBytes > 0 {
				return // every answer is over this limit
			}
			// Nothing was cached: the next call asks again.
			e.p.SetTokenFailure(0, "")
			if _, err := e.client.Token(context.Background(), e.reg, []string{scopeLineItem}); err != nil {
				t.Fatal(err)
			}
			if e.p.TokenRequests() != 2 {
				t.Fatalf("%d token requests; want 2", e.p.TokenRequests())
			}
		})
	}
}

// TestAcceptedAnswers: the shapes real platforms send are accepted.
func TestAcceptedAnswers(t *testing.T) {
	tests := []struct{ name, body string }{
		{"Moodle 4.5", `{"access_token":"cef2382526db20b6d5263f207ae153c6","expires_in":3600,"scope":"` + scopeLineItem + `","token_type":"Bearer"}`},
		{"lower-case bearer", `{"access_token":"a","token_type":"bearer","expires_in":60}`},
		{"upper-case, quoted expires_in", `{"access_token":"a","token_type":"BEARER","expires_in":"3600"}`},
		{"no expires_in", `{"access_token":"a","token_type":"Bearer"}`},
		{"null members", `{"access_token":"a","token_type":"Bearer","expires_in":null,"scope":null}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.p.SetTokenFailure(200, tc.body)
			if _, err := e.client.Token(context.Background(), e.reg, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := e.client.Token(context.Background(), e.reg, nil); err != nil || e.p.TokenRequests() != 1 {
				t.Fatalf("second call: %v, %d requests; want the cached token", err, e.p.TokenRequests())
			}
		})
	}
}

// TestTokenEndpointRedirectNotFollowed: the assertion is never sent on to
// wherever a token endpoint redirects; the 3xx is a refusal.
func TestTokenEndpointRedirectNotFollowed(t *testing.T) {
	e := newEnv(t)
	f := newForeign(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, f.URL+"/token", http.StatusTemporaryRedirect)
	})
	redirector := httptest.NewServer(mux)
	defer redirector.Close()
	reg := e.reg
	reg.TokenEndpoint = redirector.URL + "/token"
	_, err := e.client.Token(context.Background(), reg, nil)
	var te *token.RetrieveError
	if !errors.As(err, &te) || te.Status != http.StatusTemporaryRedirect || !errors.Is(err, token.ErrRejected) {
		t.Fatalf("%v", err)
	}
	if f.hits.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
}

// TestPlatformRefusal: the platform's §5.2 answer reaches the caller.
func TestPlatformRefusal(t *testing.T) {
	e := newEnv(t)
	e.p.SetToolJWKSURL(e.srv.URL + "/nowhere")
	_, err := e.client.Token(context.Background(), e.reg, nil)
	var te *token.RetrieveError
	if !errors.As(err, &te) || te.ErrorCode != "invalid_client" || te.Status != http.StatusBadRequest || !errors.Is(err, token.ErrRejected) {
		t.Fatalf("%v", err)
	}
}

func TestRegistrationWithoutTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	for _, reg := range []registration.Registration{
		{Issuer: e.reg.Issuer, ClientID: e.reg.ClientID},
		{Issuer: e.reg.Issuer, TokenEndpoint: e.reg.TokenEndpoint},
		{Issuer: e.reg.Issuer, ClientID: "c", TokenEndpoint: "/token"},
	} {
		if _, err := e.client.Token(context.Background(), reg, nil); !errors.Is(err, token.ErrNoTokenEndpoint) {
			t.Errorf("%+v: %v", reg, err)
		}
	}
	if e.p.TokenRequests() != 0 {
		t.Fatal("a token was requested")
	}
}

// TestTokensNeverLogged (docs/security.md, case 46): debug logging of a full
// exchange shows neither the token nor the assertion.
func TestTokensNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, token.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	ctx := context.Background()
	tok, err := e.client.Token(ctx, e.reg, []string{scopeLineItem})
	if err != nil {
		t.Fatal(err)
	}
	e.p.RevokeTokens()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/svc/x", nil)
	resp, err := e.client.Do(ctx, e.reg, []string{scopeLineItem}, req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	log := e.p.TokenLog()
	if logs.Len() == 0 {
		t.Fatal("nothing was logged at debug level")
	}
	for _, secret := range []string{tok, log[0].AccessToken, log[1].AccessToken} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("log shows a token: %s", logs.String())
		}
	}
	if strings.Contains(logs.String(), "eyJ") {
		t.Fatal("log shows a JWT")
	}
	r := token.Response{AccessToken: tok, TokenType: "Bearer"}
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r)} {
		if strings.Contains(s, tok) {
			t.Fatalf("Response prints its token: %s", s)
		}
	}
}

func BenchmarkAssertion(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.client.Assertion(ctx, e.reg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenCached(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	scopes := []string{scopeScore, scopeLineItem}
	if _, err := e.client.Token(ctx, e.reg, scopes); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.client.Token(ctx, e.reg, scopes); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if e.p.TokenRequests() != 1 {
		b.Fatalf("%d token requests", e.p.TokenRequests())
	}
}
