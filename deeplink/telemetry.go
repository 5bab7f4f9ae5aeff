package deeplink

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// scope is the instrumentation scope of the Responder's metrics and spans.
const scope = "github.com/ltikit/ltikit/deeplink"

// WithMeterProvider sets the OpenTelemetry MeterProvider the Responder
// records with (default: the global one, otel.GetMeterProvider): each
// signed (or refused) response as ltikit.service.calls and
// ltikit.service.duration with operation deeplink.response.sign and its
// result (ok, invalid_deep_linking, …). docs/observability.md lists the
// metrics.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.meters = mp } }

// WithTracerProvider sets the OpenTelemetry TracerProvider of the
// Responder's spans, one per signed response (default: the global one).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tracers = tp } }
