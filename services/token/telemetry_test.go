package token_test

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

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/services/token"
)

// headerRecorder records the path and traceparent of every request sent.
type headerRecorder struct {
	mu   sync.Mutex
	seen [][2]string
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.seen = append(h.seen, [2]string{r.URL.Path, r.Header.Get("traceparent")})
	h.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestTelemetry: token requests are counted as token.request service calls
// with their status and result, cache lookups as hits and misses, each
// token request has a client span, and both the token request and the
// service request sent by Do carry the caller's trace context.
func TestTelemetry(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	hr := &headerRecorder{}
	e := newEnv(t, token.WithMeterProvider(mp), token.WithTracerProvider(tp),
		token.WithPropagator(propagation.TraceContext{}), token.WithHTTPClient(&http.Client{Transport: hr}))

	ctx, parent := tp.Tracer("test").Start(context.Background(), "sync grades")
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/svc/items", nil)
		resp, err := e.client.Do(ctx, e.reg, []string{scopeLineItem}, req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	other := e.reg
	other.ClientID = "a-client-the-platform-does-not-know"
	if _, err := e.client.Token(ctx, other, []string{scopeLineItem}); lti.Classify(err).Code != lti.CodeTokenRefused {
		t.Fatalf("unknown client: %v", err)
	}
	parent.End()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	calls, lookups := map[string]int64{}, map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/ltikit/ltikit/services/token" {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					switch m.Name {
					case "ltikit.service.calls":
						op, _ := dp.Attributes.Value("ltikit.service.operation")
						st, _ := dp.Attributes.Value("http.response.status_code")
						res, _ := dp.Attributes.Value("ltikit.result")
						calls[op.AsString()+" "+st.String()+" "+res.AsString()] += dp.Value
					case "ltikit.token.cache.lookups":
						r, _ := dp.Attributes.Value("ltikit.cache.result")
						lookups[r.AsString()] += dp.Value
					}
				}
			}
		}
	}
	if len(calls) != 2 || calls["token.request 200 ok"] != 1 {
		t.Errorf("ltikit.service.calls %v, want one token.request 200 ok and one refused", calls)
	}
	for k, v := range calls {
		if k != "token.request 200 ok" && (!strings.HasSuffix(k, " token_refused") || v != 1) {
			t.Errorf("ltikit.service.calls{%s} = %d", k, v)
		}
	}
	if lookups["hit"] != 1 || lookups["miss"] != 2 {
		t.Errorf("ltikit.token.cache.lookups %v, want 1 hit, 2 misses", lookups)
	}

	spans := rec.Ended()
	var tokenSpans int
	for _, s := range spans {
		if s.Name() == "ltikit.token.request" {
			tokenSpans++
			if s.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("token span parent %v, want the caller's", s.Parent().SpanID())
			}
		}
	}
	if tokenSpans != 2 {
		t.Errorf("%d token spans, want 2", tokenSpans)
	}
	hr.mu.Lock()
	defer hr.mu.Unlock()
	trace := parent.SpanContext().TraceID().String()
	var svc int
	for _, r := range hr.seen {
		parts := strings.Split(r[1], "-")
		if len(parts) != 4 || parts[1] != trace {
			t.Errorf("%s: traceparent %q is not in the caller's trace", r[0], r[1])
			continue
		}
		if strings.HasPrefix(r[0], "/svc/") {
			svc++
			if parts[2] != parent.SpanContext().SpanID().String() {
				t.Errorf("%s: traceparent %q does not name the caller's span", r[0], r[1])
			}
		}
	}
	if svc != 2 {
		t.Errorf("%d service requests seen, want 2", svc)
	}
}
