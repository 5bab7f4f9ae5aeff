package gormadapter_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
)

// TestRecordDeploymentsTwoNodes: a platform creates a deployment (a course
// installs the tool) and its first launches arrive at the same moment at
// two tool nodes, each with its own connection pool on one database, both
// recording new deployments with launch.RecordDeployments. Every launch
// is accepted and the deployment is stored exactly once (LTI 1.3 Core
// §5.3.3; storage.Registrar: two creators, one row).
func TestRecordDeploymentsTwoNodes(t *testing.T) {
	t.Parallel()
	const newID = "canvas-course-1234:deployment"
	const launches = 24
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			openPool, db := migrated(t, b)
			storeA, storeB := mustNew(t, db), mustNew(t, openPool(t))

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
			// The platform is registered with its first deployment only.
			ctx := context.Background()
			if err := storeA.CreateRegistration(ctx, p.Registration(), p.DeploymentID()); err != nil {
				t.Fatal(err)
			}

			// The first launch to reach approve waits (a bounded time) for a
			// second, so that two creators usually insert at once and one of
			// them meets storage.ErrExists.
			var approved atomic.Int64
			second := make(chan struct{})
			approve := func(ctx context.Context, nd launch.NewDeployment) error {
				switch approved.Add(1) {
				case 1:
					select {
					case <-second:
					case <-time.After(2 * time.Second):
					}
				case 2:
					close(second)
				}
				return nil
			}
			nodeA, err := launch.New(launch.Config{Storage: storeA, BaseURL: lb.URL},
				launch.WithDeploymentPolicy(launch.RecordDeployments(storeA, approve)))
			if err != nil {
				t.Fatal(err)
			}
			nodeB, err := launch.New(launch.Config{Storage: storeB, BaseURL: lb.URL},
				launch.WithDeploymentPolicy(launch.RecordDeployments(storeB, approve)))
			if err != nil {
				t.Fatal(err)
			}
			var hostType atomic.Int64 // launches whose deployment came back as the adapter's model
			app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				l, _ := launch.FromContext(r.Context())
				if d, ok := launch.DeploymentAs[*gormadapter.Deployment](l); ok && d.DeploymentID == newID {
					hostType.Add(1)
				}
				w.WriteHeader(http.StatusOK)
			})
			var turn atomic.Int64
			node := func() *launch.Tool { return []*launch.Tool{nodeA, nodeB}[turn.Add(1)%2] }
			mux.HandleFunc("/lti/login", func(w http.ResponseWriter, r *http.Request) { node().LoginHandler().ServeHTTP(w, r) })
			mux.HandleFunc("/lti/launch", func(w http.ResponseWriter, r *http.Request) { node().LaunchHandler(app).ServeHTTP(w, r) })

			// Log in every browser first, then post all launches at once so
			// they meet at the deployment lookup and the insert.
			type pending struct {
				browser *http.Client
				ar      *ltitest.AuthResponse
			}
			all := make([]pending, launches)
			for i := range all {
				all[i].browser = ltitest.NewBrowser()
				if all[i].ar, err = p.Authorize(ctx, all[i].browser, ltitest.WithDeploymentID(newID)); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			var accepted atomic.Int64
			start := make(chan struct{})
			for _, pl := range all {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					resp, err := p.Post(ctx, acceptJSON(pl.browser), pl.ar)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Errorf("launch refused: status %d", resp.StatusCode)
						return
					}
					accepted.Add(1)
				}()
			}
			close(start)
			wg.Wait()
			if accepted.Load() != launches || hostType.Load() != launches {
				t.Fatalf("%d of %d launches accepted, %d with the adapter's deployment model", accepted.Load(), launches, hostType.Load())
			}
			var rows int64
			if err := db.Model(&gormadapter.Deployment{}).Where("deployment_id = ?", newID).Count(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if rows != 1 {
				t.Fatalf("%d rows for the new deployment, want exactly 1", rows)
			}
			if n := approved.Load(); n < 1 || n > launches {
				t.Fatalf("approve ran %d times", n)
			}

			t.Logf("%d launches at once: approve ran %d times, one row", launches, approved.Load())

			// Once recorded, a launch finds it without asking again.
			before := approved.Load()
			resp, err := p.Launch(ctx, ltitest.NewBrowser(), ltitest.WithDeploymentID(newID))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || approved.Load() != before {
				t.Fatalf("later launch: status %d, approve ran %d more times", resp.StatusCode, approved.Load()-before)
			}
		})
	}
}
