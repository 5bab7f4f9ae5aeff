package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ltikit/ltikit/internal/redistest"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

// scrape reads u (a /metrics URL) as Prometheus's text format, and
// returns the families by name and the raw text.
func scrape(t *testing.T, u string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, raw)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("GET %s: not Prometheus's text format: %v\n%s", u, err, raw)
	}
	return fams, string(raw)
}

// labelsMatch reports whether m has every label of want.
func labelsMatch(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == k && lp.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// counterSum sums the counter name over the series with the labels of want.
func counterSum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var sum float64
	for _, m := range fams[name].GetMetric() {
		if labelsMatch(m, want) {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// histCount sums the observations of the histogram name over the series
// with the labels of want.
func histCount(fams map[string]*dto.MetricFamily, name string, want map[string]string) uint64 {
	var n uint64
	for _, m := range fams[name].GetMetric() {
		if labelsMatch(m, want) {
			n += m.GetHistogram().GetSampleCount()
		}
	}
	return n
}

// byLabel sums the counter name by the value of label.
func byLabel(fams map[string]*dto.MetricFamily, name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams[name].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label {
				out[lp.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// logRecords parses the JSON log lines of a node started with
// --log-format json.
func logRecords(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("a log line is not JSON: %v\n%s", err, sc.Text())
		}
		recs = append(recs, rec)
	}
	return recs
}

// TestMetricsEndpoint drives launches through the demo tool binary,
// accepted and refused with several codes, a refused login and a roster
// page (a token request and an NRPS call), then reads /metrics: the
// launch counters match the launches by code and message type, the
// duration histograms have one observation per launch, the key set fetch
// and the service calls are counted, and the purge runs. Every refusal's
// log line carries the request id its response had.
func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "tool.db")
	n := startNode(t, dir, "--addr", "127.0.0.1:0", "--db", db, "--log-format", "json", "--purge-interval", "1s")
	if want := "metrics:       " + n.url + pathMetrics; !strings.Contains(n.stdout.String(), want) {
		t.Errorf("the startup text lacks %q:\n%s", want, n.stdout.String())
	}
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     n.url + pathLogin,
		ToolRedirectURIs: []string{n.url + pathLaunch},
		ToolJWKSURL:      n.url + pathJWKS,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer platform.Close()
	mustCLI(t, dir, "platform", "add", "--db", db,
		"--issuer", platform.Issuer(), "--client-id", platform.ClientID(),
		"--auth-url", platform.AuthEndpoint(), "--jwks-url", platform.KeySetURL(),
		"--token-url", platform.TokenEndpoint(), "--deployment", platform.DeploymentID())

	wantResults := map[string]float64{} // launches by result
	wantOK := map[string]float64{}      // accepted launches by message type
	refusals := map[string]string{}     // request id → code
	accept := func(what string, r response, messageType string) {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s\nlogs:\n%s", what, r.status, r.body, n.logs.String())
		}
		wantResults["ok"]++
		wantOK[messageType]++
	}
	refuse := func(what string, r response, status int, code lti.Code) {
		t.Helper()
		wantError(t, what, r, status, string(code))
		wantResults[string(code)]++
		refusals[r.header.Get(headerRequestID)] = string(code)
	}
	launch := func(browser *http.Client, opts ...ltitest.LaunchOption) response {
		t.Helper()
		resp, err := platform.Launch(t.Context(), browser, opts...)
		return readResponse(t, resp, err)
	}

	for i := range 3 {
		accept(fmt.Sprintf("launch %d", i+1), launch(jsonBrowser()), lti.MessageResourceLink)
	}
	accept("deep linking launch", launch(jsonBrowser(), ltitest.DeepLinking()), lti.MessageDeepLinking)

	// A replayed id_token: the state is gone.
	browser := jsonBrowser()
	ar, err := platform.Authorize(t.Context(), browser)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		resp, err := platform.Post(t.Context(), browser, ar)
		r := readResponse(t, resp, err)
		if i == 0 {
			accept("the first post", r, lti.MessageResourceLink)
		} else {
			refuse("the replay", r, http.StatusUnauthorized, lti.CodeInvalidState)
		}
	}
	refuse("a bad signature", launch(jsonBrowser(), ltitest.WithTokenOptions(ltitest.CorruptSignature())),
		http.StatusUnauthorized, lti.CodeInvalidSignature)
	refuse("an unknown deployment", launch(jsonBrowser(), ltitest.WithDeploymentID("not-registered")),
		http.StatusForbidden, lti.CodeUnknownDeployment)
	refuse("an expired id_token", launch(jsonBrowser(), ltitest.WithClaims(func(c map[string]any) {
		c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		c["exp"] = time.Now().Add(-time.Hour).Unix()
	})), http.StatusUnauthorized, lti.CodeTokenExpired)

	// A login for a client_id the tool does not know.
	_, err = platform.Launch(t.Context(), jsonBrowser(), ltitest.WithLoginParams(func(v url.Values) { v.Set("client_id", "unknown-client") }))
	var le *ltitest.LoginError
	if !errors.As(err, &le) || le.StatusCode != http.StatusBadRequest && le.StatusCode != http.StatusNotFound && le.StatusCode != http.StatusForbidden {
		t.Fatalf("a login for an unknown client_id: %v", err)
	}

	// The roster: a service token and an NRPS call.
	platform.AddMembers(2)
	rosterBrowser := ltitest.NewBrowser()
	accept("the roster launch", launch(rosterBrowser, platform.WithNRPS()), lti.MessageResourceLink)
	if r := get(t, rosterBrowser, n.url+pathRoster); r.status != http.StatusOK || !strings.Contains(string(r.body), "Learner 2") {
		t.Fatalf("roster: %d %s", r.status, r.body)
	}

	// The purge runs every second on this node; wait for its first round.
	var fams map[string]*dto.MetricFamily
	var raw string
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams, raw = scrape(t, n.url+pathMetrics)
		if counterSum(fams, "ltikit_demo_purge_runs_total", map[string]string{"ltikit_result": "ok"}) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no purge round within 30 s of a 1 s interval:\n%s", raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("/metrics, the ltikit series:\n%s", ltikitLines(raw))

	var launches float64
	for _, v := range wantResults {
		launches += v
	}
	if got := byLabel(fams, "ltikit_launches_total", "ltikit_result"); !equalCounts(got, wantResults) {
		t.Errorf("ltikit_launches_total by result: %v, want %v", got, wantResults)
	}
	for mt, want := range wantOK {
		if got := counterSum(fams, "ltikit_launches_total", map[string]string{"ltikit_result": "ok", "ltikit_message_type": mt}); got != want {
			t.Errorf("accepted %s launches: %v, want %v", mt, got, want)
		}
	}
	for result, want := range wantResults {
		if got := histCount(fams, "ltikit_launch_duration_seconds", map[string]string{"ltikit_result": result}); float64(got) != want {
			t.Errorf("ltikit_launch_duration_seconds{ltikit_result=%q}: %d observations, want %v", result, got, want)
		}
	}
	// Every launch reaches the state stage; all but the replay the key.
	if got := histCount(fams, "ltikit_launch_stage_duration_seconds", map[string]string{"ltikit_stage": "state"}); float64(got) != launches {
		t.Errorf("state stage: %d observations, want %v", got, launches)
	}
	if got := histCount(fams, "ltikit_launch_stage_duration_seconds", map[string]string{"ltikit_stage": "key"}); float64(got) != launches-1 {
		t.Errorf("key stage: %d observations, want %v", got, launches-1)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		// One login fewer than launches: the replay posts its login's answer twice.
		{"ltikit_logins_total", map[string]string{"ltikit_result": "ok"}, launches - 1},
		{"ltikit_logins_total", map[string]string{"ltikit_result": string(lti.CodeUnknownRegistration)}, 1},
		{"ltikit_keyset_fetches_total", map[string]string{"ltikit_result": "ok", "http_response_status_code": "200"}, 1},
		{"ltikit_keyset_cache_lookups_total", map[string]string{"ltikit_cache_result": "miss"}, 1},
		{"ltikit_keyset_cache_lookups_total", map[string]string{"ltikit_cache_result": "hit"}, launches - 2},
		{"ltikit_storage_calls_total", map[string]string{"ltikit_storage_operation": "put_state", "ltikit_result": "ok"}, launches - 1},
		// The replay is refused before the take: the first post cleared
		// the state cookie it needs.
		{"ltikit_storage_calls_total", map[string]string{"ltikit_storage_operation": "take_state", "ltikit_result": "ok"}, launches - 1},
		{"ltikit_service_calls_total", map[string]string{"ltikit_service_operation": "token.request", "ltikit_result": "ok", "http_response_status_code": "200"}, 1},
		{"ltikit_service_calls_total", map[string]string{"ltikit_service_operation": "nrps.members.list", "ltikit_result": "ok"}, 1},
		{"ltikit_token_cache_lookups_total", map[string]string{"ltikit_cache_result": "miss"}, 1},
	} {
		if got := counterSum(fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, h := range []string{"ltikit_login_duration_seconds", "ltikit_keyset_fetch_duration_seconds",
		"ltikit_storage_duration_seconds", "ltikit_service_duration_seconds", "ltikit_demo_purge_duration_seconds"} {
		if histCount(fams, h, nil) == 0 {
			t.Errorf("%s has no observation", h)
		}
	}
	for _, f := range []string{"go_goroutines", "process_cpu_seconds_total", "target_info", "ltikit_demo_purge_rows_total"} {
		if fams[f] == nil {
			t.Errorf("no %s", f)
		}
	}

	// Every refusal is logged with the request id of its response.
	logged := map[string]string{}
	for _, rec := range logRecords(t, n.logs.String()) {
		if rec["msg"] == "lti launch refused" {
			id, _ := rec["request_id"].(string)
			code, _ := rec["code"].(string)
			logged[id] = code
		}
	}
	for id, code := range refusals {
		if id == "" || logged[id] != code {
			t.Errorf("refusal %s (request id %q) is logged as %q", code, id, logged[id])
		}
	}
}

// equalCounts compares counters, a missing key counting as 0.
func equalCounts(got, want map[string]float64) bool {
	for k, v := range got {
		if want[k] != v {
			return false
		}
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// ltikitLines are the lines of raw about ltikit's metrics, sorted, without
// the histograms' buckets.
func ltikitLines(raw string) string {
	var out []string
	for line := range strings.SplitSeq(raw, "\n") {
		if strings.HasPrefix(line, "ltikit_") && !strings.Contains(line, "_bucket{") {
			out = append(out, line)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestMetricsAddr: with --metrics-addr, /metrics, /healthz and /readyz
// are served there, and the main listener serves no /metrics; a public
// base URL alone also keeps /metrics off the main listener.
func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	metricsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	n := startNode(t, dir, "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "a.db"), "--metrics-addr", metricsAddr)
	if r := get(t, &http.Client{}, n.url+pathMetrics); r.status != http.StatusNotFound {
		t.Errorf("main listener %s with --metrics-addr: %d", pathMetrics, r.status)
	}
	fams, _ := scrape(t, "http://"+metricsAddr+pathMetrics)
	if fams["go_goroutines"] == nil {
		t.Errorf("--metrics-addr serves no runtime metrics")
	}
	for _, p := range []string{pathHealthz, pathReadyz} {
		if r := get(t, &http.Client{}, "http://"+metricsAddr+p); r.status != http.StatusOK || !plainID(r.header.Get(headerRequestID)) {
			t.Errorf("--metrics-addr %s: %d %s, X-Request-Id %q", p, r.status, r.body, r.header.Get(headerRequestID))
		}
	}
	if r := get(t, &http.Client{}, "http://"+metricsAddr+pathLogin); r.status != http.StatusNotFound {
		t.Errorf("--metrics-addr serves %s: %d", pathLogin, r.status)
	}
	if want := "metrics:       http://" + metricsAddr + pathMetrics; !strings.Contains(n.stdout.String(), want) {
		t.Errorf("the startup text lacks %q:\n%s", want, n.stdout.String())
	}

	public := startNode(t, dir, "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "b.db"), "--base-url", "https://tool.example")
	if r := get(t, &http.Client{}, public.url+pathMetrics); r.status != http.StatusNotFound {
		t.Errorf("a tool with a public base URL serves %s on its main listener: %d", pathMetrics, r.status)
	}
}

// tcpProxy forwards TCP connections to a server, and can cut them: while
// cut, it closes every open connection and every new one at once, as a
// database host that went away (connection refused or reset) would.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

// newTCPProxy starts a proxy to target on a free loopback port; it stops
// at the end of the test.
func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

// track adds c to the open connections, or reports false when cut.
func (p *tcpProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

func (p *tcpProxy) forward(c net.Conn) {
	defer c.Close()
	if !p.track(c) {
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	if !p.track(up) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// setCut cuts (true) or restores (false) the path to the server.
func (p *tcpProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
			delete(p.conns, c)
		}
	}
}

// readyz is one answer of /readyz: its status and checks.
type readyzAnswer struct {
	status int
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func getReadyz(t *testing.T, base string) readyzAnswer {
	t.Helper()
	r := get(t, &http.Client{Timeout: 10 * time.Second}, base+pathReadyz)
	var a readyzAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("/readyz: %d %s: %v", r.status, r.body, err)
	}
	a.status = r.status
	return a
}

// waitReadyz polls /readyz until it answers status, for at most 20 s.
func waitReadyz(t *testing.T, base string, status int) readyzAnswer {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := getReadyz(t, base)
		if a.status == status {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still answers %d %v, want %d", a.status, a.Checks, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReadyzDependencyDown runs the binary on PostgreSQL and Redis, each
// reached through a TCP proxy of the test (the shared servers keep
// running for the other tests): /readyz turns 503 naming the database
// while the path to PostgreSQL is cut, and 200 once it is back; the same
// for the Redis state store. /healthz, the liveness check, stays 200. A
// login during each outage is refused with storage_unavailable, and
// /metrics counts it and the failed storage call.
func TestReadyzDependencyDown(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t, 1)
	pgURL, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pg := newTCPProxy(t, pgURL.Host)
	pgURL.Host = pg.addr()

	redisURL, err := url.Parse(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	rd := newTCPProxy(t, redisURL.Host)
	redisURL.Host = rd.addr()
	q := redisURL.Query()
	q.Set("prefix", redistest.Prefix(t, redistest.Client(t)))
	redisURL.RawQuery = q.Encode()

	dir := t.TempDir()
	n := startProcess(t, dir, []string{"LTIKIT_DB=" + pgURL.String(), "LTIKIT_STATE_STORE=" + redisURL.String()},
		"serve", "--addr", "127.0.0.1:0", "--log-format", "json")
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     n.url + pathLogin,
		ToolRedirectURIs: []string{n.url + pathLaunch},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer platform.Close()
	runCLIEnv(t, dir, []string{"LTIKIT_DB=" + pgURL.String()}, "platform", "add",
		"--issuer", platform.Issuer(), "--client-id", platform.ClientID(),
		"--auth-url", platform.AuthEndpoint(), "--jwks-url", platform.KeySetURL(),
		"--deployment", platform.DeploymentID())
	both := map[string]string{readyDatabase: "ok", readyStateStore: "ok"}
	if a := getReadyz(t, n.url); a.status != http.StatusOK || a.Status != "ok" || !equalStrings(a.Checks, both) {
		t.Fatalf("/readyz with both up: %d %+v", a.status, a)
	}
	for _, dep := range []struct {
		name  string
		proxy *tcpProxy
	}{{readyDatabase, pg}, {readyStateStore, rd}} {
		dep.proxy.setCut(true)
		a := waitReadyz(t, n.url, http.StatusServiceUnavailable)
		want := map[string]string{readyDatabase: "ok", readyStateStore: "ok"}
		want[dep.name] = "unavailable"
		if a.Status != "unavailable" || !equalStrings(a.Checks, want) {
			t.Errorf("/readyz with %s cut: %+v, want checks %v", dep.name, a, want)
		}
		if r := get(t, &http.Client{}, n.url+pathHealthz); r.status != http.StatusOK {
			t.Errorf("/healthz with %s cut: %d", dep.name, r.status)
		}
		// Fail closed: the login cannot look the platform up (database)
		// or store its state (Redis).
		_, err := platform.Launch(t.Context(), jsonBrowser())
		var le *ltitest.LoginError
		if !errors.As(err, &le) || le.StatusCode != http.StatusServiceUnavailable || !strings.Contains(le.Body, string(lti.CodeStorageUnavailable)) {
			t.Errorf("a login with %s cut: %v, want 503 storage_unavailable", dep.name, err)
		}
		dep.proxy.setCut(false)
		if a := waitReadyz(t, n.url, http.StatusOK); !equalStrings(a.Checks, both) {
			t.Errorf("/readyz with %s back: %+v", dep.name, a)
		}
	}
	if r := readResponseOf(t, platform, jsonBrowser()); r.status != http.StatusOK {
		t.Errorf("a launch with both back: %d %s", r.status, r.body)
	}
	fams, raw := scrape(t, n.url+pathMetrics)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ltikit_logins_total", map[string]string{"ltikit_result": string(lti.CodeStorageUnavailable)}, 2},
		{"ltikit_storage_calls_total", map[string]string{"ltikit_storage_operation": "find_registration", "ltikit_result": "error"}, 1},
		{"ltikit_storage_calls_total", map[string]string{"ltikit_storage_operation": "put_state", "ltikit_result": "error"}, 1},
		{"ltikit_launches_total", map[string]string{"ltikit_result": "ok"}, 1},
	} {
		if got := counterSum(fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	t.Logf("/metrics, the ltikit series after the outages:\n%s", ltikitLines(raw))
	// The failed checks are logged, with the check's name.
	failed := map[string]bool{}
	for _, rec := range logRecords(t, n.logs.String()) {
		if rec["msg"] == "readiness check failed" && rec["request_id"] != nil {
			failed[rec["check"].(string)] = true
		}
	}
	if !failed[readyDatabase] || !failed[readyStateStore] {
		t.Errorf("failed checks logged: %v", failed)
	}
}

func equalStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
