// Package dynreg is the tool side of 1EdTech LTI Dynamic Registration 1.0:
// an administrator of a platform (an LMS) pastes the tool's registration
// URL into the platform, and the tool and the platform exchange their
// configurations without copying client ids, endpoints and key set URLs by
// hand.
//
// The flow, which [Handler] serves at the tool's registration initiation
// URL:
//
//	platform ──GET ?openid_configuration=…&registration_token=…──▶ Handler   (§3.3, in the admin's browser)
//	Handler ──GET openid_configuration──▶ platform                           (§3.4, server to server)
//	Handler: validate it (issuer ⇔ URL, §3.5.1), build the tool configuration,
//	         ask Config.Approve
//	Handler ──POST tool configuration, Bearer registration_token──▶ platform registration_endpoint (§3.5.2)
//	platform ──client_id, deployment_id──▶ Handler                           (§3.6)
//	Handler: store through a storage.Registrar (or hand to OnPending), answer a
//	         page that posts {subject: "org.imsglobal.lti.close"} to the platform (§3.7)
//
// It is a package of its own because nothing else in ltikit talks to a
// platform before a registration exists: the launch pipeline only reads
// registrations, while dynreg creates them, as an administrative act, and
// therefore needs what the launch never does: outbound requests to URLs a
// browser handed it, an approval policy, and the write side of storage
// ([storage.Registrar]). Hosts that register platforms by hand do not import
// it.
//
// # Security
//
// Anyone can open the registration URL with any openid_configuration, so:
//
//   - Registration fails closed: without a Config.Approve hook every
//     registration is refused (registration_not_allowed), unless the
//     Handler is made with [AllowAll] for a sandbox. Approve sees the validated platform
//     configuration and the original request (for a one-time token of the
//     host's own, or an admin session) and answers [Approve], [Refuse] or
//     [Pending]. [WithPrecheck] can refuse before anything is fetched.
//   - Outbound requests are bounded in time ([WithTimeout], 10 s) and size
//     ([WithMaxBodyBytes], 64 KiB), go only to https URLs (http only on
//     loopback hosts and on hosts named with [WithInsecureHTTP]), follow at
//     most [MaxRedirects] redirects within the configuration URL's origin,
//     and the registration post follows none, so the registration token is
//     never sent anywhere but the registration endpoint.
//   - The configuration is validated as [ParseConfiguration] says; above all
//     its issuer must match the openid_configuration URL (§3.5.1), so a
//     configuration served from one host cannot claim another platform's
//     issuer. The only relaxation is one the host names itself, per issuer
//     ([WithIssuerException], [CanvasCloud]; see below).
//   - The last page sends no Referer (the URL holds the registration
//     token), has a nonce-based Content-Security-Policy, and posts the
//     close message to the origin of the openid_configuration URL, not to
//     "*" (see [WithCloseTargetOrigin]).
//
// # Multi-tenant platforms (Canvas Cloud)
//
// Some hosted platforms give every school a host of its own but one shared
// issuer. Canvas Cloud serves a school's configuration at
// https://school.instructure.com/api/lti/security/openid-configuration
// while its issuer is https://canvas.instructure.com (or
// https://canvas.beta.instructure.com, https://canvas.test.instructure.com
// for the beta and test environments), so the strict rule refuses it with
// invalid_configuration (field issuer). A host that wants Canvas Cloud
// passes [CanvasCloud]:
//
//	h, err := dynreg.New(cfg, dynreg.CanvasCloud())
//
// which accepts those three issuers, and only them, from https
// configuration URLs whose host is instructure.com or ends with
// ".instructure.com" (so not evilinstructure.com, nor
// instructure.com.evil.example, nor anything over http).
// [WithIssuerException] does the same for another issuer and other host
// suffixes, e.g. a Canvas Cloud school on a domain of its own. The
// exception makes the tool trust every host under the suffixes to speak
// for the shared issuer: the configuration is still fetched over https
// from the host the administrator's LMS named, every launch is still
// verified against the jwks_uri of that configuration, a new registration
// cannot replace one the store holds (registration_conflict), and
// Config.Approve still decides; but anyone able to serve a configuration
// from such a host can register new client_ids under the shared issuer.
// Every other issuer keeps the strict rule.
//
// # Errors
//
// Every refusal is an *[Error] with a stable lti code ([Error.Code]) that
// gives the HTTP status of the page ([Error.Status]) and its kind;
// lti.Classify finds it like any ltikit error (docs/errors.md lists them).
// Match them with errors.Is against the sentinels (ErrInvalidConfiguration,
// ErrRegistrationRefused, …), which compares codes, and read the details
// (the offending field, the platform's status and words) with errors.As
// and the accessors. Approve hooks and prechecks refuse with their own
// words with [NotAllowed]. Bad input is never a 500: a malformed request is
// 400 (invalid_request), a refusal 403 (registration_not_allowed), a bad
// or unreachable platform 502, a conflicting registration 409, a storage
// failure 503; only a failing host hook is 500 (internal_error).
//
// # Duplicates
//
// A platform that issues a client_id the Registrar already holds for the
// same issuer gets the new deployment added to the stored registration when
// the endpoints are identical (Result.Existing reports it); with different
// endpoints the registration is refused as registration_conflict and
// nothing is written.
package dynreg
