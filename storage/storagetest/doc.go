// Package storagetest owns the conformance suites every [storage.Adapter]
// and every [storage.Registrar] runs. [Run] checks registration and
// deployment lookups and the single-use, fail-closed, race-proof semantics
// of states and nonces that the launch pipeline relies on (see package
// nonce); [RunRegistrar] checks the writer of registrations and
// deployments (see The Registrar suite below).
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
// # The Registrar suite
//
// [RunRegistrar] checks a [storage.Registrar], the writer of registrations
// and deployments, through its [RegistrarHarness]: the Registrar, the
// Adapter that reads the same store, and optionally a second Registrar on
// a connection pool of its own, which plays a second process in the races.
// For the in-memory adapter:
//
//	func TestRegistrarConformance(t *testing.T) {
//		storagetest.RunRegistrar(t, func(t *testing.T) storagetest.RegistrarHarness {
//			s := memory.New()
//			return storagetest.RegistrarHarness{Adapter: s, Registrar: s}
//		})
//	}
//
// Beyond the contracts written on [storage.Registrar], it checks:
//
//   - What CreateRegistration and CreateDeployment write, FindRegistration
//     and FindDeployment find (every field, a static key set included) and
//     Registrations lists; deployment ids of up to deployment.MaxIDLength
//     bytes, with spaces and non-ASCII, are kept byte for byte, and "A" and
//     "a" are two.
//   - Invalid input (a registration that fails Validate; an empty,
//     too-long or repeated deployment id) is an error that matches none of
//     storage.ErrExists, registration.ErrNotFound and
//     deployment.ErrNotFound, and writes nothing: not even the
//     registration alone.
//   - A duplicate is storage.ErrExists and changes nothing; a deployment
//     of an unknown registration is registration.ErrNotFound.
//   - DeleteRegistration removes the deployments too (also for the value
//     FindRegistration returned before the delete); after it the key is
//     registration.ErrNotFound for every method, and creating it again
//     brings back none of the old deployments.
//   - Registrations is ordered by issuer then client_id in byte order,
//     with deployment ids in byte order, whatever the database collation.
//   - A cancelled context fails every method, as a failure and not a
//     refusal, and changes nothing.
//   - 64 concurrent creates of one registration (split across the two
//     Registrars when there are two) succeed exactly once, the others get
//     storage.ErrExists, and only the winner's deployments are stored; the
//     same for one deployment, and for deletes (the others get
//     registration.ErrNotFound). Creates of deployments racing the delete
//     of their registration succeed before it or fail after it with
//     registration.ErrNotFound, and none outlives the registration.
//
// Subtest names are stable, so an adapter can skip a known failure with
// go test -skip while it is being fixed.
package storagetest
