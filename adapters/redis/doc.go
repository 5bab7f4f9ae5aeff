// Package redisadapter keeps ltikit's single-use values in Redis: the login
// states with the nonces they carry ([nonce.StateStore], [nonce.Carrier]),
// nonces stored on their own ([nonce.Store]), and the launch sessions of
// package session ([session.Store]). Its import path is
// github.com/ltikit/ltikit/adapters/redis; it is a package of its own so
// that only a tool that uses Redis links github.com/redis/go-redis/v9.
//
// These values live minutes, are written once and taken once. In a SQL
// database each launch pays two durable writes for them; Redis keeps them
// in memory, expires them itself, and serves any number of tool processes
// at once. Registrations and deployments, which must survive, stay in SQL
// (adapters/gorm, or the host's own store), joined with this package by
// [storage.Combine] or by setting the stores of launch.Config one by one:
//
//	sql, _ := gormadapter.New(ctx, db)
//	states, _ := redisadapter.New(ctx, redis.NewClient(opt))
//	tool, _ := launch.New(launch.Config{
//		Storage: storage.Combine(sql, sql, states, states),
//		BaseURL: "https://tool.example.com",
//	})
//	sessions, _ := session.New(session.Config{Store: states, Tool: tool, BaseURL: "https://tool.example.com"})
//
// The Store carries the nonce, so a launch costs Redis two commands: one
// SET … NX PX at login and one GETDEL at launch, and nothing in SQL but the
// registration and deployment lookups (which storage.CacheLookups can
// serve from memory).
//
// # Single Redis, Sentinel, Cluster
//
// [New] takes a redis.UniversalClient: a *redis.Client for one server, a
// failover client (redis.NewFailoverClient) for Sentinel, or a
// *redis.ClusterClient. Every operation is one command or one Lua script
// on exactly one key, so Redis Cluster routes it to the node that owns the
// key and no operation crosses slots. Keys spread over the cluster's
// masters; a prefix with a hash tag ([WithPrefix]) would keep them on one.
// Redis 6.2 or later is needed (GETDEL).
//
// # Keys and expiry
//
// Keys are the prefix ([DefaultPrefix] "ltikit:" unless [WithPrefix]
// says otherwise) followed by
//
//	state:<state>     a string: the login record (nonce, issuer, client_id,
//	                  target_link_uri, deployment hint, binding, expiry)
//	nonce:<value>     a string: l or u (live, used), the expiry, the owner
//	session:<id>      a hash: r (the record), i (idle expiry), e (expiry)
//
// Every key gets a time to live when it is written: until the record's
// expiry plus a linger ([DefaultLinger], one minute, [WithLinger]). Redis
// deletes it then; nothing has to sweep. A launch session's key lives until
// its idle expiry plus the linger, and each touch moves that forward. The
// expiry itself is judged with the Store's clock ([WithClock], time.Now),
// passed to Redis as an argument, not with Redis's: a record read in its
// linger is refused as expired. Times are kept to the microsecond.
//
// # Single use
//
// [Store.PutState] is SET … NX: a state is never overwritten. (Should the
// client retry a SET whose answer was lost, the second SET finds the key
// holding its own value and reports success.) [Store.TakeState] is one
// GETDEL: Redis runs commands one at a time, so of any number of callers
// on any number of nodes exactly one gets the record and the others find
// nothing (nonce.ErrNotFound, which the contract allows for a taken
// state). [Store.ConsumeNonce] is a script that checks the owner, the mark
// and the expiry and marks the nonce used, keeping it until it expires so
// a replay is nonce.ErrConsumed; a nonce presented for another
// registration is nonce.ErrNotFound and left untouched. A launch session
// is stored by a script that writes only when the key does not exist, read
// by one HMGET, touched by a script that moves the idle expiry only
// forward and never past the absolute one, and deleted by DEL.
//
// # When Redis is down
//
// Every Redis failure (connection refused, a timeout, a cancelled context,
// an error reply) and every value this package cannot read ([ErrCorrupt])
// is an *lti.Error with code storage_unavailable wrapping the cause:
// errors.Is(err, lti.ErrStorageUnavailable) holds, and the launch pipeline
// answers 503 storage_unavailable. Logins and launches fail closed while
// Redis is unreachable, and work again, with the same client, once it is
// back: go-redis dials anew (after as many failed dials as its pool size
// it fails fast and probes the server once a second). A Redis restarted
// without persistence has forgotten the logins in flight; their launches
// are refused as invalid_state, never accepted. A take whose answer is
// lost after Redis ran it has used the state up: that launch fails and
// the state cannot be used again.
//
// Refusals are the sentinels of the interfaces: nonce.ErrNotFound,
// nonce.ErrExpired, nonce.ErrConsumed, session.ErrNotFound and
// session.ErrExpired. A Put of a key already stored is [ErrDuplicate]
// (code already_exists), wrapped in storage_unavailable as the GORM
// adapter does.
//
// # Tests
//
// The tests run against a real Redis: LTIKIT_TEST_REDIS_URL (a redis://
// URL), else 127.0.0.1:6379. Outside CI an unreachable server skips them
// with a message; with CI=true it fails them. Each test writes under a
// random prefix and deletes its keys at the end. The fault tests start
// private redis-server processes on free ports, and the cluster test a
// three-master Redis Cluster with redis-cli --cluster create. The
// benchmarks (go test -run='^$' -bench=. ./adapters/redis/) have the names
// of adapters/gorm's, for comparison.
package redisadapter
