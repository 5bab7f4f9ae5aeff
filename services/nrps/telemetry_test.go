package nrps_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/services/nrps"
)

// recordingTransport records the traceparent of every request it sends.
type recordingTransport struct {
	mu   sync.Mutex
	seen []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.Header.Get("traceparent"))
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// TestTelemetry reads a roster of two pages through the client's own
// HTTP client (the path for any token.Source): each page is one
// nrps.members.list call with its status, in a client span whose trace
// context the request carries.
func TestTelemetry(t *testing.T) {
	p, err := ltitest.NewPlatform(ltitest.Config{ToolRedirectURIs: []string{"https://tool.example/launch"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.AddMembers(5)
	p.SetServicePageSize(3)
	src := trust(t, p)

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	rt := &recordingTransport{}
	c, err := nrps.FromLaunch(launchWithNRPS(t, p), src, &http.Client{Transport: rt},
		nrps.WithMeterProvider(mp), nrps.WithTracerProvider(tp), nrps.WithPropagator(propagation.TraceContext{}))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range c.Members(context.Background(), nrps.Query{}).All() {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 5 {
		t.Fatalf("%d members, want 5", n)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var pages int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "ltikit.service.calls" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				op, _ := dp.Attributes.Value("ltikit.service.operation")
				status, _ := dp.Attributes.Value("http.response.status_code")
				result, _ := dp.Attributes.Value("ltikit.result")
				if op.AsString() != "nrps.members.list" || status.AsInt64() != 200 || result.AsString() != "ok" {
					t.Errorf("unexpected data point %v", dp.Attributes.ToSlice())
				}
				pages += dp.Value
			}
		}
	}
	spans := rec.Ended()
	if pages < 2 || int64(len(spans)) != pages {
		t.Fatalf("%d pages counted, %d spans: want several pages, a span each", pages, len(spans))
	}
	ids := map[string]bool{}
	for _, s := range spans {
		if s.Name() != "ltikit.nrps.members.list" {
			t.Errorf("span %q", s.Name())
		}
		ids[s.SpanContext().SpanID().String()] = true
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.seen) != len(spans) {
		t.Fatalf("%d requests sent, %d spans", len(rt.seen), len(spans))
	}
	for _, tp := range rt.seen {
		parts := strings.Split(tp, "-")
		if len(parts) != 4 || !ids[parts[2]] {
			t.Errorf("traceparent %q does not name a call's span", tp)
		}
	}
}
