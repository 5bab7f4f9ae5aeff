package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ltikit/ltikit/ltitest"
)

// idTransport sends every request to the tool with a request id of the
// test's own (the tool keeps it: the test's address is a trusted proxy),
// each on a new connection, reads each answer whole, and records what
// came of every request: an answer read to its end, or an error.
type idTransport struct {
	base   http.RoundTripper
	host   string // the tool's host:port
	prefix string
	n      atomic.Int64
	mu     sync.Mutex
	out    map[string]reqOutcome
}

// reqOutcome is what came of one request to the tool.
type reqOutcome struct {
	path   string
	status int   // the answer's status, when err is nil
	err    error // no complete answer
}

func newIDTransport(host, prefix string) *idTransport {
	return &idTransport{base: &http.Transport{DisableKeepAlives: true}, host: host, prefix: prefix, out: map[string]reqOutcome{}}
}

func (t *idTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != t.host {
		return t.base.RoundTrip(r)
	}
	id := fmt.Sprintf("%s-%d", t.prefix, t.n.Add(1))
	r = r.Clone(r.Context())
	r.Header.Set(headerRequestID, id)
	r.Header.Set("Accept", "application/json")
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		var body []byte
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	o := reqOutcome{path: r.URL.Path, err: err}
	if err == nil {
		o.status = resp.StatusCode
	}
	t.mu.Lock()
	t.out[id] = o
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// gatedKeySet serves the platform's key set to the tool through a gate:
// while closed, every fetch waits, and the first one is reported.
type gatedKeySet struct {
	srv      *httptest.Server
	fetched  chan struct{} // receives once, at the first fetch
	open     chan struct{} // closed: fetches go through
	openOnce sync.Once
	first    sync.Once
}

func newGatedKeySet(t *testing.T, upstream string) *gatedKeySet {
	t.Helper()
	g := &gatedKeySet{fetched: make(chan struct{}, 1), open: make(chan struct{})}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.first.Do(func() { g.fetched <- struct{}{} })
		select {
		case <-g.open:
		case <-r.Context().Done():
			return
		}
		resp, err := http.Get(upstream)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(func() {
		g.release()
		g.srv.Close()
	})
	return g
}

func (g *gatedKeySet) release() { g.openOnce.Do(func() { close(g.open) }) }

// launchLoop runs launches with a new browser each, one after the other,
// until one fails for want of a connection (the tool shut down); every
// launch that gets an answer must be accepted. It returns how many were.
func launchLoop(t *testing.T, platform *ltitest.Platform, tr *idTransport, completed *atomic.Int64) {
	for {
		browser := ltitest.NewBrowser()
		browser.Transport = tr
		resp, err := platform.Launch(t.Context(), browser)
		if err != nil {
			var le *ltitest.LoginError
			if errors.As(err, &le) {
				t.Errorf("a login was answered %d: %s", le.StatusCode, le.Body)
			}
			return // checked against the tool's log by checkDrained
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("a launch was answered %d: %s", resp.StatusCode, body)
			return
		}
		completed.Add(1)
	}
}

// checkDrained compares what the launches' requests got with the tool's
// access log: a request the tool handled (logged) got its whole answer;
// a request without an answer was refused a connection, or was reset
// without being logged: the kernel had queued its connection when the
// tool closed its listener, and resets such connections; the tool never
// accepted it.
func checkDrained(t *testing.T, tr *idTransport, logs string) {
	t.Helper()
	handled := map[string]float64{}
	for _, rec := range logRecords(t, logs) {
		if rec["msg"] == "request" {
			if id, ok := rec["request_id"].(string); ok {
				handled[id], _ = rec["status"].(float64)
			}
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var answered, refused, unaccepted int
	for id, o := range tr.out {
		status, logged := handled[id]
		switch {
		case o.err == nil:
			answered++
			if logged && int(status) != o.status {
				t.Errorf("request %s (%s): answered %d, logged %v", id, o.path, o.status, status)
			}
		case errors.Is(o.err, syscall.ECONNREFUSED):
			refused++
			if logged {
				t.Errorf("request %s (%s) is logged but its connection was refused", id, o.path)
			}
		case logged:
			t.Errorf("request %s (%s) was handled by the tool (status %v) but its answer was cut off: %v", id, o.path, status, o.err)
		case errors.Is(o.err, syscall.ECONNRESET):
			unaccepted++
		default:
			// Anything else (an EOF: the tool closed a connection it had
			// accepted without answering) is a request dropped mid-way.
			t.Errorf("request %s (%s) got no answer and no reset: %v", id, o.path, o.err)
		}
	}
	t.Logf("%d requests: %d answered whole, %d refused a connection, %d never accepted (reset in the listen queue)",
		len(tr.out), answered, refused, unaccepted)
}

// TestGracefulShutdown sends SIGTERM to the demo tool binary while many
// launches run (each request on a new connection): every request the
// tool accepted gets its whole answer and every launch that got answers
// is accepted; the others are refused a connection. The process exits 0
// within --shutdown-timeout. In the first round the launches in flight
// are held inside the tool (its fetch of the platform's key set waits at
// a gate) when SIGTERM arrives, and finish after the tool stopped
// accepting connections; in the second they run freely.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	const workers = 8
	dir := t.TempDir()
	db := filepath.Join(dir, "tool.db")
	// Both rounds listen on one address, the one the platform knows.
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	flags := []string{"--addr", addr, "--db", db, "--trusted-proxies", "127.0.0.1",
		"--log-format", "json", "--shutdown-timeout", "10s"}
	n := startNode(t, dir, flags...)
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     n.url + pathLogin,
		ToolRedirectURIs: []string{n.url + pathLaunch},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer platform.Close()
	gate := newGatedKeySet(t, platform.KeySetURL())
	mustCLI(t, dir, "platform", "add", "--db", db,
		"--issuer", platform.Issuer(), "--client-id", platform.ClientID(),
		"--auth-url", platform.AuthEndpoint(), "--jwks-url", gate.srv.URL,
		"--deployment", platform.DeploymentID())

	// sigterm stops the node in the background (SIGTERM, then a wait
	// for its exit, which must be clean, within 15 s).
	sigterm := func(n *node) <-chan struct{} {
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			n.stop()
		}()
		return stopped
	}
	// waitRefused waits until the node's listener is closed.
	waitRefused := func(n *node) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", n.addr, time.Second)
			if err != nil {
				return
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Fatal("the tool still accepts connections 10 s after SIGTERM")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	t.Run("launches held in flight", func(t *testing.T) {
		tr := newIDTransport(n.addr, "held")
		var completed atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() { launchLoop(t, platform, tr, &completed) })
		}
		select {
		case <-gate.fetched: // a launch is inside the tool, waiting for the key set
		case <-time.After(30 * time.Second):
			t.Fatal("no launch reached the key set fetch")
		}
		stopped := sigterm(n)
		waitRefused(n)
		gate.release()
		<-stopped
		wg.Wait()
		if completed.Load() == 0 {
			t.Error("no launch held in flight at SIGTERM completed")
		}
		t.Logf("%d launches completed, all after SIGTERM", completed.Load())
		checkDrained(t, tr, n.logs.String())
	})

	t.Run("launches running freely", func(t *testing.T) {
		n := startNode(t, dir, flags...)
		tr := newIDTransport(n.addr, "free")
		var completed atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() { launchLoop(t, platform, tr, &completed) })
		}
		for completed.Load() < 150 {
			time.Sleep(5 * time.Millisecond)
		}
		signalled := completed.Load()
		<-sigterm(n)
		wg.Wait()
		t.Logf("%d launches completed, %d of them after SIGTERM was sent", completed.Load(), completed.Load()-signalled)
		checkDrained(t, tr, n.logs.String())
	})
}
