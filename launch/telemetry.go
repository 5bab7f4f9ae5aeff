package launch

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
)

// scope is the instrumentation scope of the launch pipeline's metrics and
// spans.
const scope = "github.com/ltikit/ltikit/launch"

// WithMeterProvider sets the OpenTelemetry MeterProvider the Tool records
// its metrics with (default: the global one, otel.GetMeterProvider, which
// records nothing until the host installs an SDK): logins and launches by
// result, their durations, the launch's stage durations and every storage
// call. When Config.Keys is nil, the key set cache the Tool builds records
// with it too. docs/observability.md lists the metrics.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.meters = mp } }

// WithTracerProvider sets the OpenTelemetry TracerProvider of the Tool's
// spans (default: the global one): one span per login initiation and per
// launch, with child spans for storage calls, the signature verification
// and key set fetches. When Config.Keys is nil, the key set cache the Tool
// builds uses it too.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tracers = tp } }

// WithTraceSubject sets whether the span of an accepted launch carries
// the user's sub as user.id (default false). No other personal data is
// ever recorded, and the sub never goes on a metric.
func WithTraceSubject(on bool) Option { return func(o *options) { o.traceSubject = on } }

// Stages of a launch measured by ltikit.launch.stage.duration, in order.
const (
	tsForm         = iota // method, form, id_token split
	tsState               // browser secret, state take
	tsRegistration        // registration lookup
	tsKey                 // key lookup (and fetch)
	tsVerify              // signature verification
	tsClaims              // claims decoding and checks
	tsNonce               // nonce check and consumption
	tsDeployment          // deployment lookup and policy
	numStages
)

var stageNames = [numStages]string{"form", "state", "registration", "key", "verify", "claims", "nonce", "deployment"}

// Storage operations, the values of ltikit.storage.operation.
const (
	opFindRegistration = iota
	opFindDeployment
	opPutState
	opTakeState
	opPutNonce
	opConsumeNonce
	numOps
)

var (
	opNames     = [numOps]string{"find_registration", "find_deployment", "put_state", "take_state", "put_nonce", "consume_nonce"}
	opSpanNames = [numOps]string{"ltikit.storage.find_registration", "ltikit.storage.find_deployment",
		"ltikit.storage.put_state", "ltikit.storage.take_state", "ltikit.storage.put_nonce", "ltikit.storage.consume_nonce"}
)

// Storage results: ok, not_found, error.
const (
	srOK = iota
	srNotFound
	srError
	numStorageResults
)

var storageResultNames = [numStorageResults]string{telemetry.ResultOK, telemetry.ResultNotFound, telemetry.ResultError}

// Message types with a precomputed attribute set; any other is built
// when recorded.
var knownMessageTypes = [...]string{lti.MessageResourceLink, lti.MessageDeepLinking, lti.MessageSubmissionReview}

// Values of ltikit.message_type besides the message types.
const (
	// mtUnknown: the launch stopped before the id_token was verified.
	mtUnknown = "unknown"
	// mtUnsupported: a verified message type the Tool does not accept.
	mtUnsupported = "unsupported"
)

// resultPlatformStorage is the result of a launch that continues through
// platform storage (*StorageLaunch): neither accepted nor refused yet.
const resultPlatformStorage = "platform_storage"

// instruments are a Tool's metrics and tracer, resolved once in New, with
// the attribute sets of the common measurements precomputed, so an
// accepted launch looks nothing up and allocates nothing for them.
type instruments struct {
	tracer trace.Tracer

	launches, logins      metric.Int64Counter
	launchDur, loginDur   metric.Float64Histogram
	stageDur              metric.Float64Histogram
	storageCalls          metric.Int64Counter
	storageDur            metric.Float64Histogram
	launchOK              [len(knownMessageTypes)]telemetry.Attrs
	loginOK               telemetry.Attrs
	stages                [numStages]telemetry.Attrs
	storage               [numOps][numStorageResults]telemetry.Attrs
	subject               bool
	messageTypes          map[string]bool
	launchSpan, loginSpan string
}

func newInstruments(o *options) *instruments {
	m := telemetry.MeterProvider(o.meters).Meter(scope)
	in := &instruments{
		tracer:       telemetry.TracerProvider(o.tracers).Tracer(scope),
		launches:     telemetry.Counter(m, telemetry.MetricLaunches, "{launch}", "LTI launches validated, by result (ok or the error code) and message type."),
		logins:       telemetry.Counter(m, telemetry.MetricLogins, "{login}", "LTI login initiations, by result (ok or the error code)."),
		launchDur:    telemetry.Histogram(m, telemetry.MetricLaunchDuration, "Duration of launch validation, by result and message type."),
		loginDur:     telemetry.Histogram(m, telemetry.MetricLoginDuration, "Duration of login initiation, by result."),
		stageDur:     telemetry.Histogram(m, telemetry.MetricLaunchStage, "Duration of each stage of launch validation."),
		storageCalls: telemetry.Counter(m, telemetry.MetricStorageCalls, "{call}", "Calls of the launch pipeline to its stores, by operation and result."),
		storageDur:   telemetry.Histogram(m, telemetry.MetricStorageDuration, "Duration of the launch pipeline's store calls, by operation and result."),
		subject:      o.traceSubject,
		messageTypes: o.messageTypes,
		launchSpan:   "ltikit.launch",
		loginSpan:    "ltikit.login",
	}
	ok := telemetry.KeyResult.String(telemetry.ResultOK)
	for i, mt := range knownMessageTypes {
		in.launchOK[i] = telemetry.NewAttrs(ok, telemetry.KeyMessageType.String(mt))
	}
	in.loginOK = telemetry.NewAttrs(ok)
	for i, s := range stageNames {
		in.stages[i] = telemetry.NewAttrs(telemetry.KeyStage.String(s))
	}
	for op, name := range opNames {
		for r, result := range storageResultNames {
			in.storage[op][r] = telemetry.NewAttrs(telemetry.KeyStorageOperation.String(name), telemetry.KeyResult.String(result))
		}
	}
	return in
}

// launchOn reports whether any launch metric records.
func (in *instruments) launchOn(ctx context.Context) bool {
	return in.launches.Enabled(ctx) || in.launchDur.Enabled(ctx) || in.stageDur.Enabled(ctx)
}

// stageTimer measures the stages of one launch; it runs only when the
// stage histogram records.
type stageTimer struct {
	on   bool
	cur  int
	last time.Time
}

// next ends the current stage and starts stage s.
func (in *instruments) next(ctx context.Context, f *facts, s int) {
	if !f.timer.on {
		return
	}
	now := time.Now()
	in.stageDur.Record(ctx, now.Sub(f.timer.last).Seconds(), in.stages[f.timer.cur].Record...)
	f.timer.cur, f.timer.last = s, now
}

// endLaunch records a launch that ended with l or err and ends its span.
func (in *instruments) endLaunch(ctx context.Context, span trace.Span, on bool, start time.Time, l *Launch, err error, f *facts) {
	result, code := telemetry.ResultOK, ""
	switch {
	case err == nil:
	case isStorageLaunch(err):
		result = resultPlatformStorage
	default:
		result = telemetry.Result(err)
		code = result
	}
	mt := in.messageType(l, f)
	if on {
		now := time.Now()
		if f.timer.on {
			// The stage the launch ended in: the last one, or the one
			// that refused it.
			in.stageDur.Record(ctx, now.Sub(f.timer.last).Seconds(), in.stages[f.timer.cur].Record...)
		}
		attrs, ok := in.okAttrs(result, mt)
		if !ok {
			attrs = telemetry.NewAttrs(telemetry.KeyResult.String(result), telemetry.KeyMessageType.String(mt))
		}
		in.launches.Add(ctx, 1, attrs.Add...)
		in.launchDur.Record(ctx, now.Sub(start).Seconds(), attrs.Record...)
	}
	if span.IsRecording() {
		kv := make([]attribute.KeyValue, 0, 8)
		kv = append(kv, telemetry.KeyResult.String(result), telemetry.KeyMessageType.String(mt))
		if code != "" {
			kv = append(kv, telemetry.KeyRefusalStage.String(f.stage))
		}
		if f.regFound {
			kv = append(kv, telemetry.KeyIssuer.String(f.regIssuer), telemetry.KeyClientID.String(f.regClientID))
		}
		if f.claims != nil && f.claims.DeploymentID != "" {
			// Verified: the claims are decoded only after the signature.
			kv = append(kv, telemetry.KeyDeploymentID.String(clean(f.claims.DeploymentID)))
		}
		if in.subject && l != nil && l.Claims.Subject != nil {
			kv = append(kv, telemetry.KeyUserID.String(*l.Claims.Subject))
		}
		span.SetAttributes(kv...)
	}
	telemetry.End(span, code)
}

// isStorageLaunch reports whether err is a *StorageLaunch: the launch
// goes on through platform storage.
func isStorageLaunch(err error) bool {
	var sl *StorageLaunch
	return errors.As(err, &sl)
}

// okAttrs returns the precomputed attribute set of an accepted launch of
// a standard message type.
func (in *instruments) okAttrs(result, mt string) (telemetry.Attrs, bool) {
	if result != telemetry.ResultOK {
		return telemetry.Attrs{}, false
	}
	for i, k := range knownMessageTypes {
		if k == mt {
			return in.launchOK[i], true
		}
	}
	return telemetry.Attrs{}, false
}

// messageType is the ltikit.message_type of a launch: the verified
// message type when the Tool accepts it, "unsupported" when it does not,
// "unknown" when the launch stopped before the id_token was verified. Its
// values are bounded by the Tool's message types.
func (in *instruments) messageType(l *Launch, f *facts) string {
	var c *lti.Claims
	switch {
	case l != nil:
		c = l.Claims
	case f.claims != nil:
		c = f.claims
	default:
		return mtUnknown
	}
	for _, k := range knownMessageTypes {
		if c.MessageType == k {
			return k
		}
	}
	if in.messageTypes[c.MessageType] {
		return c.MessageType
	}
	return mtUnsupported
}

// endLogin records a login initiation that ended with err and ends its
// span.
func (in *instruments) endLogin(ctx context.Context, span trace.Span, on bool, start time.Time, err error, f *facts) {
	result := telemetry.Result(err)
	if on {
		attrs := in.loginOK
		if err != nil {
			attrs = telemetry.NewAttrs(telemetry.KeyResult.String(result))
		}
		in.logins.Add(ctx, 1, attrs.Add...)
		in.loginDur.Record(ctx, time.Since(start).Seconds(), attrs.Record...)
	}
	code := ""
	if err != nil {
		code = result
	}
	if span.IsRecording() {
		kv := make([]attribute.KeyValue, 0, 4)
		kv = append(kv, telemetry.KeyResult.String(result))
		if code != "" {
			kv = append(kv, telemetry.KeyRefusalStage.String(f.stage))
		}
		if f.regFound {
			kv = append(kv, telemetry.KeyIssuer.String(f.regIssuer), telemetry.KeyClientID.String(f.regClientID))
		}
		span.SetAttributes(kv...)
	}
	telemetry.End(span, code)
}

// storageCall is one store call being measured.
type storageCall struct {
	ctx   context.Context
	op    int
	on    bool
	start time.Time
	span  trace.Span
}

func (in *instruments) storageStart(ctx context.Context, op int) storageCall {
	c := storageCall{ctx: ctx, op: op}
	if in.storageCalls.Enabled(ctx) || in.storageDur.Enabled(ctx) {
		c.on, c.start = true, time.Now()
	}
	c.ctx, c.span = telemetry.Child(ctx, in.tracer, opSpanNames[op])
	return c
}

func (in *instruments) storageEnd(c storageCall, r int) {
	if c.on {
		a := in.storage[c.op][r]
		in.storageCalls.Add(c.ctx, 1, a.Add...)
		in.storageDur.Record(c.ctx, time.Since(c.start).Seconds(), a.Record...)
	}
	if c.span == nil {
		return
	}
	c.span.SetAttributes(telemetry.KeyStorageOperation.String(opNames[c.op]), telemetry.KeyResult.String(storageResultNames[r]))
	code := ""
	if r == srError {
		code = telemetry.ResultError
	}
	telemetry.End(c.span, code)
}

// storageResult classifies a store's answer: no error, one of the
// "nothing usable" errors the store's contract names, or a failure.
func storageResult(err error, notFound ...error) int {
	if err == nil {
		return srOK
	}
	for _, nf := range notFound {
		if errors.Is(err, nf) {
			return srNotFound
		}
	}
	return srError
}

// The stores of a Tool are wrapped so that every call the pipeline makes,
// whatever the adapter, is counted, timed and traced.

type meteredRegistrations struct {
	s  registration.Store
	in *instruments
}

func (m meteredRegistrations) FindRegistration(ctx context.Context, issuer, clientID string) (registration.Registerable, error) {
	c := m.in.storageStart(ctx, opFindRegistration)
	r, err := m.s.FindRegistration(c.ctx, issuer, clientID)
	m.in.storageEnd(c, storageResult(err, registration.ErrNotFound, registration.ErrAmbiguous))
	return r, err
}

type meteredDeployments struct {
	s  deployment.Store
	in *instruments
}

func (m meteredDeployments) FindDeployment(ctx context.Context, reg registration.Registerable, id string) (deployment.Deployable, error) {
	c := m.in.storageStart(ctx, opFindDeployment)
	d, err := m.s.FindDeployment(c.ctx, reg, id)
	m.in.storageEnd(c, storageResult(err, deployment.ErrNotFound))
	return d, err
}

type meteredStates struct {
	s  nonce.StateStore
	in *instruments
}

func (m meteredStates) PutState(ctx context.Context, l nonce.Login) error {
	c := m.in.storageStart(ctx, opPutState)
	err := m.s.PutState(c.ctx, l)
	m.in.storageEnd(c, storageResult(err))
	return err
}

func (m meteredStates) TakeState(ctx context.Context, state string) (nonce.Login, error) {
	c := m.in.storageStart(ctx, opTakeState)
	l, err := m.s.TakeState(c.ctx, state)
	m.in.storageEnd(c, storageResult(err, nonce.ErrNotFound, nonce.ErrExpired, nonce.ErrConsumed))
	return l, err
}

type meteredNonces struct {
	s  nonce.Store
	in *instruments
}

func (m meteredNonces) PutNonce(ctx context.Context, n nonce.Nonce) error {
	c := m.in.storageStart(ctx, opPutNonce)
	err := m.s.PutNonce(c.ctx, n)
	m.in.storageEnd(c, storageResult(err))
	return err
}

func (m meteredNonces) ConsumeNonce(ctx context.Context, value, issuer, clientID string) error {
	c := m.in.storageStart(ctx, opConsumeNonce)
	err := m.s.ConsumeNonce(c.ctx, value, issuer, clientID)
	m.in.storageEnd(c, storageResult(err, nonce.ErrNotFound, nonce.ErrExpired, nonce.ErrConsumed))
	return err
}

// code is the error code of err for a span's status, "" for nil.
func (in *instruments) code(err error) string {
	if err == nil {
		return ""
	}
	return telemetry.Result(err)
}
