package launch

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
)

// nopStores answer every call at once, so a benchmark of the wrappers
// measures the wrappers.
type nopStores struct{}

func (nopStores) FindRegistration(context.Context, string, string) (registration.Registerable, error) {
	return registration.Registration{}, nil
}

func (nopStores) FindDeployment(context.Context, registration.Registerable, string) (deployment.Deployable, error) {
	return deployment.Deployment{}, nil
}

func (nopStores) PutState(context.Context, nonce.Login) error { return nil }

func (nopStores) TakeState(context.Context, string) (nonce.Login, error) { return nonce.Login{}, nil }

// BenchmarkInstrumentation is what the instrumentation of one accepted
// launch does besides the launch itself, call for call (launch.go's
// validateLaunch and validate, with the store wrappers around stores that
// do nothing): the launch span, the metric switches, the eight stage marks,
// the verification child span, three store calls, and the end of the
// launch. The end-to-end benchmarks cannot resolve a cost this small on a
// shared machine; this one states it directly, with the global (no-op)
// providers, and with an SDK: metrics alone (a ManualReader), traces alone
// (every span sampled, a batch processor, a no-op exporter), and both.
func BenchmarkInstrumentation(b *testing.B) {
	sub := "user-1"
	l := &Launch{Claims: &lti.Claims{MessageType: lti.MessageResourceLink, Subject: &sub}}
	run := func(b *testing.B, o *options) {
		in := newInstruments(o)
		regs := meteredRegistrations{s: nopStores{}, in: in}
		deps := meteredDeployments{s: nopStores{}, in: in}
		states := meteredStates{s: nopStores{}, in: in}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			var f facts
			on := in.launchOn(ctx)
			var start time.Time
			if on {
				start = time.Now()
				f.timer = stageTimer{on: in.stageDur.Enabled(ctx), cur: tsForm, last: start}
			}
			lctx, span := in.tracer.Start(ctx, in.launchSpan)
			in.next(lctx, &f, tsState)
			_, _ = states.TakeState(lctx, "state")
			in.next(lctx, &f, tsRegistration)
			_, _ = regs.FindRegistration(lctx, "iss", "client")
			in.next(lctx, &f, tsKey)
			vctx, vspan := telemetry.Child(lctx, in.tracer, "ltikit.verify")
			in.next(vctx, &f, tsVerify)
			telemetry.End(vspan, in.code(nil))
			in.next(lctx, &f, tsClaims)
			in.next(lctx, &f, tsNonce)
			in.next(lctx, &f, tsDeployment)
			_, _ = deps.FindDeployment(lctx, nil, "dep")
			in.endLaunch(lctx, span, on, start, l, nil, &f)
		}
	}
	b.Run("noop", func(b *testing.B) { run(b, &options{}) })
	b.Run("sdk-metrics-only", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		run(b, &options{meters: mp})
	})
	b.Run("sdk-traces-only", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
			sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		run(b, &options{tracers: tp})
	})
	b.Run("sdk", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
			sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		defer func() {
			_ = mp.Shutdown(context.Background())
			_ = tp.Shutdown(context.Background())
		}()
		run(b, &options{meters: mp, tracers: tp})
	})
}
