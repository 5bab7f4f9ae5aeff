package ltitest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/lti"
)

var (
	toolKeyOnce sync.Once
	toolKeyPriv [2]*rsa.PrivateKey
)

// toolKeys returns two RSA keys for the tool side of the tests.
func toolKeys() [2]*rsa.PrivateKey {
	toolKeyOnce.Do(func() {
		for i := range toolKeyPriv {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			toolKeyPriv[i] = k
		}
	})
	return toolKeyPriv
}

// dlFixture is a platform that sent one deep linking request, and a tool
// key it trusts.
type dlFixture struct {
	p    *Platform
	key  jwk.Key // the tool's private key, kid "tool-1"
	data string  // the data the request sent
}

func newDLFixture(t *testing.T) *dlFixture {
	t.Helper()
	p, err := NewPlatform(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	priv, err := jwk.FromRaw(toolKeys()[0])
	if err != nil {
		t.Fatal(err)
	}
	_ = priv.Set(jwk.KeyIDKey, "tool-1")
	pub, _ := priv.PublicKey()
	_ = pub.Set(jwk.AlgorithmKey, jwa.RS256)
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	p.SetToolKeySet(set)

	f := &dlFixture{p: p, key: priv, data: `{"ltitest_launch":"L1"}`}
	f.request(f.data, nil)
	return f
}

// request records a deep linking request the platform sent with data (""
// for none), its settings changed by mut.
func (f *dlFixture) request(data string, mut func(settings map[string]any)) {
	c := f.p.launchClaims(&launchConfig{deepLinking: true}, "n", data)
	s := c[lti.ClaimDeepLinking].(map[string]any)
	if data == "" {
		delete(s, "data")
	}
	if mut != nil {
		mut(s)
	}
	f.p.recordDeepLinkingRequest(c)
}

// claims is a valid response to the request.
func (f *dlFixture) claims() map[string]any {
	now := time.Now().Unix()
	return map[string]any{
		"iss":                 f.p.ClientID(),
		"aud":                 f.p.Issuer(),
		"iat":                 now,
		"exp":                 now + 300,
		"nonce":               randomHex(16),
		lti.ClaimMessageType:  MessageDeepLinkingResponse,
		lti.ClaimVersion:      lti.Version,
		lti.ClaimDeploymentID: f.p.DeploymentID(),
		ClaimDeepLinkingData:  f.data,
		ClaimContentItems: []any{
			map[string]any{"type": "ltiResourceLink", "url": "https://tool.example/q", "title": "Q", "lineItem": map[string]any{"scoreMaximum": 10}},
		},
		claimDLMsg: "Added",
	}
}

func (f *dlFixture) sign(t *testing.T, claims map[string]any, opts ...TokenOption) string {
	t.Helper()
	jwt, err := f.p.MintIDToken(claims, append([]TokenOption{SignWithKey(f.key)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

// post posts jwt to /deep_links and returns the status and the result.
func (f *dlFixture) post(t *testing.T, jwt string) (int, DeepLinkingResult) {
	t.Helper()
	resp, err := http.PostForm(f.p.DeepLinkReturnURL(), url.Values{"JWT": {jwt}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	res := f.p.DeepLinkingResults()
	if len(res) == 0 {
		t.Fatalf("nothing recorded (%d %s)", resp.StatusCode, body)
	}
	return resp.StatusCode, res[len(res)-1]
}

func TestDeepLinkingResponseAccepted(t *testing.T) {
	f := newDLFixture(t)
	status, res := f.post(t, f.sign(t, f.claims()))
	if status != http.StatusOK || res.Err != nil {
		t.Fatalf("%d %v", status, res.Err)
	}
	if len(res.Items) != 1 || res.Items[0].Type != "ltiResourceLink" || res.Items[0].URL != "https://tool.example/q" ||
		res.Items[0].Title != "Q" || res.Message != "Added" || res.Data == nil || *res.Data != f.data {
		t.Fatalf("result %+v", res)
	}
	var li struct {
		LineItem struct{ ScoreMaximum float64 } `json:"lineItem"`
	}
	if err := res.Items[0].Decode(&li); err != nil || li.LineItem.ScoreMaximum != 10 {
		t.Fatalf("item JSON %s", res.Items[0].JSON)
	}
	if got := f.p.DeepLinkingResponses(); len(got) != 1 || got[0] != res.JWT {
		t.Fatalf("responses %v", got)
	}
}

// TestDeepLinkingResponseRefused: every check of the platform, one bad
// response each.
func TestDeepLinkingResponseRefused(t *testing.T) {
	other, err := jwk.FromRaw(toolKeys()[1])
	if err != nil {
		t.Fatal(err)
	}
	_ = other.Set(jwk.KeyIDKey, "tool-1") // the trusted kid, another key
	stranger, _ := jwk.FromRaw(toolKeys()[1])
	_ = stranger.Set(jwk.KeyIDKey, "stranger")

	cases := []struct {
		name  string
		mut   func(c map[string]any)
		opts  []TokenOption
		setup func(f *dlFixture)
		claim string
	}{
		{name: "HS256", opts: []TokenOption{SignHMAC([]byte("secret")), WithKID("tool-1")}, claim: "alg"},
		{name: "alg none", opts: []TokenOption{SignNone()}, claim: "alg"},
		{name: "RS512", opts: []TokenOption{SignWithAlg(jwa.RS512)}, claim: "alg"},
		{name: "no kid", opts: []TokenOption{WithoutKID()}, claim: "kid"},
		{name: "unknown kid", opts: []TokenOption{SignWithKey(stranger)}, claim: "kid"},
		{name: "jku header", opts: []TokenOption{WithHeader("jku", "https://evil.example/jwks")}, claim: "jku"},
		{name: "another key with the trusted kid", opts: []TokenOption{SignWithKey(other)}, claim: "signature"},
		{name: "corrupt signature", opts: []TokenOption{CorruptSignature()}, claim: "signature"},
		{name: "no tool key set", setup: func(f *dlFixture) { f.p.SetToolKeySet(nil) }, claim: "kid"},
		{name: "iss not the client_id", mut: func(c map[string]any) { c["iss"] = "someone" }, claim: "iss"},
		{name: "aud another platform", mut: func(c map[string]any) { c["aud"] = "https://other.example" }, claim: "aud"},
		{name: "aud a number", mut: func(c map[string]any) { c["aud"] = 5 }, claim: "aud"},
		{name: "aud array without the issuer", mut: func(c map[string]any) { c["aud"] = []string{"x"} }, claim: "aud"},
		{name: "expired", mut: func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() }, claim: "exp"},
		{name: "no exp", mut: func(c map[string]any) { delete(c, "exp") }, claim: "exp"},
		{name: "iat in the future", mut: func(c map[string]any) { c["iat"] = time.Now().Add(10 * time.Minute).Unix() }, claim: "iat"},
		{name: "no iat", mut: func(c map[string]any) { delete(c, "iat") }, claim: "iat"},
		{name: "no nonce", mut: func(c map[string]any) { delete(c, "nonce") }, claim: "nonce"},
		{name: "empty nonce", mut: func(c map[string]any) { c["nonce"] = "" }, claim: "nonce"},
		{name: "message_type of the request", mut: func(c map[string]any) { c[lti.ClaimMessageType] = lti.MessageDeepLinking }, claim: "message_type"},
		{name: "version 1.1", mut: func(c map[string]any) { c[lti.ClaimVersion] = "1.1" }, claim: "version"},
		{name: "no deployment_id", mut: func(c map[string]any) { delete(c, lti.ClaimDeploymentID) }, claim: "deployment_id"},
		{name: "another deployment_id", mut: func(c map[string]any) { c[lti.ClaimDeploymentID] = "other" }, claim: "deployment_id"},
		{name: "data not echoed", mut: func(c map[string]any) { delete(c, ClaimDeepLinkingData) }, claim: "data"},
		{name: "data changed", mut: func(c map[string]any) { c[ClaimDeepLinkingData] = `{"ltitest_launch":"L2"}` }, claim: "data"},
		{name: "data re-encoded as an object", mut: func(c map[string]any) { c[ClaimDeepLinkingData] = map[string]any{"ltitest_launch": "L1"} }, claim: "data"},
		{name: "msg not a string", mut: func(c map[string]any) { c[claimDLMsg] = 1 }, claim: claimDLMsg},
		{name: "content_items an object", mut: func(c map[string]any) { c[ClaimContentItems] = map[string]any{} }, claim: "content_items"},
		{name: "item without type", mut: func(c map[string]any) { c[ClaimContentItems] = []any{map[string]any{"url": "https://x.example"}} }, claim: "content_items"},
		{name: "item a string", mut: func(c map[string]any) { c[ClaimContentItems] = []any{"ltiResourceLink"} }, claim: "content_items"},
		{name: "type not in accept_types", mut: func(c map[string]any) {
			c[ClaimContentItems] = []any{map[string]any{"type": "file", "url": "https://x.example/a.pdf"}}
		}, claim: "content_items"},
		{name: "presentation not accepted", mut: func(c map[string]any) {
			c[ClaimContentItems] = []any{map[string]any{"type": "link", "url": "https://x.example", "embed": map[string]any{"html": "x"}}}
		}, claim: "content_items"},
		{name: "two items, accept_multiple false", setup: func(f *dlFixture) {
			f.data = `{"ltitest_launch":"single"}`
			f.request(f.data, func(s map[string]any) { s["accept_multiple"] = false })
		}, mut: func(c map[string]any) {
			item := map[string]any{"type": "link", "url": "https://x.example"}
			c[ClaimContentItems] = []any{item, item}
		}, claim: "content_items"},
		{name: "lineItem, accept_lineitem false", setup: func(f *dlFixture) {
			f.data = `{"ltitest_launch":"nolineitem"}`
			f.request(f.data, func(s map[string]any) { s["accept_lineitem"] = false })
		}, claim: "content_items"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newDLFixture(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			c := f.claims()
			if tc.mut != nil {
				tc.mut(c)
			}
			status, res := f.post(t, f.sign(t, c, tc.opts...))
			var de *DeepLinkingError
			if status != http.StatusBadRequest || !errors.As(res.Err, &de) || de.Claim != tc.claim {
				t.Fatalf("%d %v; want 400 on %s", status, res.Err, tc.claim)
			}
			if len(res.Items) != 0 {
				t.Fatalf("a refused response recorded items")
			}
		})
	}
}

func TestDeepLinkingResponseVariants(t *testing.T) {
	t.Run("aud array with the issuer", func(t *testing.T) {
		f := newDLFixture(t)
		c := f.claims()
		c["aud"] = []string{f.p.Issuer()}
		if status, res := f.post(t, f.sign(t, c)); status != http.StatusOK {
			t.Fatalf("%d %v", status, res.Err)
		}
	})
	t.Run("no content_items", func(t *testing.T) {
		f := newDLFixture(t)
		c := f.claims()
		delete(c, ClaimContentItems)
		if status, res := f.post(t, f.sign(t, c)); status != http.StatusOK || len(res.Items) != 0 {
			t.Fatalf("%d %v", status, res.Err)
		}
	})
	t.Run("a request without data, a response without data", func(t *testing.T) {
		f := newDLFixture(t)
		f.request("", nil)
		c := f.claims()
		delete(c, ClaimDeepLinkingData)
		if status, res := f.post(t, f.sign(t, c)); status != http.StatusOK || res.Data != nil {
			t.Fatalf("%d %v", status, res.Err)
		}
	})
	t.Run("replay", func(t *testing.T) {
		f := newDLFixture(t)
		jwt := f.sign(t, f.claims())
		if status, res := f.post(t, jwt); status != http.StatusOK {
			t.Fatalf("%d %v", status, res.Err)
		}
		status, res := f.post(t, jwt)
		var de *DeepLinkingError
		if status != http.StatusBadRequest || !errors.As(res.Err, &de) || de.Claim != "nonce" {
			t.Fatalf("replay: %d %v", status, res.Err)
		}
	})
	t.Run("not a JWT", func(t *testing.T) {
		f := newDLFixture(t)
		status, res := f.post(t, "a.b.c")
		var de *DeepLinkingError
		if status != http.StatusBadRequest || !errors.As(res.Err, &de) || de.Claim != "JWT" || res.Claims != nil {
			t.Fatalf("%d %v", status, res.Err)
		}
	})
	t.Run("GET", func(t *testing.T) {
		f := newDLFixture(t)
		resp, err := http.Get(f.p.DeepLinkReturnURL())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || len(f.p.DeepLinkingResults()) != 0 {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
	t.Run("accepted page escapes item titles", func(t *testing.T) {
		f := newDLFixture(t)
		c := f.claims()
		c[ClaimContentItems] = []any{map[string]any{"type": "link", "url": "https://x.example", "title": "<script>alert(1)</script>"}}
		resp, err := http.PostForm(f.p.DeepLinkReturnURL(), url.Values{"JWT": {f.sign(t, c)}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "<script>") || !strings.Contains(string(body), "&lt;script&gt;") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
}

// TestDeepLinkingLaunchRecordsRequest: a deep linking launch through the
// auth endpoint is remembered with the data it sent, so its response can be
// checked.
func TestDeepLinkingLaunchRecordsRequest(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	resp, err := p.Launch(context.Background(), NewBrowser(), DeepLinking(), WithClaims(func(c map[string]any) {
		c[lti.ClaimDeepLinking].(map[string]any)["accept_multiple"] = false
	}))
	if err != nil {
		t.Fatal(err)
	}
	if res := readResult(t, resp); res.MessageType != lti.MessageDeepLinking {
		t.Fatalf("launch %+v", res)
	}
	// A plain launch records nothing.
	resp, err = p.Launch(context.Background(), NewBrowser())
	if err != nil {
		t.Fatal(err)
	}
	readResult(t, resp)

	p.mu.Lock()
	reqs := append([]dlRequest(nil), p.dl.requests...)
	p.mu.Unlock()
	if len(reqs) != 1 || reqs[0].data == nil || !strings.HasPrefix(*reqs[0].data, `{"ltitest_launch":"`) ||
		reqs[0].deploymentID != p.DeploymentID() || reqs[0].settings.AcceptMultiple == nil || *reqs[0].settings.AcceptMultiple ||
		len(reqs[0].settings.AcceptTypes) == 0 {
		t.Fatalf("recorded %+v", reqs)
	}
}

func TestSubmitDeepLinkingForm(t *testing.T) {
	f := newDLFixture(t)
	jwt := f.sign(t, f.claims())
	page := func(action string, status int) *http.Response {
		rec := httptest.NewRecorder()
		rec.WriteHeader(status)
		writeAutoSubmitForm(rec, action, []field{{"JWT", jwt}})
		resp := rec.Result()
		resp.Request = httptest.NewRequest(http.MethodPost, "https://tool.example/lti/launch", nil)
		return resp
	}
	resp, err := f.p.SubmitDeepLinkingForm(context.Background(), NewBrowser(), page(f.p.DeepLinkReturnURL(), http.StatusOK))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v", resp.StatusCode, f.p.DeepLinkingResults())
	}
	if _, err := f.p.SubmitDeepLinkingForm(context.Background(), NewBrowser(), page("https://evil.example/deep_links", http.StatusOK)); err == nil {
		t.Fatal("posted a form to another site")
	}
	if _, err := f.p.SubmitDeepLinkingForm(context.Background(), NewBrowser(), page(f.p.URL()+"/auth", http.StatusOK)); err == nil {
		t.Fatal("posted a form to another platform endpoint")
	}
	if _, err := f.p.SubmitDeepLinkingForm(context.Background(), NewBrowser(), page(f.p.DeepLinkReturnURL(), http.StatusBadRequest)); err == nil {
		t.Fatal("submitted an error page")
	}
}
