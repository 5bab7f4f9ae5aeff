package ltitest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ltikit/ltikit/lti"
)

func TestLaunchRoundTrip(t *testing.T) {
	tool, p := newToolAndPlatform(t, Config{})
	resp, err := p.Launch(t.Context(), NewBrowser())
	if err != nil {
		t.Fatal(err)
	}
	res := readResult(t, resp)
	if res.Subject == nil || *res.Subject != DefaultInstructor.Sub || res.Name != DefaultInstructor.Name ||
		res.MessageType != lti.MessageResourceLink || !reflect.DeepEqual(res.Roles, []string{RoleInstructor}) ||
		res.Custom["course_ctx"] != "42" {
		t.Fatalf("tool saw %+v", res)
	}

	// The login initiation was a POST form with every parameter, like Moodle's.
	tool.mu.Lock()
	login := tool.logins[0]
	tool.mu.Unlock()
	want := map[string]string{
		"iss":               p.Issuer(),
		"login_hint":        DefaultInstructor.Sub,
		"target_link_uri":   tool.srv.URL + toolLaunchPath,
		"client_id":         DefaultClientID,
		"lti_deployment_id": DefaultDeploymentID,
	}
	for k, v := range want {
		if login.Get(k) != v {
			t.Errorf("login %s = %q, want %q", k, login.Get(k), v)
		}
	}
	if h := login.Get("lti_message_hint"); !strings.HasPrefix(h, `{"cmid":1,"launchid":"ltitest`) {
		t.Errorf("lti_message_hint = %q", h)
	}
	if p.KeySetRequests() != 1 {
		t.Errorf("KeySetRequests = %d", p.KeySetRequests())
	}
}

func TestLaunchOptions(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{ClientID: "client-x", DeploymentID: "dep-x"})
	tests := []struct {
		name   string
		opts   []LaunchOption
		check  func(t *testing.T, ar *AuthResponse, c map[string]any)
		status int // the tool's answer; 0 means 200
	}{
		{"learner", []LaunchOption{AsLearner()}, func(t *testing.T, ar *AuthResponse, c map[string]any) {
			if c["sub"] != DefaultLearner.Sub || c["name"] != DefaultLearner.Name || !reflect.DeepEqual(c[lti.ClaimRoles], []any{RoleLearner}) {
				t.Errorf("claims %v", c)
			}
			if ar.Login.Get("login_hint") != DefaultLearner.Sub {
				t.Errorf("login_hint %q", ar.Login.Get("login_hint"))
			}
		}, 0},
		{"user", []LaunchOption{AsLearner(), WithUser("u-9", "Ada Lovelace", "")}, func(t *testing.T, _ *AuthResponse, c map[string]any) {
			if c["sub"] != "u-9" || c["given_name"] != "Ada" || c["family_name"] != "Lovelace" || c["email"] != nil {
				t.Errorf("claims %v", c)
			}
		}, 0},
		{"anonymous", []LaunchOption{Anonymous()}, func(t *testing.T, ar *AuthResponse, c map[string]any) {
			for _, k := range []string{"sub", "name", "given_name", "family_name", "email"} {
				if _, ok := c[k]; ok {
					t.Errorf("anonymous launch has %s", k)
				}
			}
			if ar.Login.Get("login_hint") == "" {
				t.Error("no login_hint")
			}
		}, 0},
		{"deep linking", []LaunchOption{DeepLinking()}, func(t *testing.T, _ *AuthResponse, c map[string]any) {
			dl, _ := c[lti.ClaimDeepLinking].(map[string]any)
			if c[lti.ClaimMessageType] != lti.MessageDeepLinking || c[lti.ClaimResourceLink] != nil || dl == nil ||
				dl["deep_link_return_url"] != p.DeepLinkReturnURL() || dl["accept_types"] == nil ||
				dl["accept_presentation_document_targets"] == nil || dl["data"] == "" {
				t.Errorf("claims %v", c)
			}
		}, 0},
		{"claims", []LaunchOption{
			WithClaim(lti.ClaimCustom, map[string]any{"a": "b"}),
			WithoutClaim(lti.ClaimContext),
			WithClaims(func(c map[string]any) { c["aud"] = []string{"client-x", "other"}; c["azp"] = "client-x" }),
		}, func(t *testing.T, _ *AuthResponse, c map[string]any) {
			if !reflect.DeepEqual(c[lti.ClaimCustom], map[string]any{"a": "b"}) || c[lti.ClaimContext] != nil ||
				!reflect.DeepEqual(c["aud"], []any{"client-x", "other"}) || c["azp"] != "client-x" {
				t.Errorf("claims %v", c)
			}
		}, 0},
		{"target link and deployment", []LaunchOption{WithTargetLinkURI("https://tool.example/x"), WithDeploymentID("dep-2")}, func(t *testing.T, ar *AuthResponse, c map[string]any) {
			if c[lti.ClaimTargetLinkURI] != "https://tool.example/x" || ar.Login.Get("target_link_uri") != "https://tool.example/x" ||
				c[lti.ClaimDeploymentID] != "dep-2" || ar.Login.Get("lti_deployment_id") != "dep-2" {
				t.Errorf("claims %v, login %v", c, ar.Login)
			}
		}, 0},
		{"GET login without client_id", []LaunchOption{WithLoginMethod("get"), WithoutClientID()}, func(t *testing.T, ar *AuthResponse, c map[string]any) {
			if _, ok := ar.Login["client_id"]; ok || c["aud"] != "client-x" || ar.AuthRequest.Get("client_id") != "client-x" {
				t.Errorf("login %v, aud %v", ar.Login, c["aud"])
			}
		}, 0},
		{"login params", []LaunchOption{WithLoginParams(func(v url.Values) { v.Set("extra", "1"); v.Del("lti_deployment_id") })}, func(t *testing.T, ar *AuthResponse, c map[string]any) {
			if ar.Login.Get("extra") != "1" || ar.Login.Has("lti_deployment_id") {
				t.Errorf("login %v", ar.Login)
			}
		}, 0},
		{"token options", []LaunchOption{WithTokenOptions(WithKID("k-1"), SignWithAlg("RS384"))}, func(t *testing.T, ar *AuthResponse, c map[string]any) {
			h, _, _ := DecodeUnverified(ar.IDToken)
			if h["kid"] != "k-1" || h["alg"] != "RS384" {
				t.Errorf("header %v", h)
			}
		}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			browser := NewBrowser()
			ar, err := p.Authorize(t.Context(), browser, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ar.Claims()
			if err != nil {
				t.Fatal(err)
			}
			if c["nonce"] != ar.AuthRequest.Get("nonce") || ar.State != ar.AuthRequest.Get("state") || ar.State == "" {
				t.Errorf("nonce/state not echoed: %v / %v", c["nonce"], ar.State)
			}
			tc.check(t, ar, c)
			resp, err := p.Post(t.Context(), browser, ar)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.status
			if want == 0 {
				want = http.StatusOK
			}
			if status, body := statusAndBody(t, resp); status != want {
				t.Fatalf("tool: %d %s, want %d", status, body, want)
			}
		})
	}
}

func TestLaunchNegativeTokens(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	for name, opts := range map[string][]LaunchOption{
		"no nonce":       {WithoutClaim("nonce")},
		"wrong nonce":    {WithClaim("nonce", "forged")},
		"alg none":       {WithTokenOptions(SignNone())},
		"HS256 confused": {WithTokenOptions(SignHS256WithPublicKey())},
		"corrupt":        {WithTokenOptions(CorruptSignature())},
		"other audience": {WithClaim("aud", "someone-else")},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := p.Launch(t.Context(), NewBrowser(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if status, body := statusAndBody(t, resp); status != http.StatusUnauthorized {
				t.Fatalf("tool accepted: %d %s", status, body)
			}
		})
	}
}

func TestPlatformError(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	ar, err := p.Authorize(t.Context(), NewBrowser(), WithPlatformError("login_required", "the user is not logged in"))
	if err != nil {
		t.Fatal(err)
	}
	if ar.IDToken != "" || ar.Form.Get("error") != "login_required" || ar.Form.Get("error_description") != "the user is not logged in" || ar.Form.Get("state") == "" {
		t.Fatalf("form %v", ar.Form)
	}
	resp, err := p.Launch(t.Context(), NewBrowser(), WithPlatformError("access_denied", "no"))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := statusAndBody(t, resp); status != http.StatusBadRequest || !strings.Contains(body, "platform_error: access_denied") {
		t.Fatalf("tool: %d %s", status, body)
	}
}

func TestReplayAndBrowserSwap(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	alice, mallory := NewBrowser(), NewBrowser()
	ar, err := p.Authorize(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	// Another browser (no state cookie) is refused.
	resp, err := p.Post(t.Context(), mallory, ar)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := statusAndBody(t, resp); status != http.StatusUnauthorized {
		t.Fatalf("swapped browser: %d", status)
	}
	// A client without a jar can post (it is the tool that must refuse).
	resp, err = p.Post(t.Context(), &http.Client{}, ar)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := statusAndBody(t, resp); status != http.StatusUnauthorized {
		t.Fatalf("no cookies: %d", status)
	}
	// The right browser succeeds once.
	for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
		resp, err := p.Post(t.Context(), alice, ar)
		if err != nil {
			t.Fatal(err)
		}
		if status, body := statusAndBody(t, resp); status != want {
			t.Fatalf("post %d: %d %s", i+1, status, body)
		}
	}
}

func TestAuthRejectsBadAuthRequests(t *testing.T) {
	tool, p := newToolAndPlatform(t, Config{})
	tests := []struct {
		name   string
		mutate func(url.Values)
		param  string
		code   string
	}{
		{"wrong redirect_uri", func(v url.Values) { v.Set("redirect_uri", tool.srv.URL+"/elsewhere") }, "redirect_uri", "invalid_request"},
		{"missing redirect_uri", func(v url.Values) { v.Del("redirect_uri") }, "redirect_uri", "invalid_request"},
		{"missing nonce", func(v url.Values) { v.Del("nonce") }, "nonce", "invalid_request"},
		{"empty state", func(v url.Values) { v.Set("state", "") }, "state", "invalid_request"},
		{"wrong response_mode", func(v url.Values) { v.Set("response_mode", "query") }, "response_mode", "invalid_request"},
		{"wrong response_type", func(v url.Values) { v.Set("response_type", "code") }, "response_type", "unsupported_response_type"},
		{"wrong scope", func(v url.Values) { v.Set("scope", "openid profile") }, "scope", "invalid_scope"},
		{"missing prompt", func(v url.Values) { v.Del("prompt") }, "prompt", "invalid_request"},
		{"wrong client_id", func(v url.Values) { v.Set("client_id", "other") }, "client_id", "unauthorized_client"},
		{"missing login_hint", func(v url.Values) { v.Del("login_hint") }, "login_hint", "invalid_request"},
		{"changed login_hint", func(v url.Values) { v.Set("login_hint", "9999") }, "login_hint", "invalid_request"},
		{"changed lti_message_hint", func(v url.Values) { v.Set("lti_message_hint", v.Get("lti_message_hint")+" ") }, "lti_message_hint", "invalid_request"},
		{"dropped lti_message_hint", func(v url.Values) { v.Del("lti_message_hint") }, "lti_message_hint", "invalid_request"},
		{"repeated nonce", func(v url.Values) { v.Add("nonce", "x") }, "nonce", "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tool.setAuth(tc.mutate, false)
			defer tool.setAuth(nil, false)
			_, err := p.Launch(t.Context(), NewBrowser())
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *AuthError", err)
			}
			if ae.StatusCode != http.StatusBadRequest || ae.Parameter != tc.param || ae.ErrorCode != tc.code || ae.Description == "" {
				t.Fatalf("AuthError %+v, want parameter %s code %s", ae, tc.param, tc.code)
			}
			if ae.AuthRequest == nil {
				t.Fatal("no AuthRequest")
			}
		})
	}
}

func TestAuthAnswersOnce(t *testing.T) {
	tool, p := newToolAndPlatform(t, Config{})
	authURL := make(chan string, 1)
	tool.setAuth(func(v url.Values) { authURL <- p.AuthEndpoint() + "?" + v.Encode() }, false)
	if _, err := p.Authorize(t.Context(), NewBrowser()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(<-authURL)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := statusAndBody(t, resp); status != http.StatusBadRequest || !strings.Contains(body, "lti_message_hint") {
		t.Fatalf("replayed auth request: %d %s", status, body)
	}
}

func TestAuthRequestByForm(t *testing.T) {
	tool, p := newToolAndPlatform(t, Config{})
	tool.setAuth(nil, true)
	resp, err := p.Launch(t.Context(), NewBrowser(), AsLearner())
	if err != nil {
		t.Fatal(err)
	}
	if res := readResult(t, resp); res.Subject == nil || *res.Subject != DefaultLearner.Sub {
		t.Fatalf("tool saw %+v", res)
	}
}

func TestLoginWithoutLTIMessageHint(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	resp, err := p.Launch(t.Context(), NewBrowser(), WithLoginParams(func(v url.Values) { v.Del("lti_message_hint") }))
	if err != nil {
		t.Fatal(err)
	}
	readResult(t, resp)
}

func TestLoginErrors(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	_, err := p.Launch(t.Context(), NewBrowser(), WithLoginParams(func(v url.Values) { v.Del("iss") }))
	var le *LoginError
	if !errors.As(err, &le) || le.StatusCode != http.StatusBadRequest || !strings.Contains(le.Body, "invalid login initiation") || le.Login.Has("iss") {
		t.Fatalf("err = %v (%+v)", err, le)
	}

	// A tool that redirects somewhere else.
	evil := httptest.NewServer(http.RedirectHandler("https://attacker.example/auth", http.StatusFound))
	defer evil.Close()
	p2, err := NewPlatform(Config{ToolLoginURL: evil.URL, ToolRedirectURIs: []string{evil.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	_, err = p2.Launch(t.Context(), NewBrowser())
	if !errors.As(err, &le) || le.Location != "https://attacker.example/auth" {
		t.Fatalf("err = %v", err)
	}
}

func TestLaunchNeedsACookieJar(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	if _, err := p.Launch(t.Context(), &http.Client{}); !errors.Is(err, ErrNoCookieJar) {
		t.Fatalf("err = %v", err)
	}
	if _, err := p.Launch(t.Context(), nil); err == nil {
		t.Fatal("nil client: no error")
	}
	if _, err := p.Launch(t.Context(), NewBrowser(), WithLoginMethod("PUT")); err == nil {
		t.Fatal("PUT login: no error")
	}
	p2, _ := NewPlatform(Config{})
	defer p2.Close()
	if _, err := p2.Launch(t.Context(), NewBrowser()); err == nil || !strings.Contains(err.Error(), "ToolLoginURL") {
		t.Fatalf("no login URL: %v", err)
	}
}

func TestLaunchContextCancelled(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Launch(ctx, NewBrowser()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestConcurrentLaunches(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			opts := []LaunchOption{AsLearner()}
			if i%2 == 0 {
				opts = []LaunchOption{WithLoginMethod("GET")}
			}
			if i == 5 {
				p.RotateKey()
			}
			resp, err := p.Launch(context.Background(), NewBrowser(), opts...)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- errors.New(resp.Status)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
