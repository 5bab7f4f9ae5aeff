package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// withOpsDefaults is c with the operations flags' defaults where c leaves
// them zero, as parseServe fills them.
func withOpsDefaults(c serveConfig) serveConfig {
	if c.LogFormat == "" {
		c.LogFormat = logText
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = defaultShutdownTimeout
	}
	if c.PurgeInterval == 0 {
		c.PurgeInterval = defaultPurgeInterval
	}
	return c
}

func TestParseServeOps(t *testing.T) {
	t.Parallel()
	base := serveConfig{Addr: defaultAddr, DB: defaultDB, LookupCache: defaultLookupCache}
	with := func(f func(*serveConfig)) serveConfig {
		c := withOpsDefaults(base)
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want serveConfig
		err  string
	}{
		{name: "defaults", want: withOpsDefaults(base)},
		{name: "flags", args: []string{"--metrics-addr", "127.0.0.1:9090", "--log-format", "json", "--shutdown-timeout", "40s", "--purge-interval", "1m"},
			want: with(func(c *serveConfig) {
				c.MetricsAddr, c.LogFormat, c.ShutdownTimeout, c.PurgeInterval = "127.0.0.1:9090", logJSON, 40*time.Second, time.Minute
			})},
		{name: "environment", env: map[string]string{"LTIKIT_METRICS_ADDR": ":9090", "LTIKIT_LOG_FORMAT": "json",
			"LTIKIT_SHUTDOWN_TIMEOUT": "2s", "LTIKIT_PURGE_INTERVAL": "10m"},
			want: with(func(c *serveConfig) {
				c.MetricsAddr, c.LogFormat, c.ShutdownTimeout, c.PurgeInterval = ":9090", logJSON, 2*time.Second, 10*time.Minute
			})},
		{name: "flag wins", args: []string{"--log-format", "text"}, env: map[string]string{"LTIKIT_LOG_FORMAT": "json"}, want: withOpsDefaults(base)},
		{name: "bad metrics address", args: []string{"--metrics-addr", "9090"}, err: `--metrics-addr "9090" must be host:port`},
		{name: "bad log format", env: map[string]string{"LTIKIT_LOG_FORMAT": "xml"}, err: "LTIKIT_LOG_FORMAT=xml: want text or json"},
		{name: "zero shutdown timeout", args: []string{"--shutdown-timeout", "0"}, err: `--shutdown-timeout "0s" must be positive`},
		{name: "negative purge interval", env: map[string]string{"LTIKIT_PURGE_INTERVAL": "-1m"}, err: "LTIKIT_PURGE_INTERVAL=-1m0s must be positive"},
		{name: "shutdown timeout not a duration", args: []string{"--shutdown-timeout", "soon"}, err: "shutdown-timeout"},
		{name: "every problem at once", args: []string{"--log-format", "yaml", "--metrics-addr", "x"},
			err: `--metrics-addr "x" must be host:port, like 127.0.0.1:9090 or :9090; --log-format "yaml": want text or json`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseServe(tc.args, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.MetricsAddr != tc.want.MetricsAddr || got.LogFormat != tc.want.LogFormat ||
				got.ShutdownTimeout != tc.want.ShutdownTimeout || got.PurgeInterval != tc.want.PurgeInterval {
				t.Errorf("got metrics %q, log %q, shutdown %s, purge %s; want %q, %q, %s, %s",
					got.MetricsAddr, got.LogFormat, got.ShutdownTimeout, got.PurgeInterval,
					tc.want.MetricsAddr, tc.want.LogFormat, tc.want.ShutdownTimeout, tc.want.PurgeInterval)
			}
		})
	}
}

// TestMetricsOnMain: the main listener serves /metrics only when no
// --metrics-addr is given and both the listen address and the base URL
// are loopback.
func TestMetricsOnMain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr, base, metricsAddr string
		want                    bool
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080", "", true},
		{"[::1]:8080", "http://localhost:8080", "", true},
		{"127.0.0.1:8080", "http://127.0.0.1:8080", "127.0.0.1:9090", false},
		// A reverse proxy on the same host forwards the public's requests
		// to a loopback listener: the public base URL says so.
		{"127.0.0.1:8080", "https://tool.example", "", false},
		{":8080", "http://localhost:8080", "", false},
		{"0.0.0.0:8080", "http://127.0.0.1:8080", "", false},
		{"10.0.0.5:8080", "https://tool.example", "", false},
	} {
		cfg := serveConfig{Addr: tc.addr, BaseURL: tc.base, MetricsAddr: tc.metricsAddr}
		if got := metricsOnMain(cfg); got != tc.want {
			t.Errorf("--addr %s, base URL %s, --metrics-addr %q: metrics on the main listener %v, want %v",
				tc.addr, tc.base, tc.metricsAddr, got, tc.want)
		}
	}
}

// TestRequestIDFromTrustedProxy: an incoming X-Request-Id is kept only
// when the connection comes from a trusted proxy and the id is plain;
// X-Forwarded-For never makes a client a proxy.
func TestRequestIDFromTrustedProxy(t *testing.T) {
	t.Parallel()
	proxies, err := parseTrustedProxies("--trusted-proxies", "10.0.0.0/8, 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.Use(requestID(proxies))
	e.GET("/", func(c echo.Context) error {
		return c.String(http.StatusOK, requestIDFrom(c.Request().Context()))
	})
	for _, tc := range []struct {
		remote, in, xff string
		keep            bool
	}{
		{"10.1.2.3:5000", "lb-1", "", true},
		{"192.0.2.7:443", "lb_2-x", "", true},
		{"10.1.2.3:5000", "<script>", "", false},
		{"10.1.2.3:5000", strings.Repeat("a", 65), "", false},
		{"192.0.2.8:443", "lb-3", "", false},
		{"203.0.113.9:1234", "lb-4", "10.1.2.3", false},
		{"[2001:db8::1]:1234", "lb-5", "", false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = tc.remote
		req.Header.Set(headerRequestID, tc.in)
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		got := rec.Header().Get(headerRequestID)
		if body := rec.Body.String(); body != got {
			t.Errorf("from %s: the context has id %q, the header %q", tc.remote, body, got)
		}
		if tc.keep && got != tc.in || !tc.keep && (got == tc.in || !plainID(got)) {
			t.Errorf("from %s, X-Request-Id %q: answered %q (keep %v)", tc.remote, tc.in, got, tc.keep)
		}
	}
}

// TestLogFormat: --log-format json writes one JSON object per line, and a
// line logged with a request's context carries its request_id.
func TestLogFormat(t *testing.T) {
	t.Parallel()
	for _, format := range []string{logText, logJSON} {
		var buf bytes.Buffer
		log := newLogger(format, &buf)
		ctx := context.WithValue(context.Background(), requestIDKey{}, "abc123")
		log.InfoContext(ctx, "lti launch refused", slog.String("code", "invalid_state"))
		log.Debug("hidden")
		line := strings.TrimSpace(buf.String())
		if strings.Count(line, "\n") != 0 {
			t.Fatalf("%s: want one line, got:\n%s", format, line)
		}
		if format == logText {
			if !strings.Contains(line, "request_id=abc123") || !strings.Contains(line, `msg="lti launch refused"`) {
				t.Errorf("text line: %s", line)
			}
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("json line %q: %v", line, err)
		}
		if rec["request_id"] != "abc123" || rec["msg"] != "lti launch refused" || rec["code"] != "invalid_state" || rec["level"] != "INFO" {
			t.Errorf("json line: %v", rec)
		}
	}
}

// TestHandlersLogWithTheRequest: every log call of the application's
// handlers passes the request's context (the ...Context or LogAttrs
// forms), so its line carries the request id.
func TestHandlersLogWithTheRequest(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	noCtx := regexp.MustCompile(`a\.log\.(Debug|Info|Warn|Error)\(`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if noCtx.MatchString(line) {
				t.Errorf("%s:%d logs without the request's context: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// TestHealthzReadyz: /healthz and /readyz answer small JSON documents,
// never cached.
func TestHealthzReadyz(t *testing.T) {
	t.Parallel()
	_, srv := newTestApp(t)
	for path, want := range map[string]string{
		pathHealthz: `{"status":"ok"}`,
		pathReadyz:  `{"checks":{"database":"ok"},"status":"ok"}`,
	} {
		r := get(t, &http.Client{}, srv.URL+path)
		if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != want ||
			r.header.Get("Cache-Control") != "no-store" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s %v, want 200 %s", path, r.status, r.body, r.header, want)
		}
	}
	// Without withMeters (as here) there is no /metrics.
	if r := get(t, &http.Client{}, srv.URL+pathMetrics); r.status != http.StatusNotFound {
		t.Errorf("%s without a metrics pipeline: %d", pathMetrics, r.status)
	}
}

// TestShutdownCutsOffAtTheBound: a request still running when the
// shutdown's bound runs out is cut off, and shutdown says so.
func TestShutdownCutsOffAtTheBound(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(srv, ln)
	go s.serve()
	clientErr := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err == nil {
			resp.Body.Close()
		}
		clientErr <- err
	}()
	<-entered
	if err := shutdown(time.Millisecond, s, nil); !errors.Is(err, errShutdownTimeout) {
		t.Fatalf("shutdown with a request running: %v, want errShutdownTimeout", err)
	}
	if err := <-clientErr; err == nil {
		t.Error("the request cut off by the shutdown got an answer")
	}
}
