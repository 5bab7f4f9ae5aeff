package deeplink_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deeplink"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/toolkey"
)

// dlEnv is a tool (the real launch pipeline over the memory adapter, TLS,
// a toolkey Keyring) and an ltitest platform registered with each other.
// The tool answers deep linking launches with the response build makes.
type dlEnv struct {
	t         *testing.T
	platform  *ltitest.Platform
	srv       *httptest.Server
	keyring   *toolkey.Keyring
	responder *deeplink.Responder

	mu       sync.Mutex
	build    func(*deeplink.Request) *deeplink.Response
	requests []*deeplink.Request // what the tool parsed
}

func newDLEnv(t *testing.T) *dlEnv {
	t.Helper()
	e := &dlEnv{t: t}
	mux := http.NewServeMux()
	e.srv = httptest.NewTLSServer(mux)
	t.Cleanup(e.srv.Close)

	var err error
	e.platform, err = ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     e.srv.URL + "/lti/login",
		ToolRedirectURIs: []string{e.srv.URL + "/lti/launch"},
		TargetLinkURI:    e.srv.URL + "/lti/launch",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.platform.Close)
	store := memory.New()
	if err := store.AddRegistration(e.platform.Registration()); err != nil {
		t.Fatal(err)
	}
	if err := store.AddDeployment(e.platform.Registration().Key(), e.platform.Deployment()); err != nil {
		t.Fatal(err)
	}
	tool, err := launch.New(launch.Config{Storage: store, BaseURL: e.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := toolkey.NewMemoryStore(toolkey.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e.keyring, err = toolkey.NewKeyring(keys); err != nil {
		t.Fatal(err)
	}
	e.responder = newResponder(t, e.keyring)
	mux.Handle("/lti/login", tool.LoginHandler())
	mux.Handle("/lti/launch", tool.LaunchHandler(http.HandlerFunc(e.app)))
	mux.Handle("/.well-known/jwks.json", e.keyring)

	// The platform knows the tool's public keys, as an LMS administrator
	// registers them.
	set, err := e.keyring.KeySet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.platform.SetToolKeySet(set)
	return e
}

// app is the tool's deep linking handler: parse the request, answer with
// the items, auto-post the signed response.
func (e *dlEnv) app(w http.ResponseWriter, r *http.Request) {
	l, _ := launch.FromContext(r.Context())
	req, err := deeplink.ParseRequest(l)
	if err != nil {
		http.Error(w, err.Error(), lti.Classify(err).Status)
		return
	}
	e.mu.Lock()
	e.requests = append(e.requests, req)
	build := e.build
	e.mu.Unlock()
	if err := e.responder.Respond(r.Context(), w, build(req)); err != nil {
		var de *deeplink.Error
		if errors.As(err, &de) {
			http.Error(w, "refused: "+string(de.Reason()), lti.Classify(err).Status)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (e *dlEnv) answer(build func(*deeplink.Request) *deeplink.Response) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.build = build
}

func (e *dlEnv) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: e.srv.Client().Transport, Timeout: 20 * time.Second}
}

// launch runs a deep linking launch and returns the tool's page.
func (e *dlEnv) launch(browser *http.Client, opts ...ltitest.LaunchOption) *http.Response {
	e.t.Helper()
	resp, err := e.platform.Launch(context.Background(), browser, append([]ltitest.LaunchOption{ltitest.DeepLinking()}, opts...)...)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// submit posts the tool's page's form to the platform and returns the
// platform's status and the result it recorded.
func (e *dlEnv) submit(browser *http.Client, page *http.Response) (int, ltitest.DeepLinkingResult) {
	e.t.Helper()
	before := len(e.platform.DeepLinkingResults())
	resp, err := e.platform.SubmitDeepLinkingForm(context.Background(), browser, page)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	results := e.platform.DeepLinkingResults()
	if len(results) != before+1 {
		e.t.Fatalf("the platform recorded %d results; want %d (answer %d %s)", len(results), before+1, resp.StatusCode, body)
	}
	return resp.StatusCode, results[len(results)-1]
}

// TestRoundTrip: ltitest deep linking launch → the real launch pipeline →
// ParseRequest → Respond (signed by the toolkey Keyring) → the form posted
// to the platform → the platform verifies and records the items.
func TestRoundTrip(t *testing.T) {
	e := newDLEnv(t)
	day := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	e.answer(func(req *deeplink.Request) *deeplink.Response {
		return &deeplink.Response{Request: req, Message: "Added 2 items", Items: []deeplink.Item{
			deeplink.LTIResourceLink{
				URL: e.srv.URL + "/quiz/7", Title: "Quiz 7", Custom: map[string]string{"quiz": "7"},
				LineItem:  &deeplink.LineItem{ScoreMaximum: 10, Label: "Quiz 7", ResourceID: "quiz-7"},
				Available: &deeplink.TimeSpan{StartDateTime: day},
				Iframe:    &deeplink.Iframe{Width: 800, Height: 600},
			},
			&deeplink.Link{URL: "https://example.org/reading", Title: "Reading", Window: &deeplink.Window{TargetName: "_blank"}},
		}}
	})
	browser := e.browser()
	page := e.launch(browser)
	if page.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(page.Body)
		t.Fatalf("tool answered %d: %s", page.StatusCode, b)
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action "+e.platform.URL()) {
		t.Fatalf("CSP %q does not restrict the form to the platform", csp)
	}
	status, res := e.submit(browser, page)
	if status != http.StatusOK || res.Err != nil {
		t.Fatalf("platform answered %d: %v", status, res.Err)
	}

	// What the tool parsed is what the platform sent.
	req := e.requests[len(e.requests)-1]
	if req.ReturnURL != e.platform.DeepLinkReturnURL() || req.Issuer != e.platform.Issuer() ||
		req.ClientID != e.platform.ClientID() || req.DeploymentID != e.platform.DeploymentID() ||
		!req.AcceptMultiple || req.AcceptLineItem == nil || !*req.AcceptLineItem {
		t.Fatalf("parsed request %+v", req)
	}
	sent, ok := req.DataString()
	if !ok || !strings.HasPrefix(sent, `{"ltitest_launch":`) {
		t.Fatalf("request data %q, %v", sent, ok)
	}

	// The platform verified the echo, the items and the messages.
	if res.Data == nil || *res.Data != sent {
		t.Fatalf("echoed data %v; want %q", res.Data, sent)
	}
	if res.Message != "Added 2 items" || len(res.Items) != 2 {
		t.Fatalf("result %+v", res)
	}
	if it := res.Items[0]; it.Type != "ltiResourceLink" || it.URL != e.srv.URL+"/quiz/7" || it.Title != "Quiz 7" {
		t.Fatalf("item 0: %+v", it)
	}
	var rl struct {
		LineItem struct {
			ScoreMaximum float64 `json:"scoreMaximum"`
			ResourceID   string  `json:"resourceId"`
		} `json:"lineItem"`
		Custom    map[string]string `json:"custom"`
		Available struct {
			Start time.Time `json:"startDateTime"`
		} `json:"available"`
	}
	if err := res.Items[0].Decode(&rl); err != nil || rl.LineItem.ScoreMaximum != 10 || rl.LineItem.ResourceID != "quiz-7" ||
		rl.Custom["quiz"] != "7" || !rl.Available.Start.Equal(day) {
		t.Fatalf("item 0 JSON %s (%v)", res.Items[0].JSON, err)
	}
	if it := res.Items[1]; it.Type != "link" || it.URL != "https://example.org/reading" {
		t.Fatalf("item 1: %+v", it)
	}
	if res.Header["kid"] == "" || res.Header["alg"] != "RS256" {
		t.Fatalf("header %v", res.Header)
	}
	if res.Claims["iss"] != e.platform.ClientID() || res.Claims["aud"] != e.platform.Issuer() {
		t.Fatalf("claims %v", res.Claims)
	}

	// The same response posted again is a replay: the platform refuses it.
	jwts := e.platform.DeepLinkingResponses()
	r2, err := http.PostForm(e.platform.DeepLinkReturnURL(), url.Values{"JWT": {jwts[len(jwts)-1]}})
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	last := e.platform.DeepLinkingResults()
	var de *ltitest.DeepLinkingError
	if r2.StatusCode != http.StatusBadRequest || !errors.As(last[len(last)-1].Err, &de) || de.Claim != "nonce" {
		t.Fatalf("replay: %d %v", r2.StatusCode, last[len(last)-1].Err)
	}
}

// TestRoundTripMoodleShape: Moodle's settings (no accept_lineitem, a
// lineItem anyway, no data) go through the pipeline and verify.
func TestRoundTripMoodleShape(t *testing.T) {
	e := newDLEnv(t)
	e.answer(func(req *deeplink.Request) *deeplink.Response {
		return &deeplink.Response{Request: req, Items: []deeplink.Item{deeplink.LTIResourceLink{
			URL: e.srv.URL + "/launch", Title: "Stub deep-linked item", Custom: map[string]string{"picked": "item42"},
			LineItem: &deeplink.LineItem{Label: "Stub DL grade", ScoreMaximum: 10},
		}}}
	})
	browser := e.browser()
	page := e.launch(browser, ltitest.WithClaims(func(c map[string]any) {
		s := c[lti.ClaimDeepLinking].(map[string]any)
		delete(s, "accept_lineitem")
		delete(s, "data")
		s["accept_types"] = []string{"ltiResourceLink"}
		s["accept_presentation_document_targets"] = []string{"frame", "iframe", "window"}
		s["accept_copy_advice"] = false
	}))
	status, res := e.submit(browser, page)
	if status != http.StatusOK || res.Err != nil || len(res.Items) != 1 {
		t.Fatalf("platform answered %d: %v %+v", status, res.Err, res)
	}
	if _, ok := res.Claims[deeplink.ClaimData]; ok || res.Data != nil {
		t.Fatalf("data claim sent for a request without data: %v", res.Claims)
	}
}

// TestRoundTripRefusedByTool: the tool refuses, before signing, what the
// platform's settings do not allow; nothing reaches the platform.
func TestRoundTripRefusedByTool(t *testing.T) {
	e := newDLEnv(t)
	two := func(req *deeplink.Request) *deeplink.Response {
		return &deeplink.Response{Request: req, Items: []deeplink.Item{
			deeplink.LTIResourceLink{Title: "a"}, deeplink.LTIResourceLink{Title: "b"},
		}}
	}
	for _, tc := range []struct {
		name   string
		build  func(*deeplink.Request) *deeplink.Response
		opts   []ltitest.LaunchOption
		reason deeplink.Reason
	}{
		{"file not in accept_types", func(req *deeplink.Request) *deeplink.Response {
			return &deeplink.Response{Request: req, Items: []deeplink.Item{deeplink.File{URL: e.srv.URL + "/a.pdf"}}}
		}, nil, deeplink.ReasonTypeNotAccepted},
		{"two items, accept_multiple false", two, []ltitest.LaunchOption{ltitest.WithClaims(func(c map[string]any) {
			c[lti.ClaimDeepLinking].(map[string]any)["accept_multiple"] = false
		})}, deeplink.ReasonMultipleNotAccepted},
		{"two items, accept_multiple absent", two, []ltitest.LaunchOption{ltitest.WithClaims(func(c map[string]any) {
			delete(c[lti.ClaimDeepLinking].(map[string]any), "accept_multiple")
		})}, deeplink.ReasonMultipleNotAccepted},
		{"lineItem, accept_lineitem false", func(req *deeplink.Request) *deeplink.Response {
			return &deeplink.Response{Request: req, Items: []deeplink.Item{deeplink.LTIResourceLink{LineItem: &deeplink.LineItem{ScoreMaximum: 1}}}}
		}, []ltitest.LaunchOption{ltitest.WithClaims(func(c map[string]any) {
			c[lti.ClaimDeepLinking].(map[string]any)["accept_lineitem"] = false
		})}, deeplink.ReasonLineItemNotAccepted},
		{"javascript: item URL", func(req *deeplink.Request) *deeplink.Response {
			return &deeplink.Response{Request: req, Items: []deeplink.Item{deeplink.Link{URL: "javascript:alert(document.domain)"}}}
		}, nil, deeplink.ReasonInvalidURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.answer(tc.build)
			posted := len(e.platform.DeepLinkingResponses())
			page := e.launch(e.browser(), tc.opts...)
			body, _ := io.ReadAll(page.Body)
			page.Body.Close()
			if page.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "refused: "+string(tc.reason)) {
				t.Fatalf("tool answered %d %s; want 400 %s", page.StatusCode, body, tc.reason)
			}
			if n := len(e.platform.DeepLinkingResponses()); n != posted {
				t.Fatalf("%d responses reached the platform", n-posted)
			}
		})
	}
}

// TestRoundTripPlatformRefuses: the platform refuses responses that are
// not the tool's or not the answer to its request.
func TestRoundTripPlatformRefuses(t *testing.T) {
	e := newDLEnv(t)
	t.Run("signed with a key the platform does not know", func(t *testing.T) {
		stranger := newResponder(t, newSigner(t))
		e.answer(func(req *deeplink.Request) *deeplink.Response { return &deeplink.Response{Request: req} })
		browser := e.browser()
		page := e.launch(browser)
		page.Body.Close()
		req := e.requests[len(e.requests)-1]
		jwt, err := stranger.Sign(context.Background(), &deeplink.Response{Request: req})
		if err != nil {
			t.Fatal(err)
		}
		assertRefused(t, e, jwt, "kid")
	})
	t.Run("data not echoed", func(t *testing.T) {
		e.answer(func(req *deeplink.Request) *deeplink.Response { return &deeplink.Response{Request: req} })
		page := e.launch(e.browser())
		page.Body.Close()
		req := *e.requests[len(e.requests)-1]
		req.Data = json.RawMessage(`"{\"ltitest_launch\":\"forged\"}"`)
		jwt, err := e.responder.Sign(context.Background(), &deeplink.Response{Request: &req})
		if err != nil {
			t.Fatal(err)
		}
		assertRefused(t, e, jwt, "data")
		req.Data = nil
		jwt, err = e.responder.Sign(context.Background(), &deeplink.Response{Request: &req})
		if err != nil {
			t.Fatal(err)
		}
		assertRefused(t, e, jwt, "data")
	})
	t.Run("another deployment", func(t *testing.T) {
		page := e.launch(e.browser())
		page.Body.Close()
		req := *e.requests[len(e.requests)-1]
		req.DeploymentID = "another"
		jwt, err := e.responder.Sign(context.Background(), &deeplink.Response{Request: &req})
		if err != nil {
			t.Fatal(err)
		}
		assertRefused(t, e, jwt, "deployment_id")
	})
	t.Run("addressed to another platform", func(t *testing.T) {
		page := e.launch(e.browser())
		page.Body.Close()
		req := *e.requests[len(e.requests)-1]
		req.Issuer = "https://other-lms.example"
		jwt, err := e.responder.Sign(context.Background(), &deeplink.Response{Request: &req})
		if err != nil {
			t.Fatal(err)
		}
		assertRefused(t, e, jwt, "aud")
	})
}

func assertRefused(t *testing.T, e *dlEnv, jwt, claim string) {
	t.Helper()
	resp, err := http.PostForm(e.platform.DeepLinkReturnURL(), url.Values{"JWT": {jwt}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	res := e.platform.DeepLinkingResults()
	var de *ltitest.DeepLinkingError
	if resp.StatusCode != http.StatusBadRequest || !errors.As(res[len(res)-1].Err, &de) || de.Claim != claim {
		t.Fatalf("platform answered %d, %v; want 400 on %s", resp.StatusCode, res[len(res)-1].Err, claim)
	}
}

// TestRoundTripToolJWKSURL: the platform fetches the tool's keys from the
// Keyring's own JWKS handler.
func TestRoundTripToolJWKSURL(t *testing.T) {
	e := newDLEnv(t)
	jwks := httptest.NewServer(e.keyring) // plain http: the platform's fetch uses the default client
	defer jwks.Close()
	e.platform.SetToolKeySet(nil)
	e.platform.SetToolJWKSURL(jwks.URL)
	e.answer(func(req *deeplink.Request) *deeplink.Response {
		return &deeplink.Response{Request: req, Items: []deeplink.Item{deeplink.LTIResourceLink{Title: "x"}}}
	})
	browser := e.browser()
	status, res := e.submit(browser, e.launch(browser))
	if status != http.StatusOK || res.Err != nil {
		t.Fatalf("platform answered %d: %v", status, res.Err)
	}

	// After a rotation the new key signs and the JWKS publishes it.
	if err := e.keyring.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	status, res = e.submit(browser, e.launch(browser))
	if status != http.StatusOK || res.Err != nil {
		t.Fatalf("after rotation: platform answered %d: %v", status, res.Err)
	}
}
