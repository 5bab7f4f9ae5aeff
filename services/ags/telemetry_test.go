package ags_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/services/ags"
	"github.com/ltikit/ltikit/services/token"
)

// seenRequest is what the platform's server received.
type seenRequest struct {
	method, path, traceparent string
}

// TestTelemetry posts a score, reads line items and fails a call against
// the ltitest platform, with the token client and the AGS client recording
// with an SDK: every call is counted by operation, HTTP status and result,
// the token is requested once and then served from the cache, each call
// has a client span under the caller's span, and the platform receives
// the trace context in traceparent.
func TestTelemetry(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	p, err := ltitest.NewHandler("http://"+srv.Listener.Addr().String(), ltitest.Config{ToolRedirectURIs: []string{"https://tool.example/launch"}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []seenRequest
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, seenRequest{r.Method, r.URL.Path, r.Header.Get("traceparent")})
		mu.Unlock()
		p.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	kr := newKeyring(t)
	set, err := kr.KeySet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.SetToolKeySet(set)

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prop := propagation.TraceContext{}
	src, err := token.New(token.Config{Signer: kr},
		token.WithMeterProvider(mp), token.WithTracerProvider(tp), token.WithPropagator(prop))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{p: p, src: src}
	c, err := ags.FromLaunch(e.launch(t), src, nil,
		ags.WithMeterProvider(mp), ags.WithTracerProvider(tp), ags.WithPropagator(prop))
	if err != nil {
		t.Fatal(err)
	}

	ctx, parent := tp.Tracer("test").Start(context.Background(), "grade")
	own, err := c.LineItem(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	score := ags.Score{UserID: "user-1", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}
	if err := c.PostScore(ctx, "", score.WithScore(7, 10)); err != nil {
		t.Fatal(err)
	}
	for _, err := range c.LineItems(ctx, ags.LineItemsQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	missing := strings.Replace(own.ID, "/lineitems/1/", "/lineitems/999/", 1)
	if _, err := c.LineItem(ctx, missing); lti.Classify(err).Code != lti.CodeServiceError {
		t.Fatalf("a missing line item: %v", err)
	}
	parent.End()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	calls := map[string]int64{}
	lookups := map[string]int64{}
	var observed uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch m.Name {
			case "ltikit.service.calls":
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					calls[attrKey(dp.Attributes)] += dp.Value
				}
			case "ltikit.token.cache.lookups":
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					lookups[attrKey(dp.Attributes)] += dp.Value
				}
			case "ltikit.service.duration":
				for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
					observed += dp.Count
				}
				if m.Unit != "s" {
					t.Errorf("ltikit.service.duration in %q, want s", m.Unit)
				}
			}
		}
	}
	if observed != 5 {
		t.Errorf("ltikit.service.duration: %d observations, want 5", observed)
	}
	want := map[string]int64{
		"http.response.status_code=200,ltikit.result=ok,ltikit.service.operation=token.request":               1,
		"http.response.status_code=200,ltikit.result=ok,ltikit.service.operation=ags.lineitem.get":            1,
		"http.response.status_code=204,ltikit.result=ok,ltikit.service.operation=ags.score.post":              1,
		"http.response.status_code=200,ltikit.result=ok,ltikit.service.operation=ags.lineitems.list":          1,
		"http.response.status_code=404,ltikit.result=service_error,ltikit.service.operation=ags.lineitem.get": 1,
	}
	for k, v := range want {
		if calls[k] != v {
			t.Errorf("ltikit.service.calls{%s} = %d, want %d", k, calls[k], v)
		}
	}
	if len(calls) != len(want) {
		t.Errorf("ltikit.service.calls %v, want %v", calls, want)
	}
	if lookups["ltikit.cache.result=miss"] != 1 || lookups["ltikit.cache.result=hit"] != 3 {
		t.Errorf("ltikit.token.cache.lookups %v, want one miss and three hits", lookups)
	}

	// Spans: the calls under the caller's span, the token request under
	// the first call, all of them client spans.
	spans := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var agsSpans []sdktrace.ReadOnlySpan
	var tokenSpan sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		spans[s.SpanContext().SpanID()] = s
		switch {
		case strings.HasPrefix(s.Name(), "ltikit.ags."):
			agsSpans = append(agsSpans, s)
		case s.Name() == "ltikit.token.request":
			tokenSpan = s
		}
	}
	if len(agsSpans) != 4 || tokenSpan == nil {
		t.Fatalf("%d AGS spans and token span %v, want 4 and one", len(agsSpans), tokenSpan)
	}
	for _, s := range agsSpans {
		if s.Parent().SpanID() != parent.SpanContext().SpanID() || s.SpanKind() != trace.SpanKindClient {
			t.Errorf("span %s: parent %v, kind %v; want the caller's span, client", s.Name(), s.Parent().SpanID(), s.SpanKind())
		}
	}
	if tokenSpan.Parent().SpanID() != agsSpans[0].SpanContext().SpanID() {
		t.Errorf("the token request's parent is %v, want the first AGS call", tokenSpan.Parent().SpanID())
	}
	last := agsSpans[3]
	if last.Status().Code != codes.Error || last.Status().Description != string(lti.CodeServiceError) {
		t.Errorf("the failed call's span status %+v", last.Status())
	}

	// The platform saw each span's trace context.
	mu.Lock()
	defer mu.Unlock()
	byPath := map[string][]string{}
	for _, r := range seen {
		if r.traceparent == "" {
			t.Errorf("%s %s arrived without traceparent", r.method, r.path)
			continue
		}
		parts := strings.Split(r.traceparent, "-")
		if len(parts) != 4 || parts[1] != parent.SpanContext().TraceID().String() {
			t.Errorf("%s %s: traceparent %q is not in the caller's trace", r.method, r.path, r.traceparent)
			continue
		}
		id, _ := trace.SpanIDFromHex(parts[2])
		s, ok := spans[id]
		if !ok {
			t.Errorf("%s %s: traceparent names span %s, not one of the calls", r.method, r.path, parts[2])
			continue
		}
		byPath[r.path] = append(byPath[r.path], s.Name())
	}
	if got := byPath[ltitest.PathToken]; len(got) != 1 || got[0] != "ltikit.token.request" {
		t.Errorf("token requests carried %v", got)
	}
	for path, names := range byPath {
		for _, n := range names {
			if path != ltitest.PathToken && !strings.HasPrefix(n, "ltikit.ags.") {
				t.Errorf("%s carried the trace context of %s", path, n)
			}
		}
	}

	// No token, assertion or Authorization value in any attribute.
	tok, err := src.Token(context.Background(), p.Registration(), c.Scopes())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rec.Ended() {
		for _, kv := range s.Attributes() {
			if v := kv.Value.String(); strings.Contains(v, tok) || strings.Contains(v, "Bearer") || strings.Count(v, ".") >= 2 && len(v) > 100 {
				t.Errorf("span %s attribute %s = %q", s.Name(), kv.Key, v)
			}
		}
	}
}

// attrKey renders an attribute set as "k=v,k=v" (sorted by key).
func attrKey(s attribute.Set) string {
	var parts []string
	for it := s.Iter(); it.Next(); {
		kv := it.Attribute()
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	return strings.Join(parts, ",")
}
