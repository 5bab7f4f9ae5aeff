// Package toolkeytest is the conformance suite of [toolkey.Store]
// implementations: every store (the memory store, the GORM adapter's
// ToolKeyStore, a host's own) runs [Run] to show it keeps one active key,
// publishes retired keys for their grace period and no longer, and rotates
// atomically under concurrency.
package toolkeytest
