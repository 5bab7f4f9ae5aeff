package telemetry

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Operations of outbound service calls: the values of
// ltikit.service.operation, and (prefixed with "ltikit.") the span names.
const (
	OpTokenRequest     = "token.request"
	OpLineItemsList    = "ags.lineitems.list"
	OpLineItemGet      = "ags.lineitem.get"
	OpLineItemCreate   = "ags.lineitem.create"
	OpLineItemUpdate   = "ags.lineitem.update"
	OpLineItemDelete   = "ags.lineitem.delete"
	OpScorePost        = "ags.score.post"
	OpResultsList      = "ags.results.list"
	OpMembersList      = "nrps.members.list"
	OpDifferencesList  = "nrps.differences.list"
	OpDeepLinkResponse = "deeplink.response.sign"
)

// Service is the instrument set of outbound service calls: the calls
// counter and duration histogram by operation, HTTP status and result, a
// client span per call, and the propagator that carries the trace context
// in the request headers. One is built per client with [NewService]; its
// methods are safe for concurrent use.
type Service struct {
	calls    metric.Int64Counter
	duration metric.Float64Histogram
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator // nil: the global one, per call
}

// NewService resolves the service instruments of the instrumentation
// scope (the instrumented package's import path) from mp and tp (nil: the
// global providers). prop nil injects with the global propagator.
func NewService(scope string, mp metric.MeterProvider, tp trace.TracerProvider, prop propagation.TextMapPropagator) *Service {
	m := MeterProvider(mp).Meter(scope)
	return &Service{
		calls:    Counter(m, MetricServiceCalls, "{call}", "Outbound LTI service calls (token, AGS, NRPS, deep linking responses) by operation, HTTP status and result."),
		duration: Histogram(m, MetricServiceDuration, "Duration of outbound LTI service calls, until the response headers."),
		tracer:   TracerProvider(tp).Tracer(scope),
		prop:     prop,
	}
}

// Call is one service call being measured, from [Service.Start] to
// [Call.End].
type Call struct {
	s     *Service
	op    string
	start time.Time
	span  trace.Span
	on    bool
}

// Start begins measuring the call op (method and the host of rawURL, when
// known, go on the span) and returns ctx with its client span.
func (s *Service) Start(ctx context.Context, op, method, rawURL string) (context.Context, *Call) {
	c := &Call{s: s, op: op, on: s.calls.Enabled(ctx) || s.duration.Enabled(ctx)}
	if c.on {
		c.start = time.Now()
	}
	ctx, c.span = s.tracer.Start(ctx, "ltikit."+op, trace.WithSpanKind(trace.SpanKindClient))
	if c.span.IsRecording() {
		attrs := []attribute.KeyValue{KeyServiceOperation.String(op)}
		if method != "" {
			attrs = append(attrs, KeyHTTPMethod.String(method))
		}
		if u, err := url.Parse(rawURL); err == nil && u.Hostname() != "" {
			attrs = append(attrs, KeyServerAddress.String(u.Hostname()))
		}
		c.span.SetAttributes(attrs...)
	}
	return ctx, c
}

// Inject writes the trace context of ctx into h with the Service's
// propagator (the global one by default).
func (s *Service) Inject(ctx context.Context, h http.Header) {
	Propagator(s.prop).Inject(ctx, propagation.HeaderCarrier(h))
}

// End records the call: status is the HTTP status of the answer (0 when
// none came), err the call's error (nil for success).
func (c *Call) End(ctx context.Context, status int, err error) {
	result := Result(err)
	if c.on {
		kvs := make([]attribute.KeyValue, 0, 3)
		kvs = append(kvs, KeyServiceOperation.String(c.op), KeyResult.String(result))
		if status > 0 {
			kvs = append(kvs, KeyHTTPStatus.Int(status))
		}
		set := metric.WithAttributeSet(attribute.NewSet(kvs...))
		c.s.calls.Add(ctx, 1, set)
		c.s.duration.Record(ctx, time.Since(c.start).Seconds(), set)
	}
	if c.span.IsRecording() {
		c.span.SetAttributes(KeyResult.String(result))
		if status > 0 {
			c.span.SetAttributes(KeyHTTPStatus.Int(status))
		}
	}
	code := ""
	if err != nil {
		code = result
	}
	End(c.span, code)
}
