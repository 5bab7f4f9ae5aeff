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
// /launch plus an index page at / to start launches from a real browser,
// /frame and /storage for framed launches with platform storage, and
// /.well-known/openid-configuration, /register and /register-tool for LTI
// Dynamic Registration (see below). [NewPlatform] starts it on its own local test server;
// [NewHandler] returns it as an http.Handler to mount under a path of
// another server.
//
// # Framed launches and platform storage
//
// LMSs such as Canvas and Moodle show a tool in an iframe of a course
// page, where browsers that block third-party cookies drop the tool's
// state cookie. The 1EdTech LTI Client Side postMessages and Platform
// Storage specs let the tool keep its state in the platform's window
// instead. [WithStorageTarget] sends lti_storage_target in the login
// initiation, and the auth endpoint repeats it in its form post beside
// id_token and state unless [WithoutStorageTargetAtLaunch] (Blackboard
// Learn's behaviour); GET /launch takes them as storage_target=<name> and
// storage_target_at_launch=0.
//
// GET /frame is such a course page: it runs /launch (with its own query)
// in an iframe named [ToolFrameName] and answers the tool's messages in
// the browser. With storage=parent (the default) the page itself answers
// and the target is [StorageTargetParent]; with storage=frame a hidden
// frame named [StorageFrameName] (GET /storage) answers storage messages;
// storage=off sends no target and answers nothing. The messages, posted
// by the tool with targetOrigin the platform's origin, and the answers,
// posted back to event.source with targetOrigin event.origin:
//
//	{subject: "lti.capabilities", message_id}
//	  → {subject: "lti.capabilities.response", message_id, supported_messages:
//	     [{subject: "lti.capabilities"}, {subject: "lti.put_data", frame},
//	      {subject: "lti.get_data", frame}]}   (frame: "_parent" or "lti_storage")
//	{subject: "lti.put_data", message_id, key, value}
//	  → {subject: "lti.put_data.response", message_id, key, value}
//	{subject: "lti.get_data", message_id, key}
//	  → {subject: "lti.get_data.response", message_id, key, value}
//
// Errors are {subject: "<subject>.response", message_id, key, error: {code,
// message}} with code "unsupported_subject" (an unknown subject, or storage
// messages sent to the framing page of storage=frame) or "bad_request" (an
// unknown key, a key that is not a non-empty string, a value that is not a
// string, a message_id that is not a string, a key over
// [MaxStorageKeyBytes] or a value over [MaxStorageValueBytes] in UTF-8, a
// key beyond [MaxStorageKeys] per origin). Messages without a message_id,
// from an opaque origin, or whose subject ends in ".response" are ignored.
// Data lives in the answering window's memory, per tool origin: one origin
// can never read or overwrite another's, and it is gone with the page.
//
// The forger parameter of /frame adds an iframe named [ForgerFrameName]
// with the given URL; serve [ForgerHandler] from a third origin there to
// check that a tool ignores storage answers forged by another origin.
// These flows need a real browser: [Platform.Launch] runs no JavaScript.
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
// # Dynamic registration
//
// The platform is the platform side of LTI Dynamic Registration 1.0. It
// publishes its OpenID configuration at /.well-known/openid-configuration
// (issuer = base URL, every endpoint, scopes_supported with the LTI
// Advantage scopes, and an lti-platform-configuration with
// product_family_code "ltitest" whose messages_supported include
// LtiDeepLinkingRequest). Its registration endpoint, /register, takes the
// tool's configuration as RFC 7591 client metadata: it checks the bearer
// registration token (one-time, from [Platform.NewRegistrationToken];
// required with Config.RequireRegistrationToken, and checked whenever one
// is sent), validates the configuration (response and grant types,
// private_key_jwt, absolute initiate_login_uri, redirect_uris, jwks_uri and
// target_link_uri within the declared domain), answers 201 with the
// platform's ClientID and DeploymentID, and adopts the tool's login URL,
// redirect URIs, target link URI and JWKS URL, so launches afterwards go to
// them. Refusals are RFC 7591 §3.2.2 JSON (invalid_token with 401,
// invalid_client_metadata or invalid_redirect_uri with 400).
// [Platform.ToolRegistrations] records every request and its outcome.
// A registration may run while launches run: it swaps in a new
// configuration atomically. A launch keeps the login URL and
// target_link_uri it started with; the auth endpoint checks redirect_uri
// against the redirect URIs registered when the tool's auth request
// arrives, as an LMS checks the client's current registration. Launches
// started after a registration go to the adopted URLs.
//
// [Platform.RegistrationInitiationURL] appends openid_configuration and a
// fresh token to a tool's registration URL, as an LMS opens it;
// GET /register-tool?url=<tool registration URL> ([Platform.RegisterToolURL])
// does the same in an iframe of an admin page that waits for the tool's
// {subject: "org.imsglobal.lti.close"} postMessage from the tool's origin
// and then shows "registration closed".
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
