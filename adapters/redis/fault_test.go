package redisadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ltikit/ltikit/adapters/memory"
	redisadapter "github.com/ltikit/ltikit/adapters/redis"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/session"
)

// faultClient is a client on srv with short timeouts, as a tool would
// configure it; it lives through the outage and is never recreated. Its
// pause between dial retries is short too: go-redis dials five times per
// attempt, 100 ms apart by default, and tries a command four times, so
// each call on a stopped Redis took about 2 s until the pool gave up
// dialing; the calls fail the same way, only sooner.
func faultClient(t *testing.T, srv *server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.addr(), DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		DialerRetryTimeout: 5 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	return c
}

// checkUnavailable checks that err reports a storage failure
// (storage_unavailable) and not a verdict on a value.
func checkUnavailable(t *testing.T, op string, err error) {
	t.Helper()
	if !errors.Is(err, lti.ErrStorageUnavailable) {
		t.Errorf("%s during the outage = %v; want an error matching lti.ErrStorageUnavailable", op, err)
	}
	if c := lti.Classify(err); c.Code != lti.CodeStorageUnavailable || c.Status != http.StatusServiceUnavailable {
		t.Errorf("%s during the outage is classified %+v; want storage_unavailable (503)", op, c)
	}
	for _, refusal := range []error{nonce.ErrNotFound, nonce.ErrExpired, nonce.ErrConsumed, session.ErrNotFound, session.ErrExpired} {
		if errors.Is(err, refusal) {
			t.Errorf("%s during the outage looks like a refused value: %v", op, err)
		}
	}
}

// allFail runs every operation of s and checks each fails as
// storage_unavailable, none succeeds and none is taken for a refusal.
func allFail(t *testing.T, ctx context.Context, s *redisadapter.Store, l nonce.Login, n nonce.Nonce, r session.Record) {
	t.Helper()
	got, err := s.TakeState(ctx, l.State)
	checkUnavailable(t, "TakeState", err)
	if got != (nonce.Login{}) {
		t.Error("TakeState during the outage returned a Login")
	}
	checkUnavailable(t, "PutState", s.PutState(ctx, login(time.Now().Add(time.Hour))))
	checkUnavailable(t, "ConsumeNonce", s.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID))
	checkUnavailable(t, "PutNonce", s.PutNonce(ctx, nonce.Nonce{Value: nonce.NewValue(), Issuer: "i", ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}))
	rec, err := s.GetSession(ctx, r.ID)
	checkUnavailable(t, "GetSession", err)
	if rec.ID != "" {
		t.Error("GetSession during the outage returned a record")
	}
	checkUnavailable(t, "TouchSession", s.TouchSession(ctx, r.ID, time.Now().Add(90*time.Minute)))
	checkUnavailable(t, "DeleteSession", s.DeleteSession(ctx, r.ID))
	fresh := r
	fresh.ID = session.IDOf(nonce.NewValue())
	checkUnavailable(t, "PutSession", s.PutSession(ctx, fresh))
	checkUnavailable(t, "Ping", s.Ping(ctx))
}

// TestFaultStore stops Redis (the process killed: nothing listens on its
// port) and pauses it (SIGSTOP: connections open, no answer); every call
// fails as storage_unavailable. After Redis is back on the same port the
// same client works again, without being recreated.
func TestFaultStore(t *testing.T) {
	srv := startServer(t)
	s := mustNew(t, faultClient(t, srv))
	ctx := context.Background()
	seed := func() (nonce.Login, nonce.Nonce, session.Record) {
		t.Helper()
		l := login(time.Now().Add(time.Hour))
		n := nonce.Nonce{Value: nonce.NewValue(), Issuer: "https://lms.example.com", ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}
		now := time.Now()
		r := session.Record{ID: session.IDOf(nonce.NewValue()), Issuer: n.Issuer, ClientID: n.ClientID, DeploymentID: "d",
			Claims: []byte(`{}`), CSRF: "x", CreatedAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)}
		if err := s.PutState(ctx, l); err != nil {
			t.Fatal(err)
		}
		if err := s.PutNonce(ctx, n); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSession(ctx, r); err != nil {
			t.Fatal(err)
		}
		return l, n, r
	}

	t.Run("Stopped", func(t *testing.T) {
		l, n, r := seed()
		srv.stop()
		allFail(t, ctx, s, l, n, r)
		if err := srv.start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the client to reach the restarted Redis", func() bool { return s.Ping(ctx) == nil })
		// The server came back empty (no persistence): what was stored
		// before is gone, and refused as such; new values work.
		if _, err := s.TakeState(ctx, l.State); !errors.Is(err, nonce.ErrNotFound) {
			t.Errorf("TakeState after the restart = %v; want nonce.ErrNotFound (the restarted Redis is empty)", err)
		}
		l, n, r = seed()
		if _, err := s.TakeState(ctx, l.State); err != nil {
			t.Errorf("TakeState after recovery: %v", err)
		}
		if err := s.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID); err != nil {
			t.Errorf("ConsumeNonce after recovery: %v", err)
		}
		if _, err := s.GetSession(ctx, r.ID); err != nil {
			t.Errorf("GetSession after recovery: %v", err)
		}
	})

	t.Run("Paused", func(t *testing.T) {
		l, n, r := seed()
		srv.pause()
		func() {
			defer srv.resume()
			tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			// The deadline passes while Redis holds the connection
			// without answering.
			allFail(t, tctx, s, l, n, r)
		}()
		// Commands sent before the pause may still run once Redis goes
		// on: a timed-out take may have taken the state. Nothing more is
		// asserted about those keys; fresh ones work.
		l, n, _ = seed()
		if _, err := s.TakeState(ctx, l.State); err != nil {
			t.Errorf("TakeState after the pause: %v", err)
		}
		if err := s.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID); err != nil {
			t.Errorf("ConsumeNonce after the pause: %v", err)
		}
	})

	t.Run("NewWhileDown", func(t *testing.T) {
		down := startServer(t)
		c := faultClient(t, down)
		down.stop()
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := redisadapter.New(tctx, c); !errors.Is(err, lti.ErrStorageUnavailable) {
			t.Errorf("New on a stopped Redis = %v; want storage_unavailable", err)
		}
	})
}

// outcome is how one launch ended: the HTTP status and the error code of
// the tool's answer, and at which half.
type outcome struct {
	stage  string // login or launch
	status int
	code   string
}

// launchEnv is a tool on the launch pipeline with states in s, and the
// test platform that launches it.
type launchEnv struct {
	p    *ltitest.Platform
	tool *launch.Tool
}

func newLaunchEnv(t *testing.T, s *redisadapter.Store) *launchEnv {
	t.Helper()
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	p, err := ltitest.NewPlatform(ltitest.Config{ToolLoginURL: ts.URL + "/lti/login",
		ToolRedirectURIs: []string{ts.URL + "/lti/launch"}, TargetLinkURI: ts.URL + "/app"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	// Registrations in their own store (here memory; SQL in production),
	// states and nonces in Redis.
	m := memory.New()
	if err := m.AddRegistration(p.Registration()); err != nil {
		t.Fatal(err)
	}
	if err := m.AddDeployment(p.Registration().Key(), p.Deployment()); err != nil {
		t.Fatal(err)
	}
	tool, err := launch.New(launch.Config{Registrations: m, Deployments: m, States: s, Nonces: s, BaseURL: ts.URL},
		launch.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/lti/login", tool.LoginHandler())
	mux.Handle("/lti/launch", tool.LaunchHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})))
	return &launchEnv{p: p, tool: tool}
}

// browser is a fresh browser that asks for JSON errors.
func browser() *http.Client {
	b := ltitest.NewBrowser()
	b.Transport = acceptJSON{http.DefaultTransport}
	return b
}

type acceptJSON struct{ rt http.RoundTripper }

func (a acceptJSON) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "application/json")
	return a.rt.RoundTrip(r)
}

// errorCode reads the error code of a JSON error body.
func errorCode(body string) string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error
}

// authorize runs the login half; a refused login is its outcome.
func (e *launchEnv) authorize(ctx context.Context, b *http.Client) (*ltitest.AuthResponse, *outcome) {
	ar, err := e.p.Authorize(ctx, b)
	if err == nil {
		return ar, nil
	}
	var le *ltitest.LoginError
	if errors.As(err, &le) {
		return nil, &outcome{stage: "login", status: le.StatusCode, code: errorCode(le.Body)}
	}
	return nil, &outcome{stage: "login", code: err.Error()}
}

// post runs the launch half.
func (e *launchEnv) post(ctx context.Context, b *http.Client, ar *ltitest.AuthResponse) outcome {
	resp, err := e.p.Post(ctx, b, ar)
	if err != nil {
		return outcome{stage: "launch", code: err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return outcome{stage: "launch", status: resp.StatusCode, code: errorCode(string(body))}
}

// launch runs a whole launch in a fresh browser.
func (e *launchEnv) launch(ctx context.Context) outcome {
	b := browser()
	ar, o := e.authorize(ctx, b)
	if o != nil {
		return *o
	}
	return e.post(ctx, b, ar)
}

func (o outcome) unavailable() bool {
	return o.status == http.StatusServiceUnavailable && o.code == string(lti.CodeStorageUnavailable)
}

// TestFaultLaunch launches through the real pipeline (the test platform,
// launch.Tool's handlers) with states in a private redis-server, kills
// Redis while launches run and starts it again on the same port. While it
// is down every login and every launch fails closed with 503
// storage_unavailable, a login made before the outage included; after the
// restart the same client and the same Tool launch again.
func TestFaultLaunch(t *testing.T) {
	srv := startServer(t)
	s := mustNew(t, faultClient(t, srv))
	e := newLaunchEnv(t, s)
	ctx := context.Background()

	if o := e.launch(ctx); o.status != http.StatusOK {
		t.Fatalf("launch before the outage: %+v", o)
	}
	// A login made before the outage, whose launch comes during it.
	pendingBrowser := browser()
	pending, o := e.authorize(ctx, pendingBrowser)
	if o != nil {
		t.Fatalf("login before the outage: %+v", *o)
	}

	const workers = 4
	var (
		down       atomic.Bool // set once the server has exited
		okBefore   atomic.Int64
		downFails  [workers]atomic.Int64
		wg         sync.WaitGroup
		quit       = make(chan struct{})
		unexpected = make(chan string, 100)
	)
	for w := range workers {
		wg.Go(func() {
			for {
				select {
				case <-quit:
					return
				default:
				}
				startedDown := down.Load()
				o := e.launch(ctx)
				switch {
				case o.status == http.StatusOK && startedDown:
					unexpected <- "a launch that started while Redis was down succeeded"
					return
				case o.status == http.StatusOK:
					okBefore.Add(1)
				case o.unavailable():
					if startedDown {
						downFails[w].Add(1)
					}
				default:
					unexpected <- "launch ended " + o.stage + " " + http.StatusText(o.status) + " " + o.code + "; want 200 or 503 storage_unavailable"
					return
				}
			}
		})
	}
	waitFor(t, "launches before the outage", func() bool { return okBefore.Load() >= 20 })
	srv.stop()
	down.Store(true)
	waitFor(t, "failed launches during the outage", func() bool {
		for w := range workers {
			if downFails[w].Load() < 3 {
				return len(unexpected) > 0
			}
		}
		return true
	})
	close(quit)
	wg.Wait()
	close(unexpected)
	for msg := range unexpected {
		t.Error(msg)
	}

	if o := e.post(ctx, pendingBrowser, pending); !o.unavailable() {
		t.Errorf("launch of a login made before the outage, posted during it: %+v; want 503 storage_unavailable", o)
	}
	if o := e.launch(ctx); !o.unavailable() || o.stage != "login" {
		t.Errorf("login during the outage: %+v; want 503 storage_unavailable at login", o)
	}

	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	// The same client and Tool, on Redis started again on the same port.
	// After PoolSize failed dials go-redis fails fast and probes the
	// server once a second, so the client comes back within about a
	// second of the restart.
	waitFor(t, "the client to reach the restarted Redis", func() bool { return s.Ping(ctx) == nil })
	for i := range 20 {
		if o := e.launch(ctx); o.status != http.StatusOK {
			t.Fatalf("launch %d after the restart: %+v; want 200", i, o)
		}
	}
	// Redis came back empty: the login made before the outage is gone,
	// and its launch is refused, never accepted.
	if o := e.post(ctx, pendingBrowser, pending); o.status != http.StatusUnauthorized || o.code != string(lti.CodeInvalidState) {
		t.Errorf("launch of a login from before the restart: %+v; want 401 invalid_state", o)
	}
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
