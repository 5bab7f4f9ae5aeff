// Package gormadapter is the GORM storage adapter of ltikit: a
// [storage.Adapter] on a PostgreSQL or SQLite *gorm.DB. Its import path is
// github.com/ltikit/ltikit/adapters/gorm. It imports no database driver:
// the host opens the *gorm.DB, with package gormpostgres
// (github.com/ltikit/ltikit/adapters/gorm/postgres, pgx) or package
// gormsqlite (github.com/ltikit/ltikit/adapters/gorm/sqlite, pure Go) or
// on its own, so a program links only the driver it uses.
//
// The package owns six tables: ltikit_nonces and ltikit_login_states for
// the single-use values of a launch, ltikit_launch_sessions for the launch
// sessions of package session (the Adapter is a session.Store too),
// ltikit_registrations and ltikit_deployments for hosts that keep no
// platform table of their own (the default models [Registration] and
// [Deployment]), and ltikit_tool_keys for the tool's signing keys
// ([ToolKeyStore]). Core
// packages of ltikit never import GORM; only this one does.
//
// # Registrations and deployments: the host's models or ours
//
// [New] finds registrations and deployments in the default models. A host
// that already has a platform table passes its own GORM model types to
// [NewWithModels], with the columns to look up by ([Models]); the adapter
// then returns the host's own structs, every mapped field filled, and the
// host gets them back from the validated launch (launch.Launch) without a
// second query.
// FindDeployment is given the value FindRegistration returned and reads the
// host's key from it ([Models.RegistrationKey]).
//
// # Writing registrations and deployments
//
// The Adapter is a storage.Registrar, the writer of LTI Dynamic
// Registration, of the policy that records new deployments and of
// administrative tools. With [New] it works in full on PostgreSQL and
// SQLite:
//
//   - [Adapter.CreateRegistration] inserts the registration and its
//     deployments in one transaction, all or none.
//   - Duplicates are storage.ErrExists, decided by the unique indexes on
//     (issuer, client_id) and (registration_id, deployment_id): a read in
//     the transaction refuses the common case, and the adapter reads the
//     unique violation itself (SQLSTATE 23505, SQLite's
//     SQLITE_CONSTRAINT_UNIQUE) when two processes insert at once, so
//     exactly one wins whether or not the *gorm.DB has TranslateError on.
//   - [Adapter.CreateDeployment] reads the registration and inserts in one
//     transaction, the registration's row locked FOR SHARE on PostgreSQL;
//     [Adapter.DeleteRegistration] locks it FOR UPDATE and deletes its
//     deployments and it in one transaction, so no deployment is left
//     without its registration.
//   - [Adapter.Registrations] lists everything, ordered in Go by bytes
//     (PostgreSQL's collation may order "B" after "a"; SQLite's does not).
//
// With [NewWithModels], the host's models are written through two optional
// functions of [Models]: NewRegistration builds the host's row for a
// registration (tenant, display name…) and NewDeployment the row of a
// deployment. Without them the create methods return an error wrapping
// errors.ErrUnsupported; deleting and listing always work, through the
// configured columns. Rows are deleted for good (GORM's Unscoped), also
// when the host model soft-deletes. For concurrent creates to be refused,
// the host's tables need the same two unique indexes.
//
// On SQLite, transactions should begin IMMEDIATE, as gormsqlite.Open sets
// up; a deferred transaction that reads and then writes may fail with
// SQLITE_BUSY (storage_unavailable) when another connection wrote in
// between.
//
// # Single use
//
// [Adapter.TakeState] is one conditional statement,
//
//	UPDATE ltikit_login_states SET consumed_at = $now
//	WHERE state = $1 AND consumed_at IS NULL AND (expires_at > $now) IS TRUE
//	RETURNING nonce, issuer, client_id, target_link_uri, deployment_id, binding, expires_at
//
// (IS TRUE keeps planners on the primary key: PostgreSQL would otherwise use
// the sweeper's expires_at index whenever its statistics say few rows are
// live, and read every live row), and [Adapter.ConsumeNonce] another
// (matching issuer and client_id too), so
// the database serialises concurrent callers on any number of nodes and
// exactly one wins. When no row matches, the row is read back once to tell
// nonce.ErrNotFound, nonce.ErrExpired and nonce.ErrConsumed apart; every one
// refuses. The login state carries the nonce ([nonce.Carrier]), so a launch
// costs two writes: PutState at login, TakeState at launch. Taken rows stay
// until they expire, so a replay is reported as consumed.
//
// The current time comes from Go ([WithClock], default time.Now), never from
// the database's now(), so expiry is judged alike on every node and in both
// dialects. Times are kept at microsecond precision (a remainder below a
// microsecond is dropped, so a record is refused early rather than accepted
// late); SQLite stores them as fixed-width UTC text, which sorts in time
// order.
//
// Expired rows are deleted by [Adapter.PurgeExpired], in batches, or by a
// background [Adapter.StartSweeper]. Launches never depend on it: both
// statements above are primary-key lookups, whose cost does not grow with
// the rows left behind (BenchmarkConsumeWithExpiredRows measures it with a
// million expired nonces present).
//
// # Schema
//
// [Migrate] creates the six tables and [MigrateLoginTables] only the two
// login tables and the sessions table; both are idempotent and never alter
// or drop anything. Teams that run their own migrations apply the same SQL,
// which the package exports ([PostgresRegistrationsSQL], [PostgresLoginSQL],
// [PostgresSessionsSQL], [SQLiteRegistrationsSQL], [SQLiteLoginSQL],
// [SQLiteSessionsSQL]). On PostgreSQL, the default models' tables:
//
//	CREATE TABLE IF NOT EXISTS ltikit_registrations (
//		id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
//		issuer         TEXT NOT NULL,
//		client_id      TEXT NOT NULL,
//		auth_endpoint  TEXT NOT NULL,
//		token_endpoint TEXT NOT NULL DEFAULT '',
//		token_audience TEXT NOT NULL DEFAULT '',
//		key_set_url    TEXT NOT NULL DEFAULT '',
//		key_set        TEXT
//	);
//	CREATE UNIQUE INDEX IF NOT EXISTS ltikit_registrations_issuer_client_id
//		ON ltikit_registrations (issuer, client_id);
//	CREATE TABLE IF NOT EXISTS ltikit_deployments (
//		id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
//		registration_id BIGINT NOT NULL REFERENCES ltikit_registrations (id) ON DELETE CASCADE,
//		deployment_id   TEXT NOT NULL
//	);
//	CREATE UNIQUE INDEX IF NOT EXISTS ltikit_deployments_registration_id_deployment_id
//		ON ltikit_deployments (registration_id, deployment_id);
//
// and the login tables, needed in every case:
//
//	CREATE TABLE IF NOT EXISTS ltikit_nonces (
//		nonce       TEXT PRIMARY KEY,
//		issuer      TEXT NOT NULL,
//		client_id   TEXT NOT NULL,
//		expires_at  TIMESTAMPTZ NOT NULL,
//		consumed_at TIMESTAMPTZ
//	);
//	CREATE INDEX IF NOT EXISTS ltikit_nonces_expires_at
//		ON ltikit_nonces (expires_at);
//	CREATE TABLE IF NOT EXISTS ltikit_login_states (
//		state           TEXT PRIMARY KEY,
//		nonce           TEXT NOT NULL,
//		issuer          TEXT NOT NULL,
//		client_id       TEXT NOT NULL,
//		target_link_uri TEXT NOT NULL,
//		deployment_id   TEXT NOT NULL,
//		binding         TEXT NOT NULL,
//		expires_at      TIMESTAMPTZ NOT NULL,
//		consumed_at     TIMESTAMPTZ
//	);
//	CREATE INDEX IF NOT EXISTS ltikit_login_states_expires_at
//		ON ltikit_login_states (expires_at);
//
// and the launch sessions table, needed in every case too (the
// constructors check it; see Launch sessions below):
//
//	CREATE TABLE IF NOT EXISTS ltikit_launch_sessions (
//		id              TEXT PRIMARY KEY,
//		issuer          TEXT NOT NULL,
//		client_id       TEXT NOT NULL,
//		deployment_id   TEXT NOT NULL,
//		subject         TEXT NOT NULL,
//		claims          BYTEA NOT NULL,
//		csrf            TEXT NOT NULL,
//		created_at      TIMESTAMPTZ NOT NULL,
//		idle_expires_at TIMESTAMPTZ NOT NULL,
//		expires_at      TIMESTAMPTZ NOT NULL
//	);
//	CREATE INDEX IF NOT EXISTS ltikit_launch_sessions_idle_expires_at
//		ON ltikit_launch_sessions (idle_expires_at);
//
// The SQLite schema is the same with INTEGER primary keys, DATETIME
// columns, a BLOB for the claims and WITHOUT ROWID login tables. The constructors check that the
// tables and columns exist and fail with [ErrNotMigrated] otherwise.
//
// # Opening the database
//
// gormpostgres.Open and gormsqlite.Open (and gormsqlite.OpenReadOnly, for
// tools that only read) open a *gorm.DB set up for this adapter, each in a
// package of its own so that a program links one driver and not the
// other; hosts may pass their own *gorm.DB instead (the adapter runs on a
// fresh session of it, without the caller's scopes and without GORM's
// implicit transactions). The adapter tells the databases apart by the
// dialect's name ("postgres" or "sqlite"), and reads constraint errors
// without a driver's types: the SQLSTATE of a PostgreSQL error (its
// SQLState method, as pgx's *pgconn.PgError has), the extended result
// code of an SQLite error (a Code method returning an int, as
// modernc.org/sqlite's has) or else SQLite's message.
//
// On SQLite the adapter prepares its statements once per connection and
// reuses them (GORM's PrepareStmt, on its own session only, whatever the
// host's configuration); with a driver that keeps the compiled statement,
// as modernc.org/sqlite v1.62 does (v1.23 compiled it again on every
// execution), SQLite no longer parses the SQL on every call. On PostgreSQL
// it leaves preparation to the driver (pgx caches statements itself).
//
// SQLite serialises writers: gormsqlite.Open turns on WAL, a busy timeout
// and BEGIN IMMEDIATE so that concurrent TakeState calls, from one pool or
// from several processes on the same file, wait for each other instead of
// failing with SQLITE_BUSY. An SQLite file may hold the tool's private
// signing key (see Tool keys), so gormsqlite.Open creates it 0600 whatever
// the process umask, and makes an existing file that group or others may
// read 0600, with a warning. A host that opens the file itself, or keeps
// tool keys in PostgreSQL, protects them itself.
//
// # Launch sessions
//
// [Adapter.PutSession], [Adapter.GetSession], [Adapter.TouchSession] and
// [Adapter.DeleteSession] implement session.Store, one row of
// ltikit_launch_sessions per session, keyed by the SHA-256 of the session
// token (the token itself is never stored). Each is one statement: an
// INSERT … ON CONFLICT DO NOTHING (never an overwrite), a primary-key read
// whose expiry is judged with the adapter's clock, a conditional UPDATE
// that moves idle_expires_at forward (never past expires_at, never on a row
// that expired), and a DELETE; so a session revoked through one node is
// refused by every other node at once. The claims are BYTEA (BLOB), kept
// byte for byte. [Adapter.PurgeExpired] and the sweeper delete sessions past
// their idle expiry, which is never after their absolute one, through the
// idle_expires_at index. Refusals are session.ErrNotFound and
// session.ErrExpired; failures are storage_unavailable, as below.
//
// # Tool keys
//
// [ToolKeyStore] is a toolkey.Store in its own table, ltikit_tool_keys, so
// a tool keeps its signing key (and kid) across restarts and every node
// signs with the same key. [Migrate] creates it; hosts that use
// [MigrateLoginTables] call [MigrateToolKeys]. On PostgreSQL
// ([PostgresToolKeysSQL]; SQLite: [SQLiteToolKeysSQL]):
//
//	CREATE TABLE IF NOT EXISTS ltikit_tool_keys (
//		kid         TEXT PRIMARY KEY,
//		private_key BYTEA NOT NULL,
//		public_key  BYTEA NOT NULL,
//		created_at  TIMESTAMPTZ NOT NULL,
//		retired_at  TIMESTAMPTZ,
//		expires_at  TIMESTAMPTZ
//	);
//	CREATE UNIQUE INDEX IF NOT EXISTS ltikit_tool_keys_one_active
//		ON ltikit_tool_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
//
// private_key is PKCS #8 DER and public_key PKIX DER; the kid is the RFC
// 7638 thumbprint. The partial unique index admits one active key; the
// first key is inserted with ON CONFLICT DO NOTHING, so nodes that start
// together agree on it, and a rotation is one transaction (under an
// advisory lock on PostgreSQL) that retires the active key, inserts the
// next and deletes keys past their grace period.
//
// # Errors
//
// Refusals are the sentinels of the interfaces: registration.ErrNotFound,
// registration.ErrAmbiguous, deployment.ErrNotFound, nonce.ErrNotFound,
// nonce.ErrExpired, nonce.ErrConsumed, session.ErrNotFound,
// session.ErrExpired and, from the Registrar methods, storage.ErrExists
// (a unique violation of a create is that refusal, not a failure). Invalid
// input to a Registrar method is an error of its own, before any
// statement. Every other database failure (a lost
// connection, a closed pool, a cancelled context, a constraint violation),
// and a Put that cannot store its value ([ErrDuplicate]), is an *lti.Error
// with code storage_unavailable wrapping the cause: errors.Is(err,
// lti.ErrStorageUnavailable) holds, so the launch fails closed. The
// constructors return an error, never panic: for a nil *gorm.DB, an
// unsupported dialect ([ErrUnsupportedDialect]), a database that does not
// answer (storage_unavailable) or a schema that is not migrated
// ([ErrNotMigrated]).
//
// # Tests
//
// The tests run against a real PostgreSQL and a real SQLite file. They take
// the PostgreSQL database from LTIKIT_TEST_POSTGRES_DSN, for example
//
//	LTIKIT_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/ltikit_test?sslmode=disable' go test ./adapters/gorm/
//
// and create a schema of their own in it for each test, dropped at the end.
// Without the variable, outside CI they create a throwaway database
// ltikit_test_<random> through postgres://postgres@127.0.0.1:5432/postgres
// and drop it at the end, or skip the PostgreSQL tests with a message if
// that server is unreachable; with CI=true they fail instead of skipping.
// The benchmarks (go test -run=^$ -bench=. ./adapters/gorm/) measure the
// adapter against the same SQL written directly with pgx.
package gormadapter
