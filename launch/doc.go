// Package launch owns the LTI 1.3 launch pipeline: OIDC login initiation
// (1EdTech Security Framework §5.1.1, LTI 1.3 Core §4.1), state and nonce
// minting, id_token verification and validation (Security Framework §5.1.3,
// OpenID Connect Core §3.1.3.7, LTI 1.3 Core §5.3–5.4), deployment lookup,
// and the typed launch [Context] handed to the host.
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
// TakeState at launch (when the storage adapter carries the nonce in the
// state record, see nonce.Carrier), plus one registration and one
// deployment read. Once the platform key set is cached, a launch makes no
// HTTP request.
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
