package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/metric"

	"github.com/ltikit/ltikit/deeplink"
	"github.com/ltikit/ltikit/dynreg"
	"github.com/ltikit/ltikit/echolti"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/services/token"
	"github.com/ltikit/ltikit/session"
	"github.com/ltikit/ltikit/storage"
	"github.com/ltikit/ltikit/toolkey"
)

// HTTP server limits.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 20 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// maxBodyBytes bounds every request body: larger ones are refused with
	// 413 before any handler reads them. It is the launch pipeline's own
	// limit, so a body the pipeline would refuse never reaches it.
	maxBodyBytes = launch.DefaultMaxBodyBytes
	// healthTimeout bounds /readyz's checks of the database and Redis.
	healthTimeout = 2 * time.Second
)

// defaultLookupCache is --lookup-cache's default: a platform or deployment
// changed in the database (not added: additions are seen at once) is seen
// by a running server within this long.
const defaultLookupCache = 30 * time.Second

// defaultAddr is the listen address when neither --addr nor LTIKIT_ADDR is
// set.
const defaultAddr = "127.0.0.1:8080"

// serveConfig is the configuration of demo-tool serve.
type serveConfig struct {
	Addr       string
	BaseURL    string // empty: http://<listen address>
	DB         string
	StateStore string // --state-store: Redis for states, nonces and launch sessions; empty: DB
	Sandbox    bool
	SandboxURL string // empty: BaseURL + "/sandbox"
	// LookupCache is how long a registration or deployment found in the
	// database is reused (storage.CacheLookups); 0 asks the database on
	// every launch.
	LookupCache time.Duration
	// UnpartitionedCookies drops the Partitioned attribute (CHIPS) from
	// the tool's cookies (--partitioned-cookies=false): a browser that
	// blocks third-party cookies then keeps none for the framed tool.
	UnpartitionedCookies bool
	// NoPlatformStorage turns off binding launches through the platform's
	// storage (LTI Client Side postMessages) when the platform sends
	// lti_storage_target (--platform-storage=false).
	NoPlatformStorage bool
	// OpenRegistration approves every LTI Dynamic Registration that comes
	// to /lti/register without a one-time link (--open-registration): for
	// sandboxes only, so it needs a loopback base URL or --sandbox.
	OpenRegistration bool
	// RecordDeployments accepts a verified launch with an unknown
	// deployment_id of a registered platform and stores the deployment
	// (--new-deployments record); false refuses it (unknown_deployment).
	RecordDeployments bool
	// MetricsAddr is --metrics-addr: a listener of its own for /metrics,
	// /healthz and /readyz; empty: see metricsOnMain (ops.go).
	MetricsAddr string
	// LogFormat is --log-format: text or json.
	LogFormat string
	// ShutdownTimeout bounds the wait for requests in flight at SIGTERM
	// or SIGINT (--shutdown-timeout).
	ShutdownTimeout time.Duration
	// PurgeInterval is how often expired states, nonces and launch
	// sessions are deleted (--purge-interval; purge.go).
	PurgeInterval time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For the
	// access log believes (--trusted-proxies); none: the connection's
	// address is logged.
	TrustedProxies []*net.IPNet
}

func parseServe(args []string, getenv env) (serveConfig, error) {
	var cfg serveConfig
	f := newFlagSet("serve")
	f.fs.StringVar(&cfg.Addr, "addr", defaultAddr, "listen address")
	f.fromEnv("addr", "LTIKIT_ADDR")
	f.fs.StringVar(&cfg.BaseURL, "base-url", "", "the tool's public base URL")
	f.fromEnv("base-url", "LTIKIT_BASE_URL")
	f.fs.BoolVar(&cfg.Sandbox, "sandbox", false, "serve the sandbox LMS at /sandbox/")
	f.fromEnv("sandbox", "LTIKIT_SANDBOX")
	f.fs.StringVar(&cfg.SandboxURL, "sandbox-url", "", "the sandbox LMS's public URL")
	f.fromEnv("sandbox-url", "LTIKIT_SANDBOX_URL")
	f.fs.DurationVar(&cfg.LookupCache, "lookup-cache", defaultLookupCache, "reuse registrations and deployments found in the database this long (0: never)")
	f.fromEnv("lookup-cache", "LTIKIT_LOOKUP_CACHE")
	partitioned, platformStorage := true, true
	f.fs.BoolVar(&partitioned, "partitioned-cookies", true, "give the tool's cookies the Partitioned attribute (CHIPS)")
	f.fromEnv("partitioned-cookies", "LTIKIT_PARTITIONED_COOKIES")
	f.fs.BoolVar(&platformStorage, "platform-storage", true, "bind launches through the platform's storage when it sends lti_storage_target")
	f.fromEnv("platform-storage", "LTIKIT_PLATFORM_STORAGE")
	f.fs.BoolVar(&cfg.OpenRegistration, "open-registration", false, "approve every Dynamic Registration, without a one-time link (sandboxes only)")
	f.fromEnv("open-registration", "LTIKIT_OPEN_REGISTRATION")
	newDeps := "refuse"
	f.fs.StringVar(&newDeps, "new-deployments", "refuse", "refuse or record launches with an unknown deployment_id of a registered platform")
	f.fromEnv("new-deployments", "LTIKIT_NEW_DEPLOYMENTS")
	var proxies string
	f.fs.StringVar(&proxies, "trusted-proxies", "", "comma-separated IPs or CIDRs of the reverse proxies whose X-Forwarded-For is believed")
	f.fromEnv("trusted-proxies", "LTIKIT_TRUSTED_PROXIES")
	f.fs.StringVar(&cfg.StateStore, "state-store", "", "a redis:// URL: keep login states, nonces and launch sessions in Redis (default: in --db)")
	f.fromEnv("state-store", "LTIKIT_STATE_STORE")
	opsFlags(f, &cfg)
	db := f.dbFlag()
	// Every problem is reported at once.
	c := &checker{}
	if err := f.parseInto(c, args, getenv); err != nil {
		return cfg, err
	}
	cfg.UnpartitionedCookies, cfg.NoPlatformStorage = !partitioned, !platformStorage
	cfg.DB = *db
	checkOps(f, c, cfg)
	if cfg.StateStore != "" {
		if err := checkStateStore(f.name("state-store"), cfg.StateStore); err != nil {
			c.fail("%s", err.Error())
		}
	}
	switch newDeps {
	case "refuse":
	case "record":
		cfg.RecordDeployments = true
	default:
		c.fail("%s: want refuse or record", show(f.name("new-deployments"), newDeps))
	}
	var err error
	if cfg.TrustedProxies, err = parseTrustedProxies(f.name("trusted-proxies"), proxies); err != nil {
		c.fail("%s", err.Error())
	}
	if cfg.LookupCache < 0 {
		c.fail("%s must not be negative (0: read the database on every launch)", show(f.name("lookup-cache"), cfg.LookupCache.String()))
	}
	addrOK := true
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		addrOK = false
		c.fail("%s must be host:port, like 127.0.0.1:8080 or :8080", show(f.name("addr"), cfg.Addr))
	}
	baseOK := true
	if cfg.BaseURL != "" {
		u, err := checkBaseURL(f.name("base-url"), cfg.BaseURL)
		if err != nil {
			baseOK = false
			c.fail("%s", err.Error())
		}
		cfg.BaseURL = u
	}
	if cfg.OpenRegistration && !cfg.Sandbox && addrOK && baseOK && !loopbackBaseURL(cfg.BaseURL, cfg.Addr) {
		c.fail("%s lets anyone who reaches the tool register a platform: it is for sandboxes, so it needs --sandbox or a loopback --base-url; make one-time links with 'demo-tool registration link' instead", f.name("open-registration"))
	}
	if cfg.SandboxURL != "" {
		if !cfg.Sandbox {
			c.fail("%s needs --sandbox", f.name("sandbox-url"))
		}
		if u, err := checkBaseURL(f.name("sandbox-url"), cfg.SandboxURL); err != nil {
			c.fail("%s", err.Error())
		} else if !strings.HasSuffix(u, "/sandbox") {
			c.fail("%s: its path must end in /sandbox, where the sandbox is served", show(f.name("sandbox-url"), cfg.SandboxURL))
		} else {
			cfg.SandboxURL = u
		}
	}
	return cfg, c.err("serve")
}

// parseTrustedProxies parses --trusted-proxies: IPs and CIDRs separated
// by commas (and spaces).
// what names the flag or environment variable in errors.
func parseTrustedProxies(what, list string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for item := range strings.FieldsFuncSeq(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if strings.Contains(item, "/") {
			_, n, err := net.ParseCIDR(item)
			if err != nil {
				return nil, usagef("%s: %q is not an IP address or CIDR: want a comma-separated list like 10.0.0.1,192.168.0.0/16", what, item)
			}
			nets = append(nets, n)
			continue
		}
		ip := net.ParseIP(item)
		if ip == nil {
			return nil, usagef("%s: %q is not an IP address or CIDR: want a comma-separated list like 10.0.0.1,192.168.0.0/16", what, item)
		}
		bits := 128
		if ip4 := ip.To4(); ip4 != nil {
			ip, bits = ip4, 32
		}
		nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
	}
	return nets, nil
}

// ipExtractor is how the access log finds the client's address: the
// connection's, or with trusted proxies the right-most address of
// X-Forwarded-For that is not one of them (Echo trusts no loopback,
// link-local or private address unless listed).
func ipExtractor(proxies []*net.IPNet) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range proxies {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// checkBaseURL checks a base URL and returns it without a trailing slash.
func checkBaseURL(what, raw string) (string, error) {
	u, err := checkHTTPURL(what, raw)
	if err != nil {
		return "", err
	}
	if u.RawQuery != "" || u.ForceQuery {
		return "", usagef("%s must not contain a query", show(what, raw))
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// defaultBaseURL is http://<addr> for the address actually listened on;
// an unspecified host (":8080", "0.0.0.0:8080") becomes localhost.
func defaultBaseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// serve runs demo-tool serve until ctx is cancelled (SIGINT, SIGTERM), then
// shuts down gracefully: it stops accepting connections, lets the requests
// in flight finish within --shutdown-timeout, stops the purge and closes
// the database.
func serve(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogFormat, stderr)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer ln.Close()
	var opsLn net.Listener // --metrics-addr
	if cfg.MetricsAddr != "" {
		if opsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("serve: --metrics-addr: %w", err)
		}
		defer opsLn.Close()
	}
	tel, err := newMetricsPipeline(log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer tel.shutdown(context.WithoutCancel(ctx))
	if cfg.BaseURL == "" {
		cfg.BaseURL = defaultBaseURL(ln.Addr())
	}
	if cfg.Sandbox && cfg.SandboxURL == "" {
		cfg.SandboxURL = cfg.BaseURL + "/sandbox"
	}

	// startPurge below runs the purge, one node at a time.
	db, err := openBackend(ctx, cfg.DB, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	var store backend = db
	if cfg.StateStore != "" {
		if store, err = withStateStore(ctx, db, cfg.StateStore); err != nil {
			db.Close()
			return fmt.Errorf("serve: %w", err)
		}
	}
	defer store.Close()

	app, err := newApp(cfg, store, log, withMeters(tel.provider, tel.handler))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if app.sandbox != nil {
		if err := ensurePlatform(ctx, store, app.sandbox.Registration(), app.sandbox.Deployment()); err != nil {
			return fmt.Errorf("serve: registering the sandbox platform: %w", err)
		}
	}
	stopPurge, err := startPurge(cfg, db, log, tel.provider)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer stopPurge() // before the database closes

	srv := &http.Server{
		Handler:           app.echo,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	mainSrv := newServer(srv, ln)
	go mainSrv.serve()
	var ops *server // --metrics-addr; nil: none, and a nil channel below
	var opsServed chan error
	if opsLn != nil {
		ops = newServer(app.opsServer(log), opsLn)
		opsServed = ops.served
		go ops.serve()
	}
	printStartup(stdout, cfg, ln.Addr(), opsLn)
	log.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("base_url", cfg.BaseURL),
		slog.String("db", describeDB(cfg.DB)), slog.String("state_store", describeStateStore(cfg.StateStore)), slog.Bool("sandbox", cfg.Sandbox), slog.Int("trusted_proxies", len(cfg.TrustedProxies)))

	select {
	case err := <-mainSrv.served:
		_ = shutdown(cfg.ShutdownTimeout, ops)
		return fmt.Errorf("serve: %w", err)
	case err := <-opsServed:
		_ = shutdown(cfg.ShutdownTimeout, mainSrv)
		return fmt.Errorf("serve: --metrics-addr: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", slog.Duration("timeout", cfg.ShutdownTimeout))
	if err := shutdown(cfg.ShutdownTimeout, mainSrv, ops); err != nil {
		log.Error("shutdown", slog.String("error", err.Error()))
		return fmt.Errorf("serve: %w", err)
	}
	// The deferred calls stop the purge, then close the database.
	log.Info("stopped")
	return nil
}

// printStartup prints where the tool listens and what to register; opsLn
// is --metrics-addr's listener, or nil.
func printStartup(w io.Writer, cfg serveConfig, addr net.Addr, opsLn net.Listener) {
	fmt.Fprintf(w, "demo-tool listening on %s\n", addr)
	fmt.Fprintf(w, "  base URL:      %s\n", cfg.BaseURL)
	fmt.Fprintf(w, "  database:      %s\n", describeDB(cfg.DB))
	if cfg.StateStore != "" {
		fmt.Fprintf(w, "  state store:   %s (login states, nonces, launch sessions)\n", describeStateStore(cfg.StateStore))
	}
	fmt.Fprintf(w, "  login URL:     %s%s\n", cfg.BaseURL, pathLogin)
	fmt.Fprintf(w, "  redirect URI:  %s%s\n", cfg.BaseURL, pathLaunch)
	fmt.Fprintf(w, "  JWKS URL:      %s%s\n", cfg.BaseURL, pathJWKS)
	switch {
	case opsLn != nil:
		fmt.Fprintf(w, "  metrics:       http://%s%s (and %s, %s)\n", opsLn.Addr(), pathMetrics, pathHealthz, pathReadyz)
	case metricsOnMain(cfg):
		fmt.Fprintf(w, "  metrics:       http://%s%s\n", addr, pathMetrics)
	default:
		fmt.Fprintf(w, "  metrics:       not on this public listener: serve them with --metrics-addr\n")
	}
	if cfg.Sandbox {
		fmt.Fprintf(w, "  sandbox LMS:   issuer %s, client_id %s, deployment %s\n", cfg.SandboxURL, sandboxClientID, sandboxDeploymentID)
		fmt.Fprintf(w, "\nOpen %s/ in a browser and click a launch link.\n", cfg.SandboxURL)
	} else {
		fmt.Fprintf(w, "\nRegister a platform with 'demo-tool platform add' (see 'demo-tool help').\n")
	}
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")
}

// app is the demo tool's HTTP application.
type app struct {
	cfg       serveConfig
	store     backend
	lookups   storage.Adapter // store, behind storage.CacheLookups with --lookup-cache
	tool      *launch.Tool
	keys      *toolkey.Keyring    // the tool's signing keys, in the database
	tokens    *token.Client       // service access tokens, signed with keys
	responder *deeplink.Responder // deep linking responses, signed with keys
	sessions  *session.Manager    // launch sessions, in the database
	dlAnswers *marks              // answered deep linking requests, by session id
	log       *slog.Logger
	meters    metric.MeterProvider // what every component records with; nil: the global one
	metrics   http.Handler         // /metrics (ops.go); nil: none
	sandbox   *ltitest.Platform    // nil without --sandbox
	dynreg    *dynreg.Handler      // LTI Dynamic Registration at /lti/register (dynreg.go)
	links     *regLinks            // its one-time links
	echo      *echo.Echo
}

// newApp builds the Echo application: the library's handlers at the LTI
// endpoints, the launch page, the pages after the launch behind the launch
// sessions, the sandbox and the health check.
// cfg.BaseURL must be set (and cfg.SandboxURL with cfg.Sandbox).
func newApp(cfg serveConfig, store backend, log *slog.Logger, opts ...appOption) (*app, error) {
	a := &app{cfg: cfg, store: store, log: log}
	for _, o := range opts {
		o(a)
	}
	var err error
	a.lookups = store
	if cfg.LookupCache > 0 {
		// Registrations and deployments change rarely; states and nonces
		// still go to the database on every launch.
		a.lookups = storage.CacheLookups(store, storage.CacheConfig{TTL: cfg.LookupCache})
	}
	launchOpts := []launch.Option{launch.WithLogger(log), launch.WithErrorHandler(a.renderLTIError),
		launch.WithPartitionedCookie(!cfg.UnpartitionedCookies), launch.WithPlatformStorage(!cfg.NoPlatformStorage),
		launch.WithMeterProvider(a.meters)}
	if cfg.RecordDeployments {
		launchOpts = append(launchOpts, launch.WithDeploymentPolicy(launch.RecordDeployments(store, a.newDeployment)))
	}
	a.tool, err = launch.New(launch.Config{Storage: a.lookups, BaseURL: cfg.BaseURL}, launchOpts...)
	if err != nil {
		return nil, err
	}
	if err := a.setUpDynreg(); err != nil {
		return nil, err
	}
	if a.sessions, err = a.newSessions(); err != nil {
		return nil, err
	}
	if err := a.setUpAdvantage(); err != nil {
		return nil, err
	}
	if cfg.Sandbox {
		a.sandbox, err = newSandbox(cfg)
		if err != nil {
			return nil, err
		}
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard)
	e.HTTPErrorHandler = a.handleError
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	e.Use(requestID(cfg.TrustedProxies), accessLog(log), middleware.Recover(), middleware.BodyLimit(fmt.Sprint(maxBodyBytes)+"B"), securityHeaders)

	e.GET("/", a.index)
	a.mountOps(e) // /healthz, /readyz, /metrics
	e.Match([]string{http.MethodGet, http.MethodPost}, pathLogin, echolti.LoginHandler(a.tool))
	// A successful launch starts its launch session (one row) and shows
	// the launch page, whose links and forms carry the session.
	e.POST(pathLaunch, a.showLaunch, echolti.LaunchMiddleware(a.tool), echolti.Middleware(a.sessions.Start))
	a.mountAdvantage(e)
	a.mountConfig(e)
	a.mountDynreg(e)
	if a.sandbox != nil {
		a.mountSandbox(e)
	}
	a.echo = e
	return a, nil
}

// securityHeaders sets headers every answer carries; pages set their own
// Content-Security-Policy (the sandbox's auto-submitting forms need script).
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		return next(c)
	}
}

// handleError renders errors that reach Echo: its own (404, 405, 413) and
// any an application handler returns, in the launch errors' shape.
func (a *app) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var le *lti.Error
	if errors.As(err, &le) {
		a.renderLTIError(c.Response(), c.Request(), le)
		return
	}
	status, code, desc := http.StatusInternalServerError, "server_error", "the server failed to answer"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		switch {
		case status == http.StatusNotFound:
			code, desc = "not_found", "no such page"
		case status == http.StatusMethodNotAllowed:
			code, desc = "invalid_request", "method not allowed"
		case status == http.StatusRequestEntityTooLarge:
			code, desc = "invalid_request", "request body too large"
		case status < http.StatusInternalServerError:
			code, desc = "invalid_request", strings.ToLower(http.StatusText(status))
		}
	}
	if status >= http.StatusInternalServerError {
		a.log.ErrorContext(c.Request().Context(), "request failed", slog.String("error", err.Error()))
	}
	writeErrorPageFull(c.Response(), c.Request(), "Request failed", status, code, desc, "")
}

// toolURL is the absolute URL of path on the tool.
func (a *app) toolURL(path string) string { return a.cfg.BaseURL + path }
