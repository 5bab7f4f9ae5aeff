package launch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// otelEnv is an env whose tool and key cache record with an SDK
// MeterProvider (a ManualReader) and TracerProvider (a SpanRecorder).
type otelEnv struct {
	*env
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	// secrets are values that must never appear in an attribute.
	secrets []string
}

func newOtelEnv(t *testing.T, o envOpts) *otelEnv {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	o.toolOpts = append(o.toolOpts, launch.WithMeterProvider(mp), launch.WithTracerProvider(tp))
	o.keyOpts = append(o.keyOpts, keys.WithMeterProvider(mp), keys.WithTracerProvider(tp))
	return &otelEnv{env: newEnv(t, o), reader: reader, spans: rec}
}

// authorizeKeep is authorize, remembering the state, nonce, id_token,
// signature and login hint as values no attribute may carry.
func (e *otelEnv) authorizeKeep(opts ...ltitest.LaunchOption) (*http.Client, *ltitest.AuthResponse) {
	e.t.Helper()
	b, ar := e.authorize(opts...)
	e.secrets = append(e.secrets, ar.State, ar.IDToken, ar.Login.Get("login_hint"))
	if _, sig, ok := strings.Cut(ar.IDToken[strings.Index(ar.IDToken, ".")+1:], "."); ok && sig != "" {
		e.secrets = append(e.secrets, sig)
	}
	if c, err := ar.Claims(); err == nil {
		if n, _ := c["nonce"].(string); n != "" {
			e.secrets = append(e.secrets, n)
		}
	}
	if n := ar.AuthRequest.Get("nonce"); n != "" {
		e.secrets = append(e.secrets, n)
	}
	return b, ar
}

func (e *otelEnv) metrics() metricdata.ResourceMetrics {
	e.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		e.t.Fatal(err)
	}
	return rm
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

// sums returns the data points of the Int64 sum name by attribute set.
func sums(t *testing.T, rm metricdata.ResourceMetrics, name string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			s, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("%s is a %T, want an int64 sum", name, m.Data)
			}
			if !s.IsMonotonic {
				t.Errorf("%s is not monotonic", name)
			}
			for _, dp := range s.DataPoints {
				out[attrKey(dp.Attributes)] += dp.Value
			}
		}
	}
	return out
}

// histCounts returns the observation counts of the histogram name by
// attribute set, and checks its unit is seconds.
func histCounts(t *testing.T, rm metricdata.ResourceMetrics, name string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			if m.Unit != "s" {
				t.Errorf("%s has unit %q, want s", name, m.Unit)
			}
			h, ok := m.Data.(metricdata.Histogram[float64])
			if !ok {
				t.Fatalf("%s is a %T, want a float64 histogram", name, m.Data)
			}
			for _, dp := range h.DataPoints {
				out[attrKey(dp.Attributes)] += dp.Count
				if dp.Count > 0 && dp.Sum < 0 {
					t.Errorf("%s: negative sum %v", name, dp.Sum)
				}
			}
		}
	}
	return out
}

func wantCounts[V int64 | uint64](t *testing.T, name string, got map[string]V, want map[string]V) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s{%s} = %d, want %d", name, k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok && v != 0 {
			t.Errorf("%s{%s} = %d, not expected", name, k, v)
		}
	}
}

// noSecrets checks that no attribute of any span or data point contains
// one of e.secrets.
func (e *otelEnv) noSecrets(rm metricdata.ResourceMetrics) {
	e.t.Helper()
	check := func(where string, kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			v := kv.Value.String()
			for _, s := range e.secrets {
				if len(s) >= 8 && strings.Contains(v, s) {
					e.t.Errorf("%s: attribute %s carries a secret value", where, kv.Key)
				}
			}
		}
	}
	for _, s := range e.spans.Ended() {
		check("span "+s.Name(), s.Attributes())
		for _, ev := range s.Events() {
			check("span event "+s.Name(), ev.Attributes)
		}
		if st := s.Status(); st.Description != "" {
			check("span status "+s.Name(), []attribute.KeyValue{attribute.String("status", st.Description)})
		}
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					check(m.Name, dp.Attributes.ToSlice())
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					check(m.Name, dp.Attributes.ToSlice())
				}
			}
		}
	}
}

func spanAttr(s sdktrace.ReadOnlySpan, key attribute.Key) (string, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value.String(), true
		}
	}
	return "", false
}

// children returns the names of the spans whose parent is p, in order.
func children(all []sdktrace.ReadOnlySpan, p sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range all {
		if s.Parent().SpanID() == p.SpanContext().SpanID() && s.SpanContext().TraceID() == p.SpanContext().TraceID() {
			out = append(out, s.Name())
		}
	}
	return out
}

// postState posts the id_token with a state of the test's own, bound to
// this browser by a state cookie with secret.
func (e *otelEnv) postState(idToken, state, secret string) outcome {
	e.t.Helper()
	form := url.Values{"id_token": {idToken}, "state": {state}}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/lti/launch", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: cookieName(state), Value: launch.StateCookieValue(secret)})
	resp, err := e.browser().Do(req)
	return read(e.t, resp, err)
}

// TestTelemetryLaunches drives accepted and refused launches and login
// initiations through the ltitest platform and reads back the metrics and
// spans: launches and logins by code, durations, every stage, the key set
// fetched once then served from the cache, every storage call by
// operation and result, the span tree, and no secret in any attribute.
func TestTelemetryLaunches(t *testing.T) {
	e := newOtelEnv(t, envOpts{wrap: hideCarrier}) // a separate nonce store: put_nonce and consume_nonce too
	const accepted = 3
	for i := range accepted {
		b, ar := e.authorizeKeep()
		if o := e.post(b, ar); o.code != ok {
			t.Fatalf("launch %d refused: %+v", i, o)
		}
	}
	b, ar := e.authorizeKeep(ltitest.DeepLinking())
	if o := e.post(b, ar); o.code != ok || o.result.MessageType != lti.MessageDeepLinking {
		t.Fatalf("deep linking launch: %+v", o)
	}

	// Refused: a bad signature, a replayed post (the state is taken), an
	// unknown state, a replayed nonce, an unknown deployment.
	b, ar = e.authorizeKeep(ltitest.WithTokenOptions(ltitest.CorruptSignature()))
	if o := e.post(b, ar); o.code != cSig {
		t.Fatalf("bad signature: %+v", o)
	}
	b, ar = e.authorizeKeep()
	if o := e.post(b, ar); o.code != ok {
		t.Fatalf("launch: %+v", o)
	}
	if o := e.post(b, ar); o.code != cState {
		t.Fatalf("replayed post: %+v", o)
	}
	secret := strings.Repeat("s", 43)
	if o := e.postState(ar.IDToken, "no-such-state-0123456789", secret); o.code != cState {
		t.Fatalf("unknown state: %+v", o)
	}
	// A new login record carrying the consumed nonce: the state is taken,
	// the nonce store refuses the nonce.
	claims, _ := ar.Claims()
	n, _ := claims["nonce"].(string)
	reg := e.platform.Registration()
	l := nonce.Login{State: launch.StateKey("replay-state-0123456789", secret), Nonce: n, Issuer: reg.Issuer,
		ClientID: reg.ClientID, TargetLinkURI: e.srv.URL + "/app", ExpiresAt: time.Now().Add(time.Hour)}
	l.Binding = l.Bind()
	if err := e.store.PutState(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	if o := e.postState(ar.IDToken, "replay-state-0123456789", secret); o.code != cNonce {
		t.Fatalf("replayed nonce: %+v", o)
	}
	b, ar = e.authorizeKeep(ltitest.WithDeploymentID("deployment-nobody-made"))
	if o := e.post(b, ar); o.code != cDep {
		t.Fatalf("unknown deployment: %+v", o)
	}

	// Refused logins: an unknown issuer, a missing parameter.
	login := func(params url.Values) outcome {
		resp, err := e.browser().Get(e.srv.URL + "/lti/login?" + params.Encode())
		return read(t, resp, err)
	}
	p := e.loginParams()
	p.Set("iss", "https://unknown.example")
	if o := login(p); o.code != cReg {
		t.Fatalf("unknown issuer: %+v", o)
	}
	p = e.loginParams()
	p.Del("login_hint")
	if o := login(p); o.code != cRequest {
		t.Fatalf("no login_hint: %+v", o)
	}

	rm := e.metrics()
	const rl, dl = "ltikit.message_type=" + lti.MessageResourceLink, "ltikit.message_type=" + lti.MessageDeepLinking
	const unknownMT = "ltikit.message_type=unknown"
	launches := map[string]int64{
		rl + ",ltikit.result=ok":                       accepted + 1,
		dl + ",ltikit.result=ok":                       1,
		unknownMT + ",ltikit.result=invalid_signature": 1,
		unknownMT + ",ltikit.result=invalid_state":     2,
		rl + ",ltikit.result=invalid_nonce":            1,
		rl + ",ltikit.result=unknown_deployment":       1,
	}
	wantCounts(t, "ltikit.launches", sums(t, rm, "ltikit.launches"), launches)
	hist := map[string]uint64{}
	for k, v := range launches {
		hist[k] = uint64(v)
	}
	wantCounts(t, "ltikit.launch.duration", histCounts(t, rm, "ltikit.launch.duration"), hist)

	// Logins: the seven launches through the platform, two refused.
	const logins = accepted + 4
	wantCounts(t, "ltikit.logins", sums(t, rm, "ltikit.logins"), map[string]int64{
		"ltikit.result=ok": logins, "ltikit.result=unknown_registration": 1, "ltikit.result=invalid_request": 1,
	})
	wantCounts(t, "ltikit.login.duration", histCounts(t, rm, "ltikit.login.duration"), map[string]uint64{
		"ltikit.result=ok": logins, "ltikit.result=unknown_registration": 1, "ltikit.result=invalid_request": 1,
	})

	// Stages: 10 launches posted. Each counts the stages it reached: the
	// replayed post (its cookie was cleared, nothing is taken) and the
	// unknown state stop in "state", the bad signature in "verify", the
	// replayed nonce in "nonce"; the others reach "deployment".
	const posted = 10
	wantCounts(t, "ltikit.launch.stage.duration", histCounts(t, rm, "ltikit.launch.stage.duration"), map[string]uint64{
		"ltikit.stage=form": posted, "ltikit.stage=state": posted, "ltikit.stage=registration": posted - 2,
		"ltikit.stage=key": posted - 2, "ltikit.stage=verify": posted - 2, "ltikit.stage=claims": posted - 3,
		"ltikit.stage=nonce": posted - 3, "ltikit.stage=deployment": posted - 4,
	})

	// The key set: fetched once, every later lookup a hit.
	wantCounts(t, "ltikit.keyset.fetches", sums(t, rm, "ltikit.keyset.fetches"), map[string]int64{
		"http.response.status_code=200,ltikit.result=ok": 1,
	})
	wantCounts(t, "ltikit.keyset.fetch.duration", histCounts(t, rm, "ltikit.keyset.fetch.duration"), map[string]uint64{
		"http.response.status_code=200,ltikit.result=ok": 1,
	})
	wantCounts(t, "ltikit.keyset.cache.lookups", sums(t, rm, "ltikit.keyset.cache.lookups"), map[string]int64{
		"ltikit.cache.result=miss": 1, "ltikit.cache.result=hit": posted - 3,
	})
	if got := e.platform.KeySetRequests(); got != 1 {
		t.Errorf("the platform served its key set %d times, want 1", got)
	}

	// Storage calls, by operation and result.
	calls := map[string]int64{
		"ltikit.result=ok,ltikit.storage.operation=put_state":                logins,
		"ltikit.result=ok,ltikit.storage.operation=put_nonce":                logins,
		"ltikit.result=ok,ltikit.storage.operation=find_registration":        logins + posted - 2,
		"ltikit.result=not_found,ltikit.storage.operation=find_registration": 1,
		"ltikit.result=ok,ltikit.storage.operation=take_state":               posted - 2,
		"ltikit.result=not_found,ltikit.storage.operation=take_state":        1,
		"ltikit.result=ok,ltikit.storage.operation=consume_nonce":            accepted + 2 + 1,
		"ltikit.result=not_found,ltikit.storage.operation=consume_nonce":     1,
		"ltikit.result=ok,ltikit.storage.operation=find_deployment":          accepted + 2,
		"ltikit.result=not_found,ltikit.storage.operation=find_deployment":   1,
	}
	wantCounts(t, "ltikit.storage.calls", sums(t, rm, "ltikit.storage.calls"), calls)
	durations := map[string]uint64{}
	for k, v := range calls {
		durations[k] = uint64(v)
	}
	wantCounts(t, "ltikit.storage.duration", histCounts(t, rm, "ltikit.storage.duration"), durations)

	// Spans: one per login and launch, storage, verification and the key
	// set fetch as children.
	all := e.spans.Ended()
	var launchSpans, loginSpans []sdktrace.ReadOnlySpan
	for _, s := range all {
		switch s.Name() {
		case "ltikit.launch":
			launchSpans = append(launchSpans, s)
		case "ltikit.login":
			loginSpans = append(loginSpans, s)
		}
	}
	if len(launchSpans) != posted || len(loginSpans) != logins+2 {
		t.Fatalf("%d launch spans and %d login spans, want %d and %d", len(launchSpans), len(loginSpans), posted, logins+2)
	}
	first := launchSpans[0]
	if got, want := children(all, first), []string{"ltikit.storage.take_state", "ltikit.storage.find_registration",
		"ltikit.verify", "ltikit.storage.consume_nonce", "ltikit.storage.find_deployment"}; !slices.Equal(got, want) {
		t.Errorf("children of the first launch span %v, want %v", got, want)
	}
	for _, s := range all {
		if s.Name() == "ltikit.verify" && s.Parent().SpanID() == first.SpanContext().SpanID() {
			if got := children(all, s); !slices.Equal(got, []string{"ltikit.keyset.fetch"}) {
				t.Errorf("the first verification's children %v, want the key set fetch", got)
			}
		}
		if s.Name() == "ltikit.keyset.fetch" && s.SpanKind() != trace.SpanKindClient {
			t.Errorf("the key set fetch span is %v, want client", s.SpanKind())
		}
	}
	if got, want := children(all, loginSpans[0]), []string{"ltikit.storage.find_registration", "ltikit.storage.put_state",
		"ltikit.storage.put_nonce"}; !slices.Equal(got, want) {
		t.Errorf("children of the first login span %v, want %v", got, want)
	}
	if r, _ := spanAttr(first, "ltikit.result"); r != "ok" || first.Status().Code == codes.Error {
		t.Errorf("first launch span: result %q, status %v", r, first.Status())
	}
	if iss, _ := spanAttr(first, "ltikit.issuer"); iss != e.platform.Issuer() {
		t.Errorf("first launch span issuer %q", iss)
	}
	if _, has := spanAttr(first, "user.id"); has {
		t.Error("the sub is on the launch span without WithTraceSubject")
	}
	refused := map[string]int{}
	for _, s := range launchSpans {
		st := s.Status()
		if st.Code != codes.Error {
			continue
		}
		et, _ := spanAttr(s, "error.type")
		stage, _ := spanAttr(s, "ltikit.refusal.stage")
		if et != st.Description || stage == "" {
			t.Errorf("refused launch span: status %q, error.type %q, stage %q", st.Description, et, stage)
		}
		refused[et]++
	}
	if want := map[string]int{cSig: 1, cState: 2, cNonce: 1, cDep: 1}; fmt.Sprint(refused) != fmt.Sprint(want) {
		t.Errorf("refused launch spans by code %v, want %v", refused, want)
	}
	e.noSecrets(rm)
}

// TestTelemetrySubject: the sub goes on the launch span only with
// WithTraceSubject, and never on a metric.
func TestTelemetrySubject(t *testing.T) {
	e := newOtelEnv(t, envOpts{toolOpts: []launch.Option{launch.WithTraceSubject(true)}})
	if o := e.launch(ltitest.WithUser("user-sub-42", "Ada", "ada@example.com")); o.code != ok {
		t.Fatalf("launch: %+v", o)
	}
	var found bool
	for _, s := range e.spans.Ended() {
		if s.Name() == "ltikit.launch" {
			sub, _ := spanAttr(s, "user.id")
			found = sub == "user-sub-42"
		}
		for _, kv := range s.Attributes() {
			if v := kv.Value.String(); strings.Contains(v, "Ada") || strings.Contains(v, "ada@example.com") {
				t.Errorf("span %s attribute %s carries personal data", s.Name(), kv.Key)
			}
		}
	}
	if !found {
		t.Error("no user.id on the launch span with WithTraceSubject(true)")
	}
	e.secrets = []string{"user-sub-42"}
	e.spans.Reset()
	e.noSecrets(e.metrics())
}

// failingDeployments fails every FindDeployment.
type failingDeployments struct{ storage.Adapter }

func (failingDeployments) FindDeployment(context.Context, registration.Registerable, string) (deployment.Deployable, error) {
	return nil, errors.New("connection reset")
}

// TestTelemetryStorageFailure: a failing store is counted as an error of
// its operation, and the launch as storage_unavailable.
func TestTelemetryStorageFailure(t *testing.T) {
	e := newOtelEnv(t, envOpts{wrap: func(a storage.Adapter) storage.Adapter { return failingDeployments{a} }})
	if o := e.launch(); o.code != cStorage {
		t.Fatalf("launch: %+v", o)
	}
	rm := e.metrics()
	if got := sums(t, rm, "ltikit.storage.calls")["ltikit.result=error,ltikit.storage.operation=find_deployment"]; got != 1 {
		t.Errorf("find_deployment errors %d, want 1", got)
	}
	if got := sums(t, rm, "ltikit.launches")["ltikit.message_type="+lti.MessageResourceLink+",ltikit.result=storage_unavailable"]; got != 1 {
		t.Errorf("storage_unavailable launches %d, want 1", got)
	}
	for _, s := range e.spans.Ended() {
		if s.Name() == "ltikit.storage.find_deployment" && (s.Status().Code != codes.Error || s.Status().Description != "error") {
			t.Errorf("failed storage span status %+v", s.Status())
		}
	}
}

// TestTelemetryKeySetFailure: a key set the platform will not serve is
// counted by status, the launch as keyset_unavailable.
func TestTelemetryKeySetFailure(t *testing.T) {
	e := newOtelEnv(t, envOpts{})
	e.platform.SetKeySetFailure(http.StatusInternalServerError)
	if o := e.launch(); o.code != cKeyset {
		t.Fatalf("launch: %+v", o)
	}
	rm := e.metrics()
	wantCounts(t, "ltikit.keyset.fetches", sums(t, rm, "ltikit.keyset.fetches"), map[string]int64{
		"http.response.status_code=500,ltikit.result=http_status": 1,
	})
	var fetch sdktrace.ReadOnlySpan
	for _, s := range e.spans.Ended() {
		if s.Name() == "ltikit.keyset.fetch" {
			fetch = s
		}
	}
	if fetch == nil || fetch.Status().Code != codes.Error || fetch.Status().Description != cKeyset {
		t.Fatalf("key set fetch span %v", fetch)
	}
}

// TestTelemetryNoProvider: without providers (the global no-op ones) a
// launch works and records nothing anywhere.
func TestTelemetryNoProvider(t *testing.T) {
	e := newEnv(t, envOpts{})
	if o := e.launch(); o.code != ok {
		t.Fatalf("launch: %+v", o)
	}
}
