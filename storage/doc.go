// Package storage owns the [Adapter] interface: the bundle of the four narrow
// store interfaces (registration, deployment, state and nonce) that the
// launch pipeline needs. Adapters live under adapters/ (memory, gorm); any
// host type that implements the four interfaces is an Adapter, and hosts may
// mix backends with [Combine].
//
// The conformance suite every adapter must pass is in storage/storagetest.
package storage
