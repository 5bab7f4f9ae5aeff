// Package sessiontest owns the conformance suite of [session.Store]
// implementations: the memory and GORM adapters, and a host's own store,
// run [Run] to show they keep launch sessions as package session relies on
// — exact round trips, no overwrite, expiry judged with the store's clock,
// a touch that only moves forward and never revives, an idempotent delete
// that every later read sees, and failures on a cancelled context that
// change nothing and are never mistaken for a refused session.
//
// # Writing the test of a store
//
// Like storagetest, the suite takes a factory called once per subtest:
//
//	func TestSessionConformance(t *testing.T) {
//		sessiontest.Run(t, func(t *testing.T) session.Store { return memory.New() })
//	}
//
// A store backed by a database may return the same store from every call:
// each subtest uses ids of its own. When the store judges expiry with a
// clock other than time.Now, pass it with [WithClock]; records are written
// an hour or more either side of it, so skew below that is tolerated. Run
// the test with -race: the suite's concurrent subtests are meant for it.
//
// # What the suite requires
//
// Beyond the contracts written on [session.Store]:
//
//   - Every field of a [session.Record] round-trips: strings exactly,
//     Claims byte for byte (also bytes that are not UTF-8, and NUL), times
//     at second precision at least (the suite writes whole seconds and
//     compares them exactly).
//   - A refused or failed GetSession returns the zero Record.
//   - Claims returned by GetSession are the caller's: changing them, or
//     the slice given to PutSession, changes nothing stored.
//   - 64 goroutines touching one record with different times leave the
//     latest; goroutines reading and touching while another deletes see
//     ErrNotFound on every call that starts after the delete returned.
//
// Subtest names are stable, so a store can skip a known failure with
// go test -skip while it is being fixed.
package sessiontest
