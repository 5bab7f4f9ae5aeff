package keys_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/registration"
)

// counts returns the Int64 sums of rm by metric name and attribute set
// ("k=v,k=v").
func counts(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					out[m.Name+"{"+attrs(dp.Attributes)+"}"] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					out[m.Name+"{"+attrs(dp.Attributes)+"}"] += int64(dp.Count)
				}
			}
		}
	}
	return out
}

func attrs(s attribute.Set) string {
	var parts []string
	for it := s.Iter(); it.Next(); {
		parts = append(parts, string(it.Attribute().Key)+"="+it.Attribute().Value.String())
	}
	return strings.Join(parts, ",")
}

// TestTelemetry walks a key set through its life: the first lookup
// fetches it, later ones hit the cache, an unknown kid refreshes it once
// (then the refresh is rate-limited: a miss without a fetch), the TTL
// refreshes it, a failed fetch is counted by status, and a static key set
// is counted as such. Each fetch has a span, and the request carries the
// trace context.
func TestTelemetry(t *testing.T) {
	var mu sync.Mutex
	var traceparents []string
	body, status := setJSON(t, pubJWK(t, "k1", jwa.RS256)), http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		traceparents = append(traceparents, r.Header.Get("traceparent"))
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	clk := newClock()
	c := keys.NewCache(keys.WithClock(clk.now), keys.WithTTL(time.Hour), keys.WithMinRefreshInterval(time.Minute),
		keys.WithMeterProvider(mp), keys.WithTracerProvider(tp), keys.WithPropagator(propagation.TraceContext{}))
	reg := registration.Registration{KeySetURL: srv.URL}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "launch")
	for range 3 {
		if _, err := c.Key(ctx, reg, "k1"); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // a refresh, then rate-limited
		if _, err := c.Key(ctx, reg, "k-unknown"); err == nil {
			t.Fatal("an unknown kid was found")
		}
	}
	clk.advance(2 * time.Hour)
	if _, err := c.Key(ctx, reg, "k1"); err != nil {
		t.Fatal(err)
	}
	clk.advance(2 * time.Hour)
	mu.Lock()
	body, status = "down", http.StatusBadGateway
	mu.Unlock()
	if _, err := c.Key(ctx, reg, "k1"); err != nil { // the old set is still served
		t.Fatal(err)
	}
	static := jwk.NewSet()
	_ = static.AddKey(pubJWK(t, "s1", jwa.RS256))
	if _, err := c.Key(ctx, registration.Registration{KeySet: static}, "s1"); err != nil {
		t.Fatal(err)
	}
	parent.End()

	got := counts(t, reader)
	want := map[string]int64{
		"ltikit.keyset.cache.lookups{ltikit.cache.result=hit}":                                  2,
		"ltikit.keyset.cache.lookups{ltikit.cache.result=miss}":                                 5,
		"ltikit.keyset.cache.lookups{ltikit.cache.result=static}":                               1,
		"ltikit.keyset.fetches{http.response.status_code=200,ltikit.result=ok}":                 3,
		"ltikit.keyset.fetches{http.response.status_code=502,ltikit.result=http_status}":        1,
		"ltikit.keyset.fetch.duration{http.response.status_code=200,ltikit.result=ok}":          3,
		"ltikit.keyset.fetch.duration{http.response.status_code=502,ltikit.result=http_status}": 1,
		"ltikit.keyset.refreshes{ltikit.keyset.refresh.reason=unknown_kid}":                     1,
		"ltikit.keyset.refreshes{ltikit.keyset.refresh.reason=expired}":                         2,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s = %d, not expected", k, v)
		}
	}
	spans := rec.Ended()
	fetches := 0
	for _, s := range spans {
		if s.Name() != "ltikit.keyset.fetch" {
			continue
		}
		fetches++
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("fetch span parent %v, want the caller's", s.Parent().SpanID())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if fetches != 4 || len(traceparents) != 4 {
		t.Fatalf("%d fetch spans, %d requests; want 4 each", fetches, len(traceparents))
	}
	for _, tp := range traceparents {
		if !strings.Contains(tp, parent.SpanContext().TraceID().String()) {
			t.Errorf("key set request traceparent %q is not in the caller's trace", tp)
		}
	}
}
