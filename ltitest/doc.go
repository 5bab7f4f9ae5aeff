// Package ltitest is an LTI 1.3 platform (an LMS) for tests, in the spirit
// of net/http/httptest: a real HTTP server that launches a tool the way
// Moodle does, so a tool's tests exercise its real login and launch
// handlers, cookies included, and can break every step on purpose.
//
// A [Platform] publishes an RSA key set (RS256, rotatable, with injectable
// failures), answers OIDC authorization requests and checks them as the
// 1EdTech Security Framework §5.1.1.2 requires, signs id_tokens shaped like
// Moodle 4.5's, and drives launches from Go with an http.Client standing in
// for the browser:
//
//	login initiation    platform ──POST form──▶ tool login URL
//	auth request        tool ──302──▶ platform /auth (the browser follows)
//	authentication      platform /auth ──auto-submitting form──▶
//	launch              browser ──POST id_token, state──▶ tool redirect URI
//
// [Platform.Launch] runs all of it; [Platform.Authorize] stops before the
// final post and [Platform.Post] sends it, so a test can replay a post,
// tamper with the token, or post from another browser. [LaunchOption]s
// change the user, role, message type, claims, login parameters and the
// token's signature (see [TokenOption]); [Platform.MintIDToken] signs any
// claim set directly for tests that skip the login.
//
// # Endpoints
//
// The platform serves, below its base URL (which is also its issuer):
// /jwks (the key set), /auth (the authorization endpoint), /token (the
// OAuth 2 token endpoint, see below), /deep_links (verifies and records
// deep linking responses, see below), and
// /launch plus an index page at / to start launches from a real browser.
// [NewPlatform] starts it on its own local test server; [NewHandler]
// returns it as an http.Handler to mount under a path of another server.
//
// # Deep linking
//
// A deep linking launch ([DeepLinking]) is remembered with what the
// platform sent: its data, deployment_id and settings. /deep_links
// verifies a posted response as a platform must: RS256 with the key of its
// kid in the tool's key set (the one the token endpoint uses), iss =
// client_id, aud = issuer, exp and iat, a nonce never seen before,
// message_type and version, the data and deployment_id of a request the
// platform sent, and items within that request's accept_types,
// accept_multiple, accept_lineitem and presentation targets. It answers
// 400 with the reason otherwise, and records every outcome for
// [Platform.DeepLinkingResults]. [Platform.SubmitDeepLinkingForm] posts a
// tool's auto-submitting response page as the browser would.
//
// # Service tokens
//
// The token endpoint runs the client credentials grant with a JWT client
// assertion as a platform must: it verifies the assertion against the
// tool's key set (Config.ToolJWKSURL, fetched per request, or a static set
// from [Platform.SetToolKeySet]), requires RS256 and a kid, iss = sub =
// client_id, aud = the token endpoint URL, an exp in the future and at
// most [MaxAssertionLifetime] ahead, and a jti never seen before, and
// answers refusals as RFC 6749 §5.2 JSON naming the parameter. It issues
// random bearer tokens (expires_in from [Platform.SetTokenLifetime]) that
// grant the requested scopes; service endpoints check them with
// [Platform.ValidateBearer]. [Platform.TokenRequests] and
// [Platform.TokenLog] show what tools sent; [Platform.SetTokenFailure],
// [Platform.RevokeTokens] and [Platform.SetTokenClock] are for negative
// tests.
//
// # Testing a tool
//
// The platform must know the tool's URLs and the tool must know the
// platform's registration, so start the tool's server first, with a mux
// that gets its handlers afterwards:
//
//	func TestLaunch(t *testing.T) {
//		mux := http.NewServeMux()
//		tool := httptest.NewServer(mux)
//		defer tool.Close()
//
//		platform, err := ltitest.NewPlatform(ltitest.Config{
//			ToolLoginURL:     tool.URL + "/lti/login",
//			ToolRedirectURIs: []string{tool.URL + "/lti/launch"},
//		})
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer platform.Close()
//
//		// Register the platform with the tool under test.
//		app := myapp.New(platform.Registration(), platform.Deployment())
//		mux.Handle("/lti/login", app.LoginHandler())
//		mux.Handle("/lti/launch", app.LaunchHandler())
//
//		// A learner launch: the tool's answer to the final form post.
//		resp, err := platform.Launch(t.Context(), ltitest.NewBrowser(), ltitest.AsLearner())
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer resp.Body.Close()
//		if resp.StatusCode != http.StatusOK {
//			t.Fatalf("launch: %s", resp.Status)
//		}
//
//		// A forged token must be refused.
//		resp, err = platform.Launch(t.Context(), ltitest.NewBrowser(),
//			ltitest.WithTokenOptions(ltitest.SignHS256WithPublicKey()))
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer resp.Body.Close()
//		if resp.StatusCode != http.StatusUnauthorized {
//			t.Fatalf("algorithm confusion: %s", resp.Status)
//		}
//
//		// A replayed post must be refused.
//		browser := ltitest.NewBrowser()
//		ar, err := platform.Authorize(t.Context(), browser)
//		if err != nil {
//			t.Fatal(err)
//		}
//		for i := range 2 {
//			resp, err := platform.Post(t.Context(), browser, ar)
//			if err != nil {
//				t.Fatal(err)
//			}
//			resp.Body.Close()
//			if (i == 0) != (resp.StatusCode == http.StatusOK) {
//				t.Fatalf("post %d: %s", i+1, resp.Status)
//			}
//		}
//	}
//
// When the tool sends a wrong auth request (say, an unregistered
// redirect_uri or no nonce), Launch and Authorize fail with an
// *[AuthError] naming the parameter; when it does not redirect to the auth
// endpoint at all (it refused the login initiation), with a *[LoginError]
// carrying its status and body.
//
// # Browsers and cookies
//
// The client must have a cookie jar ([NewBrowser] makes one): the tool's
// state cookie set at login must come back with the final post. Like
// browsers, Go's cookie jar sends Secure cookies to loopback hosts over
// plain http, so a tool's "SameSite=None; Secure" cookie works against
// httptest servers. The jar ignores SameSite, and two servers on 127.0.0.1
// are the same site anyway: assert the Set-Cookie attributes directly.
//
// Form posts carry an Origin header with the platform's origin, as a
// browser's cross-origin form submission does.
package ltitest
