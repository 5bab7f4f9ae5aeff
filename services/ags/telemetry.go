package ags

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// scope is the instrumentation scope of the client's metrics and spans.
const scope = "github.com/ltikit/ltikit/services/ags"

// WithMeterProvider sets the OpenTelemetry MeterProvider the client
// records its calls with (default: the global one, otel.GetMeterProvider):
// ltikit.service.calls and ltikit.service.duration by operation
// (ags.lineitems.list, ags.lineitem.get, ags.lineitem.create, ags.lineitem.update,
// ags.lineitem.delete, ags.score.post, ags.results.list; each page of a list is a call), HTTP status and
// result. docs/observability.md lists the metrics. A *token.Client Source
// records its token requests and cache lookups with its own
// token.WithMeterProvider.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.meters = mp } }

// WithTracerProvider sets the OpenTelemetry TracerProvider of the client's
// spans, one client span per call (default: the global one).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tracers = tp } }

// WithPropagator sets the propagator that writes the trace context of the
// call's context into its request headers, so the platform can join the
// trace (default: the global one, otel.GetTextMapPropagator, read on each
// call). With a *token.Client as the Source and no HTTP client, the token
// client also writes it with its own token.WithPropagator.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(o *options) { o.propagator = p }
}
