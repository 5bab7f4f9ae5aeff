package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// Harness is one adapter under test and the hooks the suite seeds it with.
type Harness struct {
	// Adapter is the adapter under test.
	Adapter storage.Adapter
	// AddRegistration adds r so that Adapter.FindRegistration finds it.
	AddRegistration func(ctx context.Context, r registration.Registration) error
	// AddDeployment adds d under the registration r (added before) so that
	// Adapter.FindDeployment finds it.
	AddDeployment func(ctx context.Context, r registration.Registration, d deployment.Deployment) error
	// Now is the clock the adapter judges expiry with. Optional: nil means
	// time.Now.
	Now func() time.Time
}

// Race parameters: goroutines per race and rounds per race test.
const (
	raceGoroutines = 64
	raceRounds     = 20
)

// ttl is how far from Now the suite puts live and expired records.
const ttl = time.Hour

// Run runs the conformance suite against the adapter newHarness returns.
// newHarness is called once per subtest, with that subtest's t.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	if newHarness == nil {
		t.Fatal("storagetest: nil harness factory")
	}
	setup := func(t *testing.T) *fixture {
		t.Helper()
		return newFixture(t, newHarness)
	}
	t.Run("Registration", func(t *testing.T) { testRegistration(t, setup) })
	t.Run("Deployment", func(t *testing.T) { testDeployment(t, setup) })
	t.Run("State", func(t *testing.T) { testState(t, setup) })
	t.Run("Nonce", func(t *testing.T) { testNonce(t, setup) })
}

type setupFunc func(t *testing.T) *fixture

func testRegistration(t *testing.T, setup setupFunc) {
	t.Run("FindExact", func(t *testing.T) {
		f := setup(t)
		a := f.addRegistration(f.newRegistration())
		// A second client of the same issuer must not disturb exact lookups.
		b := f.newRegistration()
		b.Issuer = a.Issuer
		f.addRegistration(b)
		for _, want := range []registration.Registration{a, b} {
			got := f.findRegistration(want.Issuer, want.ClientID)
			if k := got.LTIRegistration().Key(); k != want.Key() {
				t.Errorf("FindRegistration(%q, %q) returned %s", want.Issuer, want.ClientID, k)
			}
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		tests := []struct {
			name             string
			issuer, clientID func(r registration.Registration) string
		}{
			{"UnknownIssuer", func(r registration.Registration) string { return r.Issuer + "/other" }, clientIDOf},
			{"UnknownIssuerEmptyClientID", func(r registration.Registration) string { return r.Issuer + "/other" }, empty},
			{"UnknownClientID", issuerOf, func(r registration.Registration) string { return r.ClientID + "-other" }},
			{"IssuerCaseDiffers", func(r registration.Registration) string { return strings.ToUpper(r.Issuer) }, clientIDOf},
			{"ClientIDCaseDiffers", issuerOf, func(r registration.Registration) string { return strings.ToUpper(r.ClientID) }},
			{"IssuerPrefix", func(r registration.Registration) string { return r.Issuer[:len(r.Issuer)-1] }, clientIDOf},
			{"IssuerTrailingSlash", func(r registration.Registration) string { return r.Issuer + "/" }, clientIDOf},
			{"EmptyIssuer", empty, clientIDOf},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				r := f.addRegistration(f.newRegistration())
				iss, cid := tc.issuer(r), tc.clientID(r)
				got, err := f.h.Adapter.FindRegistration(f.ctx, iss, cid)
				if !errors.Is(err, registration.ErrNotFound) {
					t.Errorf("FindRegistration(%q, %q) = %v, %v; want registration.ErrNotFound", iss, cid, describeReg(got), err)
				}
			})
		}
	})

	t.Run("EmptyClientIDSingle", func(t *testing.T) {
		f := setup(t)
		want := f.addRegistration(f.newRegistration())
		got := f.findRegistration(want.Issuer, "")
		if k := got.LTIRegistration().Key(); k != want.Key() {
			t.Errorf("FindRegistration(%q, \"\") returned %s, want %s", want.Issuer, k, want.Key())
		}
	})

	t.Run("EmptyClientIDAmbiguous", func(t *testing.T) {
		f := setup(t)
		a := f.addRegistration(f.newRegistration())
		b := f.newRegistration()
		b.Issuer = a.Issuer
		f.addRegistration(b)
		got, err := f.h.Adapter.FindRegistration(f.ctx, a.Issuer, "")
		if !errors.Is(err, registration.ErrAmbiguous) {
			t.Errorf("FindRegistration(%q, \"\") with two registrations = %v, %v; want registration.ErrAmbiguous", a.Issuer, describeReg(got), err)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		tests := []struct {
			name   string
			modify func(*registration.Registration)
		}{
			{"AllFields", func(*registration.Registration) {}},
			{"LaunchOnly", func(r *registration.Registration) { r.TokenEndpoint, r.TokenAudience = "", "" }},
			{"NoTokenAudience", func(r *registration.Registration) { r.TokenAudience = "" }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				want := f.newRegistration()
				tc.modify(&want)
				f.addRegistration(want)
				got := f.findRegistration(want.Issuer, want.ClientID).LTIRegistration()
				for _, d := range diffRegistration(got, want) {
					t.Error(d)
				}
			})
		}
	})
}

func testDeployment(t *testing.T, setup setupFunc) {
	t.Run("Find", func(t *testing.T) {
		f := setup(t)
		r := f.addRegistration(f.newRegistration())
		ids := []string{"d-" + randomHex(), "1", strings.Repeat("x", deployment.MaxIDLength), "id with spaces/and:symbols+é"}
		for _, id := range ids {
			f.addDeployment(r, id)
		}
		reg := f.findRegistration(r.Issuer, r.ClientID)
		for _, id := range ids {
			d, err := f.h.Adapter.FindDeployment(f.ctx, reg, id)
			if err != nil {
				t.Errorf("FindDeployment(%q) error: %v", id, err)
				continue
			}
			if got := d.LTIDeployment().DeploymentID; got != id {
				t.Errorf("FindDeployment(%q) returned deployment %q", id, got)
			}
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		tests := []struct {
			name string
			id   func(stored string) string
		}{
			{"Unknown", func(s string) string { return s + "-other" }},
			{"Empty", func(string) string { return "" }},
			{"Prefix", func(s string) string { return s[:len(s)-1] }},
			{"TrailingSpace", func(s string) string { return s + " " }},
			{"LeadingSpace", func(s string) string { return " " + s }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				r := f.addRegistration(f.newRegistration())
				stored := "dep-" + randomHex()
				f.addDeployment(r, stored)
				reg := f.findRegistration(r.Issuer, r.ClientID)
				id := tc.id(stored)
				d, err := f.h.Adapter.FindDeployment(f.ctx, reg, id)
				if !errors.Is(err, deployment.ErrNotFound) {
					t.Errorf("FindDeployment(%q) with only %q stored = %v, %v; want deployment.ErrNotFound", id, stored, describeDep(d), err)
				}
			})
		}
	})

	t.Run("CaseSensitive", func(t *testing.T) {
		f := setup(t)
		r := f.addRegistration(f.newRegistration())
		suffix := randomHex()
		lower, mixed, upper := "abc-"+suffix, "Abc-"+suffix, "ABC-"+suffix
		f.addDeployment(r, mixed)
		f.addDeployment(r, lower)
		reg := f.findRegistration(r.Issuer, r.ClientID)
		for _, id := range []string{mixed, lower} {
			d, err := f.h.Adapter.FindDeployment(f.ctx, reg, id)
			if err != nil {
				t.Errorf("FindDeployment(%q) error: %v", id, err)
				continue
			}
			if got := d.LTIDeployment().DeploymentID; got != id {
				t.Errorf("FindDeployment(%q) returned deployment %q", id, got)
			}
		}
		if d, err := f.h.Adapter.FindDeployment(f.ctx, reg, upper); !errors.Is(err, deployment.ErrNotFound) {
			t.Errorf("FindDeployment(%q) = %v, %v; want deployment.ErrNotFound", upper, describeDep(d), err)
		}
	})

	t.Run("OtherRegistration", func(t *testing.T) {
		tests := []struct {
			name  string
			other func(f *fixture, r registration.Registration) registration.Registration
		}{
			{"SameIssuerOtherClient", func(f *fixture, r registration.Registration) registration.Registration {
				o := f.newRegistration()
				o.Issuer = r.Issuer
				return o
			}},
			{"OtherIssuerSameClient", func(f *fixture, r registration.Registration) registration.Registration {
				o := f.newRegistration()
				o.ClientID = r.ClientID
				return o
			}},
			{"Unrelated", func(f *fixture, _ registration.Registration) registration.Registration {
				return f.newRegistration()
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				r := f.addRegistration(f.newRegistration())
				o := f.addRegistration(tc.other(f, r))
				id := "dep-" + randomHex()
				f.addDeployment(r, id)
				other := f.findRegistration(o.Issuer, o.ClientID)
				if d, err := f.h.Adapter.FindDeployment(f.ctx, other, id); !errors.Is(err, deployment.ErrNotFound) {
					t.Errorf("FindDeployment under %s of a deployment of %s = %v, %v; want deployment.ErrNotFound", o.Key(), r.Key(), describeDep(d), err)
				}
				if _, err := f.h.Adapter.FindDeployment(f.ctx, f.findRegistration(r.Issuer, r.ClientID), id); err != nil {
					t.Errorf("FindDeployment under its own registration: %v", err)
				}
			})
		}
	})
}

func testState(t *testing.T, setup setupFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		tests := []struct {
			name   string
			modify func(*nonce.Login)
		}{
			{"AllFields", func(*nonce.Login) {}},
			{"NoDeploymentHint", func(l *nonce.Login) { l.DeploymentID = "" }},
			{"LongValues", func(l *nonce.Login) {
				l.DeploymentID = strings.Repeat("D", deployment.MaxIDLength)
				l.TargetLinkURI = "https://tool.example.com/launch/" + strings.Repeat("p", 1500) + "?q=%C3%A9&x=é#frag"
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				want := f.newLogin(f.newRegistration(), ttl)
				tc.modify(&want)
				want.Binding = want.Bind()
				f.putState(want)
				got, err := f.h.Adapter.TakeState(f.ctx, want.State)
				if err != nil {
					t.Fatalf("TakeState: %v", err)
				}
				for _, d := range diffLogin(got, want) {
					t.Error(d)
				}
			})
		}
	})

	t.Run("TakeTwice", func(t *testing.T) {
		f := setup(t)
		l := f.newLogin(f.newRegistration(), ttl)
		f.putState(l)
		if _, err := f.h.Adapter.TakeState(f.ctx, l.State); err != nil {
			t.Fatalf("first TakeState: %v", err)
		}
		got, err := f.h.Adapter.TakeState(f.ctx, l.State)
		if !isAny(err, nonce.ErrConsumed, nonce.ErrNotFound) {
			t.Errorf("second TakeState error = %v; want nonce.ErrConsumed or nonce.ErrNotFound", err)
		}
		checkNoLogin(t, "second TakeState", got)
	})

	t.Run("TakeUnknown", func(t *testing.T) {
		f := setup(t)
		// Another state is stored, so the store is not empty.
		f.putState(f.newLogin(f.newRegistration(), ttl))
		got, err := f.h.Adapter.TakeState(f.ctx, f.newValue())
		if !errors.Is(err, nonce.ErrNotFound) {
			t.Errorf("TakeState(unknown) error = %v; want nonce.ErrNotFound", err)
		}
		checkNoLogin(t, "TakeState(unknown)", got)
	})

	t.Run("TakeExpired", func(t *testing.T) {
		f := setup(t)
		l := f.newLogin(f.newRegistration(), -ttl)
		f.putState(l)
		got, err := f.h.Adapter.TakeState(f.ctx, l.State)
		if !errors.Is(err, nonce.ErrExpired) {
			t.Errorf("TakeState(expired) error = %v; want nonce.ErrExpired", err)
		}
		checkNoLogin(t, "TakeState(expired)", got)
		// Still refused when presented again.
		got, err = f.h.Adapter.TakeState(f.ctx, l.State)
		if !isAny(err, nonce.ErrExpired, nonce.ErrConsumed, nonce.ErrNotFound) {
			t.Errorf("second TakeState(expired) error = %v; want a refusal", err)
		}
		checkNoLogin(t, "second TakeState(expired)", got)
	})

	t.Run("PutDuplicate", func(t *testing.T) {
		f := setup(t)
		want := f.newLogin(f.newRegistration(), ttl)
		f.putState(want)
		dup := f.newLogin(f.newRegistration(), ttl)
		dup.State = want.State
		dup.Binding = dup.Bind()
		if err := f.h.Adapter.PutState(f.ctx, dup); err == nil {
			t.Error("PutState of a state already stored succeeded; want an error")
		}
		got, err := f.h.Adapter.TakeState(f.ctx, want.State)
		if err != nil {
			t.Fatalf("TakeState after a refused duplicate: %v", err)
		}
		for _, d := range diffLogin(got, want) {
			t.Errorf("the duplicate overwrote the stored record: %s", d)
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		f := setup(t)
		want := f.newLogin(f.newRegistration(), ttl)
		f.putState(want)
		got, err := f.h.Adapter.TakeState(cancelled(), want.State)
		checkStoreFailure(t, "TakeState with a cancelled context", err)
		checkNoLogin(t, "TakeState with a cancelled context", got)
		got, err = f.h.Adapter.TakeState(f.ctx, want.State)
		if err != nil {
			t.Fatalf("TakeState with a live context after a cancelled one: %v (the cancelled call consumed the state)", err)
		}
		for _, d := range diffLogin(got, want) {
			t.Error(d)
		}
	})

	t.Run("PutCancelledContext", func(t *testing.T) {
		f := setup(t)
		l := f.newLogin(f.newRegistration(), ttl)
		err := f.h.Adapter.PutState(cancelled(), l)
		checkStoreFailure(t, "PutState with a cancelled context", err)
		if _, err := f.h.Adapter.TakeState(f.ctx, l.State); !errors.Is(err, nonce.ErrNotFound) {
			t.Errorf("TakeState after PutState with a cancelled context error = %v; want nonce.ErrNotFound (nothing stored)", err)
		}
	})

	t.Run("Race", func(t *testing.T) {
		f := setup(t)
		reg := f.newRegistration()
		for round := range raceRounds {
			want := f.newLogin(reg, ttl)
			f.putState(want)
			var (
				wg     sync.WaitGroup
				start  = make(chan struct{})
				logins [raceGoroutines]nonce.Login
				errs   [raceGoroutines]error
			)
			for i := range raceGoroutines {
				wg.Go(func() {
					<-start
					logins[i], errs[i] = f.h.Adapter.TakeState(f.ctx, want.State)
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
					for _, d := range diffLogin(logins[i], want) {
						t.Errorf("round %d: winner: %s", round, d)
					}
				case isAny(err, nonce.ErrConsumed, nonce.ErrNotFound):
					checkNoLogin(t, fmt.Sprintf("round %d: losing TakeState", round), logins[i])
				default:
					t.Errorf("round %d: losing TakeState error = %v; want nonce.ErrConsumed or nonce.ErrNotFound", round, err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d of %d concurrent TakeState calls succeeded; want exactly 1", round, wins, raceGoroutines)
			}
		}
	})

	t.Run("CarriesNonce", func(t *testing.T) {
		f := setup(t)
		c, ok := f.h.Adapter.(nonce.Carrier)
		if !ok || !c.CarriesNonce() {
			t.Skip("the adapter does not carry the nonce in the state record")
		}
		want := f.newLogin(f.newRegistration(), ttl)
		f.putState(want)
		got, err := f.h.Adapter.TakeState(f.ctx, want.State)
		if err != nil {
			t.Fatalf("TakeState: %v", err)
		}
		if got.Nonce != want.Nonce {
			t.Errorf("taken Login.Nonce = %q, want %q: a nonce.Carrier must return the nonce with the state", got.Nonce, want.Nonce)
		}
		// Taking the state consumed the nonce with it: it cannot come back.
		if got, err := f.h.Adapter.TakeState(f.ctx, want.State); err == nil || got.Nonce != "" {
			t.Errorf("second TakeState = nonce %q, error %v; want no nonce and an error", got.Nonce, err)
		}
	})
}

func testNonce(t *testing.T, setup setupFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		f := setup(t)
		n := f.newNonce(f.newRegistration(), ttl)
		f.putNonce(n)
		if err := f.h.Adapter.ConsumeNonce(f.ctx, n.Value, n.Issuer, n.ClientID); err != nil {
			t.Errorf("ConsumeNonce: %v", err)
		}
	})

	t.Run("ConsumeTwice", func(t *testing.T) {
		f := setup(t)
		n := f.newNonce(f.newRegistration(), ttl)
		f.putNonce(n)
		if err := f.h.Adapter.ConsumeNonce(f.ctx, n.Value, n.Issuer, n.ClientID); err != nil {
			t.Fatalf("first ConsumeNonce: %v", err)
		}
		if err := f.h.Adapter.ConsumeNonce(f.ctx, n.Value, n.Issuer, n.ClientID); !isAny(err, nonce.ErrConsumed, nonce.ErrNotFound) {
			t.Errorf("second ConsumeNonce error = %v; want nonce.ErrConsumed or nonce.ErrNotFound", err)
		}
	})

	t.Run("ConsumeUnknown", func(t *testing.T) {
		f := setup(t)
		r := f.newRegistration()
		f.putNonce(f.newNonce(r, ttl))
		if err := f.h.Adapter.ConsumeNonce(f.ctx, f.newValue(), r.Issuer, r.ClientID); !errors.Is(err, nonce.ErrNotFound) {
			t.Errorf("ConsumeNonce(unknown) error = %v; want nonce.ErrNotFound", err)
		}
	})

	t.Run("ConsumeExpired", func(t *testing.T) {
		f := setup(t)
		n := f.newNonce(f.newRegistration(), -ttl)
		f.putNonce(n)
		if err := f.h.Adapter.ConsumeNonce(f.ctx, n.Value, n.Issuer, n.ClientID); !errors.Is(err, nonce.ErrExpired) {
			t.Errorf("ConsumeNonce(expired) error = %v; want nonce.ErrExpired", err)
		}
		if err := f.h.Adapter.ConsumeNonce(f.ctx, n.Value, n.Issuer, n.ClientID); !isAny(err, nonce.ErrExpired, nonce.ErrConsumed, nonce.ErrNotFound) {
			t.Errorf("second ConsumeNonce(expired) error = %v; want a refusal", err)
		}
	})

	t.Run("PutDuplicate", func(t *testing.T) {
		f := setup(t)
		n := f.newNonce(f.newRegistration(), ttl)
		f.putNonce(n)
		dup := n
		dup.ExpiresAt = f.now().Add(-ttl).Truncate(time.Second)
		if err := f.h.Adapter.PutNonce(f.ctx, dup); err == nil {
			t.Error("PutNonce of a value already stored succeeded; want an error")
		}
		if err := f.h.Adapter.ConsumeNonce(f.ctx, n.Value, n.Issuer, n.ClientID); err != nil {
			t.Errorf("ConsumeNonce after a refused duplicate: %v (the duplicate overwrote the stored nonce?)", err)
		}
	})

	t.Run("OtherRegistration", func(t *testing.T) {
		tests := []struct {
			name             string
			issuer, clientID func(n nonce.Nonce) string
		}{
			{"OtherClientID", func(n nonce.Nonce) string { return n.Issuer }, func(n nonce.Nonce) string { return n.ClientID + "-other" }},
			{"OtherIssuer", func(n nonce.Nonce) string { return n.Issuer + "/other" }, func(n nonce.Nonce) string { return n.ClientID }},
			{"BothDiffer", func(n nonce.Nonce) string { return n.Issuer + "/other" }, func(n nonce.Nonce) string { return n.ClientID + "-other" }},
			{"EmptyClientID", func(n nonce.Nonce) string { return n.Issuer }, func(nonce.Nonce) string { return "" }},
			{"EmptyIssuer", func(nonce.Nonce) string { return "" }, func(n nonce.Nonce) string { return n.ClientID }},
			{"ClientIDCaseDiffers", func(n nonce.Nonce) string { return n.Issuer }, func(n nonce.Nonce) string { return strings.ToUpper(n.ClientID) }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				n := f.newNonce(f.newRegistration(), ttl)
				f.putNonce(n)
				iss, cid := tc.issuer(n), tc.clientID(n)
				if err := f.h.Adapter.ConsumeNonce(f.ctx, n.Value, iss, cid); !errors.Is(err, nonce.ErrNotFound) {
					t.Errorf("ConsumeNonce for %q|%q of a nonce issued to %q|%q error = %v; want nonce.ErrNotFound", iss, cid, n.Issuer, n.ClientID, err)
				}
				if err := f.h.Adapter.ConsumeNonce(f.ctx, n.Value, n.Issuer, n.ClientID); err != nil {
					t.Errorf("ConsumeNonce by its own registration after a refused one: %v (the refused call consumed it)", err)
				}
			})
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		f := setup(t)
		n := f.newNonce(f.newRegistration(), ttl)
		f.putNonce(n)
		err := f.h.Adapter.ConsumeNonce(cancelled(), n.Value, n.Issuer, n.ClientID)
		checkStoreFailure(t, "ConsumeNonce with a cancelled context", err)
		if err := f.h.Adapter.ConsumeNonce(f.ctx, n.Value, n.Issuer, n.ClientID); err != nil {
			t.Errorf("ConsumeNonce with a live context after a cancelled one: %v (the cancelled call consumed the nonce)", err)
		}
	})

	t.Run("PutCancelledContext", func(t *testing.T) {
		f := setup(t)
		n := f.newNonce(f.newRegistration(), ttl)
		err := f.h.Adapter.PutNonce(cancelled(), n)
		checkStoreFailure(t, "PutNonce with a cancelled context", err)
		if err := f.h.Adapter.ConsumeNonce(f.ctx, n.Value, n.Issuer, n.ClientID); !errors.Is(err, nonce.ErrNotFound) {
			t.Errorf("ConsumeNonce after PutNonce with a cancelled context error = %v; want nonce.ErrNotFound (nothing stored)", err)
		}
	})

	t.Run("Race", func(t *testing.T) {
		f := setup(t)
		reg := f.newRegistration()
		for round := range raceRounds {
			n := f.newNonce(reg, ttl)
			f.putNonce(n)
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				errs  [raceGoroutines]error
			)
			for i := range raceGoroutines {
				wg.Go(func() {
					<-start
					errs[i] = f.h.Adapter.ConsumeNonce(f.ctx, n.Value, n.Issuer, n.ClientID)
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case isAny(err, nonce.ErrConsumed, nonce.ErrNotFound):
				default:
					t.Errorf("round %d: losing ConsumeNonce error = %v; want nonce.ErrConsumed or nonce.ErrNotFound", round, err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d of %d concurrent ConsumeNonce calls succeeded; want exactly 1", round, wins, raceGoroutines)
			}
		}
	})
}

// fixture is one subtest's harness and helpers.
type fixture struct {
	t   *testing.T
	h   Harness
	ctx context.Context
}

func newFixture(t *testing.T, newHarness func(t *testing.T) Harness) *fixture {
	t.Helper()
	h := newHarness(t)
	switch {
	case h.Adapter == nil:
		t.Fatal("storagetest: Harness.Adapter is nil")
	case h.AddRegistration == nil:
		t.Fatal("storagetest: Harness.AddRegistration is nil")
	case h.AddDeployment == nil:
		t.Fatal("storagetest: Harness.AddDeployment is nil")
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	return &fixture{t: t, h: h, ctx: t.Context()}
}

func (f *fixture) now() time.Time { return f.h.Now() }

// newRegistration returns a valid registration with a random issuer and
// client_id, not yet added.
func (f *fixture) newRegistration() registration.Registration {
	iss := "https://lms-" + randomHex() + ".example.com"
	return registration.Registration{
		Issuer:        iss,
		ClientID:      "client-" + randomHex(),
		AuthEndpoint:  iss + "/oidc/auth",
		TokenEndpoint: iss + "/oauth2/token",
		TokenAudience: iss + "/oauth2/token-audience",
		KeySetURL:     iss + "/jwks.json",
	}
}

func (f *fixture) addRegistration(r registration.Registration) registration.Registration {
	f.t.Helper()
	if err := f.h.AddRegistration(f.ctx, r); err != nil {
		f.t.Fatalf("Harness.AddRegistration(%s): %v", r.Key(), err)
	}
	return r
}

func (f *fixture) addDeployment(r registration.Registration, id string) {
	f.t.Helper()
	if err := f.h.AddDeployment(f.ctx, r, deployment.Deployment{DeploymentID: id}); err != nil {
		f.t.Fatalf("Harness.AddDeployment(%s, %q): %v", r.Key(), id, err)
	}
}

func (f *fixture) findRegistration(issuer, clientID string) registration.Registerable {
	f.t.Helper()
	r, err := f.h.Adapter.FindRegistration(f.ctx, issuer, clientID)
	if err != nil {
		f.t.Fatalf("FindRegistration(%q, %q): %v", issuer, clientID, err)
	}
	if r == nil {
		f.t.Fatalf("FindRegistration(%q, %q) returned nil and no error", issuer, clientID)
	}
	return r
}

func (f *fixture) newValue() string {
	f.t.Helper()
	return nonce.NewValue()
}

// newLogin returns a login record for r expiring d from now (at whole
// seconds, so adapters storing seconds round-trip it exactly).
func (f *fixture) newLogin(r registration.Registration, d time.Duration) nonce.Login {
	l := nonce.Login{
		State:         f.newValue(),
		Nonce:         f.newValue(),
		Issuer:        r.Issuer,
		ClientID:      r.ClientID,
		TargetLinkURI: "https://tool.example.com/launch?course=" + randomHex(),
		DeploymentID:  "dep-" + randomHex(),
		ExpiresAt:     f.now().Add(d).Truncate(time.Second),
	}
	l.Binding = l.Bind()
	return l
}

func (f *fixture) putState(l nonce.Login) {
	f.t.Helper()
	if err := f.h.Adapter.PutState(f.ctx, l); err != nil {
		f.t.Fatalf("PutState: %v", err)
	}
}

func (f *fixture) newNonce(r registration.Registration, d time.Duration) nonce.Nonce {
	return nonce.Nonce{
		Value:     f.newValue(),
		Issuer:    r.Issuer,
		ClientID:  r.ClientID,
		ExpiresAt: f.now().Add(d).Truncate(time.Second),
	}
}

func (f *fixture) putNonce(n nonce.Nonce) {
	f.t.Helper()
	if err := f.h.Adapter.PutNonce(f.ctx, n); err != nil {
		f.t.Fatalf("PutNonce: %v", err)
	}
}

// randomHex returns 16 random lowercase hex digits.
func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b[:])
}

func issuerOf(r registration.Registration) string   { return r.Issuer }
func clientIDOf(r registration.Registration) string { return r.ClientID }
func empty(registration.Registration) string        { return "" }

// cancelled returns a context that is already cancelled.
func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func isAny(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// checkStoreFailure checks that err reports a store failure, not a refused
// value: a cancelled context is storage_unavailable, never invalid_state.
func checkStoreFailure(t *testing.T, what string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s succeeded; want an error", what)
	case isAny(err, nonce.ErrNotFound, nonce.ErrExpired, nonce.ErrConsumed):
		t.Errorf("%s error = %v; want a store failure (e.g. the context's error), not a refused value", what, err)
	}
}

func checkNoLogin(t *testing.T, what string, l nonce.Login) {
	t.Helper()
	if l != (nonce.Login{}) {
		t.Errorf("%s returned a Login (state %q) along with its error; want the zero Login", what, l.State)
	}
}

func diffRegistration(got, want registration.Registration) []string {
	var diffs []string
	for _, c := range []struct{ field, got, want string }{
		{"Issuer", got.Issuer, want.Issuer},
		{"ClientID", got.ClientID, want.ClientID},
		{"AuthEndpoint", got.AuthEndpoint, want.AuthEndpoint},
		{"TokenEndpoint", got.TokenEndpoint, want.TokenEndpoint},
		{"TokenAudience", got.TokenAudience, want.TokenAudience},
		{"KeySetURL", got.KeySetURL, want.KeySetURL},
	} {
		if c.got != c.want {
			diffs = append(diffs, fmt.Sprintf("Registration.%s = %q, want %q", c.field, c.got, c.want))
		}
	}
	if (got.KeySet == nil) != (want.KeySet == nil) {
		diffs = append(diffs, fmt.Sprintf("Registration.KeySet set = %t, want %t", got.KeySet != nil, want.KeySet != nil))
	}
	return diffs
}

func diffLogin(got, want nonce.Login) []string {
	var diffs []string
	for _, c := range []struct{ field, got, want string }{
		{"State", got.State, want.State},
		{"Nonce", got.Nonce, want.Nonce},
		{"Issuer", got.Issuer, want.Issuer},
		{"ClientID", got.ClientID, want.ClientID},
		{"TargetLinkURI", got.TargetLinkURI, want.TargetLinkURI},
		{"DeploymentID", got.DeploymentID, want.DeploymentID},
		{"Binding", got.Binding, want.Binding},
	} {
		if c.got != c.want {
			diffs = append(diffs, fmt.Sprintf("Login.%s = %q, want %q", c.field, c.got, c.want))
		}
	}
	if g, w := got.ExpiresAt.Truncate(time.Second), want.ExpiresAt.Truncate(time.Second); !g.Equal(w) {
		diffs = append(diffs, fmt.Sprintf("Login.ExpiresAt = %v, want %v (at second precision)", g, w))
	}
	return diffs
}

func describeReg(r registration.Registerable) string {
	if r == nil {
		return "<nil>"
	}
	return r.LTIRegistration().Key().String()
}

func describeDep(d deployment.Deployable) string {
	if d == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", d.LTIDeployment().DeploymentID)
}
