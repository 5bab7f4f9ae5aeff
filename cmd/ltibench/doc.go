// Command ltibench measures complete LTI 1.3 launches over real HTTP
// against ltikit, next to the floors no launch can go below, and next to a
// peer tool on ltijs, all in one run on one machine. It states performance
// as ratios measured in that run, never as a bare number.
//
//	go run ./cmd/ltibench                                  # in-process, memory + SQLite + PostgreSQL
//	go run ./cmd/ltibench -targets in-process,demo-tool,ltijs -stores memory,sqlite,postgres \
//	        -launches 5000 -json bench/results/run.json -chart bench/results/run.svg
//	go run ./cmd/ltibench -targets in-process -stores sqlite,postgres -fill 100000,1000000
//
// # A launch
//
// Each launch is one fresh browser (cookie jar) doing what a browser does
// between an LMS and a tool, with the in-process test platform of package
// ltitest as the LMS:
//
//  1. the login initiation form post (iss, login_hint, target_link_uri,
//     lti_message_hint, client_id, lti_deployment_id) to the tool;
//  2. the tool's redirect to the platform's auth endpoint, read from its
//     Location and checked (response_type, response_mode, prompt, scope,
//     client_id, login_hint, lti_message_hint, state, nonce, redirect_uri);
//  3. an id_token for that nonce, minted and RS256-signed by the platform;
//  4. the form post of id_token and state to the redirect_uri, with the
//     state cookie the tool set at login; it must answer 200 (ltijs answers
//     a redirect to its app route, which is followed).
//
// Latency is the tool's share: the login round trip plus the launch post
// round trip. Connections are kept alive. A launch that does not end in the
// tool's page is an error; the run fails when any launch fails. At the end
// of each configuration the last launch post is sent again with its state
// cookie, as an attacker who captured both would: it must be refused (4xx).
//
// # Targets and stores
//
//	in-process  the library's own handlers (launch.Tool's LoginHandler and
//	            LaunchHandler on a net/http ServeMux), served from this
//	            process, on the memory store, SQLite or PostgreSQL (GORM adapter)
//	own-process the same handlers in a child process (ltibench started
//	            again), measured from /proc like the other processes and
//	            with the child's exact allocation counters
//	demo-tool   the demo-tool binary (built with go build unless -demo-tool),
//	            registered with "demo-tool platform add", run with
//	            "demo-tool serve", on SQLite or PostgreSQL
//	redis       a store, for in-process and demo-tool: login states and
//	            nonces (and demo-tool's launch sessions, --state-store) in
//	            Redis (adapters/redis, -redis), registrations and
//	            deployments in PostgreSQL, joined with storage.Combine
//	ltijs       bench/peers/ltijs: ltijs 5.9 with ltijs-sequelize on the same
//	            PostgreSQL (its own database), started with node; run
//	            npm ci in that directory first
//
// Every SQL configuration starts on empty tables: SQLite in a fresh file,
// PostgreSQL in a schema of its own (search_path), dropped afterwards. By
// default every launch reads its registration and deployment from the store:
// on SQL that is five statements per launch (the registration and the state
// write at login; the state take, the registration and the deployment at
// launch). -lookup-cache TTL puts storage.CacheLookups in front of the store
// (and passes --lookup-cache to demo-tool, whose own default is 30s), so a
// warm launch costs the database only its state write and its conditional
// take. The demo-tool target also inserts its launch session's row
// (package session) with every launch; the rows-written figure counts the
// login tables only.
//
// # Figures
//
// Per configuration: launches/s; p50, p90, p99 latency; the server's CPU
// milliseconds per launch; its allocations and bytes per launch
// (in-process only); the CPU of PostgreSQL's processes per launch, and of
// Redis's (every redis-server process, from /proc) on the redis store; the load
// generator's own CPU per launch (the platform's RSA signing is most of
// it, and it runs on the same CPUs); the rows written to the login tables
// per launch; key set fetches during the measured launches; errors; and the
// replay check.
//
// The server's CPU comes from /proc/<pid>/stat for another process. In
// process, the load generator and the server share the process's CPU time,
// so it is split with the runtime's CPU profile: the server's goroutines
// carry the pprof label role=server (http.Server's connection goroutines
// inherit it from the goroutine that serves), the generator's role=client,
// and unlabeled runtime work (background GC) is apportioned by the bytes
// each side allocated. Allocations come from the allocs profile (sampled at
// -memprofilerate), counting the stacks under net/http's server connection
// loop. This counts the server goroutines' own work and is a lower bound:
// the own-process target, which runs the same handlers alone in a process,
// also pays its runtime's scheduling and idle work, as demo-tool and ltijs
// do, and is the one to compare with them.
//
// # Floors
//
// Measured in the same run, before the launches:
//
//   - the in-process validation: launch.Tool.ValidateLaunch on the memory
//     store with the key set cached, in alternating rounds with its floor,
//     the RSA-2048 PKCS #1 v1.5 verification of the same id_token with
//     crypto/rsa; with its allocations and bytes per launch, and the
//     issue's targets (≤ 2.0 × the verify, ≤ 150 allocations, ≤ 24 KiB);
//   - PostgreSQL: a raw pgx INSERT of a state row and a conditional
//     UPDATE … RETURNING that consumes it, one pair at a time (p50) and
//     from -clients connections (pairs/s);
//   - SQLite: the same pair through database/sql on the adapter's pool.
//
// Each launch figure is printed as a ratio to its floor, and, with ltijs,
// ltikit's launches/s and CPU per launch as ratios to the peer's; with
// -fill, launches/s with the database filled as a ratio to the empty one.
// Next to the peer ratios come two figures derived from the measured CPU,
// marked so and never targets: the ceiling, the launches/s the CPUs could
// give if the tool's server process cost nothing while each launch still
// cost the load generator and the database what it cost in the run (CPUs ÷
// their CPU per launch), as a ratio to the peer; and the capacity ratio,
// launches per CPU-second of server and database together, ltikit's ÷ the
// peer's, which is what the launches/s ratio approaches when the generator
// has CPUs of its own.
// The machine may be shared: -repeat n measures each configuration n times
// on the same server and reports the run with the median launches/s, and
// the load average before and after is printed with the results.
//
// # Open loop
//
// The closed-loop clients above send a launch only when their previous one
// has answered, so their p99 at saturation is queueing, and a server that
// stalls holds back the very launches that would have measured the stall.
// With -rates, each configuration that ran without errors is started
// again afresh, warmed up, and driven open-loop: launches start at fixed
// intervals (-arrivals uniform, the default; poisson draws exponential
// gaps from a fixed seed) whether or not earlier ones have answered, each
// in a goroutine of its own, at each rate in turn for -step (or
// -step-launches launches):
//
//	go run ./cmd/ltibench -targets own-process,ltijs -stores postgres -lookup-cache 30s \
//	        -rates auto -step 5s -latency-chart bench/results/latency.svg
//
// -rates takes launches/s and percentages of the configuration's
// closed-loop launches/s in the same run, its saturation estimate (auto:
// 10, 25, 50, 70, 85, 100 and 110 %); half of it is always added for the
// ltikit targets. The rates are run from the lowest, and no higher one
// once a step's p99 exceeds -p99-cap (1 s) or a launch fails (which fails
// the run, as in the closed loop); more than 2048 launches in flight end a
// step, the rest counted as not sent.
//
// A launch's latency runs from its scheduled start to the end of its
// launch post round trip, less the platform's signing between the login's
// answer and the launch post (as in the closed loop: it is the LMS's work,
// not the tool's). The time the generator started a launch late is
// counted, and reported on its own per step ("late"), with the p99 of the
// launches timed from their actual start next to it: the generator shares
// the CPUs with the tool, and a late p99 over 2 ms marks a step where it
// did not keep the schedule (up to about 1 ms is the Go runtime's timer
// granularity when the process is idle).
//
// Per step: offered and achieved launches/s (successes ÷ the time from
// the first scheduled start to the last answer), p50, p90, p99, p99.9 and
// the maximum, errors, lateness and the most launches in flight. Per
// configuration: the highest offered rate whose step kept p99 within 10
// ms and within 100 ms (measured steps, never interpolated; lower steps
// that did not are listed), and for the ltikit targets the issue's
// target, p99 ≤ 10 ms at half the saturation rate, met or missed (-strict
// fails on a miss). The open loop runs on empty tables (never -fill) and
// once per rate (never -repeat); a configuration whose closed loop failed
// is skipped.
// -latency-chart draws p99 against the offered rate (both on log scales),
// one line per configuration, with the 10 ms line dashed; the -json
// document holds every step under open_loop.
//
// # Output
//
// The table goes to standard output and progress lines to standard error;
// -json writes every figure (and how it was measured) to a file, -chart an
// SVG of launches/s and p99 per configuration, -profiles the CPU profile of
// each in-process configuration (go tool pprof -tagfocus role=server).
// The exit status is 1 when a launch failed, a replay was not refused or a
// configuration could not run; with -strict also when a target is missed.
//
// TestSmoke runs a few hundred launches on the memory store, SQLite and
// PostgreSQL (LTIKIT_TEST_POSTGRES_DSN) as part of go test ./...
package main
