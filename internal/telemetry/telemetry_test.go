package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/lti"
)

// TestNoSDKInLibrary: no library package links an OpenTelemetry SDK or
// exporter; hosts choose theirs. Only the commands and examples (and
// tests, which go list -deps leaves out) may.
func TestNoSDKInLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "github.com/ltikit/ltikit/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var lib []string
	for _, p := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(p, "github.com/ltikit/ltikit")
		if strings.HasPrefix(rel, "/cmd/") || strings.HasPrefix(rel, "/examples/") {
			continue
		}
		lib = append(lib, p)
	}
	if len(lib) < 20 {
		t.Fatalf("only %d library packages listed: %v", len(lib), lib)
	}
	out, err = exec.Command("go", append([]string{"list", "-e", "-deps"}, lib...)...).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	api := false
	for _, d := range deps {
		for _, banned := range []string{"go.opentelemetry.io/otel/sdk", "go.opentelemetry.io/otel/exporters/",
			"go.opentelemetry.io/contrib/", "github.com/prometheus/"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("a library package depends on %s", d)
			}
		}
		api = api || d == "go.opentelemetry.io/otel/metric"
	}
	if !api {
		t.Error("no library package depends on the OpenTelemetry metric API: is the list right?")
	}
}

func TestResults(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{lti.ErrInvalidState, "invalid_state"},
		{fmt.Errorf("wrapped: %w", lti.ErrUnknownDeployment.WithDescription("x")), "unknown_deployment"},
		{errors.New("plain"), "internal_error"},
		{context.DeadlineExceeded, "service_unavailable"},
		{lti.NewError("a_hosts_own_code", "x"), "other"},
	} {
		if got := telemetry.Result(c.err); got != c.want {
			t.Errorf("Result(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// TestChild: a child span is started only under a recorded parent.
func TestChild(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tr := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("test")
	ctx, span := telemetry.Child(context.Background(), tr, "orphan")
	if span != nil || ctx != context.Background() {
		t.Fatal("a child span without a parent")
	}
	telemetry.End(span, "x") // nil is allowed
	ctx, parent := tr.Start(context.Background(), "parent")
	_, child := telemetry.Child(ctx, tr, "child")
	telemetry.End(child, "invalid_state")
	parent.End()
	ended := rec.Ended()
	if len(ended) != 2 || ended[0].Name() != "child" || ended[0].Parent().SpanID() != parent.SpanContext().SpanID() ||
		ended[0].Status().Description != "invalid_state" {
		t.Fatalf("spans %v", ended)
	}
	nctx, _ := noop.NewTracerProvider().Tracer("x").Start(context.Background(), "noop")
	if _, s := telemetry.Child(nctx, tr, "under a no-op"); s != nil {
		t.Fatal("a child span under a no-op parent")
	}
}

func TestDurationBoundaries(t *testing.T) {
	b := telemetry.DurationBoundaries()
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] {
			t.Fatalf("boundaries not increasing at %d: %v", i, b)
		}
	}
	if b[0] > 0.00001 || b[len(b)-1] < 10 {
		t.Fatalf("boundaries %v do not span 10 µs to 10 s", b)
	}
	b[0] = 42
	if telemetry.DurationBoundaries()[0] == 42 {
		t.Fatal("the boundaries are shared")
	}
}
