package gormadapter_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/storage"
)

// TestFullLaunch runs complete launches through the real handlers and the
// test platform with the GORM adapter, on PostgreSQL and on a SQLite file.
// Two tool "nodes", each with its own connection pool on the one database,
// sit behind one base URL: the login is served by node A and the launch by
// node B; the same id_token replayed to node A is refused. It runs with the
// default models and with a host's own models, whose structs come back in
// the launch context.
func TestFullLaunch(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("DefaultModels", func(t *testing.T) {
				openPool, db := migrated(t, b)
				runTwoNodeLaunch(t, func(p *ltitest.Platform) (storage.Adapter, storage.Adapter) {
					if err := db.Create(gormadapter.NewRegistration(p.Registration())).Error; err != nil {
						t.Fatal(err)
					}
					var row gormadapter.Registration
					if err := db.Where("issuer = ?", p.Issuer()).Take(&row).Error; err != nil {
						t.Fatal(err)
					}
					if err := db.Create(&gormadapter.Deployment{RegistrationID: row.ID, DeploymentID: p.DeploymentID()}).Error; err != nil {
						t.Fatal(err)
					}
					return mustNew(t, db), mustNew(t, openPool(t))
				}, func(t *testing.T, l *launch.Launch) {
					if _, ok := launch.RegistrationAs[*gormadapter.Registration](l); !ok {
						t.Errorf("registration is %T, want *gormadapter.Registration", l.HostRegistration())
					}
				})
			})
			t.Run("HostModels", func(t *testing.T) {
				openPool := b.newDatabase(t)
				db := openPool(t)
				migrateHost(t, db)
				runTwoNodeLaunch(t, func(p *ltitest.Platform) (storage.Adapter, storage.Adapter) {
					if err := addPlatform(context.Background(), db, p.Registration()); err != nil {
						t.Fatal(err)
					}
					var pl Platform
					if err := db.Where("iss = ?", p.Issuer()).Take(&pl).Error; err != nil {
						t.Fatal(err)
					}
					if err := db.Create(&Install{PlatformID: pl.ID, LTIDeploy: p.DeploymentID(), CourseLabel: "bio-101"}).Error; err != nil {
						t.Fatal(err)
					}
					nodeA, err := gormadapter.NewWithModels(context.Background(), db, hostModels)
					if err != nil {
						t.Fatal(err)
					}
					nodeB, err := gormadapter.NewWithModels(context.Background(), openPool(t), hostModels)
					if err != nil {
						t.Fatal(err)
					}
					return nodeA, nodeB
				}, func(t *testing.T, l *launch.Launch) {
					p, okP := launch.RegistrationAs[Platform](l)
					inst, okI := launch.DeploymentAs[*Install](l)
					if !okP || p.TenantID != 1 || !okI || inst.CourseLabel != "bio-101" {
						t.Errorf("host structs: %#v %v, %#v %v", p, okP, inst, okI)
					}
				})
			})
		})
	}
}

func runTwoNodeLaunch(t *testing.T, setup func(*ltitest.Platform) (nodeA, nodeB storage.Adapter), check func(*testing.T, *launch.Launch)) {
	t.Helper()
	var launchNode atomic.Pointer[launch.Tool]
	var got atomic.Pointer[launch.Launch]
	mux := http.NewServeMux()
	lb := httptest.NewServer(mux) // the load balancer: one base URL for both nodes
	defer lb.Close()

	p, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL: lb.URL + "/lti/login", ToolRedirectURIs: []string{lb.URL + "/lti/launch"}, TargetLinkURI: lb.URL + "/app",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	storeA, storeB := setup(p)
	nodeA, err := launch.New(launch.Config{Storage: storeA, BaseURL: lb.URL})
	if err != nil {
		t.Fatal(err)
	}
	nodeB, err := launch.New(launch.Config{Storage: storeB, BaseURL: lb.URL})
	if err != nil {
		t.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, _ := launch.FromContext(r.Context())
		got.Store(l)
		w.WriteHeader(http.StatusOK)
	})
	mux.Handle("/lti/login", nodeA.LoginHandler())
	var roundRobin atomic.Bool
	var turn atomic.Int64
	mux.HandleFunc("/lti/launch", func(w http.ResponseWriter, r *http.Request) {
		node := launchNode.Load()
		if roundRobin.Load() {
			node = []*launch.Tool{nodeA, nodeB}[turn.Add(1)%2]
		}
		node.LaunchHandler(app).ServeHTTP(w, r)
	})

	browser := ltitest.NewBrowser()
	ar, err := p.Authorize(context.Background(), browser, ltitest.AsLearner())
	if err != nil {
		t.Fatal(err)
	}
	launchNode.Store(nodeB)
	resp, err := p.Post(context.Background(), browser, ar)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	l := got.Load()
	if resp.StatusCode != http.StatusOK || l == nil {
		t.Fatalf("launch on node B: status %d", resp.StatusCode)
	}
	if !l.Roles().IsLearner() || l.Subject() == "" {
		t.Errorf("launch context: roles %v sub %q", l.Roles(), l.Subject())
	}
	check(t, l)

	// The same post replayed to node A is refused.
	got.Store(nil)
	launchNode.Store(nodeA)
	resp, err = p.Post(context.Background(), acceptJSON(browser), ar)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusUnauthorized || body.Error != string(lti.CodeInvalidState) || got.Load() != nil {
		t.Fatalf("replay on node A: status %d code %q", resp.StatusCode, body.Error)
	}

	// docs/security.md, case 31 on a shared database: 50 goroutines post the same
	// launch, alternately to node A and node B; exactly one succeeds.
	roundRobin.Store(true)
	for round := 0; round < 3; round++ {
		ar, err := p.Authorize(context.Background(), browser)
		if err != nil {
			t.Fatal(err)
		}
		var wins, refusals atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				resp, err := p.Post(context.Background(), browser, ar)
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
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || refusals.Load() != 49 {
			t.Fatalf("round %d: %d successes, %d refusals; want 1 and 49", round, wins.Load(), refusals.Load())
		}
	}
}

type acceptJSONTransport struct{ rt http.RoundTripper }

func (a acceptJSONTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "application/json")
	return a.rt.RoundTrip(r)
}

func acceptJSON(c *http.Client) *http.Client {
	cc := *c
	rt := cc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	cc.Transport = acceptJSONTransport{rt}
	return &cc
}
