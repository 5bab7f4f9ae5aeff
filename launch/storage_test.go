package launch_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/storage"
)

// storageTarget is the lti_storage_target of the platform storage cases.
const storageTarget = "_parent"

// withStorageTarget makes the platform send lti_storage_target at login.
func withStorageTarget(target string) ltitest.LaunchOption {
	return ltitest.WithLoginParams(func(v url.Values) { v.Set("lti_storage_target", target) })
}

// storageAuthorize runs a login with lti_storage_target in a browser
// without JavaScript (the login page's no-script form goes on to the
// platform) and returns the platform's answer and the login's browser
// secret, read from the state cookie: the cookie and the platform storage
// page carry the same secret.
func (e *env) storageAuthorize(opts ...ltitest.LaunchOption) (*ltitest.AuthResponse, string) {
	e.t.Helper()
	b := e.browser()
	ar, err := e.platform.Authorize(context.Background(), b, append(opts, withStorageTarget(storageTarget))...)
	if err != nil {
		e.t.Fatalf("authorize: %v", err)
	}
	u, _ := url.Parse(e.srv.URL)
	var secret string
	for _, c := range b.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "__Host-"+launch.DefaultCookiePrefix) {
			_, secret, _ = strings.Cut(c.Value, ".")
		}
	}
	if secret == "" {
		e.t.Fatal("the login set no state cookie")
	}
	return ar, secret
}

// storagePost posts ar from a browser that sends no cookie of the tool, as
// the platform storage launch page does: the extra fields, and the Origin
// and Sec-Fetch-Site headers given ("" leaves one out).
func (e *env) storagePost(ar *ltitest.AuthResponse, extra url.Values, origin, fetchSite string) (outcome, string) {
	e.t.Helper()
	form := url.Values{}
	for k, v := range ar.Form {
		form[k] = v
	}
	for k, v := range extra {
		form[k] = v
	}
	req, _ := http.NewRequest(http.MethodPost, ar.Action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if fetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", fetchSite)
	}
	resp, err := e.browser().Do(req)
	if err != nil {
		e.t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var res launchResult
	_ = json.Unmarshal(body, &res)
	return outcome{status: resp.StatusCode, code: res.Error, result: res}, string(body)
}

// withSecret is the post of the platform storage launch page.
func withSecret(secret string) url.Values { return url.Values{"ltikit_storage_secret": {secret}} }

// cookieless posts ar without the tool's cookie and without a secret, as
// the platform posts a launch to a browser that blocks the tool's cookie,
// and checks that the answer is the platform storage launch page.
func (e *env) cookieless(ar *ltitest.AuthResponse) {
	e.t.Helper()
	o, body := e.storagePost(ar, nil, "", "")
	if o.status != http.StatusOK || o.code != "" || !strings.Contains(body, `"mode":"launch"`) ||
		!strings.Contains(body, `"targets":["`+storageTarget+`"]`) || !strings.Contains(body, e.platform.URL()) {
		e.t.Fatalf("a cookieless launch after a platform storage login: %d %q, want the storage launch page:\n%.600s", o.status, o.code, body)
	}
	if e.launched.Load() != 0 {
		e.t.Fatal("a cookieless post reached the app")
	}
}

// toolOrigin is the origin of the tool's own pages.
func (e *env) toolOrigin() string { return e.srv.URL }

// storageCases are the platform storage cases of TestAdversarialLaunches
// (LTI Client Side postMessages, Platform Storage): a browser that sends
// the tool no cookie, and a secret that must come back through the
// platform's storage, posted by the tool's own page.
func storageCases() []adversarialCase {
	genuine := func(e *env, ar *ltitest.AuthResponse, secret string) outcome {
		e.t.Helper()
		o, _ := e.storagePost(ar, withSecret(secret), e.toolOrigin(), "same-origin")
		if o.code == ok && o.result.Binding != string(launch.BindingPlatformStorage) {
			e.t.Fatalf("binding %q, want %q", o.result.Binding, launch.BindingPlatformStorage)
		}
		return o
	}
	return []adversarialCase{
		{name: "storage: launch carried by platform storage", do: func(e *env) outcome {
			ar, secret := e.storageAuthorize()
			e.cookieless(ar)
			return genuine(e, ar, secret)
		}, want: ok},
		{name: "storage: a launch with the cookie after a platform storage login", do: func(e *env) outcome {
			b := e.browser()
			ar, err := e.platform.Authorize(context.Background(), b, withStorageTarget(storageTarget))
			if err != nil {
				e.t.Fatal(err)
			}
			o := e.post(b, ar)
			if o.code == ok && o.result.Binding != string(launch.BindingCookie) {
				e.t.Fatalf("binding %q, want cookie", o.result.Binding)
			}
			return o
		}, want: ok},
		{name: "storage: cookieless post replayed consumes nothing", do: func(e *env) outcome {
			ar, secret := e.storageAuthorize()
			for range 3 {
				e.cookieless(ar)
			}
			return genuine(e, ar, secret)
		}, want: ok},
		{name: "storage: forged secret", do: func(e *env) outcome {
			ar, _ := e.storageAuthorize()
			o, _ := e.storagePost(ar, withSecret(strings.Repeat("A", 43)), e.toolOrigin(), "same-origin")
			return o
		}, want: cState},
		{name: "storage: forged secret consumes nothing", do: func(e *env) outcome {
			ar, secret := e.storageAuthorize()
			if o, _ := e.storagePost(ar, withSecret(strings.Repeat("A", 43)), e.toolOrigin(), "same-origin"); o.code != cState {
				e.t.Fatalf("forged secret: %+v", o)
			}
			return genuine(e, ar, secret)
		}, want: ok},
		{name: "storage: secret of another login", do: func(e *env) outcome {
			ar, _ := e.storageAuthorize()
			_, other := e.storageAuthorize()
			o, _ := e.storagePost(ar, withSecret(other), e.toolOrigin(), "same-origin")
			return o
		}, want: cState},
		{name: "storage: secret posted from another origin", do: func(e *env) outcome {
			ar, secret := e.storageAuthorize()
			o, _ := e.storagePost(ar, withSecret(secret), "https://evil.example", "cross-site")
			return o
		}, want: cState},
		{name: "storage: secret posted with the tool's Origin but cross-site fetch metadata", do: func(e *env) outcome {
			ar, secret := e.storageAuthorize()
			o, _ := e.storagePost(ar, withSecret(secret), e.toolOrigin(), "cross-site")
			return o
		}, want: cState},
		{name: "storage: secret posted without an Origin", do: func(e *env) outcome {
			ar, secret := e.storageAuthorize()
			o, _ := e.storagePost(ar, withSecret(secret), "", "")
			return o
		}, want: cState},
		{name: "storage: secret posted from another origin consumes nothing", do: func(e *env) outcome {
			ar, secret := e.storageAuthorize()
			if o, _ := e.storagePost(ar, withSecret(secret), "null", ""); o.code != cState {
				e.t.Fatalf("Origin null: %+v", o)
			}
			return genuine(e, ar, secret)
		}, want: ok},
		{name: "storage: secret replayed after the launch", do: func(e *env) outcome {
			ar, secret := e.storageAuthorize()
			if o := genuine(e, ar, secret); o.code != ok {
				e.t.Fatalf("first launch: %+v", o)
			}
			e.launched.Store(0)
			return genuine(e, ar, secret)
		}, want: cState},
		{name: "storage: the state's storage target altered", do: func(e *env) outcome {
			ar, secret := e.storageAuthorize()
			st, _, _ := strings.Cut(ar.State, ".")
			ar.Form.Set("state", st+".b3RoZXI") // "other"
			o, _ := e.storagePost(ar, withSecret(secret), e.toolOrigin(), "same-origin")
			return o
		}, want: cState},
		{name: "storage: the page reports the platform did not answer", do: func(e *env) outcome {
			ar, _ := e.storageAuthorize()
			o, _ := e.storagePost(ar, url.Values{"ltikit_storage_error": {"timeout"}}, e.toolOrigin(), "same-origin")
			return o
		}, want: cState},
		{name: "storage: off, a login with lti_storage_target sets the cookie alone", env: envOpts{toolOpts: []launch.Option{launch.WithPlatformStorage(false)}},
			do: func(e *env) outcome {
				ar, secret := e.storageAuthorize()
				if strings.Contains(ar.State, ".") {
					e.t.Fatalf("state %q carries a storage target with platform storage off", ar.State)
				}
				o, _ := e.storagePost(ar, withSecret(secret), e.toolOrigin(), "same-origin")
				return o
			}, want: cState},
		{name: "storage: a cookieless launch of a login without lti_storage_target", do: func(e *env) outcome {
			_, ar := e.authorize()
			o, body := e.storagePost(ar, nil, "", "")
			if !strings.Contains(body, "lti_storage_target") {
				e.t.Errorf("the refusal does not say the platform offered no platform storage: %s", body)
			}
			return o
		}, want: cState},
	}
}

// TestPlatformStorageLoginPage checks the login page of a login with
// lti_storage_target: the state cookie is set as always, the page's one
// script runs under a nonce CSP, it addresses the registration's auth
// endpoint origin, and nothing external is loaded.
func TestPlatformStorageLoginPage(t *testing.T) {
	e := newEnv(t, envOpts{})
	v := e.loginParams()
	v.Set("lti_storage_target", "post_message_forwarding")
	b := e.browser()
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := b.PostForm(e.srv.URL+"/lti/login", v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	page := string(body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, page)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	_, after, _ := strings.Cut(csp, "script-src 'nonce-")
	cspNonce, _, _ := strings.Cut(after, "'")
	if cspNonce == "" || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(page, `<script nonce="`+cspNonce+`">`) ||
		strings.Count(page, "<script") != 1 || strings.Contains(page, " src=") {
		t.Errorf("CSP %q and page: want one inline script under its nonce and nothing external:\n%s", csp, page)
	}
	if !strings.Contains(csp, "form-action "+e.platform.URL()) {
		t.Errorf("CSP %q: the no-script form must be allowed to go to the platform", csp)
	}
	if resp.Header.Get("Referrer-Policy") != "same-origin" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", resp.Header)
	}
	for _, want := range []string{`"mode":"login"`, `"origin":"` + e.platform.URL() + `"`, `"targets":["post_message_forwarding"]`,
		`"next":"` + e.platform.AuthEndpoint()} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	var cookies int
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "__Host-"+launch.DefaultCookiePrefix) && c.Partitioned && c.MaxAge > 0 {
			cookies++
			_, secret, _ := strings.Cut(c.Value, ".")
			if !strings.Contains(page, `"value":"`+secret+`"`) {
				t.Error("the page does not store the cookie's secret")
			}
		}
	}
	if cookies != 1 {
		t.Errorf("%d state cookies, want 1", cookies)
	}
}

// A launch carried by platform storage costs the writes of any launch: the
// login's PutState and one TakeState; the cookieless first post, replayed
// or not, costs none.
func TestPlatformStorageWrites(t *testing.T) {
	counting := &countingAdapter{}
	e := newEnv(t, envOpts{wrap: func(a storage.Adapter) storage.Adapter {
		counting.Adapter = a
		return carryingCounter{counting}
	}})
	ar, secret := e.storageAuthorize()
	e.cookieless(ar)
	e.cookieless(ar)
	if o, _ := e.storagePost(ar, withSecret(secret), e.toolOrigin(), "same-origin"); o.code != ok {
		t.Fatalf("launch refused: %+v", o)
	}
	if counting.putState != 1 || counting.takeState != 1 || counting.putNonce != 0 || counting.consumeNonce != 0 {
		t.Fatalf("writes: PutState %d TakeState %d PutNonce %d ConsumeNonce %d; want 1 1 0 0",
			counting.putState, counting.takeState, counting.putNonce, counting.consumeNonce)
	}
}
