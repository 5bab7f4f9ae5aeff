package launch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

const (
	ok        = ""
	cRequest  = string(lti.CodeInvalidRequest)
	cReg      = string(lti.CodeUnknownRegistration)
	cPlatform = string(lti.CodePlatformError)
	cState    = string(lti.CodeInvalidState)
	cToken    = string(lti.CodeInvalidToken)
	cSig      = string(lti.CodeInvalidSignature)
	cExpired  = string(lti.CodeTokenExpired)
	cClaims   = string(lti.CodeInvalidClaims)
	cNonce    = string(lti.CodeInvalidNonce)
	cDep      = string(lti.CodeUnknownDeployment)
	cKeyset   = string(lti.CodeKeysetUnavailable)
	cStorage  = string(lti.CodeStorageUnavailable)
)

var statusOf = map[string]int{
	ok: 200, cRequest: 400, cReg: 400, cPlatform: 400, cState: 401, cToken: 401, cSig: 401,
	cExpired: 401, cClaims: 401, cNonce: 401, cDep: 403, cKeyset: 503, cStorage: 503,
}

// authorize runs login and auth for a new browser and returns both.
func (e *env) authorize(opts ...ltitest.LaunchOption) (*http.Client, *ltitest.AuthResponse) {
	e.t.Helper()
	b := e.browser()
	ar, err := e.platform.Authorize(context.Background(), b, opts...)
	if err != nil {
		e.t.Fatalf("authorize: %v", err)
	}
	return b, ar
}

func (e *env) post(b *http.Client, ar *ltitest.AuthResponse) outcome {
	e.t.Helper()
	resp, err := e.platform.Post(context.Background(), b, ar)
	return read(e.t, resp, err)
}

// withToken posts the auth response with its id_token replaced.
func (e *env) withToken(f func(tok string) string, opts ...ltitest.LaunchOption) outcome {
	b, ar := e.authorize(opts...)
	ar.IDToken = f(ar.IDToken)
	ar.Form.Set("id_token", ar.IDToken)
	return e.post(b, ar)
}

// login sends a login initiation request with the given parameters.
func (e *env) login(method string, params url.Values) outcome {
	e.t.Helper()
	b := e.browser()
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequest(method, e.srv.URL+"/lti/login?"+params.Encode(), nil)
	} else {
		req, _ = http.NewRequest(method, e.srv.URL+"/lti/login", strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.Do(req)
	o := read(e.t, resp, err)
	if o.status == http.StatusFound {
		o.code = ok
		o.status = 200
	}
	return o
}

func (e *env) loginParams() url.Values {
	return url.Values{
		"iss":              {e.platform.Issuer()},
		"login_hint":       {"user-1"},
		"target_link_uri":  {e.srv.URL + "/app"},
		"lti_message_hint": {`{"cmid":1}`},
		"client_id":        {e.platform.ClientID()},
	}
}

func mutateLogin(f func(e *env, v url.Values)) func(e *env) outcome {
	return func(e *env) outcome {
		v := e.loginParams()
		f(e, v)
		return e.login(http.MethodPost, v)
	}
}

func flipLastSigByte(tok string) string {
	b := []byte(tok)
	i := len(b) - 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// foreignKey is an RSA-2048 key that is not the platform's.
func foreignKey(t testing.TB, kid string) jwk.Key { return rsaJWK(t, 2048, kid) }

// adversarialCase is one case of TestAdversarialLaunches: a launch with
// opts, or the steps of do, and the error code it must end with.
type adversarialCase struct {
	name string
	opts []ltitest.LaunchOption
	env  envOpts
	do   func(e *env) outcome
	want string
}

// TestAdversarialLaunches runs every rule of the pipeline and the numbered
// cases of docs/security.md through the real handlers and the test
// platform. Each case asserts the error code and status, and that a refused
// launch never reaches the app.
func TestAdversarialLaunches(t *testing.T) {
	type tc = adversarialCase
	attackerKey := foreignKey(t, "attacker")
	cases := []tc{
		// The good launches first: they prove the harness works.
		{name: "valid resource link launch", want: ok},
		{name: "valid launch, login by GET", opts: []ltitest.LaunchOption{ltitest.WithLoginMethod(http.MethodGet)}, want: ok},
		{name: "valid deep linking launch", opts: []ltitest.LaunchOption{ltitest.DeepLinking()}, want: ok},
		{name: "login without client_id, one registration", opts: []ltitest.LaunchOption{ltitest.WithoutClientID()}, want: ok},
		{name: "anonymous launch (no sub) accepted", opts: []ltitest.LaunchOption{ltitest.Anonymous()}, want: ok},

		// 1. Login: required parameters.
		{name: "01 login without iss", do: mutateLogin(func(_ *env, v url.Values) { v.Del("iss") }), want: cRequest},
		{name: "01 login without login_hint", do: mutateLogin(func(_ *env, v url.Values) { v.Del("login_hint") }), want: cRequest},
		{name: "01 login without target_link_uri", do: mutateLogin(func(_ *env, v url.Values) { v.Del("target_link_uri") }), want: cRequest},
		{name: "01 login with a repeated iss", do: mutateLogin(func(_ *env, v url.Values) { v.Add("iss", "https://evil.example") }), want: cRequest},
		// 2. Unknown registration.
		{name: "02 unknown iss", do: mutateLogin(func(_ *env, v url.Values) { v.Set("iss", "https://unknown.example") }), want: cReg},
		{name: "02 unknown client_id", do: mutateLogin(func(_ *env, v url.Values) { v.Set("client_id", "someone-else") }), want: cReg},
		{name: "02 ambiguous issuer without client_id", do: func(e *env) outcome {
			r := e.platform.Registration()
			r.ClientID = "second-client"
			if err := e.store.AddRegistration(r); err != nil {
				e.t.Fatal(err)
			}
			v := e.loginParams()
			v.Del("client_id")
			return e.login(http.MethodPost, v)
		}, want: cReg},
		// 3. Open redirect.
		{name: "03 target_link_uri on a foreign host", do: mutateLogin(func(_ *env, v url.Values) { v.Set("target_link_uri", "https://evil.example/app") }), want: cRequest},
		{name: "03 target_link_uri javascript:", do: mutateLogin(func(_ *env, v url.Values) { v.Set("target_link_uri", "javascript:alert(1)") }), want: cRequest},
		{name: "03 target_link_uri relative", do: mutateLogin(func(_ *env, v url.Values) { v.Set("target_link_uri", "/app") }), want: cRequest},
		{name: "login by PUT", do: func(e *env) outcome { return e.login(http.MethodPut, e.loginParams()) }, want: cRequest},

		// 6–10. State.
		{name: "06 state missing", do: func(e *env) outcome {
			b, ar := e.authorize()
			ar.Form.Del("state")
			return e.post(b, ar)
		}, want: cState},
		{name: "07 no state cookie (another browser)", do: func(e *env) outcome {
			_, ar := e.authorize()
			return e.post(e.browser(), ar)
		}, want: cState},
		{name: "08 cookie does not match the posted state", do: func(e *env) outcome {
			b, ar := e.authorize()
			ar.Form.Set("state", ar.State+"x")
			return e.post(b, ar)
		}, want: cState},
		{name: "09 login CSRF: attacker's state and token from the victim's browser", do: func(e *env) outcome {
			victim, _ := e.authorize()
			_, attacker := e.authorize()
			return e.post(victim, attacker)
		}, want: cState},
		{name: "10 state reused", do: func(e *env) outcome {
			b, ar := e.authorize()
			if o := e.post(b, ar); o.code != ok {
				e.t.Fatalf("first post refused: %+v", o)
			}
			e.launched.Store(0)
			return e.post(b, ar)
		}, want: cState},
		{name: "10 state past its TTL", do: func(e *env) outcome {
			b, ar := e.authorize()
			e.clock.advance(launch.DefaultStateTTL + time.Second)
			return e.post(b, ar)
		}, want: cState},

		// 12–21. Signature and format.
		{name: "12 two segments", do: func(e *env) outcome {
			return e.withToken(func(tok string) string { return tok[:strings.LastIndexByte(tok, '.')] })
		}, want: cToken},
		{name: "12 four segments", do: func(e *env) outcome { return e.withToken(func(tok string) string { return tok + ".AAAA" }) }, want: cToken},
		{name: "12 bad base64 header", do: func(e *env) outcome { return e.withToken(func(tok string) string { return "%%%" + tok }) }, want: cToken},
		{name: "13 payload is not JSON", do: func(e *env) outcome {
			return e.withToken(func(tok string) string {
				p := strings.Split(tok, ".")
				return p[0] + ".bm90IGpzb24." + p[2]
			})
		}, want: cSig},
		{name: "13 an OIDC token that is not an LTI token", opts: []ltitest.LaunchOption{ltitest.WithClaims(func(c map[string]any) {
			for k := range c {
				if strings.HasPrefix(k, "https://purl.imsglobal.org/") {
					delete(c, k)
				}
			}
		})}, want: cClaims},
		{name: "14 alg none", opts: tokOpts(ltitest.SignNone()), want: cSig},
		{name: "15 HS256 keyed with the RSA public key", opts: tokOpts(ltitest.SignHS256WithPublicKey()), want: cSig},
		{name: "16 RS512 when only RS256 is allowed", opts: tokOpts(ltitest.SignWithAlg(jwa.RS512)), want: cSig},
		{name: "16 JWK alg RS256 but header alg RS512 (RS512 allowed)", opts: tokOpts(ltitest.SignWithAlg(jwa.RS512)),
			env: envOpts{toolOpts: []launch.Option{launch.WithAlgorithms(jwa.RS256, jwa.RS512)}}, want: cSig},
		{name: "16 PS256 with an RSA key when not allowed", opts: tokOpts(ltitest.SignWithAlg(jwa.PS256)), want: cSig},
		{name: "17 no kid", opts: tokOpts(ltitest.WithoutKID()), want: cSig},
		{name: "18 unknown kid", opts: tokOpts(ltitest.WithKID("no-such-kid")), want: cSig},
		{name: "18 foreign key with a kid the platform does not publish", opts: tokOpts(ltitest.SignWithKey(attackerKey)), want: cSig},
		{name: "19 jku header pointing at the attacker's key set", do: func(e *env) outcome {
			var hits atomic.Int64
			evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
			defer evil.Close()
			o := e.launch(tokOpts(ltitest.SignWithKey(attackerKey), ltitest.WithHeader("jku", evil.URL), ltitest.WithHeader("x5u", evil.URL))...)
			if hits.Load() != 0 {
				e.t.Errorf("the tool fetched the jku/x5u URL %d times", hits.Load())
			}
			return o
		}, want: cSig},
		{name: "19 embedded jwk header with the attacker's key", opts: tokOpts(ltitest.SignWithKey(attackerKey), ltitest.WithHeader("jwk", attackerKey)), want: cSig},
		{name: "19 kid of a real key, signed by the attacker, jwk embedded", do: func(e *env) outcome {
			k := foreignKey(e.t, e.platform.ActiveKID())
			return e.launch(tokOpts(ltitest.SignWithKey(k), ltitest.WithHeader("jwk", k))...)
		}, want: cSig},
		{name: "20 flipped signature byte", do: func(e *env) outcome { return e.withToken(flipLastSigByte) }, want: cSig},
		{name: "20 crit header", opts: tokOpts(ltitest.WithHeader("crit", []string{"exp"})), want: cSig},
		{name: "21 expired and badly signed: signature first", do: func(e *env) outcome {
			return e.withToken(flipLastSigByte, ltitest.WithClaim("exp", 1000), ltitest.WithClaim("iat", 900))
		}, want: cSig},

		// 22–26. Issuer, audience, time.
		{name: "iss differs from the registration", opts: claim("iss", "https://evil.example"), want: cClaims},
		{name: "22 aud is another client", opts: claim("aud", "another-client"), want: cClaims},
		{name: "23 aud [ours, untrusted] without azp", do: func(e *env) outcome {
			return e.launch(ltitest.WithClaim("aud", []string{e.platform.ClientID(), "untrusted"}))
		}, want: cClaims},
		{name: "23 aud [ours, untrusted] with azp = ours", do: func(e *env) outcome {
			return e.launch(ltitest.WithClaim("aud", []string{e.platform.ClientID(), "untrusted"}), ltitest.WithClaim("azp", e.platform.ClientID()))
		}, want: cClaims},
		{name: "23 aud [ours, trusted] with azp = ours", env: envOpts{toolOpts: []launch.Option{launch.WithTrustedAudiences("trusted")}}, do: func(e *env) outcome {
			return e.launch(ltitest.WithClaim("aud", []string{e.platform.ClientID(), "trusted"}), ltitest.WithClaim("azp", e.platform.ClientID()))
		}, want: ok},
		{name: "24 azp is another client", opts: claim("azp", "another-client"), want: cClaims},
		{name: "25 exp and iat in 1970", opts: []ltitest.LaunchOption{ltitest.WithClaim("exp", 1000), ltitest.WithClaim("iat", 900)}, want: cExpired},
		{name: "25 exp a minute past, beyond the skew", do: func(e *env) outcome {
			now := time.Now()
			return e.launch(ltitest.WithClaim("iat", now.Add(-3*time.Minute).Unix()), ltitest.WithClaim("exp", now.Add(-61*time.Second).Unix()))
		}, want: cExpired},
		{name: "25 exp 30 s past, within the skew", do: func(e *env) outcome {
			now := time.Now()
			return e.launch(ltitest.WithClaim("iat", now.Add(-time.Minute).Unix()), ltitest.WithClaim("exp", now.Add(-30*time.Second).Unix()))
		}, want: ok},
		{name: "26 iat beyond the skew in the future", opts: claim("iat", time.Now().Add(5*time.Minute).Unix()), want: cExpired},
		{name: "token older than the maximum age", opts: []ltitest.LaunchOption{ltitest.WithClaim("iat", time.Now().Add(-time.Hour).Unix()), ltitest.WithClaim("exp", time.Now().Add(time.Hour).Unix())}, want: cExpired},
		{name: "exp missing", opts: []ltitest.LaunchOption{ltitest.WithoutClaim("exp")}, want: cClaims},
		{name: "exp a string", opts: claim("exp", "tomorrow"), want: cClaims},

		// 27–30. Nonce and replay.
		{name: "27 nonce missing", opts: []ltitest.LaunchOption{ltitest.WithoutClaim("nonce")}, want: cNonce},
		{name: "28 a nonce the tool never issued", opts: claim("nonce", "never-issued"), want: cNonce},
		{name: "29 nonce of another login", do: func(e *env) outcome {
			_, other := e.authorize()
			_, otherClaims, _ := ltitest.DecodeUnverified(other.IDToken)
			b := e.browser()
			ar, err := e.platform.Authorize(context.Background(), b, ltitest.WithClaim("nonce", otherClaims["nonce"]))
			if err != nil {
				e.t.Fatal(err)
			}
			return e.post(b, ar)
		}, want: cNonce},
		{name: "30 the same valid POST twice", do: func(e *env) outcome {
			b, ar := e.authorize()
			if o := e.post(b, ar); o.code != ok {
				e.t.Fatalf("first post refused: %+v", o)
			}
			e.launched.Store(0)
			return e.post(b, ar)
		}, want: cState},
		{name: "30 a replayed id_token with a fresh state of the same browser", do: func(e *env) outcome {
			b, first := e.authorize()
			if o := e.post(b, first); o.code != ok {
				e.t.Fatalf("first post refused: %+v", o)
			}
			e.launched.Store(0)
			ar, err := e.platform.Authorize(context.Background(), b)
			if err != nil {
				e.t.Fatal(err)
			}
			ar.Form.Set("id_token", first.IDToken)
			return e.post(b, ar)
		}, want: cNonce},

		// 33. Key set availability.
		{name: "33 key set unreachable, nothing cached", do: func(e *env) outcome {
			e.platform.SetKeySetFailure(http.StatusInternalServerError)
			return e.launch()
		}, want: cKeyset},
		{name: "33 key set unreachable, key cached within TTL", do: func(e *env) outcome {
			if o := e.launch(); o.code != ok {
				e.t.Fatalf("warm-up launch refused: %+v", o)
			}
			e.platform.SetKeySetFailure(http.StatusInternalServerError)
			return e.launch()
		}, want: ok},

		// 34–41. LTI claims.
		{name: "34 version 11.3", opts: claim(lti.ClaimVersion, "11.3"), want: cClaims},
		{name: "34 version 1.3", opts: claim(lti.ClaimVersion, "1.3"), want: cClaims},
		{name: "34 version missing", opts: noClaim(lti.ClaimVersion), want: cClaims},
		{name: "35 message_type missing", opts: noClaim(lti.ClaimMessageType), want: cClaims},
		{name: "35 message_type unsupported", opts: claim(lti.ClaimMessageType, "LtiStartProctoring"), want: cClaims},
		{name: "35 message_type allowed by option", opts: claim(lti.ClaimMessageType, "LtiStartProctoring"),
			env: envOpts{toolOpts: []launch.Option{launch.WithMessageTypes("LtiStartProctoring")}}, want: ok},
		{name: "36 roles missing", opts: noClaim(lti.ClaimRoles), want: cClaims},
		{name: "36 roles a string", opts: claim(lti.ClaimRoles, lti.RoleContextInstructor), want: cClaims},
		{name: "36 roles [\"\"] accepted", opts: claim(lti.ClaimRoles, []string{""}), want: ok},
		{name: "36 roles short name accepted", opts: claim(lti.ClaimRoles, []string{"Learner"}), want: ok},
		{name: "36 unknown role URI accepted", opts: claim(lti.ClaimRoles, []string{"http://example.com/role#Wizard"}), want: ok},
		{name: "36 empty roles accepted", opts: claim(lti.ClaimRoles, []string{}), want: ok},
		{name: "37 sub empty", opts: claim("sub", ""), want: cClaims},
		{name: "37 sub null", opts: claim("sub", nil), want: cClaims},
		{name: "launch_presentation height as a string is tolerated", opts: claim(lti.ClaimLaunchPresentation, map[string]any{"height": "100%"}), want: ok},
		{name: "37 sub over 255 characters", opts: claim("sub", strings.Repeat("s", 256)), want: cClaims},
		{name: "38 deployment_id missing", opts: noClaim(lti.ClaimDeploymentID), want: cClaims},
		{name: "38 deployment_id over 255", opts: claim(lti.ClaimDeploymentID, strings.Repeat("d", 256)), want: cClaims},
		{name: "38 deployment_id not registered", opts: []ltitest.LaunchOption{ltitest.WithClaim(lti.ClaimDeploymentID, "other-deployment"),
			ltitest.WithLoginParams(func(v url.Values) { v.Del("lti_deployment_id") })}, want: cDep},
		{name: "38 deployment_id differs only in case", opts: []ltitest.LaunchOption{ltitest.WithClaim(lti.ClaimDeploymentID, strings.ToUpper(ltitest.DefaultDeploymentID)),
			ltitest.WithLoginParams(func(v url.Values) { v.Del("lti_deployment_id") })}, want: cDep},
		{name: "38 deployment_id differs from the login's lti_deployment_id", opts: claim(lti.ClaimDeploymentID, "other-deployment"), want: cClaims},
		{name: "39 resource_link missing", opts: noClaim(lti.ClaimResourceLink), want: cClaims},
		{name: "39 resource_link with an empty id", opts: claim(lti.ClaimResourceLink, map[string]any{"id": ""}), want: cClaims},
		{name: "40 no context, no personal data", opts: []ltitest.LaunchOption{ltitest.WithoutClaim(lti.ClaimContext), ltitest.WithoutClaim("name"),
			ltitest.WithoutClaim("email"), ltitest.WithoutClaim("given_name"), ltitest.WithoutClaim("family_name")}, want: ok},
		{name: "40 email only", opts: []ltitest.LaunchOption{ltitest.WithoutClaim("name"), ltitest.WithoutClaim("given_name"), ltitest.WithoutClaim("family_name")}, want: ok},
		{name: "41 target_link_uri claim differs from the login's", opts: claim(lti.ClaimTargetLinkURI, "https://evil.example/app"), want: cClaims},
		{name: "context claim of the wrong type", opts: claim(lti.ClaimContext, "course-1"), want: cClaims},
		{name: "vendor claims survive", opts: claim("https://canvas.instructure.com/lti/extra", map[string]any{"x": 1}), want: ok},

		// 42. Deep linking.
		{name: "42 deep linking without settings", opts: []ltitest.LaunchOption{ltitest.DeepLinking(), ltitest.WithoutClaim(lti.ClaimDeepLinking)}, want: cClaims},
		{name: "42 deep linking without a return URL", opts: []ltitest.LaunchOption{ltitest.DeepLinking(), ltitest.WithClaims(func(c map[string]any) {
			delete(c[lti.ClaimDeepLinking].(map[string]any), "deep_link_return_url")
		})}, want: cClaims},
		{name: "42 deep linking with a javascript: return URL", opts: []ltitest.LaunchOption{ltitest.DeepLinking(), ltitest.WithClaims(func(c map[string]any) {
			c[lti.ClaimDeepLinking].(map[string]any)["deep_link_return_url"] = "javascript:alert(1)"
		})}, want: cClaims},
		{name: "submission review without for_user", opts: claim(lti.ClaimMessageType, lti.MessageSubmissionReview), want: cClaims},

		// Platform error response.
		{name: "platform answers with an error", opts: []ltitest.LaunchOption{ltitest.WithPlatformError("login_required", "<script>x</script>")}, want: cPlatform},

		// 48–49. HTTP.
		{name: "48 GET on the launch endpoint", do: func(e *env) outcome {
			resp, err := e.browser().Get(e.srv.URL + "/lti/launch")
			return read(e.t, resp, err)
		}, want: cRequest},
		{name: "48 id_token in the query", do: func(e *env) outcome {
			b, ar := e.authorize()
			ar.Action += "?" + url.Values{"id_token": {ar.IDToken}, "state": {ar.State}}.Encode()
			return e.post(b, ar)
		}, want: cRequest},
		{name: "49 body over the limit", do: func(e *env) outcome {
			b, ar := e.authorize()
			ar.Form.Set("padding", strings.Repeat("x", launch.DefaultMaxBodyBytes))
			return e.post(b, ar)
		}, want: cRequest},
		{name: "49 a 1 MB token of dots", do: func(e *env) outcome {
			return e.withToken(func(string) string { return strings.Repeat(".", 1<<20) })
		}, want: cRequest},
		{name: "launch post that is not a form", do: func(e *env) outcome {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/lti/launch", strings.NewReader(`{"id_token":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := e.browser().Do(req)
			return read(e.t, resp, err)
		}, want: cRequest},
	}
	cases = append(cases, storageCases()...)
	cases = append(cases, hardeningCases()...)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, c.env)
			var o outcome
			if c.do != nil {
				o = c.do(e)
			} else {
				o = e.launch(c.opts...)
			}
			if o.code != c.want || o.status != statusOf[c.want] {
				t.Fatalf("got status %d code %q, want %d %q", o.status, o.code, statusOf[c.want], c.want)
			}
			if c.want != ok && (o.result.MessageType != "" || e.launched.Load() != 0) {
				t.Fatalf("a refused launch reached the app: %+v", o.result)
			}
			if c.want == ok && (o.result.MessageType == "" || e.launched.Load() == 0) {
				t.Fatalf("an accepted launch did not reach the app: %+v", o)
			}
		})
	}
}

func tokOpts(o ...ltitest.TokenOption) []ltitest.LaunchOption {
	return []ltitest.LaunchOption{ltitest.WithTokenOptions(o...)}
}

func claim(name string, v any) []ltitest.LaunchOption {
	return []ltitest.LaunchOption{ltitest.WithClaim(name, v)}
}

func noClaim(name string) []ltitest.LaunchOption {
	return []ltitest.LaunchOption{ltitest.WithoutClaim(name)}
}
