package keys

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/lti"
)

// scope is the instrumentation scope of the key set cache.
const scope = "github.com/ltikit/ltikit/keys"

// WithMeterProvider sets the OpenTelemetry MeterProvider the Cache records
// with (default: the global one): key lookups by cache result, key set
// fetches by result and HTTP status with their duration, and refreshes of
// a cached set by reason. docs/observability.md lists the metrics.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(k *Cache) { k.meters = mp } }

// WithTracerProvider sets the OpenTelemetry TracerProvider of the Cache's
// key set fetch spans (default: the global one).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(k *Cache) { k.tracers = tp } }

// WithPropagator sets the propagator that writes the trace context into
// the headers of key set requests (default: the global one,
// otel.GetTextMapPropagator, read on each fetch).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(k *Cache) { k.propagator = p }
}

// Values of ltikit.cache.result for a key lookup.
const (
	lookupHit    = "hit"
	lookupMiss   = "miss"
	lookupStatic = "static"
)

// Values of ltikit.keyset.refresh.reason: why a cached set was fetched
// again.
const (
	refreshExpired    = "expired"
	refreshUnknownKid = "unknown_kid"
)

// Values of ltikit.result for a key set fetch.
const (
	fetchOK          = "ok"
	fetchHTTPStatus  = "http_status"
	fetchUnreachable = "unreachable"
	fetchInvalid     = "invalid"
)

// instruments are a Cache's metrics and tracer, resolved once by NewCache.
type instruments struct {
	tracer    trace.Tracer
	lookups   metric.Int64Counter
	fetches   metric.Int64Counter
	fetchDur  metric.Float64Histogram
	refreshes metric.Int64Counter

	hit, miss, static telemetry.Attrs
	expired, rotated  telemetry.Attrs
	fetchOK           telemetry.Attrs
	prop              propagation.TextMapPropagator
	spanName          string
}

func newInstruments(mp metric.MeterProvider, tp trace.TracerProvider, prop propagation.TextMapPropagator) *instruments {
	m := telemetry.MeterProvider(mp).Meter(scope)
	lookup := func(v string) telemetry.Attrs { return telemetry.NewAttrs(telemetry.KeyCacheResult.String(v)) }
	reason := func(v string) telemetry.Attrs { return telemetry.NewAttrs(telemetry.KeyRefreshReason.String(v)) }
	return &instruments{
		tracer:    telemetry.TracerProvider(tp).Tracer(scope),
		lookups:   telemetry.Counter(m, telemetry.MetricKeyCacheLookups, "{lookup}", "Platform key lookups, by cache result (hit, miss, static)."),
		fetches:   telemetry.Counter(m, telemetry.MetricKeySetFetches, "{fetch}", "Platform key set fetches, by result and HTTP status."),
		fetchDur:  telemetry.Histogram(m, telemetry.MetricKeySetFetchTime, "Duration of platform key set fetches, by result."),
		refreshes: telemetry.Counter(m, telemetry.MetricKeySetRefreshes, "{refresh}", "Fetches of a cached key set, by reason (expired, unknown_kid)."),
		hit:       lookup(lookupHit),
		miss:      lookup(lookupMiss),
		static:    lookup(lookupStatic),
		expired:   reason(refreshExpired),
		rotated:   reason(refreshUnknownKid),
		fetchOK:   telemetry.NewAttrs(telemetry.KeyResult.String(fetchOK), telemetry.KeyHTTPStatus.Int(http.StatusOK)),
		prop:      prop,
		spanName:  "ltikit.keyset.fetch",
	}
}

// fetchCall is one key set fetch being measured.
type fetchCall struct {
	in    *instruments
	on    bool
	start time.Time
	span  trace.Span
}

// startFetch begins measuring a fetch of rawURL. A refresh of a set the
// cache holds is counted with its reason (kidRefresh: the set is fresh
// but lacks the kid).
func (in *instruments) startFetch(ctx context.Context, rawURL string, cached, kidRefresh bool) (context.Context, fetchCall) {
	c := fetchCall{in: in}
	if cached {
		r := in.expired
		if kidRefresh {
			r = in.rotated
		}
		in.refreshes.Add(ctx, 1, r.Add...)
	}
	if in.fetches.Enabled(ctx) || in.fetchDur.Enabled(ctx) {
		c.on, c.start = true, time.Now()
	}
	ctx, c.span = in.tracer.Start(ctx, in.spanName, trace.WithSpanKind(trace.SpanKindClient))
	if c.span.IsRecording() {
		if u, err := url.Parse(rawURL); err == nil {
			c.span.SetAttributes(telemetry.KeyServerAddress.String(u.Hostname()))
		}
		c.span.SetAttributes(telemetry.KeyHTTPMethod.String(http.MethodGet))
		if cached {
			reason := refreshExpired
			if kidRefresh {
				reason = refreshUnknownKid
			}
			c.span.SetAttributes(telemetry.KeyRefreshReason.String(reason))
		}
	}
	return ctx, c
}

// inject writes the trace context of ctx into h.
func (in *instruments) inject(ctx context.Context, h http.Header) {
	telemetry.Propagator(in.prop).Inject(ctx, propagation.HeaderCarrier(h))
}

// end records the fetch that ended with err (nil or a *FetchError).
func (c fetchCall) end(ctx context.Context, err error) {
	result, status := fetchOK, http.StatusOK
	if err != nil {
		result, status = fetchUnreachable, 0
		var fe *FetchError
		if errors.As(err, &fe) && fe.Status != 0 {
			status = fe.Status
			result = fetchHTTPStatus
			if fe.Status == http.StatusOK {
				result = fetchInvalid
			}
		}
	}
	if c.on {
		a := c.in.fetchOK
		if err != nil {
			a = telemetry.NewAttrs(fetchAttrs(result, status)...)
		}
		c.in.fetches.Add(ctx, 1, a.Add...)
		c.in.fetchDur.Record(ctx, time.Since(c.start).Seconds(), a.Record...)
	}
	if c.span.IsRecording() {
		c.span.SetAttributes(fetchAttrs(result, status)...)
	}
	code := ""
	if err != nil {
		code = string(lti.CodeKeysetUnavailable)
	}
	telemetry.End(c.span, code)
}

// fetchAttrs are the attributes of a fetch's result: ltikit.result, and
// http.response.status_code when the platform answered.
func fetchAttrs(result string, status int) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 2)
	kv = append(kv, telemetry.KeyResult.String(result))
	if status != 0 {
		kv = append(kv, telemetry.KeyHTTPStatus.Int(status))
	}
	return kv
}
