// Package registration owns the description of a platform registration: the
// issuer and client_id a platform (LMS) gave the tool, its OIDC auth
// endpoint, token endpoint and key set, and the [Store] that finds one.
//
// Hosts keep their own structs: any type that implements [Registerable]
// (one method, LTIRegistration) can be returned by a [Store], and the launch
// context hands that same value back after a successful launch. The
// library's own [Registration] implements Registerable as the identity.
//
// # Errors
//
// A Store returns [ErrNotFound] when nothing matches and [ErrAmbiguous] when
// several registrations match an issuer and no client_id narrows them (the
// launch is then refused as unknown_registration). Any other error is treated
// as a storage failure and refuses the launch as storage_unavailable.
package registration
