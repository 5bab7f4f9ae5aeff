package launch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// Cases 4, 5 and 11: the auth redirect, the entropy of state and nonce, the
// state cookie's attributes.
func TestLoginRedirect(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			b := e.browser()
			b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			params := e.loginParams()
			params.Set("lti_message_hint", `{"cmid":1,"launchid":"ltilaunch1_682176045"} &+%`)
			params.Set("lti_deployment_id", ltitest.DefaultDeploymentID)
			var req *http.Request
			if method == http.MethodGet {
				req, _ = http.NewRequest(method, e.srv.URL+"/lti/login?"+params.Encode(), nil)
			} else {
				req, _ = http.NewRequest(method, e.srv.URL+"/lti/login", strings.NewReader(params.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := b.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d", resp.StatusCode)
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != e.platform.AuthEndpoint() {
				t.Fatalf("redirected to %q, want the registered auth endpoint", got)
			}
			q := loc.Query()
			want := map[string]string{
				"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
				"client_id": e.platform.ClientID(), "redirect_uri": e.srv.URL + "/lti/launch",
				"login_hint": "user-1", "lti_message_hint": params.Get("lti_message_hint"),
			}
			for k, v := range want {
				if q.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, q.Get(k), v)
				}
			}
			state, n := q.Get("state"), q.Get("nonce")
			if len(state) < 22 || len(n) < 22 || state == n {
				t.Errorf("state %d and nonce %d characters: want ≥128 bits each, different", len(state), len(n))
			}
			cookies := resp.Cookies()
			if len(cookies) != 1 {
				t.Fatalf("%d cookies, want 1", len(cookies))
			}
			c := cookies[0]
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteNoneMode || !c.Partitioned || c.MaxAge <= 0 || c.MaxAge > 3600 {
				t.Errorf("state cookie %+v: want HttpOnly, Secure, SameSite=None, Partitioned, short Max-Age", c)
			}
			// The value is "<issued>.<browser secret>": a secret of its own,
			// not the state, which the platform sees.
			_, secret, _ := strings.Cut(c.Value, ".")
			if len(secret) < 43 || strings.Contains(c.Value, state) || c.Path != "/" || c.Domain != "" {
				t.Errorf("state cookie value %q, path %q, domain %q: want a 256-bit secret other than the state, Path=/, no Domain", c.Value, c.Path, c.Domain)
			}
			// https: the __Host- prefix, so a sibling subdomain cannot plant it.
			if !strings.HasPrefix(c.Name, "__Host-"+launch.DefaultCookiePrefix) {
				t.Errorf("cookie name %q", c.Name)
			}
		})
	}
}

// Case 11: several logins in one browser (several iframes of one page) each
// keep their own state cookie, and each launch succeeds.
func TestParallelLaunchesInOneBrowser(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	var ars []*ltitest.AuthResponse
	for i := 0; i < 3; i++ {
		ar, err := e.platform.Authorize(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		ars = append(ars, ar)
	}
	for i, ar := range ars {
		if o := e.post(b, ar); o.code != ok || o.status != 200 {
			t.Fatalf("launch %d: %+v", i, o)
		}
	}
}

// Case 31: many goroutines post the same launch; exactly one succeeds.
func TestConcurrentReplay(t *testing.T) {
	for _, carrier := range []bool{true, false} {
		t.Run(fmt.Sprintf("carrier=%v", carrier), func(t *testing.T) {
			o := envOpts{}
			if !carrier {
				o.wrap = hideCarrier
			}
			e := newEnv(t, o)
			for round := 0; round < 5; round++ {
				b, ar := e.authorize()
				const n = 50
				results := make([]outcome, n)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						resp, err := e.platform.Post(context.Background(), b, ar)
						results[i] = read(t, resp, err)
					}()
				}
				close(start)
				wg.Wait()
				wins := 0
				for _, r := range results {
					switch {
					case r.code == ok && r.status == 200:
						wins++
					case r.code == cState || r.code == cNonce:
					default:
						t.Errorf("unexpected outcome %+v", r)
					}
				}
				if wins != 1 {
					t.Fatalf("round %d: %d launches succeeded, want exactly 1", round, wins)
				}
			}
		})
	}
}

// hideCarrier wraps an adapter so the pipeline stores and consumes the
// nonce separately (the path for adapters that do not carry it).
func hideCarrier(a storage.Adapter) storage.Adapter { return storage.Combine(a, a, stateOnly{a}, a) }

type stateOnly struct{ nonce.StateStore }

// A store that does not carry the nonce: the nonce is consumed on its own,
// and a replay of a consumed nonce is refused.
func TestSeparateNonceStore(t *testing.T) {
	counting := &countingAdapter{}
	e := newEnv(t, envOpts{wrap: func(a storage.Adapter) storage.Adapter {
		counting.Adapter = hideCarrier(a)
		return counting
	}})
	if o := e.launch(); o.code != ok {
		t.Fatalf("launch refused: %+v", o)
	}
	if counting.putNonce != 1 || counting.consumeNonce != 1 {
		t.Fatalf("PutNonce %d, ConsumeNonce %d: want 1 each", counting.putNonce, counting.consumeNonce)
	}
}

// Writes per launch: with a carrying store, one PutState and one TakeState.
func TestTwoWritesPerLaunch(t *testing.T) {
	counting := &countingAdapter{}
	e := newEnv(t, envOpts{wrap: func(a storage.Adapter) storage.Adapter {
		counting.Adapter = a
		return carryingCounter{counting}
	}})
	if o := e.launch(); o.code != ok {
		t.Fatalf("launch refused: %+v", o)
	}
	if counting.putState != 1 || counting.takeState != 1 || counting.putNonce != 0 || counting.consumeNonce != 0 {
		t.Fatalf("writes: PutState %d TakeState %d PutNonce %d ConsumeNonce %d; want 1 1 0 0",
			counting.putState, counting.takeState, counting.putNonce, counting.consumeNonce)
	}
}

type countingAdapter struct {
	storage.Adapter
	mu                                          sync.Mutex
	putState, takeState, putNonce, consumeNonce int
}

func (c *countingAdapter) PutState(ctx context.Context, l nonce.Login) error {
	c.mu.Lock()
	c.putState++
	c.mu.Unlock()
	return c.Adapter.PutState(ctx, l)
}

func (c *countingAdapter) TakeState(ctx context.Context, s string) (nonce.Login, error) {
	c.mu.Lock()
	c.takeState++
	c.mu.Unlock()
	return c.Adapter.TakeState(ctx, s)
}

func (c *countingAdapter) PutNonce(ctx context.Context, n nonce.Nonce) error {
	c.mu.Lock()
	c.putNonce++
	c.mu.Unlock()
	return c.Adapter.PutNonce(ctx, n)
}

func (c *countingAdapter) ConsumeNonce(ctx context.Context, v, iss, cid string) error {
	c.mu.Lock()
	c.consumeNonce++
	c.mu.Unlock()
	return c.Adapter.ConsumeNonce(ctx, v, iss, cid)
}

type carryingCounter struct{ *countingAdapter }

func (carryingCounter) CarriesNonce() bool { return true }

// Case 32: every storage failure, at every step, refuses with
// storage_unavailable, and no launch is accepted.
func TestStorageFailuresFailClosed(t *testing.T) {
	boom := errors.New("connection reset")
	steps := []string{"FindRegistration", "PutState", "TakeState", "FindDeployment", "PutNonce", "ConsumeNonce"}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			f := &failing{step: step, err: boom}
			e := newEnv(t, envOpts{wrap: func(a storage.Adapter) storage.Adapter {
				if step == "PutNonce" || step == "ConsumeNonce" {
					a = hideCarrier(a)
				}
				f.Adapter = a
				return f
			}})
			var o outcome
			if step == "FindRegistration" || step == "PutState" || step == "PutNonce" {
				o = e.login(http.MethodPost, e.loginParams())
			} else {
				o = e.launch()
			}
			if o.code != cStorage || o.status != http.StatusServiceUnavailable {
				t.Fatalf("got %d %q, want 503 storage_unavailable", o.status, o.code)
			}
			if e.launched.Load() != 0 {
				t.Fatal("a launch was accepted")
			}
		})
	}
	t.Run("context cancelled", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		b, ar := e.authorize()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		form := ar.Form.Encode()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/lti/launch", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		withBrowserCookies(e, b, req)
		_, err := e.tool.ValidateLaunch(ctx, req)
		if !errors.Is(err, lti.ErrStorageUnavailable) {
			t.Fatalf("got %v, want storage_unavailable", err)
		}
		// The cancelled attempt consumed nothing: the launch still works.
		if o := e.post(b, ar); o.code != ok {
			t.Fatalf("launch after a cancelled attempt: %+v", o)
		}
	})
}

// withBrowserCookies adds the cookies browser b holds for the tool to req.
func withBrowserCookies(e *env, b *http.Client, req *http.Request) {
	u, _ := url.Parse(e.srv.URL)
	for _, c := range b.Jar.Cookies(u) {
		req.AddCookie(c)
	}
}

type failing struct {
	storage.Adapter
	step string
	err  error
}

func (f *failing) FindRegistration(ctx context.Context, iss, cid string) (registration.Registerable, error) {
	if f.step == "FindRegistration" {
		return nil, f.err
	}
	return f.Adapter.FindRegistration(ctx, iss, cid)
}

func (f *failing) FindDeployment(ctx context.Context, r registration.Registerable, id string) (deployment.Deployable, error) {
	if f.step == "FindDeployment" {
		return nil, f.err
	}
	return f.Adapter.FindDeployment(ctx, r, id)
}

func (f *failing) PutState(ctx context.Context, l nonce.Login) error {
	if f.step == "PutState" {
		return f.err
	}
	return f.Adapter.PutState(ctx, l)
}

func (f *failing) TakeState(ctx context.Context, s string) (nonce.Login, error) {
	if f.step == "TakeState" {
		return nonce.Login{}, f.err
	}
	return f.Adapter.TakeState(ctx, s)
}

func (f *failing) PutNonce(ctx context.Context, n nonce.Nonce) error {
	if f.step == "PutNonce" {
		return f.err
	}
	return f.Adapter.PutNonce(ctx, n)
}

func (f *failing) ConsumeNonce(ctx context.Context, v, iss, cid string) error {
	if f.step == "ConsumeNonce" {
		return f.err
	}
	return f.Adapter.ConsumeNonce(ctx, v, iss, cid)
}

func (f *failing) CarriesNonce() bool {
	c, ok := f.Adapter.(nonce.Carrier)
	return ok && c.CarriesNonce()
}

// Key rotation: a token signed with a new key triggers one refresh and is
// accepted; a flood of unknown kids does not hammer the platform.
func TestKeyRotationAndKidFlood(t *testing.T) {
	e := newEnv(t, envOpts{})
	if o := e.launch(); o.code != ok {
		t.Fatalf("first launch: %+v", o)
	}
	if n := e.platform.KeySetRequests(); n != 1 {
		t.Fatalf("%d key set fetches after the first launch, want 1", n)
	}
	for i := 0; i < 5; i++ {
		if o := e.launch(); o.code != ok {
			t.Fatalf("launch: %+v", o)
		}
	}
	if n := e.platform.KeySetRequests(); n != 1 {
		t.Fatalf("%d key set fetches after cached launches, want 1 (no fetch on the hot path)", n)
	}
	e.platform.RotateKey()
	if o := e.launch(); o.code != ok {
		t.Fatalf("launch after rotation: %+v", o)
	}
	if n := e.platform.KeySetRequests(); n != 2 {
		t.Fatalf("%d key set fetches after rotation, want 2", n)
	}
	for i := 0; i < 20; i++ {
		o := e.launch(ltitest.WithTokenOptions(ltitest.WithKID(fmt.Sprintf("bogus-%d", i))))
		if o.code != cSig {
			t.Fatalf("bogus kid: %+v", o)
		}
	}
	if n := e.platform.KeySetRequests(); n > 3 {
		t.Fatalf("%d key set fetches after a flood of 20 unknown kids, want at most one more", n)
	}
}

// The host's own registration and deployment structs come back in the
// launch context.
type hostPlatform struct {
	ID     int
	Tenant string
	Reg    registration.Registration
}

func (h *hostPlatform) LTIRegistration() registration.Registration { return h.Reg }

type hostDeployment struct {
	ID    int
	DepID string
}

func (h hostDeployment) LTIDeployment() deployment.Deployment {
	return deployment.Deployment{DeploymentID: h.DepID}
}

func TestHostStructsComeBack(t *testing.T) {
	e := newEnv(t, envOpts{})
	// A second platform registered with host structs.
	var got *launch.Launch
	p2, err := ltitest.NewPlatform(ltitest.Config{ClientID: "host-client",
		ToolLoginURL: e.srv.URL + "/lti/login", ToolRedirectURIs: []string{e.srv.URL + "/lti/launch"}, TargetLinkURI: e.srv.URL + "/app"})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	hp := &hostPlatform{ID: 7, Tenant: "acme", Reg: p2.Registration()}
	if err := e.store.AddRegistration(hp); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddDeployment(hp.Reg.Key(), hostDeployment{ID: 9, DepID: p2.DeploymentID()}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	ar, err := p2.Authorize(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	form := ar.Form.Encode()
	req := httptest.NewRequest(http.MethodPost, "/lti/launch", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	withBrowserCookies(e, b, req)
	rec := httptest.NewRecorder()
	e.tool.LaunchHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = launch.FromContext(r.Context())
	})).ServeHTTP(rec, req)
	if got == nil {
		body, _ := io.ReadAll(rec.Body)
		t.Fatalf("launch refused: %d %s", rec.Code, body)
	}
	reg, okReg := launch.RegistrationAs[*hostPlatform](got)
	dep, okDep := launch.DeploymentAs[hostDeployment](got)
	if !okReg || reg.ID != 7 || reg.Tenant != "acme" || !okDep || dep.ID != 9 {
		t.Fatalf("host structs: %+v %v, %+v %v", reg, okReg, dep, okDep)
	}
	if got.Registration.ClientID != "host-client" || got.Deployment.DeploymentID != p2.DeploymentID() {
		t.Fatalf("library view: %+v %+v", got.Registration, got.Deployment)
	}
	// The state cookie is cleared after the launch.
	cleared := false
	for _, c := range rec.Result().Cookies() {
		if strings.HasPrefix(c.Name, "__Host-"+launch.DefaultCookiePrefix) && c.MaxAge < 0 && c.Partitioned {
			cleared = true
		}
	}
	if !cleared {
		t.Error("the state cookie was not cleared")
	}
	// Vendor claims survive in the raw claims.
	var ext map[string]any
	if present, err := got.Claim("https://purl.imsglobal.org/spec/lti/claim/ext", &ext); err != nil || !present || len(ext) == 0 {
		t.Errorf("ext claim: %v, present %v err %v", ext, present, err)
	}
	// RawClaim gives the bytes as signed; an absent claim is not an error.
	raw, present, err := got.RawClaim("https://purl.imsglobal.org/spec/lti/claim/ext")
	var again map[string]any
	if err != nil || !present || json.Unmarshal(raw, &again) != nil || !reflect.DeepEqual(again, ext) {
		t.Errorf("RawClaim(ext) = %s, %v, %v", raw, present, err)
	}
	if raw, present, err := got.RawClaim("https://vendor.example/absent"); raw != nil || present || err != nil {
		t.Errorf("RawClaim(absent) = %s, %v, %v", raw, present, err)
	}
	var nothing any
	if present, err := got.Claim("https://vendor.example/absent", &nothing); present || err != nil || nothing != nil {
		t.Errorf("Claim(absent) = %v, %v, %v", nothing, present, err)
	}
}

// Error pages never echo input unescaped and carry the right status.
func TestErrorRendering(t *testing.T) {
	for _, accept := range []string{"text/html", "application/json"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Accept", accept)
		launch.WriteError(rec, req, lti.ErrInvalidClaims.WithDescription(`<script>alert("x")</script>`).WithCause(errors.New("secret cause")))
		body := rec.Body.String()
		if rec.Code != 401 || strings.Contains(body, "<script>") || strings.Contains(body, "secret cause") {
			t.Errorf("%s: status %d body %s", accept, rec.Code, body)
		}
		if accept == "application/json" && !strings.Contains(body, `"error":"invalid_claims"`) {
			t.Errorf("json body %s", body)
		}
	}
}
