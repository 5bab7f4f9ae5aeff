package launch_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
)

// A tool that records its metrics and spans with the host's OpenTelemetry
// SDK. A real host passes a MeterProvider with an exporter (Prometheus,
// OTLP) instead of the ManualReader, or installs its providers globally
// with otel.SetMeterProvider and otel.SetTracerProvider and passes no
// option at all. docs/observability.md lists every metric.
func ExampleWithMeterProvider() {
	reader := sdkmetric.NewManualReader()
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tracers := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))

	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     srv.URL + "/lti/login",
		ToolRedirectURIs: []string{srv.URL + "/lti/launch"},
		TargetLinkURI:    srv.URL + "/lti/launch",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer platform.Close()
	store := memory.New()
	_ = store.AddRegistration(platform.Registration())
	_ = store.AddDeployment(platform.Registration().Key(), platform.Deployment())

	tool, err := launch.New(launch.Config{Storage: store, BaseURL: srv.URL},
		launch.WithMeterProvider(meters), launch.WithTracerProvider(tracers))
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/lti/login", tool.LoginHandler())
	mux.Handle("/lti/launch", tool.LaunchHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))

	jar, _ := cookiejar.New(nil)
	browser := srv.Client()
	browser.Jar = jar
	for range 2 {
		resp, err := platform.Launch(context.Background(), browser)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "ltikit.launches" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				result, _ := dp.Attributes.Value("ltikit.result")
				mt, _ := dp.Attributes.Value("ltikit.message_type")
				fmt.Println(m.Name, result.AsString(), mt.AsString(), dp.Value)
			}
		}
	}
	for _, s := range spans.Ended() {
		if s.Name() == "ltikit.launch" {
			fmt.Println(s.Name(), "span")
		}
	}
	// Output:
	// ltikit.launches ok LtiResourceLinkRequest 2
	// ltikit.launch span
	// ltikit.launch span
}
