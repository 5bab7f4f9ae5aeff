// Package redistest gives a test a Redis client and a key prefix of its
// own. It is a package because the tests of several packages (the Redis
// adapter, the demo tool, ltibench) need the same set-up: one copy of the
// rules for where Redis comes from and when its absence fails a test.
//
// Redis is LTIKIT_TEST_REDIS_URL's (a redis:// URL), or, when that is
// unset, the local server at 127.0.0.1:6379. Under CI=true an unreachable
// server fails the test, and so does an unreachable server the variable
// names; only a run outside CI with no variable and no local server skips,
// so `go test ./...` works on a machine without Redis while
// scripts/test.sh (which starts Redis) and CI always run these tests.
package redistest
