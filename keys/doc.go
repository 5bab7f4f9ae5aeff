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
// # Errors
//
// Provider implementations return [ErrKeyNotFound] when the key set has no
// usable key with the kid (the launch fails as invalid_signature) and an
// error wrapping [ErrUnavailable] when no key set could be obtained (the
// launch fails as keyset_unavailable).
package keys
