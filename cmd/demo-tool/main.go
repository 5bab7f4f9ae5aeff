package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode/utf8"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first SIGINT or SIGTERM starts serve's graceful shutdown; after
	// it the signals have their default action again, so a second one ends
	// the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // a duplicate, an unreachable database, a port in use
	exitUsage   = 2 // bad usage or input
)

// usageError is bad usage or input: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// errHelp asks for the help text on standard output and exit 0.
var errHelp = errors.New("help requested")

// env reads the environment; os.Getenv in main, a map in tests.
type env func(string) string

// run runs the command line args and returns the exit code. Errors are
// reported as one line on stderr.
func run(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, getenv, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		fmt.Fprint(stdout, helpText)
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "demo-tool: %s (see 'demo-tool help')\n", oneLine(err.Error()))
		return exitUsage
	default:
		fmt.Fprintf(stderr, "demo-tool: %s\n", oneLine(err.Error()))
		return exitFailure
	}
}

func dispatch(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		// Only no arguments at all is the sandbox shortcut.
		return serve(ctx, []string{"--sandbox"}, getenv, stdout, stderr)
	}
	if dbFlagHasPassword(args) {
		slog.New(slog.NewTextHandler(stderr, nil)).Warn("the --db flag carries a database password, which any local user can read in the process list; put the DSN in LTIKIT_DB instead")
	}
	if stateStoreFlagHasPassword(args) {
		slog.New(slog.NewTextHandler(stderr, nil)).Warn("the --state-store flag carries a Redis password, which any local user can read in the process list; put the URL in LTIKIT_STATE_STORE instead")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "platform":
		if len(rest) == 0 {
			return usagef("platform: want a subcommand: add, list, show or remove")
		}
		switch rest[0] {
		case "add":
			return platformAdd(ctx, rest[1:], getenv, stdout, stderr)
		case "list":
			return platformList(ctx, rest[1:], getenv, stdout)
		case "show":
			return platformShow(ctx, rest[1:], getenv, stdout)
		case "remove":
			return platformRemove(ctx, rest[1:], getenv, stdout)
		}
		return usagef("platform: unknown subcommand %q: want add, list, show or remove", rest[0])
	case "deployment":
		if len(rest) == 0 {
			return usagef("deployment: want a subcommand: add, list or remove")
		}
		switch rest[0] {
		case "add":
			return deploymentAdd(ctx, rest[1:], getenv, stdout)
		case "list":
			return deploymentList(ctx, rest[1:], getenv, stdout)
		case "remove":
			return deploymentRemove(ctx, rest[1:], getenv, stdout)
		}
		return usagef("deployment: unknown subcommand %q: want add, list or remove", rest[0])
	case "export":
		return exportCmd(ctx, rest, getenv, stdout)
	case "import":
		return importCmd(ctx, rest, getenv, os.Stdin, stdout, stderr)
	case "keys":
		return keysCommand(ctx, rest, getenv, stdout)
	case "config":
		return configCommand(ctx, rest, getenv, stdout)
	case "registration":
		return registrationCommand(ctx, rest, getenv, stdout)
	case "help", "-h", "-help", "--help":
		return errHelp
	default:
		if strings.HasPrefix(cmd, "-") {
			// Flags without a subcommand are not the sandbox shortcut: they
			// would mount the sandbox and register it in the database they
			// name.
			return usagef("flags need a subcommand: 'demo-tool serve %s' serves the tool (add --sandbox for the sandbox LMS); only 'demo-tool' without arguments serves the sandbox", cmd)
		}
		return usagef("unknown command %q", cmd)
	}
}

// dbFlagHasPassword reports whether args give --db (or -db) a database URL
// with a password, in its user info or its password parameter: the
// process list shows it to every local user. LTIKIT_DB does not.
func dbFlagHasPassword(args []string) bool {
	for i, a := range args {
		if a == "--" {
			break
		}
		var v string
		switch {
		case a == "--db" || a == "-db":
			if i+1 >= len(args) {
				continue
			}
			v = args[i+1]
		case strings.HasPrefix(a, "--db="):
			v = strings.TrimPrefix(a, "--db=")
		case strings.HasPrefix(a, "-db="):
			v = strings.TrimPrefix(a, "-db=")
		default:
			continue
		}
		if dsnHasPassword(v) {
			return true
		}
	}
	return false
}

// dsnHasPassword reports whether a postgres:// URL carries a password.
func dsnHasPassword(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return false
	}
	if _, ok := u.User.Password(); ok {
		return true
	}
	return u.Query().Get("password") != ""
}

// oneLine keeps messages on one line, whatever a cause contains.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// helpText is 'demo-tool help': the usage, the flags table (envFlags) and
// the endpoints. Its columns are aligned (TestHelpAligned).
var helpText = helpUsage + flagsTable(envFlags) + helpEndpoints

// helpWidth is the width the help text's flags table wraps at.
const helpWidth = 104

// envFlag is a flag that may come from an environment variable, for the
// help's table.
type envFlag struct {
	flag, env, desc string
}

// envFlags are every flag read from an environment variable, with the
// variable: the help's table. TestEnvVarsDocumented checks that every
// LTIKIT_* variable the code reads is here and in the README.
var envFlags = []envFlag{
	{"--addr", "LTIKIT_ADDR", "serve: listen address (default 127.0.0.1:8080; port 0 picks a free one)"},
	{"--base-url", "LTIKIT_BASE_URL", "serve, config, registration link: the tool's public base URL (serve's default: http://<addr>); every URL the tool sends out is built from it, never from the Host header"},
	{"--db", "LTIKIT_DB", "every command but config: postgres://… or postgresql://… for PostgreSQL, otherwise an SQLite file path (default ./demo-tool.db). Give a DSN with a password in LTIKIT_DB, not --db: the process list shows flags to every local user (the tool warns when --db has a password). The commands that only read (platform list|show, deployment list, export, keys list, registration links) open an SQLite file read-only and create nothing"},
	{"--state-store", "LTIKIT_STATE_STORE", "serve: a redis:// or rediss:// URL (redis://[:password@]host:port/db): keep login states, their nonces and launch sessions in Redis, platforms, deployments and keys in --db (default: everything in --db). ?prefix=… sets the key prefix (default ltikit:). Give a URL with a password in LTIKIT_STATE_STORE, not --state-store"},
	{"--sandbox", "LTIKIT_SANDBOX", "serve: serve a sandbox LMS at /sandbox/ and register it in the database (true or false; default false, except with no arguments at all)"},
	{"--sandbox-url", "LTIKIT_SANDBOX_URL", "serve: the sandbox's public URL and issuer (default <base-url>/sandbox; its path must end in /sandbox)"},
	{"--lookup-cache", "LTIKIT_LOOKUP_CACHE", "serve: how long a platform or deployment read from the database is reused, a duration like 30s or 5m (default 30s; 0: read it on every launch). Additions are seen at once, changes within this long"},
	{"--partitioned-cookies", "LTIKIT_PARTITIONED_COOKIES", "serve: give the tool's cookies the Partitioned attribute (CHIPS), so a browser that blocks third-party cookies keeps them in the platform's frame (true or false; default true)"},
	{"--platform-storage", "LTIKIT_PLATFORM_STORAGE", "serve: when the platform sends lti_storage_target, also bind the launch through the platform's storage (true or false; default true)"},
	{"--trusted-proxies", "LTIKIT_TRUSTED_PROXIES", "serve: comma-separated IPs or CIDRs of the reverse proxies in front of the tool; the access log then takes the client address from X-Forwarded-For (its right-most address that is not a trusted proxy), and the request id from their X-Request-Id. Default none: the connection's address, and a new id for every request"},
	{"--new-deployments", "LTIKIT_NEW_DEPLOYMENTS", "serve: what a verified launch with an unknown deployment_id of a registered platform does: refuse (default, 403 unknown_deployment) or record (store the deployment and accept the launch; Canvas makes a deployment per account or course)"},
	{"--open-registration", "LTIKIT_OPEN_REGISTRATION", "serve: approve every Dynamic Registration at /lti/register without a one-time link; for sandboxes only (needs --sandbox or a loopback base URL; true or false)"},
	{"--metrics-addr", "LTIKIT_METRICS_ADDR", "serve: a host:port of its own for /metrics (Prometheus), /healthz and /readyz, like 10.0.0.5:9090; the main listener then serves no /metrics. Without it, the main listener serves /metrics only when both --addr and the base URL are loopback"},
	{"--log-format", "LTIKIT_LOG_FORMAT", "serve: text (default) or json: one log line per record on standard error, each line logged while handling a request with its request_id"},
	{"--shutdown-timeout", "LTIKIT_SHUTDOWN_TIMEOUT", "serve: on SIGTERM or SIGINT, stop accepting connections and let the requests in flight finish for at most this long, a duration like 15s (default 15s); then close the database. A second signal stops at once"},
	{"--purge-interval", "LTIKIT_PURGE_INTERVAL", "serve: how often expired login states, nonces and launch sessions are deleted from the database, a duration (default 5m); on PostgreSQL one node at a time (an advisory lock). None with --state-store: Redis expires them"},
}

// flagsTable is the help's table of flags and environment variables: three
// aligned columns, the description wrapped at helpWidth.
func flagsTable(flags []envFlag) string {
	fw, ew := 0, 0
	for _, f := range flags {
		fw, ew = max(fw, len(f.flag)), max(ew, len(f.env))
	}
	indent := 2 + fw + 2 + ew + 2
	var b strings.Builder
	b.WriteString("Flags and their environment variables (a flag on the command line wins over its variable):\n")
	fmt.Fprintf(&b, "  %-*s  %-*s  %s\n", fw, "FLAG", ew, "VARIABLE", "USE")
	for _, f := range flags {
		line := fmt.Sprintf("  %-*s  %-*s ", fw, f.flag, ew, f.env)
		for _, word := range strings.Fields(f.desc) {
			if len(line) > indent && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > helpWidth {
				b.WriteString(line + "\n")
				line = strings.Repeat(" ", indent-1)
			}
			line += " " + word
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

const helpUsage = `demo-tool: an LTI 1.3 tool built on ltikit, with a built-in sandbox LMS.

Usage:
  demo-tool                                     same as: demo-tool serve --sandbox (no arguments at
                                                all; flags need a subcommand)
  demo-tool serve [--addr 127.0.0.1:8080] [--base-url URL] [--db DSN] [--sandbox] [--sandbox-url URL]
                  [--lookup-cache 30s] [--trusted-proxies CIDR,...] [--new-deployments refuse|record]
                  [--open-registration] [--partitioned-cookies=false] [--platform-storage=false]
                  [--state-store URL] [--metrics-addr ADDR] [--log-format text|json]
                  [--shutdown-timeout 15s] [--purge-interval 5m]
  demo-tool platform add --issuer ISS --client-id ID --auth-url URL --jwks-url URL
                         [--token-url URL [--token-audience AUD]] [--deployment-id ID]... [--db DSN]
  demo-tool platform list [--json] [--db DSN]
  demo-tool platform show --issuer ISS [--client-id ID] [--json] [--db DSN]
  demo-tool platform remove --issuer ISS --client-id ID [--db DSN]
                                                the platform and its deployments
  demo-tool deployment add --issuer ISS --client-id ID --deployment-id ID [--db DSN]
  demo-tool deployment list [--issuer ISS [--client-id ID]] [--json] [--db DSN]
  demo-tool deployment remove --issuer ISS --client-id ID --deployment-id ID [--db DSN]
  demo-tool export [--out FILE|-] [--db DSN]    every platform with its deployments as JSON
  demo-tool import --in FILE|- [--replace] [--db DSN]
                                                add what an export holds and the database lacks;
                                                differing platforms fail the import unless --replace
  demo-tool keys list [--json] [--db DSN]       the tool's published signing keys (none until the
                                                first is made: it never makes one)
  demo-tool keys rotate [--now] [--db DSN]      a new signing key, published at once, signing once
                                                every node and platform can know it (--now: at
                                                once); the old one stays published a day. On a
                                                database without keys: the first key
  demo-tool config [--lms moodle|canvas|blackboard|brightspace|sakai|generic] [--base-url URL] [--json]
                                                what to enter in the LMS to register the tool, and
                                                the platform add command for what the LMS gives back
  demo-tool registration link --base-url URL [--ttl 24h] [--note TEXT] [--db DSN]
                                                a one-time LTI Dynamic Registration link for an LMS
  demo-tool registration links [--db DSN]       the links made, used and expired
  demo-tool help

`

const helpEndpoints = `
Endpoints:
  GET|POST /lti/login                login initiation URL to register with the platform
  POST     /lti/launch               redirect URI to register with the platform
  GET      /.well-known/jwks.json    the tool's public keys: the JWKS URL to register with the platform
  GET      /launch                   the launch page again, for the launch session
  GET|POST /grade                    send a grade (AGS), linked from the launch page
  GET      /roster                   the course roster (NRPS), linked from the launch page
  POST     /deep-linking             the deep linking picker's answer
  GET      /healthz                  liveness: 200 while the process serves HTTP (asks no database)
  GET      /readyz                   readiness: 200 when the database (and --state-store) answer within
                                     2 s, else 503 naming the check that failed
  GET      /metrics                  Prometheus metrics: on --metrics-addr, or here when --addr and the
                                     base URL are both loopback
  GET      /config                   what to enter in an LMS (?lms=moodle, canvas, …), as 'demo-tool config'
  GET      /lti/register/TOKEN       LTI Dynamic Registration with a one-time link (registration link);
                                     /lti/register without one with --open-registration
  GET      /lti/canvas.json          Canvas's developer key configuration (method "Enter URL")
  GET      /sandbox/                 the sandbox LMS's launch links (with --sandbox)

A launch answers an HTML page, or JSON with "Accept: application/json".
Each launch starts a launch session (table ltikit_launch_sessions, shared by every node): the
grade, roster and deep linking pages after it find the launch there, through the session cookie
or the lti_session token the launch page's links and forms carry, so they also work in a
platform's iframe whose browser keeps no cookie of the tool.
A session lasts 30 minutes unused, 2 hours at most; a page without one answers 401
no_session: launch again from the platform.
Platforms: a URL must be absolute http:// or https://; plain http is accepted (local LMSes and
sandboxes use it) with a warning unless the host is loopback. Every missing or invalid flag, and
every invalid environment variable, is reported at once, naming the variable a value came from.
A removal, or a platform replaced by import, reaches running servers when their --lookup-cache
entry expires (30s by default); additions are seen at once.
Exit status: 0 success, 1 failure (duplicate, unknown platform, conflict, database, port),
2 bad usage or input.
`
