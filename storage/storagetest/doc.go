// Package storagetest owns the conformance suite every [storage.Adapter]
// runs: one call, [Run], checks registration and deployment lookups and the
// single-use, fail-closed, race-proof semantics of states and nonces that
// the launch pipeline relies on (see package nonce).
//
// # Writing the test of an adapter
//
// Like go-cloud's drivertest, the suite takes a harness factory: a function
// that returns a fresh [Harness] for each subtest. The harness holds the
// adapter under test and two seeding hooks, because how a host adds
// registrations and deployments is specific to each adapter. For the
// in-memory adapter:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storagetest.Harness {
//			s := memory.New()
//			return storagetest.Harness{
//				Adapter: s,
//				AddRegistration: func(_ context.Context, r registration.Registration) error {
//					return s.AddRegistration(r)
//				},
//				AddDeployment: func(_ context.Context, r registration.Registration, d deployment.Deployment) error {
//					return s.AddDeployment(r.Key(), d)
//				},
//			}
//		})
//	}
//
// An adapter backed by a database may open one database for the whole test
// (in TestMain, or once behind a sync.Once) and return a harness over it from
// every call of the factory; release per-subtest resources with t.Cleanup.
// The suite never assumes the store is empty: every subtest uses its own
// random issuers, client ids, states and nonces, so rows left by earlier
// subtests do no harm. When the database is unreachable, the factory should
// call t.Skip locally but t.Fatal when the environment variable CI is "true",
// so a broken CI database never turns into a green run.
//
// If the adapter judges expiry with a clock other than time.Now (a fake clock
// in tests, or the database server's clock), set [Harness.Now] to it: the
// suite writes expired records as Now minus an hour and live ones as Now plus
// an hour, so clock skew below an hour is tolerated.
//
// # What the suite requires
//
// Beyond the contracts written on the interfaces in packages registration,
// deployment and nonce, the suite checks:
//
//   - Lookups are exact and case-sensitive; with an empty client_id, several
//     registrations of one issuer are [registration.ErrAmbiguous].
//   - FindDeployment is given the value FindRegistration returned, and finds
//     deployments of that registration only.
//   - A refused TakeState (not found, expired, consumed) returns the zero
//     [nonce.Login], so a caller that forgets the error gets nothing usable.
//   - ExpiresAt round-trips at second precision at least.
//   - A cancelled context makes TakeState, ConsumeNonce, PutState and
//     PutNonce return an error that is none of [nonce.ErrNotFound],
//     [nonce.ErrExpired] and [nonce.ErrConsumed] (it is a storage failure,
//     not a refused value), and leaves the data unchanged: the value is
//     neither stored nor consumed.
//   - 64 concurrent takes of one state (and consumes of one nonce) succeed
//     exactly once; every other caller gets [nonce.ErrConsumed] or
//     [nonce.ErrNotFound].
//   - A nonce presented for another registration is [nonce.ErrNotFound] and
//     stays consumable by its own registration.
//   - An adapter that implements [nonce.Carrier] and reports true returns
//     the Login's Nonce from TakeState.
//
// Subtest names are stable, so an adapter can skip a known failure with
// go test -skip while it is being fixed.
package storagetest
