package launch_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/storage"
)

// env is one tool (served over TLS, as the Secure state cookie requires)
// and one test platform registered with it.
type env struct {
	t        testing.TB
	store    *memory.Store
	adapter  storage.Adapter // what the tool uses; store unless a test wraps it
	platform *ltitest.Platform
	tool     *launch.Tool
	srv      *httptest.Server
	keys     *keys.Cache
	clock    *clock
	launched atomic.Int64 // successful launches that reached the app
}

type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

type envOpts struct {
	toolOpts []launch.Option
	wrap     func(storage.Adapter) storage.Adapter
	keyOpts  []keys.Option
	// config, when set, edits the tool's Config before New (after Storage
	// is set to the adapter).
	config func(*launch.Config)
}

// launchResult is what the test app answers for a launch.
type launchResult struct {
	MessageType  string   `json:"message_type"`
	Sub          string   `json:"sub"`
	Anonymous    bool     `json:"anonymous"`
	DeploymentID string   `json:"deployment_id"`
	Roles        []string `json:"roles"`
	HostReg      bool     `json:"host_reg"`
	Binding      string   `json:"binding"`
	Error        string   `json:"error"`
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	e := &env{t: t, store: memory.New(), clock: &clock{}}
	e.adapter = e.store
	if o.wrap != nil {
		e.adapter = o.wrap(e.store)
	}
	mux := http.NewServeMux()
	e.srv = httptest.NewUnstartedServer(mux)
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	// TLS handshakes were a fifth of this package's CPU under -race:
	// TestConcurrentReplay's 50 concurrent posts opened 50 connections a
	// round, and all but two were closed idle (the default
	// MaxIdleConnsPerHost), to be handshaken again the next round. Keep
	// them, and resume sessions instead of full handshakes for new ones;
	// the requests and what the tool sees of them are unchanged.
	tr := e.srv.Client().Transport.(*http.Transport)
	tr.MaxIdleConnsPerHost = 64
	tr.TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(0)

	var err error
	e.platform, err = ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     e.srv.URL + "/lti/login",
		ToolRedirectURIs: []string{e.srv.URL + "/lti/launch"},
		TargetLinkURI:    e.srv.URL + "/app",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.platform.Close)
	if err := e.store.AddRegistration(e.platform.Registration()); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddDeployment(e.platform.Registration().Key(), e.platform.Deployment()); err != nil {
		t.Fatal(err)
	}
	e.keys = keys.NewCache(append([]keys.Option{keys.WithMinRefreshInterval(time.Hour)}, o.keyOpts...)...)
	opts := append([]launch.Option{launch.WithClock(e.clock.now)}, o.toolOpts...)
	cfg := launch.Config{Storage: e.adapter, BaseURL: e.srv.URL, Keys: e.keys}
	if o.config != nil {
		o.config(&cfg)
	}
	e.tool, err = launch.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/lti/login", e.tool.LoginHandler())
	mux.Handle("/lti/launch", e.tool.LaunchHandler(http.HandlerFunc(e.app)))
	return e
}

// app is the host's launch handler: it reports what it received.
func (e *env) app(w http.ResponseWriter, r *http.Request) {
	l, ok := launch.FromContext(r.Context())
	if !ok {
		http.Error(w, "no launch", http.StatusInternalServerError)
		return
	}
	e.launched.Add(1)
	_, hostReg := launch.RegistrationAs[interface{ Validate() error }](l)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(launchResult{
		MessageType:  l.MessageType(),
		Sub:          l.Subject(),
		Anonymous:    l.Anonymous(),
		DeploymentID: l.DeploymentID(),
		Roles:        l.Roles(),
		HostReg:      hostReg,
		Binding:      string(l.StateBinding()),
	})
}

// browser returns a new browser: a TLS client for the tool with its own
// cookie jar, asking for JSON errors.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := e.srv.Client()
	return &http.Client{
		Jar:       jar,
		Transport: acceptJSON{c.Transport},
		Timeout:   10 * time.Second,
	}
}

type acceptJSON struct{ rt http.RoundTripper }

func (a acceptJSON) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "application/json")
	return a.rt.RoundTrip(r)
}

// outcome reads a tool response: the status and, for errors, the code.
type outcome struct {
	status int
	code   string
	result launchResult
}

func read(t testing.TB, resp *http.Response, err error) outcome {
	t.Helper()
	if err != nil {
		t.Fatalf("request failed: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var res launchResult
	_ = json.Unmarshal(body, &res)
	return outcome{status: resp.StatusCode, code: res.Error, result: res}
}

func (e *env) launch(opts ...ltitest.LaunchOption) outcome {
	e.t.Helper()
	resp, err := e.platform.Launch(context.Background(), e.browser(), opts...)
	return read(e.t, resp, err)
}
