// Package storage owns the [Adapter] interface: the bundle of the four narrow
// store interfaces (registration, deployment, state and nonce) that the
// launch pipeline needs. Adapters live under adapters/ (memory, gorm); any
// host type that implements the four interfaces is an Adapter. The bundle
// is a convenience: launch.Config takes each store on its own too, so a
// host whose registrations and states live in different backends passes
// them separately. [Combine] makes one Adapter of separate stores, for code
// that takes an Adapter ([CacheLookups], the conformance suite).
//
// [CacheLookups] puts a short-lived in-process cache of found registrations
// and deployments in front of any Adapter, so that a launch costs its
// database only the single-use state (and nonce) calls. States and nonces
// are never cached: their single-use guarantee stays at the adapter.
//
// The launch pipeline only reads registrations and deployments. [Registrar]
// is the writer that LTI Dynamic Registration, the policy that records new
// deployments and administrative tools use to create, list and delete them;
// the memory and GORM adapters implement it, and [ErrExists] is its refusal
// of a duplicate.
//
// The conformance suite every adapter must pass is in storage/storagetest:
// storagetest.Run for the Adapter, storagetest.RunRegistrar for a Registrar.
package storage
