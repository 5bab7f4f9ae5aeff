// Package toolkeytest is the conformance suite of [toolkey.Store]
// implementations: every store (the memory store, the GORM adapter's
// ToolKeyStore, a host's own) runs [Run] to show it keeps one active key,
// publishes retired keys for their grace period and no longer, and rotates
// atomically under concurrency.
//
// It also owns test keys: [KeySource] lends pre-generated RSA keys to a
// test's stores (as [toolkey.StoreOptions] NewPrivateKey), so tests that
// make many keys do not spend their time generating them.
package toolkeytest
