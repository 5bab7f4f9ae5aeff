// Package keys owns the platform public keys that id_tokens are verified
// with: the one-method [Provider] interface the launch pipeline asks for a
// key, and [Cache], the HTTP-fetching, caching implementation.
//
// It exists as its own package because key fetching is a capability with
// its own failure modes (network, size, rotation, floods of unknown kids)
// that the launch pipeline must not care about, and because tests and hosts
// with static keys need to replace it.
//
// Keys are cached per registration key set URL, never looked up by kid
// alone: kids are chosen by platforms and collide across issuers
// (1EdTech Security Framework §6.3). Once a key set is cached, a launch
// costs no HTTP request. A kid that is not in the cached set triggers one
// refresh, at most once per [WithMinRefreshInterval] per URL, so key
// rotation works and a flood of bogus kids cannot hammer the platform.
//
// A key is usable only when it can verify: it has a kid, its use (if any)
// is "sig", its key_ops (if any) lists "verify" (RFC 7517 §4.2–4.3), it is
// not symmetric, and an RSA key has at least [MinRSABits] bits (RFC 7518
// §3.3). Other keys in a set are left out. A fetch follows redirects only
// within the key set URL's origin, at most [MaxRedirects], never from https
// to http; [WithRedirectPolicy] changes that. A static key set
// (registration.Registration.KeySet) changed in place is indexed again on
// its next use.
//
// # Errors
//
// Provider implementations return [ErrKeyNotFound] when the key set has no
// usable key with the kid (the launch fails as invalid_signature) and an
// error wrapping [ErrUnavailable] when no key set could be obtained (the
// launch fails as keyset_unavailable). A [Cache] whose fetch failed also
// wraps a [*FetchError] (the key set URL and, when the platform answered,
// the HTTP status), reachable with errors.As, so a refusal can be logged
// with what locates it.
//
// # Metrics and traces
//
// A [Cache] counts its lookups (hit, miss, static), its fetches by result
// and HTTP status with their duration, and its refreshes of a cached set
// (expired, unknown_kid), through the OpenTelemetry API ([WithMeterProvider],
// [WithTracerProvider]; the global providers by default); each fetch is a
// client span whose trace context the request carries ([WithPropagator]).
// docs/observability.md lists the metrics.
//
// # URLs
//
// The key set URL is fetched exactly as registered: its query is sent byte
// for byte, never decoded, sorted or re-encoded, so a platform whose key
// set lives at a URL such as /?lti-platform&jwks gets the request it
// expects. A fragment is never sent (RFC 3986 §3.5).
package keys
