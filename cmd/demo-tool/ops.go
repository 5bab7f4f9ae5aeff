package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
)

// What makes serve a production-shaped service: its operations flags
// (--metrics-addr, --log-format, --shutdown-timeout, --purge-interval),
// the OpenTelemetry MeterProvider with the Prometheus exporter that every
// instrumented component records with, /metrics, the liveness and
// readiness checks, and the graceful shutdown of its HTTP servers. The
// scheduled purge is in purge.go. docs/operations.md is the operator's
// guide to all of it.

// Defaults of the operations flags.
const (
	// defaultShutdownTimeout is --shutdown-timeout's default: how long
	// requests in flight at SIGTERM or SIGINT may take to finish.
	defaultShutdownTimeout = 15 * time.Second
	// defaultPurgeInterval is --purge-interval's default.
	defaultPurgeInterval = gormadapter.DefaultSweepInterval
	// logText and logJSON are the values of --log-format.
	logText = "text"
	logJSON = "json"
)

// Paths of the operations endpoints.
const (
	pathHealthz = "/healthz"
	pathReadyz  = "/readyz"
	pathMetrics = "/metrics"
)

// opsFlags registers serve's operations flags on f, writing into cfg.
func opsFlags(f *flagSet, cfg *serveConfig) {
	f.fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve /metrics (and /healthz, /readyz) on this address instead of the main listener")
	f.fromEnv("metrics-addr", "LTIKIT_METRICS_ADDR")
	f.fs.StringVar(&cfg.LogFormat, "log-format", logText, "text or json")
	f.fromEnv("log-format", "LTIKIT_LOG_FORMAT")
	f.fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", defaultShutdownTimeout, "how long requests in flight at SIGTERM or SIGINT may take to finish")
	f.fromEnv("shutdown-timeout", "LTIKIT_SHUTDOWN_TIMEOUT")
	f.fs.DurationVar(&cfg.PurgeInterval, "purge-interval", defaultPurgeInterval, "how often expired login states, nonces and launch sessions are deleted")
	f.fromEnv("purge-interval", "LTIKIT_PURGE_INTERVAL")
}

// checkOps checks the operations flags once parsed, noting problems in c.
func checkOps(f *flagSet, c *checker, cfg serveConfig) {
	if cfg.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsAddr); err != nil {
			c.fail("%s must be host:port, like 127.0.0.1:9090 or :9090", show(f.name("metrics-addr"), cfg.MetricsAddr))
		}
	}
	if cfg.LogFormat != logText && cfg.LogFormat != logJSON {
		c.fail("%s: want text or json", show(f.name("log-format"), cfg.LogFormat))
	}
	if cfg.ShutdownTimeout <= 0 {
		c.fail("%s must be positive, a duration like 15s or 1m", show(f.name("shutdown-timeout"), cfg.ShutdownTimeout.String()))
	}
	if cfg.PurgeInterval <= 0 {
		c.fail("%s must be positive, a duration like 5m or 1h", show(f.name("purge-interval"), cfg.PurgeInterval.String()))
	}
}

// newLogger is serve's logger: text or JSON lines on w, at level info,
// each record made while handling a request carrying its request_id.
func newLogger(format string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == logJSON {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(contextHandler{h})
}

// metricsPipeline is the demo tool's OpenTelemetry metrics pipeline: an SDK
// MeterProvider whose only reader is the Prometheus exporter, registered
// in a registry of its own (with the Go runtime's and the process's
// collectors), and the handler that serves the registry as /metrics.
type metricsPipeline struct {
	provider *sdkmetric.MeterProvider
	handler  http.Handler
}

// newMetricsPipeline builds the metrics pipeline. Nothing is global: the
// provider is handed to every component that records (withMeters), and
// the registry is not Prometheus's default one.
func newMetricsPipeline(log *slog.Logger) (*metricsPipeline, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", "demo-tool")))
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	// No exemplars: the tool has no tracer, so no measurement ever has a
	// sampled span to attach, and the default filter (trace-based) would
	// still look for one in the request's context at every measurement,
	// some twenty a launch.
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithResource(res),
		sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter))
	handler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
	return &metricsPipeline{provider: provider, handler: handler}, nil
}

// shutdown stops the provider; /metrics then serves the runtime's
// collectors only.
func (t *metricsPipeline) shutdown(ctx context.Context) error { return t.provider.Shutdown(ctx) }

// appOption tunes newApp beyond the flags.
type appOption func(*app)

// withMeters makes every component of the application record its metrics
// with mp (launches, logins, storage calls, key set fetches, service
// calls, deep linking responses) and serves metrics as /metrics on the
// main listener when metricsOnMain allows it. Without it the components
// record with OpenTelemetry's global provider, a no-op unless a program
// sets one, and there is no /metrics.
func withMeters(mp metric.MeterProvider, metrics http.Handler) appOption {
	return func(a *app) { a.meters, a.metrics = mp, metrics }
}

// metricsOnMain reports whether the main listener serves /metrics: only
// when no --metrics-addr is given and nothing but this machine can reach
// the tool, that is when both its listen address and its base URL are
// loopback (the sandbox on a laptop). A tool with a public base URL, even
// one listening on loopback behind a reverse proxy on the same host,
// would publish its metrics to the world through the proxy: it serves
// them only on --metrics-addr.
func metricsOnMain(cfg serveConfig) bool {
	if cfg.MetricsAddr != "" {
		return false
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil || !isLoopbackHost(host) {
		return false
	}
	u, err := url.Parse(cfg.BaseURL)
	return err == nil && isLoopbackHost(u.Hostname())
}

// mountOps serves the liveness and readiness checks, and /metrics when
// metricsOnMain allows it, on the main listener.
func (a *app) mountOps(e *echo.Echo) {
	e.GET(pathHealthz, echo.WrapHandler(http.HandlerFunc(a.healthz)))
	e.GET(pathReadyz, echo.WrapHandler(http.HandlerFunc(a.readyz)))
	if a.metrics != nil && metricsOnMain(a.cfg) {
		e.GET(pathMetrics, echo.WrapHandler(a.metrics))
	}
}

// opsHandler is what --metrics-addr serves: /metrics, /healthz and
// /readyz, nothing else. Each request gets a request id as on the main
// listener (its log lines carry it); there is no access log, which
// scrapes and probes would fill.
func (a *app) opsHandler() http.Handler {
	mux := http.NewServeMux()
	if a.metrics != nil {
		mux.Handle("GET "+pathMetrics, a.metrics)
	}
	mux.HandleFunc("GET "+pathHealthz, a.healthz)
	mux.HandleFunc("GET "+pathReadyz, a.readyz)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := ""
		if fromProxy(r, a.cfg.TrustedProxies) {
			id = r.Header.Get(headerRequestID)
		}
		if !plainID(id) {
			id = newRequestID()
		}
		w.Header().Set(headerRequestID, id)
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// healthz is the liveness check: the process serves HTTP. It asks no
// database, so a database outage never makes an orchestrator restart a
// tool that would come back to the same outage; /readyz says whether the
// tool can serve launches.
func (a *app) healthz(w http.ResponseWriter, _ *http.Request) {
	writeStatus(w, http.StatusOK, map[string]any{"status": "ok"})
}

// readiness check names, in the /readyz answer.
const (
	readyDatabase   = "database"
	readyStateStore = "state_store"
)

// readyCheck is one dependency /readyz asks.
type readyCheck struct {
	name string
	ping func(context.Context) error
}

// readyChecks are the dependencies a launch needs: the database, and
// with --state-store the Redis that keeps the login states and sessions.
func (a *app) readyChecks() []readyCheck {
	if rs, ok := a.store.(*redisStates); ok {
		return []readyCheck{{readyDatabase, rs.gormBackend.Ping}, {readyStateStore, rs.states.Ping}}
	}
	return []readyCheck{{readyDatabase, a.store.Ping}}
}

// readyz is the readiness check: every dependency answers within
// healthTimeout, all at once. 200 {"status":"ok","checks":{"database":"ok"}}
// or 503 {"status":"unavailable","checks":{"database":"unavailable",…}};
// the cause goes to the log only (it may name hosts).
func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	checks := a.readyChecks()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { errs[i] = c.ping(ctx) })
	}
	wg.Wait()
	status, results := http.StatusOK, map[string]string{}
	for i, c := range checks {
		if errs[i] != nil {
			status, results[c.name] = http.StatusServiceUnavailable, "unavailable"
			a.log.LogAttrs(r.Context(), slog.LevelError, "readiness check failed",
				slog.String("check", c.name), slog.String("error", errs[i].Error()))
			continue
		}
		results[c.name] = "ok"
	}
	word := "ok"
	if status != http.StatusOK {
		word = "unavailable"
	}
	writeStatus(w, status, map[string]any{"status": word, "checks": results})
}

// writeStatus answers a check's JSON, never cached.
func writeStatus(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// opsServer is the HTTP server of --metrics-addr.
func (a *app) opsServer(log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           a.opsHandler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// errShutdownTimeout is a shutdown that had to cut requests off.
var errShutdownTimeout = errors.New("requests still running when --shutdown-timeout ran out were cut off")

// server is one of serve's HTTP servers with what its graceful stop needs:
// its listener, and the connections it accepted whose first request it
// has not begun to read.
type server struct {
	srv    *http.Server
	ln     net.Listener
	served chan error // Serve's result

	mu    sync.Mutex
	fresh map[net.Conn]bool
}

// newServer prepares srv to serve ln; run it with go s.serve().
func newServer(srv *http.Server, ln net.Listener) *server {
	s := &server{srv: srv, ln: ln, served: make(chan error, 1), fresh: map[net.Conn]bool{}}
	srv.ConnState = s.connState
	return s
}

func (s *server) serve() { s.served <- s.srv.Serve(s.ln) }

// connState tracks the connections in http.StateNew.
func (s *server) connState(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if state == http.StateNew {
		s.fresh[c] = true
	} else {
		delete(s.fresh, c)
	}
}

func (s *server) freshConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.fresh)
}

// stop stops s gracefully before ctx ends: it closes the listener (new
// connections are refused from then on), lets every connection already
// accepted send its request (net/http's Shutdown would drop a request
// read after it began, unanswered), then shuts down: idle connections
// are closed and the requests in flight finish. When ctx ends first,
// whatever still runs is cut off.
func (s *server) stop(ctx context.Context) error {
	_ = s.ln.Close()
	select {
	case <-s.served: // Serve returned: no connection is accepted any more
	case <-ctx.Done():
	}
	// A connection that sends nothing is closed by ReadHeaderTimeout.
	for s.freshConns() > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
		return err
	}
	return nil
}

// shutdown stops the servers (nil ones skipped) at once, each as
// server.stop says, for at most timeout; when the bound runs out, what
// still runs is cut off and errShutdownTimeout returned.
func shutdown(timeout time.Duration, servers ...*server) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		if s != nil {
			wg.Go(func() { errs[i] = s.stop(ctx) })
		}
	}
	wg.Wait()
	err := errors.Join(errs...)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown after %s: %w", timeout, errShutdownTimeout)
	}
	return err
}
