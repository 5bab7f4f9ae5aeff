// Package sqladapter is a worked example of a storage adapter written from
// scratch: a [storage.Adapter] on plain database/sql and PostgreSQL through
// pgx's database/sql driver (github.com/jackc/pgx/v5/stdlib), in a few
// hundred lines, with its own schema and the host's own structs. It passes
// the conformance suite storage/storagetest, a race test with two
// connection pools, a fault test and full launches through the test LMS;
// docs/custom-adapters.md walks through it.
//
// # Why an example and not a package of the library
//
// It is meant to be read and copied, not imported. Its [Platform] and
// [Install] types stand for a host's own tables, and a host's adapter
// scans into the host's own structs; an importable package would have to
// make them generic, which is what adapters/gorm already does (with
// storage.Registrar, launch sessions, tool keys and SQLite besides). A
// second PostgreSQL adapter in the library would add a second thing to
// keep in step with the contracts and no new capability. It lives in this
// module so that `go test ./...` and CI run it against a real database on
// every change: a guide whose example does not pass its own suite teaches
// nothing.
//
// # Tables
//
// [Migrate] runs [SchemaSQL] (CREATE … IF NOT EXISTS): platforms and
// installs, the host's registrations and deployments, and lti_login_states
// and lti_nonces for the single-use values. Teams that run their own
// migrations apply the same SQL.
//
// # The host's structs
//
// [Store.FindRegistration] returns a *[Platform] and [Store.FindDeployment]
// an *[Install], with the host's own fields (a display name, the school
// that installed the tool) filled in. The launch keeps them, and the host
// reads them back with launch.RegistrationAs[*sqladapter.Platform] and
// launch.DeploymentAs[*sqladapter.Install], without a second query.
// FindDeployment is given the *Platform its FindRegistration returned and
// uses its primary key directly.
//
// # Single use
//
// Each take is one statement, so the database serialises concurrent
// callers on any number of nodes and exactly one wins:
//
//	DELETE FROM lti_login_states WHERE state = $1 RETURNING nonce, …, expires_at
//	UPDATE lti_nonces SET consumed = true
//		WHERE nonce = $1 AND issuer = $2 AND client_id = $3 AND NOT consumed
//		RETURNING expires_at
//
// A taken state is deleted (a replay is nonce.ErrNotFound, which the
// contract allows); a consumed nonce is kept, marked, until it expires, so
// a replay is nonce.ErrConsumed (OIDC Core §3.1.3.7). Puts are INSERT … ON
// CONFLICT DO NOTHING and check the rows affected: a value already stored
// is never overwritten, and the second put fails with [ErrDuplicate]. The
// state row carries the nonce ([nonce.Carrier]), so a launch costs two
// writes, and the launch pipeline uses no nonce store; the nonce table is
// there for hosts that keep states elsewhere (see docs/custom-adapters.md).
//
// # Expiry
//
// Expiry is judged in Go with the Store's clock ([WithClock], default
// time.Now) against the expires_at the statement returned, so an expired
// row is refused (nonce.ErrExpired) before it is purged, and alike on every
// node. [Store.PurgeExpired] deletes expired rows in batches; launches never
// depend on it, since every statement above is a primary-key lookup.
//
// # Errors
//
// Refusals are the interfaces' sentinels: registration.ErrNotFound,
// registration.ErrAmbiguous, deployment.ErrNotFound, nonce.ErrNotFound,
// nonce.ErrExpired and nonce.ErrConsumed. Every other failure (a refused
// connection, a closed pool, a cancelled context, a duplicate put) wraps
// lti.ErrStorageUnavailable, so the launch fails closed with 503
// storage_unavailable and never mistakes a broken database for an unknown
// value. Input PostgreSQL could never have stored (empty, not UTF-8, with a
// NUL) is not found rather than a database error, so a forged login
// request cannot make the tool report itself unavailable.
//
// # Tests
//
// The tests take PostgreSQL from LTIKIT_TEST_POSTGRES_DSN (or the local
// server outside CI) and each uses a throwaway schema; with CI=true a
// missing database fails them. The benchmarks measure this adapter and
// adapters/gorm on the same database in one run:
//
//	go test -run '^$' -bench . -benchmem -count 5 ./examples/sqladapter/
package sqladapter
