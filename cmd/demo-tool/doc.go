// Command demo-tool is a small LTI 1.3 tool built on ltikit: it accepts
// launches from any LTI 1.3 platform (Moodle, Canvas, …) and shows what the
// platform sent. With --sandbox it also serves a local test LMS, so a launch
// can be tried in a browser with no LMS and no database server:
//
//	go run ./cmd/demo-tool
//
// starts the tool on http://127.0.0.1:8080 with the sandbox LMS at
// http://127.0.0.1:8080/sandbox/ and an SQLite database file demo-tool.db in
// the working directory.
//
// # Usage
//
//	demo-tool                      same as: demo-tool serve --sandbox (no arguments at all)
//	demo-tool serve [--addr 127.0.0.1:8080] [--base-url URL] [--db DSN] [--sandbox] [--sandbox-url URL] [--trusted-proxies CIDR,...]
//	                [--state-store URL] [--metrics-addr ADDR] [--log-format text|json] [--shutdown-timeout 15s] [--purge-interval 5m]
//	demo-tool platform add --issuer ISS --client-id ID --auth-url URL --jwks-url URL [--token-url URL [--token-audience AUD]] [--deployment-id ID]... [--db DSN]
//	demo-tool platform list [--json] [--db DSN]
//	demo-tool platform show --issuer ISS [--client-id ID] [--json] [--db DSN]
//	demo-tool platform remove --issuer ISS --client-id ID [--db DSN]
//	demo-tool deployment add --issuer ISS --client-id ID --deployment-id ID [--db DSN]
//	demo-tool deployment list [--issuer ISS [--client-id ID]] [--json] [--db DSN]
//	demo-tool deployment remove --issuer ISS --client-id ID --deployment-id ID [--db DSN]
//	demo-tool export [--out FILE|-] [--db DSN]
//	demo-tool import --in FILE|- [--replace] [--db DSN]
//	demo-tool keys list [--json] [--db DSN]
//	demo-tool keys rotate [--now] [--db DSN]
//	demo-tool config [--lms moodle|canvas|blackboard|brightspace|sakai|generic] [--base-url URL] [--json]
//	demo-tool registration link --base-url URL [--ttl 24h] [--note TEXT] [--db DSN]
//	demo-tool registration links [--db DSN]
//	demo-tool help
//
// The command exits 0 on success and non-zero with a one-line message on
// standard error otherwise: 2 for bad usage or input (a missing flag, a URL
// that is not absolute http(s), an import file that is not a valid export,
// an issuer with several registrations and no --client-id), 1 for a
// failure (a duplicate platform or deployment, an unknown one, an import
// that conflicts with the database, an unreachable database, a port in
// use). Flags without a
// subcommand are bad usage: only demo-tool with no arguments at all serves
// the sandbox, and serve mounts it (and writes its registration into the
// database) only with --sandbox. Every missing or invalid flag or variable
// is reported at once, a value that came from the environment is named by
// its variable, and a parse error says the format wanted.
//
// The commands that only read (platform list and show, deployment list,
// export, keys list, registration links) open the database read-only:
// they work on a read-only SQLite file, never create a table, a file or a
// signing key, and refuse a database that does not exist instead of
// creating it. A bad SQLite path says what is wrong with it (its directory
// missing or not writable, a directory, a file not writable).
//
// # Flags and environment
//
// Every serve flag, and --db of every command, may also come from the
// environment; a flag on the command line wins over the variable.
//
//	--addr        LTIKIT_ADDR         listen address (default 127.0.0.1:8080; port 0 picks a free one)
//	--base-url    LTIKIT_BASE_URL     the tool's public base URL (default http://<addr>)
//	--db          LTIKIT_DB           a postgres:// or postgresql:// URL for PostgreSQL,
//	                                  otherwise an SQLite file path (default ./demo-tool.db);
//	                                  a DSN with a password belongs in LTIKIT_DB: the process
//	                                  list shows flags, and the tool warns about one in --db
//	--state-store LTIKIT_STATE_STORE  a redis:// or rediss:// URL: login states, their nonces
//	                                  and launch sessions in Redis (adapters/redis), the rest
//	                                  in --db (default: everything in --db)
//	--sandbox     LTIKIT_SANDBOX      serve the sandbox LMS at /sandbox/ and register it in the
//	                                  database (true/false; default false)
//	--sandbox-url LTIKIT_SANDBOX_URL  the sandbox LMS's public URL, its issuer
//	                                  (default <base-url>/sandbox; its path must end in /sandbox)
//	--lookup-cache LTIKIT_LOOKUP_CACHE how long a registration or deployment read from the
//	                                  database is reused (default 30s; 0: never); see
//	                                  storage.CacheLookups
//	--partitioned-cookies LTIKIT_PARTITIONED_COOKIES  give the tool's cookies the Partitioned
//	                                  attribute (CHIPS; default true)
//	--platform-storage LTIKIT_PLATFORM_STORAGE  bind launches through the platform's storage
//	                                  when it sends lti_storage_target (default true)
//	--trusted-proxies LTIKIT_TRUSTED_PROXIES  comma-separated IPs or CIDRs of the reverse proxies
//	                                  in front of the tool; the access log takes the client
//	                                  address from X-Forwarded-For (its right-most address that
//	                                  is not a trusted proxy), and the request id from
//	                                  X-Request-Id, only when the connection comes from one.
//	                                  Default none: the connection's address and a new id
//	--new-deployments LTIKIT_NEW_DEPLOYMENTS  refuse (default) or record: what a verified launch
//	                                  with an unknown deployment_id of a registered platform
//	                                  does (launch.RecordDeployments stores it and accepts it)
//	--open-registration LTIKIT_OPEN_REGISTRATION  approve every Dynamic Registration without a
//	                                  one-time link; for sandboxes only (needs --sandbox or a
//	                                  loopback base URL)
//	--metrics-addr LTIKIT_METRICS_ADDR  host:port of a listener of its own for /metrics,
//	                                  /healthz and /readyz; the main listener then serves no
//	                                  /metrics (see Operations)
//	--log-format LTIKIT_LOG_FORMAT    text (default) or json
//	--shutdown-timeout LTIKIT_SHUTDOWN_TIMEOUT  how long the requests in flight at SIGTERM or
//	                                  SIGINT may take to finish (default 15s)
//	--purge-interval LTIKIT_PURGE_INTERVAL  how often expired login states, nonces and launch
//	                                  sessions are deleted (default 5m)
//
// # Dynamic Registration
//
// The tool's registration URL (LTI Dynamic Registration 1.0) is
// <base-url>/lti/register, served by package dynreg. Registering a platform
// is an administrator's act: 'registration link' prints a one-time link,
// <base-url>/lti/register/<token>, that registers one platform, once,
// before it expires (24 hours by default). Only the token's SHA-256 is
// stored (table demo_tool_registration_links); the token is checked before
// the tool fetches anything from the platform and spent, with one
// conditional UPDATE, when the registration is approved, so two
// registrations racing with one link on any nodes get one approval. Without
// a link, the URL (and the base URL, which administrators paste by
// mistake) answers a page saying Dynamic Registration is off and how to get
// a link; --open-registration approves every registration instead, for a
// sandbox. 'config' prints the registration URL with the values for manual
// registration.
//
// # Platforms and deployments
//
// A platform registration is an issuer and a client_id with the platform's
// endpoints; its deployments are the deployment_ids the platform sends in
// launches. The platform and deployment commands add, list, show and
// remove them; a deployment id is given with --deployment-id everywhere.
// platform show needs --client-id only when the issuer has several
// registrations (it then lists their client ids); platform remove also
// removes the registration's deployments and says how many.
//
// The input is checked before the database is opened, and everything
// wrong is reported at once, in one message: every missing flag and every
// invalid value. URLs must be absolute http:// or https:// URLs without
// user info or fragment. Plain http is accepted, as local LMSes and
// sandboxes use it, with a warning on standard error when the host is not
// loopback (localhost, 127.0.0.0/8, ::1). An issuer is usually the
// platform's https URL; any other non-empty string is accepted with a
// warning, since a launch only has to carry the same value.
//
// Running servers see an addition at once, but a removal (or a platform
// replaced by import) only when the entry of their lookup cache expires:
// each server reuses a registration or deployment it found for its
// --lookup-cache time (30s by default; see storage.CacheLookups). Until
// then a server that found a removed platform or deployment recently goes
// on accepting its launches and serving the pages of its open launch
// sessions; with --lookup-cache 0 the next launch is refused. The remove commands say so when they succeed.
//
// export writes every registration with its deployments as JSON, on
// standard output or, with --out FILE, to FILE (replaced whole):
//
//	{
//	  "version": 1,
//	  "platforms": [
//	    {
//	      "issuer": "https://moodle.example.edu",
//	      "client_id": "abc123",
//	      "auth_url": "https://moodle.example.edu/mod/lti/auth.php",
//	      "token_url": "https://moodle.example.edu/mod/lti/token.php",
//	      "jwks_url": "https://moodle.example.edu/mod/lti/certs.php",
//	      "deployments": ["1", "2"]
//	    }
//	  ]
//	}
//
// token_url is left out for a launch-only registration; token_audience
// appears when the token endpoint expects another aud in the tool's client
// assertions; a registration with a static key set has "key_set" (a JWK
// Set of public keys) instead of jwks_url. The platforms are ordered by
// issuer then client_id and the deployments by id, in byte order, so the
// same registrations always export to the same bytes.
//
// import --in FILE (or - for standard input) reads such a document
// (version 1 only; unknown fields are refused). It checks every platform
// first and refuses the whole file, listing every problem, if one is
// invalid. Then it adds the platforms the database lacks, skips the ones
// stored with the same settings (adding the file's deployments they lack),
// and reports the ones stored with other settings as conflicts, writing
// nothing, unless --replace: then they take the file's settings and keep
// their deployments (an import never removes one). A summary line counts
// the platforms added, skipped and replaced and the deployments added. If
// a write fails midway, the writes made before it are undone. Exporting,
// importing into an empty database and exporting again gives the same
// bytes.
//
// # HTTP endpoints
//
//	GET|POST /lti/login              OIDC login initiation (register it as the tool's login URL)
//	POST     /lti/launch             the redirect URI: <base-url>/lti/launch
//	GET      /.well-known/jwks.json  the tool's public key set (register it as the tool's JWKS URL)
//	GET      /launch                 the launch page again, for the launch session (linked from the pages below)
//	GET|POST /grade                  send a grade (Assignment and Grade Services), after a launch
//	GET      /roster                 the course roster (Names and Role Provisioning Services), after a launch
//	POST     /deep-linking           the deep linking picker's answer
//	GET      /healthz                liveness: 200 {"status":"ok"} while the process serves HTTP;
//	                                 it asks no database (before, it pinged the database)
//	GET      /readyz                 readiness: 200 {"status":"ok","checks":{"database":"ok"}}
//	                                 when the database (and with --state-store, "state_store":
//	                                 Redis) answers within 2 s, else 503 {"status":"unavailable",…}
//	                                 naming the check that failed
//	GET      /metrics                Prometheus metrics (see Operations)
//	GET      /                       the tool's registration details
//	GET      /config                 what to enter in an LMS (?lms=moodle, canvas, …), as 'config'
//	GET      /lti/canvas.json        Canvas's developer key configuration (its "Enter URL" method)
//	GET      /lti/register[/TOKEN]   LTI Dynamic Registration (see above)
//	         /sandbox/               the sandbox LMS, with --sandbox
//
// Every URL the tool sends out (redirect URI, target link URI, sandbox
// endpoints) is built from --base-url and --sandbox-url, never from a
// request's Host header, so several nodes behind one load balancer share
// one base URL and one database (PostgreSQL) and a launch may start on one
// node and finish on another.
//
// A successful launch renders an HTML page with the user, roles, context,
// resource link, custom parameters, deployment and every raw claim; with
// "Accept: application/json" it answers JSON instead, with the keys
// message_type, version, deployment_id, target_link_uri, sub (absent for an
// anonymous launch), name, email, roles, context, resource_link, custom,
// deep_linking_settings, registration {issuer, client_id} and claims (every
// claim exactly as the platform sent it). context, resource_link, custom and
// roles are the claims as sent, with their own keys and JSON types. A
// refused launch answers the pipeline's HTTP status with
// {"error": CODE, "error_description": TEXT} in JSON, or an HTML page.
//
// # LTI Advantage
//
// The tool signs with its own RSA key: the client assertions it gets
// service access tokens with, and its deep linking responses. The key is
// made on first use and kept in the database (table ltikit_tool_keys), so
// a restart keeps its kid and every node sharing the database signs with,
// and publishes, the same key at /.well-known/jwks.json. Register that URL
// with a platform as the tool's key set URL, and the platform's token
// endpoint with 'demo-tool platform add --token-url'. 'demo-tool keys
// list' shows the published keys; 'demo-tool keys rotate' publishes a new
// key at once and lets it sign only after every node's cache and the
// platforms' copies of the key set can have seen it (it prints when it
// takes over), while the previous key signs until then and stays published
// for toolkey.DefaultGrace afterwards, so nothing signed around the
// rotation stops verifying. 'keys rotate --now' is the emergency rotation
// for a compromised key: the new key signs at once.
//
// The launch page links to the pages the launch's claims allow:
//
//   - Send a grade, for a resource link launch with an AGS claim granting
//     the score scope and naming the link's line item: a learner posts a
//     score for themselves, an instructor (teaching assistant,
//     administrator) for a learner of the roster. The page reads the line
//     item, posts the score (scoreGiven, scoreMaximum, activity and
//     grading progress, comment) and reads the result back when the
//     result scope is granted.
//   - Roster, for instructors, teaching assistants and administrators,
//     with an NRPS claim: the members with their roles, streamed to the
//     page as the platform's pages arrive.
//   - A deep linking launch shows a picker of content items (an
//     ltiResourceLink with a line item, one without, a link, an html
//     fragment), checkboxes or, when the platform accepts one item only,
//     radio buttons; items of types the platform does not accept are
//     disabled, and line items are left out when it does not accept them.
//     The chosen items go back in a signed LtiDeepLinkingResponse that the
//     tool's page posts to the platform's deep_link_return_url.
//
// # Launch sessions
//
// The pages after a launch (send a grade, the roster, the deep linking
// picker's answer) find their launch in a launch session of ltikit's
// package session, kept in the shared database (table
// ltikit_launch_sessions): every successful launch stores one, with the
// id_token payload the launch verified, and every later page rebuilds the
// launch from it (the user, the roles and the service claims, the
// registration looked up again). A launch costs the database three
// writes: the login's state write, the launch's state take, and one
// session insert (plus the registration and deployment reads, which
// --lookup-cache keeps in memory, and the delete of an earlier session
// whose cookie the browser still sends: a new launch ends it). A session
// lasts 30 minutes unused and 2 hours at most. Every node sharing the
// database serves every session, and a restart keeps them.
//
// The browser holds the session's token three ways, so that one survives
// whatever its cookie policy in the platform's iframe: the cookie
// ltikit_session (__Host-ltikit_session over https; HttpOnly, Secure,
// SameSite=None and Partitioned, CHIPS, unless --partitioned-cookies=false),
// lti_session=<token> in every link of the tool's pages, and hidden
// lti_session and csrf_token fields in every form. So the pages work in a
// frame where the browser keeps no cookie of the tool at all. A form that
// only the cookie authenticates must carry the session's CSRF token. A
// page without a usable session (none, expired, ended) answers 401
// no_session; a database failure 503 storage_unavailable. Responses of
// these pages are never cached and send no Referer to other sites.
//
// A deep linking request is answered once: the answer marks its session
// in the table demo_tool_records with one conditional insert (of racing
// answers, on any node, exactly one wins), and a second answer is refused.
//
// # Sandbox
//
// With --sandbox the server also runs a test platform (package ltitest) at
// /sandbox/ and registers it, with one deployment and its token endpoint,
// in the database on start (idempotent on restart). Its page has launch
// links: as instructor, as learner, anonymous, with custom parameters, and
// two deep linking requests (several items with line items; one item
// without). Every launch carries AGS and NRPS claims pointing at the
// sandbox's own services: a course of 27 members (the default instructor
// and learner and 25 more learners) and a gradebook column per resource
// link. The sandbox knows the tool's JWKS URL, so its token endpoint and
// its deep_link_return_url verify the tool's signatures; its return page
// shows the verified items. Its page lists the scores it recorded and the
// items returned, each LTI resource link with a launch link (/sandbox/item:
// a resource link launch of the item's URL and custom parameters, with its
// own gradebook column when it asked for one); GET /sandbox/scores is the
// whole gradebook for a browser, and the scores as JSON otherwise or with
// ?format=json ({"scores":[{"lineItem","label","userId","scoreGiven",
// "scoreMaximum","comment","timestamp","activityProgress",
// "gradingProgress","scoringUserId"}]}, oldest first). Every user it
// launches is a member of its course.
// A link starts a real browser launch: the sandbox posts the login
// initiation to /lti/login, the tool redirects the browser to
// /sandbox/auth, which posts the signed id_token to /lti/launch. The
// sandbox makes a new signing key at each start and its registration points
// at its key set URL, so restarts need no change in the database. It keeps
// pending launches, scores and members in memory: run it on one node only.
//
// # Logs
//
// Logs are structured (log/slog) on standard error, text or, with
// --log-format json, one JSON object per line. Every request has a request
// id, answered in the X-Request-Id response header and carried by every
// line logged while handling it (request_id): the access log line (method,
// path without the query, status, bytes, duration, the client's address),
// the refusal lines of logins and launches, and the application's own. The
// id is new and random, unless the connection comes from a trusted proxy
// (--trusted-proxies) that sent a plain X-Request-Id (1 to 64 letters,
// digits, '-' and '_'): then it is kept, so the proxy's log and the tool's
// share it. Query strings, tokens, state and nonce values are never
// logged.
//
// # Operations
//
// serve records OpenTelemetry metrics (docs/observability.md) with an SDK
// MeterProvider of its own whose reader is the OpenTelemetry Prometheus
// exporter, passed to every component that records (launches, logins,
// storage calls, key set fetches and cache, service calls and tokens, deep
// linking responses, the purge); nothing is set globally. /metrics serves
// them with the Go runtime's and the process's metrics. With
// --metrics-addr they are served only on that listener (with /healthz and
// /readyz), to be kept off the public network. Without it, the main
// listener serves /metrics only when both --addr and the base URL are
// loopback, a tool only this machine reaches: a tool with a public base
// URL, even one listening on loopback behind a reverse proxy on the same
// host, would publish them through the proxy, so it serves none there.
//
// On SIGTERM or SIGINT, serve closes its listeners (new connections are
// refused), lets every connection already accepted send its request, and
// waits for the requests in flight to finish, for at most
// --shutdown-timeout; then it stops the purge, closes the database and
// exits 0 (1 when requests had to be cut off). A second signal stops the
// process at once.
//
// Every --purge-interval, expired login states, nonces and launch sessions
// are deleted. On PostgreSQL each round first takes a transaction-level
// advisory lock (pg_try_advisory_xact_lock, keyed by the schema), so that
// of several nodes sharing the database one purges at a time and the
// others skip the round; SQLite needs none; with --state-store there is no
// purge, as Redis expires its keys. The rounds are the metrics
// ltikit.demo.purge.runs (by result: ok, skipped, error),
// ltikit.demo.purge.rows and ltikit.demo.purge.duration.
//
// docs/operations.md is the operator's guide: TLS behind a reverse proxy,
// clocks, key rotation, database sizing, several nodes, backups, and what
// to alert on.
package main
