// Package keypool lends RSA private keys that were generated once and
// embedded as PEM, one borrower at a time. It exists for the test helpers
// of ltitest (the test platforms' signing keys) and toolkey/toolkeytest
// (the tool keys of store tests): generating an RSA-2048 key costs tens of
// milliseconds, and far more under the race detector, which had made key
// generation the largest part of those tests' CPU time. Both helpers keep
// their own key files, so a platform's key is never also a tool's key.
//
// The keys are public: they belong in tests only.
package keypool
