// Package launch owns the LTI 1.3 launch pipeline: OIDC login initiation
// (1EdTech Security Framework §5.1.1, LTI 1.3 Core §4.1), state and nonce
// minting, id_token verification and validation (Security Framework §5.1.3,
// OpenID Connect Core §3.1.3.7, LTI 1.3 Core §5.3–5.4), deployment lookup,
// and the validated [Launch] handed to the host.
//
// It is plain net/http in two layers. [Tool.InitiateLogin] and
// [Tool.ValidateLaunch] do the work and return errors; [Tool.LoginHandler]
// and [Tool.LaunchHandler] wrap them as handlers that render errors and
// store the launch in the request context, where [FromContext] finds it.
//
// # Browsers, iframes and cookies
//
// Every login binds its state to the browser with a per-login secret: the
// state cookie (HttpOnly, Secure, SameSite=None, Partitioned, and __Host-
// over https) carries it, and the login record is stored under a digest of
// the state and the secret, so a launch that cannot present the secret
// takes nothing. A browser that keeps no cookie of a tool framed by another
// site still keeps a partitioned one; where even that is refused and the
// platform sends lti_storage_target, the secret also travels through the
// platform's storage (LTI Client Side postMessages): the login and the
// launch answer small pages that store and read it back, and
// [Tool.LaunchHandler] serves them. See docs/iframes-and-cookies.md.
//
// A launch costs at most two storage writes: one PutState at login, one
// TakeState at launch (when the state store carries the nonce in the
// state record, see nonce.Carrier), plus one registration and one
// deployment read. Once the platform key set is cached, a launch makes no
// HTTP request.
//
// # New deployments of a known platform
//
// A platform may create a new deployment_id whenever an account or a
// course installs the tool (LTI 1.3 Core §5.3.3; Canvas does). By default
// a launch naming a deployment the store does not hold is refused
// (unknown_deployment, 403). [WithDeploymentPolicy] lets the host decide
// instead: its [DeploymentPolicy] runs only after the signature, the
// claims and the nonce passed, only for a registration the store knows,
// and only when the store answered deployment.ErrNotFound.
// [RecordDeployments] is the usual policy: approve (or not) and record the
// deployment through a storage.Registrar, safely when several nodes record
// the same deployment at once. A policy that returns an error, nothing, or
// a deployment with another id refuses the launch.
//
// # Registered URLs
//
// A platform's URLs are used as registered. The login sends the browser to
// the auth endpoint with its query kept byte for byte (bare keys, encoded
// characters, order and repeats as registered) and the auth request
// parameters (OpenID Connect Core §3.1.2.1, Security Framework §5.1.1.2)
// appended after "&" (or directly after a registered "?" or "&"), so an
// endpoint such as https://lms.example/?lti-platform&auth works. A
// registered query parameter named like one of those parameters is left
// out (RFC 6749 §3.1: no parameter twice); a fragment is dropped (RFC 6749
// §3.1 forbids one, and a browser never sends it). The key set URL is
// fetched the same way (package keys).
//
// # Logging refusals
//
// [Tool.LoginHandler] and [Tool.LaunchHandler] log every refusal at level
// Info on the logger of [WithLogger] (default slog.Default()), with the
// message "lti login refused" or "lti launch refused" and the attributes
// below, as far as the pipeline got. Values from the request or from an
// unverified id_token are logged because they locate a typo; each is at
// most 256 bytes (the error 1024) with control characters removed. State,
// nonce, id_token, signature, cookies, the browser secret, login_hint,
// lti_message_hint and access tokens are never logged.
//
//	attribute              login  launch  value
//	code                   yes    yes     the stable error code
//	error                  yes    yes     code, description and causes
//	stage                  yes    yes     where it stopped: request, target_link_uri,
//	                                      registration, auth_endpoint, login_store,
//	                                      token, state, signature, claims, nonce,
//	                                      deployment, deployment_policy
//	iss                    yes    yes     login: the request's; launch: the id_token's
//	login_iss              -      yes     the login's issuer, when it differs
//	client_id              yes    yes     login: the request's; launch: the login's
//	aud, azp               -      yes     the id_token's audiences (","-joined) and azp
//	deployment_id          yes    yes     login: lti_deployment_id; launch: the id_token's
//	login_deployment_id    -      yes     the login's lti_deployment_id, when it differs
//	target_link_uri        yes    yes     login: the request's; launch: the id_token's
//	login_target_link_uri  -      yes     the login's, when it differs
//	target_hosts           yes    yes     the hosts a target_link_uri may name (","-joined)
//	message_type           -      yes     the id_token's message type
//	kid, alg               -      yes     the id_token's JOSE header
//	now                    -      yes     the tool's clock (RFC 3339), with exp, iat or nbf
//	exp, iat, nbf          -      yes     the id_token's times (RFC 3339)
//	exp_in, iat_age        -      yes     exp − now and now − iat (Go durations)
//	nbf_in                 -      yes     nbf − now
//	registration           yes    yes     the registration found, "issuer|client_id"
//	auth_endpoint          yes    -       its registered auth endpoint
//	key_set_url            -      yes     its key set URL
//	key_set                -      yes     "static" for a registration with a static key set
//	key_set_status         -      yes     the HTTP status of a failed key set fetch
//
// [Tool.InitiateLogin] and [Tool.ValidateLaunch] do not log: they return
// the error, for a host that renders and logs it itself. Collecting the
// values costs an accepted launch nothing measurable: they are kept as the
// pipeline goes and turned into attributes only on a refusal.
//
// # Metrics and traces
//
// A Tool records through the OpenTelemetry API, with the global providers
// unless [WithMeterProvider] and [WithTracerProvider] say otherwise: logins
// and launches by result (ok or the error code) and message type, their
// durations, the duration of each stage of a launch, and every call to its
// stores by operation and result, whichever adapter holds them; a span per
// login and launch, with child spans for the store calls, the signature
// verification and key set fetches. No state, nonce, token, signature or
// personal data is ever an attribute ([WithTraceSubject] adds the sub to
// the launch span). docs/observability.md lists every metric, attribute
// and span; with no provider installed a launch costs a few atomic loads
// and the global tracer's non-recording span.
//
// # Errors
//
// Every error returned is an *lti.Error with a stable code and HTTP status:
// invalid_request, unknown_registration, platform_error, invalid_state,
// invalid_token, invalid_signature, token_expired, invalid_claims,
// invalid_nonce, unknown_deployment, keyset_unavailable,
// storage_unavailable. The one exception is [*StorageLaunch], which
// ValidateLaunch returns for a cookieless launch that continues through
// platform storage; it unwraps to invalid_state. Any storage or unexpected error refuses the launch
// (storage_unavailable); nothing is accepted on an error path.
package launch
