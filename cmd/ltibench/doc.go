// Command ltibench measures complete LTI 1.3 launches over real HTTP
// against ltikit, next to the floors no launch can go below, and next to a
// peer tool on ltijs, all in one run on one machine. It states performance
// as ratios measured in that run, never as a bare number.
//
//	go run ./cmd/ltibench                                  # in-process, memory + SQLite + PostgreSQL
//	go run ./cmd/ltibench -targets in-process,demo-tool,ltijs -stores memory,sqlite,postgres \
//	        -launches 5000 -json bench/results/run.json -chart bench/results/run.svg
//	go run ./cmd/ltibench -targets in-process -stores sqlite,postgres -fill 100000,1000000
//	go run ./cmd/ltibench -pin -targets own-process,own-process-2,demo-tool,ltijs -stores postgres,redis \
//	        -lookup-cache 30s -launches 3000 -warmup 300   # capacity against ltijs, generator on a CPU of its own
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
//	own-process-2
//	            scale-out: two own-process nodes on one PostgreSQL schema,
//	            both configured with one base URL (as behind a load
//	            balancer); PostgreSQL only (see "Scale-out")
//	demo-tool   the demo-tool binary (built with go build unless -demo-tool),
//	            registered with "demo-tool platform add", run with
//	            "demo-tool serve", on SQLite or PostgreSQL
//	redis       a store, for in-process, own-process and demo-tool: login states and
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
// (in-process: the allocs profile; own-process: the child's runtime
// counters); the store's CPU per launch; the load generator's own CPU per
// launch (the platform's RSA signing is most of it); the rows written to
// the login tables per launch; key set fetches during the measured
// launches; errors; and the replay check.
//
// The store's CPU: PostgreSQL's is that of the backends serving the
// configuration, told apart in pg_stat_activity by the application_name
// every connection of its schema carries (the schema's name), or, for the
// ltijs peer, by its database; each backend's CPU comes from /proc. A
// backend that connects during the measurement counts whole, one that
// disconnects is lost (the tools keep pooled connections open). The whole
// server's CPU is printed next to it (pg all): the process tree of the
// postmaster, with the CPU of the backends it reaped during the
// measurement (cutime, cstime), so that it never falls when a backend
// exits; it includes the background writers and every other session's
// work on that server. Redis's is the same process-tree figure for
// redis-server, which cannot be split by client. Every difference is
// clamped at 0.
//
// The capacity of a configuration is launches per CPU-second of the tool
// and its store together, 1000 ÷ (server + store CPU-ms per launch), and
// the headline ratio is a configuration's capacity ÷ ltijs/postgres's in
// the same run. Each ltikit configuration's server CPU per launch is also
// given as a multiple of the launch floor: the process CPU time (getrusage)
// of an in-process validation (ValidateLaunch: the RSA verify, the claims)
// plus a login initiation, from the -micro measurement in the same run,
// with no HTTP and no store (CPU time rather than the wall-clock medians,
// so that the machine's other work does not inflate it).
//
// # Pinning
//
// With -pin (Linux, two CPUs or more in ltibench's affinity mask) the load
// generator gets a CPU of its own: ltibench's process, every thread, is
// moved to the first CPU of its mask and GOMAXPROCS set to 1; PostgreSQL
// (each postmaster on this machine and all its processes; backends forked
// later inherit the CPU) and, with the redis store, redis-server (every
// thread) are moved to the second, and so is every tool server as it
// starts (own-process children, demo-tool serve, node), every thread, and
// again before each measurement for threads born meanwhile. The affinity
// calls are sched_setaffinity per thread. Every mask changed is recorded
// and restored at the end, also after an error or on SIGINT or SIGTERM;
// threads and processes born on the moved CPU in a moved tree get their
// root's original mask. -pin refuses to run on one CPU, when an affinity
// call fails, when PostgreSQL or Redis is not on this machine, and with
// the in-process target, whose server shares the generator's process.
// The in-process validation and the floors run pinned too, on the
// generator's CPU. The header prints the placement. Under -pin the
// launches/s ratio to ltijs (bounded by the generator's one CPU) and the
// closed-loop p99 (queueing on the tool's one CPU) are printed but are not
// targets, and the derived ceiling, which assumes shared CPUs, is left
// out. Other processes of the machine are not moved and may use both CPUs.
//
// # Scale-out
//
// The own-process-2 target starts two own-process children on one
// PostgreSQL schema, both with one base URL (a port of 127.0.0.1 nobody
// serves), so target_link_uri and redirect_uri are the same whichever
// node answers. The generator plays the load balancer: each login goes to
// a node chosen at random and its launch post to the other, with the URL's
// host and port rewritten. The state cookie the first node set travels to
// the second because cookies are scoped by host, not port (RFC 6265 §8.5;
// net/http/cookiejar keys its cookies so), and both listen on 127.0.0.1.
// The replay goes to the node that did not take the launch post. Its
// capacity is launches per node-CPU-second: all the launches ÷ (both
// nodes' CPU + the store's), which equals the single node's when a second
// node costs nothing; each node's CPU per launch is printed too.
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
// Without -pin, next to the peer ratios comes a figure derived from the
// measured CPU, marked so and never a target: the ceiling, the launches/s
// the CPUs could give if the tool's server process cost nothing while each
// launch still cost the load generator and the database what it cost in
// the run (CPUs ÷ their CPU per launch), as a ratio to the peer.
//
// # Targets
//
// Printed with met or MISSED; -strict fails the run on a miss:
//
//   - capacity ÷ ltijs/postgres's, checked when ltijs ran in the same
//     invocation and -lookup-cache was given: own-process/postgres ≥ 15 ×,
//     demo-tool/postgres ≥ 12 ×, own-process/redis ≥ 25 ×;
//   - demo-tool's server CPU per launch ≤ 1.3 × own-process's on the same
//     store;
//   - own-process-2: capacity per node-CPU-second ≥ 0.90 × own-process/
//     postgres's in the same run (within 10 %; more passes) and the rows
//     written per launch unchanged;
//   - every ltikit configuration: ≤ 2 rows written to the SQL login tables
//     per launch, 0 key set fetches during the measured launches;
//   - with -fill, flat cost: capacity with the rows stored ≥ 0.90 × the
//     empty database's, per configuration;
//   - the in-process validation: ≤ 2.0 × the RSA verify, ≤ 150
//     allocations, ≤ 24 KiB; ltikit's server CPU ≤ 1/10 of ltijs's;
//     without -pin, ≥ 10 × ltijs's launches/s, p99 ≤ 10 ms at -clients,
//     and with -fill ≥ 0.90 × the empty database's launches/s (pinned,
//     launches/s is the generator's CPU, not the tool's).
//
// Errors, a replay that is not refused and a configuration that could not
// run fail the run with or without -strict.
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
// fails on a miss). Each step keeps its five slowest launches with their
// scheduled start (UTC, to the millisecond) and their login and launch
// post round trips; those of 100 ms or more are printed under the table,
// to be lined up with the logs of the tool, PostgreSQL (autovacuum,
// checkpoints) and the machine. The open loop runs on empty tables (never -fill) and
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
// each in-process configuration (go tool pprof -tagfocus role=server) and
// of each own-process child over its whole life (warm-up, runs, replay),
// numbered in the order the children start.
// The exit status is 1 when a launch failed, a replay was not refused or a
// configuration could not run; with -strict also when a target is missed.
//
// TestSmoke runs a few hundred launches on the memory store, SQLite and
// PostgreSQL (LTIKIT_TEST_POSTGRES_DSN) as part of go test ./...;
// TestOwnProcessRedisAndScaleOut runs own-process on PostgreSQL and Redis
// and own-process-2, and TestPinRestore moves a process tree and restores
// it.
package main
