package launch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/internal/cputime"
	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/launch"
)

// sdkOptions returns the options of a tool recording with a real
// OpenTelemetry SDK: a MeterProvider with a ManualReader (every
// measurement aggregated, never exported) and a TracerProvider sampling
// every span into a batch processor with a no-op exporter. The benchmarks
// below are the ones of bench_test.go and bench_handler_test.go with it:
// the cost of the instrumentation when a host turns it on.
func sdkOptions(b *testing.B) []launch.Option {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	return []launch.Option{launch.WithMeterProvider(mp), launch.WithTracerProvider(tp)}
}

// BenchmarkValidateLaunchSDK is BenchmarkValidateLaunch recording with the
// SDK.
func BenchmarkValidateLaunchSDK(b *testing.B) {
	s := newBenchSetup(b)
	s.store = memory.New()
	_ = s.store.AddRegistration(s.platform.Registration())
	_ = s.store.AddDeployment(s.platform.Registration().Key(), s.platform.Deployment())
	opts := append([]launch.Option{launch.WithMaxTokenAge(0)}, sdkOptions(b)...)
	tool, err := launch.New(launch.Config{Storage: s.store, BaseURL: "https://tool.example", Keys: keys.NewCache()}, opts...)
	if err != nil {
		b.Fatal(err)
	}
	s.storeStates(b, b.N+1)
	if _, err := tool.ValidateLaunch(context.Background(), s.request(b.N)); err != nil {
		b.Fatal(err)
	}
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = s.request(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer cputime.PerOp(b)()
	for i := 0; i < b.N; i++ {
		if _, err := tool.ValidateLaunch(context.Background(), reqs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLaunchHandlerSDK is BenchmarkLaunchHandler recording with the
// SDK.
func BenchmarkLaunchHandlerSDK(b *testing.B) {
	benchLaunchHandler(b, sdkOptions(b)...)
}

// BenchmarkInitiateLoginSDK is BenchmarkInitiateLogin recording with the
// SDK.
func BenchmarkInitiateLoginSDK(b *testing.B) {
	s := newBenchSetup(b)
	tool, err := launch.New(launch.Config{Storage: s.store, BaseURL: "https://tool.example", Keys: keys.NewCache()}, sdkOptions(b)...)
	if err != nil {
		b.Fatal(err)
	}
	h := tool.LoginHandler()
	q := url.Values{
		"iss": {s.platform.Issuer()}, "login_hint": {"user-1"}, "target_link_uri": {s.target},
		"lti_message_hint": {`{"cmid":1}`}, "client_id": {s.platform.ClientID()},
	}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	defer cputime.PerOp(b)()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://tool.example/lti/login?"+q, nil))
		if rec.Code != http.StatusFound {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
