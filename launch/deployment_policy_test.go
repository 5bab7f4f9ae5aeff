package launch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

const newDeploymentID = "course-42:deployment"

// policyEnv is an env whose tool records new deployments in its memory
// store through RecordDeployments, with approve counted and replaceable.
type policyEnv struct {
	*env
	approved atomic.Int64
	mu       sync.Mutex
	seen     []launch.NewDeployment
	refuse   error
}

func newPolicyEnv(t *testing.T) *policyEnv {
	t.Helper()
	pe := &policyEnv{}
	var w storage.Registrar
	approve := func(ctx context.Context, nd launch.NewDeployment) error {
		pe.approved.Add(1)
		pe.mu.Lock()
		defer pe.mu.Unlock()
		pe.seen = append(pe.seen, nd)
		return pe.refuse
	}
	policy := func(ctx context.Context, nd launch.NewDeployment) (deployment.Deployable, error) {
		return launch.RecordDeployments(w, approve)(ctx, nd)
	}
	pe.env = newEnv(t, envOpts{toolOpts: []launch.Option{launch.WithDeploymentPolicy(policy)}})
	w = pe.store
	return pe
}

func (e *env) hasDeployment(id string) bool {
	e.t.Helper()
	_, err := e.store.FindDeployment(context.Background(), e.platform.Registration(), id)
	if err != nil && !errors.Is(err, deployment.ErrNotFound) {
		e.t.Fatal(err)
	}
	return err == nil
}

// Without a policy a new deployment is refused, exactly as before.
func TestDeploymentPolicyOff(t *testing.T) {
	e := newEnv(t, envOpts{})
	o := e.launch(ltitest.WithDeploymentID(newDeploymentID))
	if o.status != http.StatusForbidden || o.code != cDep {
		t.Fatalf("got %d %s, want 403 %s", o.status, o.code, cDep)
	}
	if e.hasDeployment(newDeploymentID) {
		t.Fatal("a deployment was recorded without a policy")
	}
}

func TestRecordDeployments(t *testing.T) {
	e := newPolicyEnv(t)
	o := e.launch(ltitest.WithDeploymentID(newDeploymentID))
	if o.status != http.StatusOK || o.result.DeploymentID != newDeploymentID {
		t.Fatalf("got %d %s %+v, want the launch accepted", o.status, o.code, o.result)
	}
	if !e.hasDeployment(newDeploymentID) {
		t.Fatal("the new deployment was not recorded")
	}
	if n := e.approved.Load(); n != 1 {
		t.Fatalf("approve ran %d times, want 1", n)
	}
	nd := e.seen[0]
	if nd.DeploymentID != newDeploymentID || nd.Claims == nil || nd.Claims.DeploymentID != newDeploymentID ||
		nd.Registration == nil || nd.Registration.LTIRegistration().Key() != e.platform.Registration().Key() {
		t.Fatalf("approve saw %+v", nd)
	}
	if nd.Claims.Context == nil || nd.Claims.Context.ID == "" {
		t.Errorf("approve saw no context claim: %+v", nd.Claims)
	}

	// The second launch finds the deployment in the store: approve does
	// not run again.
	if o := e.launch(ltitest.WithDeploymentID(newDeploymentID)); o.status != http.StatusOK {
		t.Fatalf("second launch: %d %s", o.status, o.code)
	}
	if n := e.approved.Load(); n != 1 {
		t.Fatalf("approve ran %d times after the second launch, want 1", n)
	}
	// The known deployment still launches without the policy.
	if o := e.launch(); o.status != http.StatusOK {
		t.Fatalf("known deployment: %d %s", o.status, o.code)
	}
	if n := e.approved.Load(); n != 1 {
		t.Fatalf("approve ran for a known deployment")
	}
}

func TestRecordDeploymentsApproveRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		refuse error
		status int
		code   string
	}{
		{"plain error", errors.New("this course may not use the tool"), http.StatusForbidden, cDep},
		{"lti error", lti.ErrUnknownDeployment.WithDescription("ask your administrator"), http.StatusForbidden, cDep},
		{"storage down", fmt.Errorf("licence lookup: %w", lti.ErrStorageUnavailable), http.StatusServiceUnavailable, cStorage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPolicyEnv(t)
			e.refuse = tc.refuse
			o := e.launch(ltitest.WithDeploymentID(newDeploymentID))
			if o.status != tc.status || o.code != tc.code {
				t.Fatalf("got %d %s, want %d %s", o.status, o.code, tc.status, tc.code)
			}
			if e.hasDeployment(newDeploymentID) {
				t.Fatal("a refused deployment was recorded")
			}
		})
	}
}

// A policy that returns garbage refuses the launch.
func TestDeploymentPolicyFailsClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy launch.DeploymentPolicy
		code   string
	}{
		{"nil, nil", func(context.Context, launch.NewDeployment) (deployment.Deployable, error) { return nil, nil }, cDep},
		{"another id", func(context.Context, launch.NewDeployment) (deployment.Deployable, error) {
			return deployment.Deployment{DeploymentID: ltitest.DefaultDeploymentID}, nil
		}, cDep},
		{"error", func(context.Context, launch.NewDeployment) (deployment.Deployable, error) {
			return nil, errors.New("no")
		}, cDep},
		{"deployment and error", func(_ context.Context, nd launch.NewDeployment) (deployment.Deployable, error) {
			return deployment.Deployment{DeploymentID: nd.DeploymentID}, errors.New("no")
		}, cDep},
		{"storage error", func(context.Context, launch.NewDeployment) (deployment.Deployable, error) {
			return nil, lti.ErrStorageUnavailable
		}, cStorage},
		{"registrar without the registration", launch.RecordDeployments(emptyRegistrar{}, nil), cReg},
		{"registrar failing", launch.RecordDeployments(failingRegistrar{}, nil), cStorage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{toolOpts: []launch.Option{launch.WithDeploymentPolicy(tc.policy)}})
			o := e.launch(ltitest.WithDeploymentID(newDeploymentID))
			if o.code != tc.code || o.status != statusOf[tc.code] {
				t.Fatalf("got %d %s, want %d %s", o.status, o.code, statusOf[tc.code], tc.code)
			}
			if e.launched.Load() != 0 {
				t.Fatal("the app ran")
			}
		})
	}
	t.Run("accepting policy", func(t *testing.T) {
		policy := func(_ context.Context, nd launch.NewDeployment) (deployment.Deployable, error) {
			return deployment.Deployment{DeploymentID: nd.DeploymentID}, nil
		}
		e := newEnv(t, envOpts{toolOpts: []launch.Option{launch.WithDeploymentPolicy(policy)}})
		if o := e.launch(ltitest.WithDeploymentID(newDeploymentID)); o.status != http.StatusOK {
			t.Fatalf("got %d %s", o.status, o.code)
		}
	})
}

type emptyRegistrar struct{ storage.Registrar }

func (emptyRegistrar) CreateDeployment(context.Context, registration.Key, string) error {
	return registration.ErrNotFound
}

type failingRegistrar struct{ storage.Registrar }

func (failingRegistrar) CreateDeployment(context.Context, registration.Key, string) error {
	return errors.New("connection reset")
}

// The policy never runs for a launch that fails before the deployment
// lookup: a bad signature, an expired token, a replayed state, a
// registration removed between login and launch.
func TestDeploymentPolicyOnlyForVerifiedLaunches(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(e *policyEnv) outcome
		code string
	}{
		{"bad signature", func(e *policyEnv) outcome {
			return e.withToken(flipLastSigByte, ltitest.WithDeploymentID(newDeploymentID))
		}, cSig},
		{"expired", func(e *policyEnv) outcome {
			b, ar := e.authorize(ltitest.WithDeploymentID(newDeploymentID))
			e.clock.advance(2 * time.Hour)
			return e.post(b, ar)
		}, cState},
		{"expired token", func(e *policyEnv) outcome {
			return e.launch(ltitest.WithDeploymentID(newDeploymentID), ltitest.WithClaim("exp", time.Now().Add(-time.Hour).Unix()))
		}, cExpired},
		{"wrong audience", func(e *policyEnv) outcome {
			return e.launch(ltitest.WithDeploymentID(newDeploymentID), ltitest.WithClaim("aud", "someone-else"))
		}, cClaims},
		{"replayed", func(e *policyEnv) outcome {
			e.refuse = errors.New("no")
			b, ar := e.authorize(ltitest.WithDeploymentID(newDeploymentID))
			e.post(b, ar)
			e.approved.Store(0)
			return e.post(b, ar)
		}, cState},
		{"unknown registration", func(e *policyEnv) outcome {
			b, ar := e.authorize(ltitest.WithDeploymentID(newDeploymentID))
			if err := e.store.DeleteRegistration(context.Background(), e.platform.Registration().Key()); err != nil {
				e.t.Fatal(err)
			}
			return e.post(b, ar)
		}, cReg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPolicyEnv(t)
			o := tc.do(e)
			if o.code != tc.code {
				t.Fatalf("got %d %s, want %s", o.status, o.code, tc.code)
			}
			if n := e.approved.Load(); n != 0 {
				t.Fatalf("the policy ran %d times", n)
			}
			if e.hasDeployment(newDeploymentID) {
				t.Fatal("a deployment was recorded")
			}
		})
	}
}

// Many launches of one new deployment at once: all are accepted, the
// deployment is recorded once.
func TestRecordDeploymentsConcurrent(t *testing.T) {
	e := newPolicyEnv(t)
	const n = 8
	var wg sync.WaitGroup
	codes := make([]outcome, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.platform.Launch(context.Background(), e.browser(), ltitest.WithDeploymentID(newDeploymentID))
			if err != nil {
				t.Error(err)
				return
			}
			codes[i] = read(t, resp, nil)
		}()
	}
	wg.Wait()
	for i, o := range codes {
		if o.status != http.StatusOK {
			t.Errorf("launch %d: %d %s", i, o.status, o.code)
		}
	}
	entries, err := e.store.Registrations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, en := range entries {
		for _, d := range en.Deployments {
			if d == newDeploymentID {
				count++
			}
		}
	}
	if count != 1 {
		t.Fatalf("%d records of the deployment, want 1", count)
	}
}
