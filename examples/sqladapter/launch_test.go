package sqladapter_test

import (
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ltikit/ltikit/examples/sqladapter"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/nonce"
)

// testTool is a tool of two nodes behind one base URL, each with its own
// pool on one database: node A serves the login, node B the launch.
type testTool struct {
	platform   *ltitest.Platform
	dbA, dbB   *sql.DB
	storeA     *sqladapter.Store
	launched   atomic.Pointer[launch.Launch]
	nodeForAll atomic.Pointer[launch.Tool] // when set, serves the launches instead of node B
	nodeA      *launch.Tool
}

// statesOnly hides the Store's CarriesNonce: the launch pipeline then
// consumes the nonce through the nonce Store it is given, as with a state
// store that keeps no nonce.
type statesOnly struct{ nonce.StateStore }

// startTool starts the two nodes and a test LMS, and adds the LMS's
// registration and deployment as the host's Platform and Install rows.
// With separateNonces the nodes get their stores one by one through
// launch.Config, the states without the nonce.
func startTool(t *testing.T, openPool func(testing.TB) *sql.DB, separateNonces bool) *testTool {
	t.Helper()
	tt := &testTool{dbA: openPool(t), dbB: openPool(t)}
	mux := http.NewServeMux()
	lb := httptest.NewServer(mux) // the load balancer: one base URL for both nodes
	t.Cleanup(lb.Close)
	p, err := ltitest.NewPlatform(ltitest.Config{ToolLoginURL: lb.URL + "/lti/login", ToolRedirectURIs: []string{lb.URL + "/lti/launch"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	tt.platform = p

	tt.storeA = mustNew(t, tt.dbA)
	storeB := mustNew(t, tt.dbB)
	r := p.Registration()
	pl, err := tt.storeA.AddPlatform(t.Context(), sqladapter.Platform{Name: "District Moodle", Issuer: r.Issuer, ClientID: r.ClientID,
		AuthEndpoint: r.AuthEndpoint, TokenEndpoint: r.TokenEndpoint, KeySetURL: r.KeySetURL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tt.storeA.AddInstall(t.Context(), pl.ID, p.DeploymentID(), "Riverside High"); err != nil {
		t.Fatal(err)
	}

	config := func(s *sqladapter.Store) launch.Config {
		if separateNonces {
			return launch.Config{Registrations: s, Deployments: s, States: statesOnly{s}, Nonces: s, BaseURL: lb.URL}
		}
		return launch.Config{Storage: s, BaseURL: lb.URL}
	}
	// Refusals are logged to the test's output, shown when it fails or
	// with -v.
	logger := launch.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil)))
	nodeA, err := launch.New(config(tt.storeA), logger)
	if err != nil {
		t.Fatal(err)
	}
	nodeB, err := launch.New(config(storeB), logger)
	if err != nil {
		t.Fatal(err)
	}
	tt.nodeA = nodeA
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, _ := launch.FromContext(r.Context())
		tt.launched.Store(l)
	})
	mux.Handle("/lti/login", nodeA.LoginHandler())
	mux.HandleFunc("/lti/launch", func(w http.ResponseWriter, r *http.Request) {
		node := nodeB
		if n := tt.nodeForAll.Load(); n != nil {
			node = n
		}
		node.LaunchHandler(app).ServeHTTP(w, r)
	})
	return tt
}

// TestFullLaunch runs launches through the real handlers and the test LMS
// on the Store: the login on node A, the launch on node B. The launch
// hands back the host's own rows (the Platform's Name, the Install's
// School); the same form posted again, to node A, is refused; 50 posts of
// one login at once succeed exactly once. It runs with the Store as one
// storage.Adapter (the state carries the nonce) and with the stores given
// one by one and the nonce in its own table.
func TestFullLaunch(t *testing.T) {
	openPool := newDatabase(t)
	for _, mode := range []struct {
		name     string
		separate bool
	}{{"CarriedNonce", false}, {"SeparateNonceStore", true}} {
		t.Run(mode.name, func(t *testing.T) {
			tool := startTool(t, openPool, mode.separate)
			ctx := t.Context()
			browser := ltitest.NewBrowser()
			ar, err := tool.platform.Authorize(ctx, browser, ltitest.AsLearner())
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tool.platform.Post(ctx, browser, ar)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			l := tool.launched.Load()
			if resp.StatusCode != http.StatusOK || l == nil {
				t.Fatalf("launch on node B: status %d", resp.StatusCode)
			}
			p, okP := launch.RegistrationAs[*sqladapter.Platform](l)
			in, okI := launch.DeploymentAs[*sqladapter.Install](l)
			if !okP || p.Name != "District Moodle" || !okI || in.School != "Riverside High" || in.PlatformID != p.ID {
				t.Errorf("host structs: %#v %v, %#v %v", l.HostRegistration(), okP, l.HostDeployment(), okI)
			}

			// The nonce went where the configuration says.
			var nonces int
			if err := tool.dbA.QueryRowContext(ctx, "SELECT count(*) FROM lti_nonces WHERE consumed").Scan(&nonces); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 0, true: 1}[mode.separate]; nonces != want {
				t.Errorf("%d consumed rows in lti_nonces, want %d", nonces, want)
			}

			// Replayed to node A: refused as invalid_state (the state is gone).
			tool.launched.Store(nil)
			tool.nodeForAll.Store(tool.nodeA)
			resp, err = tool.platform.Post(ctx, acceptJSON(browser), ar)
			if err != nil {
				t.Fatal(err)
			}
			if code := errorCode(t, resp); resp.StatusCode != http.StatusUnauthorized || code != string(lti.CodeInvalidState) || tool.launched.Load() != nil {
				t.Errorf("replay on node A: %d %q, want 401 invalid_state", resp.StatusCode, code)
			}
			tool.nodeForAll.Store(nil)

			// A deployment the host has no Install row for is refused.
			resp, err = tool.platform.Launch(ctx, acceptJSON(ltitest.NewBrowser()), ltitest.WithDeploymentID("not-installed"))
			if err != nil {
				t.Fatal(err)
			}
			if code := errorCode(t, resp); resp.StatusCode != lti.CodeUnknownDeployment.Status() || code != string(lti.CodeUnknownDeployment) {
				t.Errorf("unknown deployment: %d %q, want unknown_deployment", resp.StatusCode, code)
			}

			// 50 posts of one login at once: exactly one launch.
			ar, err = tool.platform.Authorize(ctx, browser)
			if err != nil {
				t.Fatal(err)
			}
			var wins, refusals atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 50 {
				wg.Go(func() {
					<-start
					resp, err := tool.platform.Post(ctx, browser, ar)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusOK:
						wins.Add(1)
					case http.StatusUnauthorized:
						refusals.Add(1)
					default:
						t.Errorf("status %d", resp.StatusCode)
					}
				})
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 || refusals.Load() != 49 {
				t.Errorf("%d launches and %d refusals of 50 posts of one login; want 1 and 49", wins.Load(), refusals.Load())
			}
		})
	}
}

// errorCode reads the error code of a JSON error answer and closes it.
func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return body.Error
}

type acceptJSONTransport struct{ rt http.RoundTripper }

func (a acceptJSONTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "application/json")
	return a.rt.RoundTrip(r)
}

// acceptJSON returns a copy of the browser c (same cookie jar) that asks
// for JSON, so error answers carry their code.
func acceptJSON(c *http.Client) *http.Client {
	cc := *c
	rt := cc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	cc.Transport = acceptJSONTransport{rt}
	return &cc
}
