package deeplink_test

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ltikit/ltikit/deeplink"
)

// TestTelemetry signs one response and refuses another: both are counted
// as deeplink.response.sign by result, each in a span of its own, and the
// response JWT is in no attribute.
func TestTelemetry(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	r := newResponder(t, newSigner(t), deeplink.WithMeterProvider(mp), deeplink.WithTracerProvider(tp))
	ctx := context.Background()
	jwt, err := r.Sign(ctx, benchResponse())
	if err != nil {
		t.Fatal(err)
	}
	bad := benchResponse()
	bad.Items = append(bad.Items, deeplink.Link{URL: "not a url"})
	if _, err := r.Sign(ctx, bad); err == nil {
		t.Fatal("an invalid response was signed")
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "ltikit.service.calls" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				op, _ := dp.Attributes.Value("ltikit.service.operation")
				res, _ := dp.Attributes.Value("ltikit.result")
				if _, has := dp.Attributes.Value("http.response.status_code"); has {
					t.Errorf("a deep linking response has an HTTP status: %v", dp.Attributes.ToSlice())
				}
				got[op.AsString()+" "+res.AsString()] += dp.Value
			}
		}
	}
	if got["deeplink.response.sign ok"] != 1 || got["deeplink.response.sign invalid_deep_linking"] != 1 || len(got) != 2 {
		t.Errorf("ltikit.service.calls %v", got)
	}
	spans := rec.Ended()
	if len(spans) != 2 || spans[0].Name() != "ltikit.deeplink.response.sign" || spans[1].Status().Code != codes.Error {
		t.Fatalf("spans %v", spans)
	}
	for _, s := range spans {
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.String(), jwt) {
				t.Errorf("span attribute %s carries the response JWT", kv.Key)
			}
		}
	}
}
