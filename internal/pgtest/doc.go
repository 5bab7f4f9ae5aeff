// Package pgtest gives a test its own throwaway PostgreSQL schema. It is a
// package because the tests of several packages (the demo tool, the
// examples) need the same set-up: one copy of the rules for where the
// database comes from and when its absence fails a test.
//
// The database is LTIKIT_TEST_POSTGRES_DSN's, or, when that is unset and CI
// is not "true", the local cluster's default database. Under CI=true a
// missing variable or an unreachable server fails the test, and so does an
// unreachable server the variable names; only a run outside CI with no
// variable and no local server skips, so `go test ./...` works on a
// machine without PostgreSQL while scripts/test.sh and CI always run these
// tests.
//
// It also keeps the test packages, which run as separate processes at once,
// within the server's connection limit: each test reserves the connections
// it opens before it opens them ([Reserve]; [Schema] does it for its
// callers), and waits while other tests on the machine hold too many.
//
// And it keeps server sessions between the tests of a process: a new
// PostgreSQL session costs the server a process of its own, and the
// storage race tests fill two pools of 16, test after test. [DB] returns a
// test's pool on sessions that an earlier test of the process may have
// used, each reset as new on lending, within the same reservations.
package pgtest
