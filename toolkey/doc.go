// Package toolkey owns the tool's own signing keys: the RSA keys the tool
// signs Deep Linking responses and OAuth 2 client assertions with, their
// rotation, and the public key set (JWKS) the tool publishes so platforms
// can verify those signatures (1EdTech Security Framework §6).
//
// It is a package of its own because the tool's keys are a capability with
// their own storage and lifecycle (an active key, retired keys that stay
// published for a grace period), used by several services.
//
// # Pieces
//
// [Signer] is the one-method interface services sign with. [Store] keeps
// the keys: [Store.Active] returns the signing key (creating the first one
// atomically), [Store.Published] the public keys to publish, and
// [Store.Rotate] adds a new key that is published at once and signs from a
// given delay on, while the previous one signs until then and stays
// published until its grace period ([StoreOptions].Grace) has passed, so
// tokens signed just before a rotation still verify. [MemoryStore] keeps
// them in memory; the GORM adapter's ToolKeyStore keeps them in a database
// shared by every node. Stores run the conformance suite of package
// toolkeytest.
//
// [Keyring] is the concrete type hosts use: a [Signer] (RS256, with the
// key's kid and typ JWT in the header) and an http.Handler serving the
// public key set at the tool's JWKS URL, both over a Store and caching what
// they read from it for a short time ([WithCacheTTL]).
//
// # Rotation: publish before use
//
// Every node caches the key set for its cache TTL and platforms cache the
// served set for its max-age, so a key that signed the moment it was
// created would sign tokens that other nodes and platforms cannot yet
// verify. [Keyring.Rotate] therefore publishes the new key at once and lets
// it sign only after [Keyring.RotationDelay] (cache TTL + max-age + a
// margin, [WithRotationMargin]); the "active from" time is stored with the
// key, so every node takes over at the same moment. Reads already in flight
// when a rotation runs never overwrite what came after it (the caches are
// versioned). An emergency rotation that must stop a compromised key at
// once passes [Immediately]: the new key signs at once, and verifiers that
// still hold the old set fail until they refetch it.
//
// Keys are RSA, 2048 bits by default ([StoreOptions].RSABits); the kid is
// the key's RFC 7638 thumbprint, so every node derives the same kid from
// the same key. Private keys never appear in the served set, in errors or
// in logs: a [Key] prints (with any fmt verb, as JSON or in slog) as its
// kid and size only; [Key.MarshalPKCS8] is the one way out, for stores.
//
// # Errors
//
// [Keyring.SignJWT] and [Keyring.JWKS] return the store's errors wrapped (a
// database store's failures match lti.ErrStorageUnavailable with
// errors.Is); the key set handler answers them with 503 and no detail.
// [NewKey], [ParseKey] and [GenerateKey] refuse keys under [MinRSABits] or
// over [MaxRSABits], keys that are not RSA, and inconsistent keys. No error
// of the package contains key material.
package toolkey
