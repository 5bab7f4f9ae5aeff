// Package toolkey owns the tool's own signing keys: the RSA keys the tool
// signs Deep Linking responses and OAuth 2 client assertions with, their
// rotation, and the public key set (JWKS) the tool publishes so platforms
// can verify those signatures (1EdTech Security Framework §6).
//
// It is a package of its own because the tool's keys are a capability with
// their own storage and lifecycle (an active key, retired keys that stay
// published for a grace period), used by several services.
package toolkey
