package launch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/internal/cputime"
	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/launch"
)

// BenchmarkLaunchHandler is a launch end to end on the tool's side: the
// form post with its state cookie served by LaunchHandler (validation, the
// state cookie cleared, the launch put in the request context) down to the
// host's handler. The platform's signing is not part of it: every
// iteration posts the same id_token against its own login state.
func BenchmarkLaunchHandler(b *testing.B) {
	benchLaunchHandler(b)
}

// benchLaunchHandler runs the LaunchHandler benchmark on a tool built
// with opts.
func benchLaunchHandler(b *testing.B, opts ...launch.Option) {
	s := newBenchSetup(b)
	s.store = memory.New() // fresh store holding exactly b.N states
	_ = s.store.AddRegistration(s.platform.Registration())
	_ = s.store.AddDeployment(s.platform.Registration().Key(), s.platform.Deployment())
	opts = append([]launch.Option{launch.WithMaxTokenAge(0)}, opts...)
	tool, err := launch.New(launch.Config{Storage: s.store, BaseURL: "https://tool.example", Keys: keys.NewCache()}, opts...)
	if err != nil {
		b.Fatal(err)
	}
	s.storeStates(b, b.N+1)
	if _, err := tool.ValidateLaunch(context.Background(), s.request(b.N)); err != nil { // warm the key cache
		b.Fatal(err)
	}
	launched := 0
	h := tool.LaunchHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := launch.FromContext(r.Context()); ok {
			launched++
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	reqs := make([]*http.Request, b.N)
	recs := make([]*httptest.ResponseRecorder, b.N)
	for i := range reqs {
		reqs[i] = s.request(i)
		recs[i] = httptest.NewRecorder()
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer cputime.PerOp(b)()
	for i := 0; i < b.N; i++ {
		h.ServeHTTP(recs[i], reqs[i])
	}
	b.StopTimer()
	if launched != b.N {
		b.Fatalf("%d of %d launches reached the host's handler (first status %d)", launched, b.N, recs[0].Code)
	}
}
