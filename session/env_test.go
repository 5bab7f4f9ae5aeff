package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/session"
)

// hostPlatform is the host's own registration type: the launch and every
// page after it must hand it back.
type hostPlatform struct {
	reg    registration.Registration
	Tenant string
}

func (p *hostPlatform) LTIRegistration() registration.Registration { return p.reg }

// clock is a settable clock, safe for concurrent use. It starts at the real
// time, so the launch's login state (dated by the tool's real clock) is
// live in the store that judges it with this one.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingStore is a real session store that counts the calls reaching it
// and, while fail is set, fails them as a broken database would.
type countingStore struct {
	session.Store
	puts, gets, touches, deletes atomic.Int64
	fail                         atomic.Bool // every call fails
	failTouch                    atomic.Bool // TouchSession fails
}

var errInjected = errors.New("injected store failure")

func (s *countingStore) PutSession(ctx context.Context, r session.Record) error {
	s.puts.Add(1)
	if s.fail.Load() {
		return errInjected
	}
	return s.Store.PutSession(ctx, r)
}

func (s *countingStore) GetSession(ctx context.Context, id string) (session.Record, error) {
	s.gets.Add(1)
	if s.fail.Load() {
		return session.Record{}, errInjected
	}
	return s.Store.GetSession(ctx, id)
}

func (s *countingStore) TouchSession(ctx context.Context, id string, until time.Time) error {
	s.touches.Add(1)
	if s.fail.Load() || s.failTouch.Load() {
		return errInjected
	}
	return s.Store.TouchSession(ctx, id, until)
}

func (s *countingStore) DeleteSession(ctx context.Context, id string) error {
	s.deletes.Add(1)
	if s.fail.Load() {
		return errInjected
	}
	return s.Store.DeleteSession(ctx, id)
}

// writes is how many writes reached the store.
func (s *countingStore) writes() int64 { return s.puts.Load() + s.touches.Load() + s.deletes.Load() }

type envOpts struct {
	plain bool // serve the tool over http instead of https
	opts  []session.Option
}

// env is a tool with sessions, launched by a test platform: /lti/launch
// starts a session and answers the page's view of it as JSON; /grade and
// /end are pages behind Require.
type env struct {
	t        *testing.T
	srv      *httptest.Server
	platform *ltitest.Platform
	mem      *memory.Store
	store    *countingStore
	tool     *launch.Tool
	mgr      *session.Manager
	clk      *clock

	launchPages atomic.Int64 // calls of the launch page (Start's next)
	gradePages  atomic.Int64 // calls of /grade (Require's next)

	mu       sync.Mutex
	sessions []*session.Session // every Session the launch page saw
}

// launchView is what the launch page shows of its session: what a real
// page would embed in its links, forms and scripts.
type launchView struct {
	Token, CSRF, Link, Sub string
}

// gradeView is what /grade saw.
type gradeView struct {
	Sub, Deployment, Tenant, Method, Score string
	SessionToken                           string
	Body                                   string
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	e := &env{t: t, clk: &clock{t: time.Now()}}
	e.mem = memory.New(memory.WithClock(e.clk.Now))
	e.store = &countingStore{Store: e.mem}
	mux := http.NewServeMux()
	if o.plain {
		e.srv = httptest.NewServer(mux)
	} else {
		e.srv = httptest.NewTLSServer(mux)
	}
	t.Cleanup(e.srv.Close)
	var err error
	e.platform, err = ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     e.srv.URL + "/lti/login",
		ToolRedirectURIs: []string{e.srv.URL + "/lti/launch"},
		TargetLinkURI:    e.srv.URL + "/lti/launch",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.platform.Close)
	if err := e.mem.AddRegistration(&hostPlatform{reg: e.platform.Registration(), Tenant: "tenant-7"}); err != nil {
		t.Fatal(err)
	}
	if err := e.mem.AddDeployment(e.platform.Registration().Key(), deployment.Deployment{DeploymentID: e.platform.DeploymentID()}); err != nil {
		t.Fatal(err)
	}
	e.tool, err = launch.New(launch.Config{Storage: e.mem, BaseURL: e.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	e.mgr, err = session.New(session.Config{Store: e.store, Tool: e.tool, BaseURL: e.srv.URL},
		append([]session.Option{session.WithClock(e.clk.Now)}, o.opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/lti/login", e.tool.LoginHandler())
	mux.Handle("/lti/launch", e.tool.LaunchHandler(e.mgr.Start(http.HandlerFunc(e.launchPage))))
	mux.Handle("/grade", e.mgr.Require(http.HandlerFunc(e.gradePage)))
	mux.Handle("/end", e.mgr.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := e.mgr.End(w, r); err != nil {
			http.Error(w, "end failed", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ended")
	})))
	return e
}

func (e *env) launchPage(w http.ResponseWriter, r *http.Request) {
	e.launchPages.Add(1)
	s, ok := session.FromContext(r.Context())
	lc, lok := launch.FromContext(r.Context())
	if !ok || !lok || s.Launch() != lc {
		http.Error(w, "no session or launch in the context", http.StatusInternalServerError)
		return
	}
	e.mu.Lock()
	e.sessions = append(e.sessions, s)
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(launchView{Token: s.Token(), CSRF: s.CSRFToken(), Link: s.URL("/grade?x=1"), Sub: lc.Subject()})
}

func (e *env) gradePage(w http.ResponseWriter, r *http.Request) {
	e.gradePages.Add(1)
	lc, ok := launch.FromContext(r.Context())
	s, sok := session.FromContext(r.Context())
	if !ok || !sok || s.Launch() != lc {
		http.Error(w, "no launch or session in the context", http.StatusInternalServerError)
		return
	}
	v := gradeView{Sub: lc.Subject(), Deployment: lc.DeploymentID(), Method: r.Method, Score: r.PostFormValue("score"), SessionToken: s.Token()}
	if p, ok := launch.RegistrationAs[*hostPlatform](lc); ok {
		v.Tenant = p.Tenant
	}
	if r.Header.Get("Content-Type") == "application/json" {
		b, _ := io.ReadAll(r.Body)
		v.Body = string(b)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// browser returns a client with its own cookie jar, like one browser,
// that asks for JSON errors.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := e.srv.Client()
	return &http.Client{Jar: jar, Transport: acceptJSON{c.Transport}, Timeout: 10 * time.Second}
}

type acceptJSON struct{ rt http.RoundTripper }

func (a acceptJSON) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "application/json")
	return a.rt.RoundTrip(r)
}

// bare returns a client without cookies: a browser that blocks them.
func (e *env) bare() *http.Client {
	c := e.srv.Client()
	return &http.Client{Transport: c.Transport, Timeout: 10 * time.Second}
}

// launched is a launch's response: its status, cookies and page.
type launched struct {
	status  int
	header  http.Header
	cookies []*http.Cookie
	view    launchView
	code    string
}

// launch runs a launch in browser b.
func (e *env) launch(b *http.Client, opts ...ltitest.LaunchOption) launched {
	e.t.Helper()
	resp, err := e.platform.Launch(context.Background(), b, append([]ltitest.LaunchOption{ltitest.WithUser("user-42", "Ada", "ada@example.com")}, opts...)...)
	if err != nil {
		e.t.Fatalf("launch: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	l := launched{status: resp.StatusCode, header: resp.Header, cookies: resp.Cookies()}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &l.view); err != nil {
			e.t.Fatalf("launch page %q: %v", body, err)
		}
	} else {
		l.code = errorCode(body)
	}
	return l
}

// mustLaunch runs a launch that must succeed.
func (e *env) mustLaunch(b *http.Client) launchView {
	e.t.Helper()
	l := e.launch(b)
	if l.status != http.StatusOK {
		e.t.Fatalf("launch: status %d, code %q", l.status, l.code)
	}
	return l.view
}

// result is a page's response.
type result struct {
	status int
	code   string // the lti error code of a refusal
	desc   string
	header http.Header
	view   gradeView
}

// do sends req with client c (JSON errors asked for) and reads the answer.
func (e *env) do(c *http.Client, req *http.Request) result {
	e.t.Helper()
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	res := result{status: resp.StatusCode, header: resp.Header}
	if len(body) == 0 {
		return res
	}
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") == "application/json" {
		if err := json.Unmarshal(body, &res.view); err != nil {
			e.t.Fatalf("page %q: %v", body, err)
		}
	} else {
		var ej struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &ej) == nil {
			res.code, res.desc = ej.Error, ej.Description
		}
	}
	return res
}

// get requests path (relative to the tool) with GET and client c.
func (e *env) get(c *http.Client, path string) result {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(c, req)
}

// withBearer requests /grade with GET and the token as a Bearer token.
func (e *env) withBearer(token string) result {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/grade", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return e.do(e.bare(), req)
}

func errorCode(body []byte) string {
	var ej struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &ej) == nil {
		return ej.Error
	}
	return ""
}

// cookieNamed returns the cookie called name among cs.
func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// record returns the stored record of token, read around the counters.
func (e *env) record(token string) (session.Record, error) {
	return e.mem.GetSession(context.Background(), session.IDOf(token))
}
