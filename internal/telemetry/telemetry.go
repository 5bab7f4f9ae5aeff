package telemetry

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ltikit/ltikit/lti"
)

// Metric names. docs/observability.md lists each with its unit and
// attributes; a name never changes meaning.
const (
	MetricLaunches         = "ltikit.launches"
	MetricLaunchDuration   = "ltikit.launch.duration"
	MetricLaunchStage      = "ltikit.launch.stage.duration"
	MetricLogins           = "ltikit.logins"
	MetricLoginDuration    = "ltikit.login.duration"
	MetricStorageCalls     = "ltikit.storage.calls"
	MetricStorageDuration  = "ltikit.storage.duration"
	MetricKeySetFetches    = "ltikit.keyset.fetches"
	MetricKeySetFetchTime  = "ltikit.keyset.fetch.duration"
	MetricKeyCacheLookups  = "ltikit.keyset.cache.lookups"
	MetricKeySetRefreshes  = "ltikit.keyset.refreshes"
	MetricServiceCalls     = "ltikit.service.calls"
	MetricServiceDuration  = "ltikit.service.duration"
	MetricTokenCacheLookup = "ltikit.token.cache.lookups"
)

// Attribute keys. The ltikit.* keys are the library's own; the others are
// OpenTelemetry semantic conventions.
const (
	// KeyResult is "ok" or the stable error code (see [Results]).
	KeyResult = attribute.Key("ltikit.result")
	// KeyMessageType is the launch's LTI message type, as far as it is
	// known and allowed (see the launch package).
	KeyMessageType = attribute.Key("ltikit.message_type")
	// KeyStage is a stage of the launch pipeline, as timed by the stage
	// histogram.
	KeyStage = attribute.Key("ltikit.stage")
	// KeyRefusalStage is where a refused login or launch stopped, with the
	// values of the refusal log line's "stage" attribute (package launch).
	KeyRefusalStage = attribute.Key("ltikit.refusal.stage")
	// KeyStorageOperation is the store method called.
	KeyStorageOperation = attribute.Key("ltikit.storage.operation")
	// KeyCacheResult is hit, miss or static.
	KeyCacheResult = attribute.Key("ltikit.cache.result")
	// KeyRefreshReason says why a key set was fetched.
	KeyRefreshReason = attribute.Key("ltikit.keyset.refresh.reason")
	// KeyServiceOperation is an outbound service call's operation.
	KeyServiceOperation = attribute.Key("ltikit.service.operation")
	// KeyIssuer, KeyClientID and KeyDeploymentID identify the platform on
	// spans (never on metrics: they are not bounded).
	KeyIssuer       = attribute.Key("ltikit.issuer")
	KeyClientID     = attribute.Key("ltikit.client_id")
	KeyDeploymentID = attribute.Key("ltikit.deployment_id")

	// KeyHTTPStatus is http.response.status_code.
	KeyHTTPStatus = attribute.Key("http.response.status_code")
	// KeyHTTPMethod is http.request.method.
	KeyHTTPMethod = attribute.Key("http.request.method")
	// KeyServerAddress is server.address: the host called.
	KeyServerAddress = attribute.Key("server.address")
	// KeyErrorType is error.type: the error code of a failed operation.
	KeyErrorType = attribute.Key("error.type")
	// KeyUserID is user.id: the launch's sub, only when the host opts in.
	KeyUserID = attribute.Key("user.id")
)

// Values of the result attribute besides the error codes.
const (
	// ResultOK is the result of a successful operation.
	ResultOK = "ok"
	// ResultOther stands for an error code that is not one of lti.Codes
	// (a host's own code, from a deployment policy for example), so the
	// attribute keeps a bounded set of values.
	ResultOther = "other"
	// ResultNotFound is a storage call the store answered with "no such
	// record" (not found, expired, consumed or ambiguous).
	ResultNotFound = "not_found"
	// ResultError is a storage call that failed.
	ResultError = "error"
)

// Unit is the unit of every duration histogram: seconds, as the
// OpenTelemetry semantic conventions ask.
const Unit = "s"

// DurationBoundaries returns the bucket boundaries, in seconds, of the
// duration histograms: from 10 µs (a launch stage, a cached lookup) to
// 10 s (a slow platform), about three per decade. Each call returns a
// new slice.
func DurationBoundaries() []float64 {
	return []float64{
		0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
		0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
		0.1, 0.25, 0.5, 1, 2.5, 5, 10,
	}
}

// MeterProvider returns mp, or the global MeterProvider when mp is nil.
// The global one delegates to whatever provider the host installs later.
func MeterProvider(mp metric.MeterProvider) metric.MeterProvider {
	if mp == nil {
		return otel.GetMeterProvider()
	}
	return mp
}

// TracerProvider returns tp, or the global TracerProvider when tp is nil.
func TracerProvider(tp trace.TracerProvider) trace.TracerProvider {
	if tp == nil {
		return otel.GetTracerProvider()
	}
	return tp
}

// Propagator returns p, or the global TextMapPropagator when p is nil.
// The global one is read on each call, so one the host installs after
// building a client applies.
func Propagator(p propagation.TextMapPropagator) propagation.TextMapPropagator {
	if p == nil {
		return otel.GetTextMapPropagator()
	}
	return p
}

// Counter returns the Int64Counter name of m; an instrument the provider
// refuses is replaced by a no-op one, so instrumentation never fails a
// Tool or a client.
func Counter(m metric.Meter, name, unit, desc string) metric.Int64Counter {
	c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil || c == nil {
		c, _ = metricnoop.Meter{}.Int64Counter(name)
	}
	return c
}

// Histogram returns the Float64Histogram name of m, in seconds, with
// [DurationBoundaries] as its advised buckets; a refused one is replaced by
// a no-op one.
func Histogram(m metric.Meter, name, desc string) metric.Float64Histogram {
	h, err := m.Float64Histogram(name, metric.WithUnit(Unit), metric.WithDescription(desc),
		metric.WithExplicitBucketBoundaries(DurationBoundaries()...))
	if err != nil || h == nil {
		h, _ = metricnoop.Meter{}.Float64Histogram(name)
	}
	return h
}

// Attrs is a precomputed attribute set in the two option forms the
// instruments take, so recording with it allocates nothing.
type Attrs struct {
	Add    []metric.AddOption
	Record []metric.RecordOption
}

// NewAttrs precomputes the attribute set of kvs.
func NewAttrs(kvs ...attribute.KeyValue) Attrs {
	o := metric.WithAttributeSet(attribute.NewSet(kvs...))
	return Attrs{Add: []metric.AddOption{o}, Record: []metric.RecordOption{o}}
}

// knownCodes is the set of lti.Codes, built once: constant data.
var knownCodes = sync.OnceValue(func() map[lti.Code]bool {
	m := make(map[lti.Code]bool)
	for _, c := range lti.Codes() {
		m[c] = true
	}
	return m
})

// Result returns the value of the result attribute for an operation that
// ended with err: "ok" for nil, otherwise the code lti.Classify gives, or
// [ResultOther] for a code the lti package does not define, so the
// attribute keeps a bounded set of values.
func Result(err error) string {
	if err == nil {
		return ResultOK
	}
	return CodeValue(lti.Classify(err).Code)
}

// CodeValue returns c when it is one of lti.Codes, else [ResultOther].
func CodeValue(c lti.Code) string {
	if knownCodes()[c] {
		return string(c)
	}
	return ResultOther
}

// Child starts a span named name under the span of ctx, only when that
// span is recorded; otherwise it returns ctx and a nil span, and costs one
// context lookup. End it with [End].
func Child(ctx context.Context, tr trace.Tracer, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	return tr.Start(ctx, name, opts...)
}

// End ends span (nil is allowed). A non-empty code marks it failed: its
// status is Error with the code as description, and error.type is the
// code. Nothing else about the error is recorded: error texts may carry
// values that must not leave the process.
func End(span trace.Span, code string) {
	if span == nil {
		return
	}
	if code != "" {
		Fail(span, code)
	}
	span.End()
}

// Fail marks span failed with code (see [End]), without ending it.
func Fail(span trace.Span, code string) {
	if span == nil || !span.IsRecording() {
		return
	}
	span.SetAttributes(KeyErrorType.String(code))
	span.SetStatus(codes.Error, code)
}
