package storagetest

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// RegistrarHarness is one [storage.Registrar] under test and the adapter
// that reads what it writes.
type RegistrarHarness struct {
	// Adapter reads the store Registrar writes: the suite checks with
	// FindRegistration and FindDeployment what every call left behind.
	Adapter storage.Adapter
	// Registrar is the writer under test.
	Registrar storage.Registrar
	// Other is optional: a second Registrar on the same data through a
	// separate connection pool, playing a second process. The race tests
	// split their callers between Registrar and Other.
	Other storage.Registrar
}

// registrarRaceRounds is how many times each Registrar race is run.
const registrarRaceRounds = 5

// RunRegistrar runs the conformance suite of [storage.Registrar] against
// the Registrar newHarness returns. newHarness is called once per subtest,
// with that subtest's t. Like [Run], the suite never assumes the store is
// empty: every subtest uses its own random issuers and client ids, and
// checks the listing of [storage.Registrar.Registrations] only for those
// (and its order as a whole).
func RunRegistrar(t *testing.T, newHarness func(t *testing.T) RegistrarHarness) {
	t.Helper()
	if newHarness == nil {
		t.Fatal("storagetest: nil registrar harness factory")
	}
	setup := func(t *testing.T) *regFixture {
		t.Helper()
		h := newHarness(t)
		switch {
		case h.Adapter == nil:
			t.Fatal("storagetest: RegistrarHarness.Adapter is nil")
		case h.Registrar == nil:
			t.Fatal("storagetest: RegistrarHarness.Registrar is nil")
		}
		return &regFixture{t: t, h: h, r: h.Registrar, ctx: t.Context()}
	}
	t.Run("CreateRegistration", func(t *testing.T) { testCreateRegistration(t, setup) })
	t.Run("CreateDeployment", func(t *testing.T) { testCreateDeployment(t, setup) })
	t.Run("DeleteDeployment", func(t *testing.T) { testDeleteDeployment(t, setup) })
	t.Run("DeleteRegistration", func(t *testing.T) { testDeleteRegistration(t, setup) })
	t.Run("Registrations", func(t *testing.T) { testRegistrations(t, setup) })
	t.Run("CancelledContext", func(t *testing.T) { testRegistrarCancelled(t, setup) })
	t.Run("Race", func(t *testing.T) { testRegistrarRace(t, setup) })
}

type regSetup func(t *testing.T) *regFixture

func testCreateRegistration(t *testing.T, setup regSetup) {
	t.Run("Find", func(t *testing.T) {
		tests := []struct {
			name   string
			modify func(*registration.Registration)
			ids    []string
		}{
			{"AllFields", func(*registration.Registration) {}, []string{"d-" + randomHex()}},
			{"NoDeployments", func(*registration.Registration) {}, nil},
			{"LaunchOnly", func(r *registration.Registration) { r.TokenEndpoint, r.TokenAudience = "", "" }, []string{"1"}},
			{"StaticKeySet", func(r *registration.Registration) { r.KeySetURL, r.KeySet = "", staticKeySet(t) }, []string{"1"}},
			{"ManyDeployments", func(*registration.Registration) {}, []string{
				"1", strings.Repeat("x", deployment.MaxIDLength), "id with spaces/and:symbols+é", "B", "a", "A",
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				reg := randomRegistration()
				tc.modify(&reg)
				f.create(reg, tc.ids...)
				f.checkStored(reg, tc.ids...)
				f.checkNoDeployment(reg, "never-created-"+randomHex())
			})
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		tests := []struct {
			name   string
			modify func(*registration.Registration)
			ids    []string
		}{
			{"Same", func(*registration.Registration) {}, []string{"d1"}},
			{"OtherFields", func(r *registration.Registration) {
				r.AuthEndpoint += "/other"
				r.TokenEndpoint, r.TokenAudience = "", ""
			}, []string{"d1"}},
			{"OtherDeployments", func(*registration.Registration) {}, []string{"d2", "d3"}},
			{"NoDeployments", func(*registration.Registration) {}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				reg := randomRegistration()
				f.create(reg, "d1")
				dup := reg
				tc.modify(&dup)
				err := f.r.CreateRegistration(f.ctx, dup, tc.ids...)
				if !errors.Is(err, storage.ErrExists) {
					t.Errorf("CreateRegistration of a stored registration error = %v; want storage.ErrExists", err)
				}
				f.checkStored(reg, "d1")
				for _, id := range tc.ids {
					if id != "d1" {
						f.checkNoDeployment(reg, id)
					}
				}
			})
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		tests := []struct {
			name   string
			modify func(*registration.Registration)
			ids    []string
		}{
			{"NoIssuer", func(r *registration.Registration) { r.Issuer = "" }, nil},
			{"NoClientID", func(r *registration.Registration) { r.ClientID = "" }, nil},
			{"NoAuthEndpoint", func(r *registration.Registration) { r.AuthEndpoint = "" }, nil},
			{"RelativeAuthEndpoint", func(r *registration.Registration) { r.AuthEndpoint = "lms/auth" }, nil},
			{"NoKeys", func(r *registration.Registration) { r.KeySetURL = "" }, nil},
			{"BothKeys", func(r *registration.Registration) { r.KeySet = staticKeySet(t) }, nil},
			{"InvalidWithDeployments", func(r *registration.Registration) { r.KeySetURL = "" }, []string{"d1"}},
			{"EmptyDeploymentID", func(*registration.Registration) {}, []string{"d1", ""}},
			{"TooLongDeploymentID", func(*registration.Registration) {}, []string{"d1", strings.Repeat("x", deployment.MaxIDLength+1)}},
			{"RepeatedDeploymentID", func(*registration.Registration) {}, []string{"d1", "d2", "d1"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				valid := randomRegistration()
				reg := valid
				tc.modify(&reg)
				err := f.r.CreateRegistration(f.ctx, reg, tc.ids...)
				if err == nil {
					t.Fatal("CreateRegistration of invalid input succeeded; want an error")
				}
				checkNotRefusal(t, "CreateRegistration of invalid input", err)
				// Nothing was written, not even the registration alone.
				f.checkAbsent(reg.Key())
				f.checkAbsent(valid.Key())
				f.create(valid, "d1")
				f.checkStored(valid, "d1")
			})
		}
	})
}

func testCreateDeployment(t *testing.T, setup regSetup) {
	t.Run("Find", func(t *testing.T) {
		f := setup(t)
		reg := randomRegistration()
		f.create(reg, "first")
		ids := []string{"d-" + randomHex(), "1", strings.Repeat("x", deployment.MaxIDLength), "id with spaces/and:symbols+é"}
		for _, id := range ids {
			f.createDeployment(reg.Key(), id)
		}
		f.checkStored(reg, append(ids, "first")...)
	})

	t.Run("UnknownRegistration", func(t *testing.T) {
		tests := []struct {
			name string
			key  func(r registration.Registration) registration.Key
		}{
			{"UnknownIssuer", func(r registration.Registration) registration.Key {
				return registration.Key{Issuer: r.Issuer + "/other", ClientID: r.ClientID}
			}},
			{"UnknownClientID", func(r registration.Registration) registration.Key {
				return registration.Key{Issuer: r.Issuer, ClientID: r.ClientID + "-other"}
			}},
			{"ClientIDCaseDiffers", func(r registration.Registration) registration.Key {
				return registration.Key{Issuer: r.Issuer, ClientID: strings.ToUpper(r.ClientID)}
			}},
			{"EmptyClientID", func(r registration.Registration) registration.Key {
				return registration.Key{Issuer: r.Issuer}
			}},
			{"Empty", func(registration.Registration) registration.Key { return registration.Key{} }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				reg := randomRegistration()
				f.create(reg, "d1")
				key := tc.key(reg)
				err := f.r.CreateDeployment(f.ctx, key, "d2")
				if !errors.Is(err, registration.ErrNotFound) {
					t.Errorf("CreateDeployment under %s, not stored, error = %v; want registration.ErrNotFound", key, err)
				}
				f.checkStored(reg, "d1")
				f.checkNoDeployment(reg, "d2")
				f.checkAbsent(key)
			})
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		f := setup(t)
		reg := randomRegistration()
		f.create(reg, "d1")
		f.createDeployment(reg.Key(), "d2")
		for _, id := range []string{"d1", "d2"} {
			if err := f.r.CreateDeployment(f.ctx, reg.Key(), id); !errors.Is(err, storage.ErrExists) {
				t.Errorf("CreateDeployment(%q) of a stored deployment error = %v; want storage.ErrExists", id, err)
			}
		}
		f.checkStored(reg, "d1", "d2")
	})

	t.Run("Invalid", func(t *testing.T) {
		for _, id := range []string{"", strings.Repeat("x", deployment.MaxIDLength+1)} {
			f := setup(t)
			reg := randomRegistration()
			f.create(reg, "d1")
			err := f.r.CreateDeployment(f.ctx, reg.Key(), id)
			if err == nil {
				t.Errorf("CreateDeployment of a deployment_id of %d bytes succeeded; want an error", len(id))
				continue
			}
			checkNotRefusal(t, fmt.Sprintf("CreateDeployment of a deployment_id of %d bytes", len(id)), err)
			f.checkStored(reg, "d1")
		}
	})

	t.Run("CaseSensitive", func(t *testing.T) {
		f := setup(t)
		reg := randomRegistration()
		suffix := randomHex()
		lower, mixed, upper := "abc-"+suffix, "Abc-"+suffix, "ABC-"+suffix
		f.create(reg, lower)
		f.createDeployment(reg.Key(), upper)
		f.createDeployment(reg.Key(), mixed)
		f.checkStored(reg, lower, mixed, upper)
		if err := f.r.CreateDeployment(f.ctx, reg.Key(), mixed); !errors.Is(err, storage.ErrExists) {
			t.Errorf("CreateDeployment(%q) again error = %v; want storage.ErrExists", mixed, err)
		}
	})

	t.Run("SameIDOtherRegistration", func(t *testing.T) {
		f := setup(t)
		a := randomRegistration()
		b := randomRegistration()
		b.Issuer = a.Issuer
		f.create(a, "d1")
		f.create(b)
		f.createDeployment(b.Key(), "d1")
		f.checkStored(a, "d1")
		f.checkStored(b, "d1")
	})
}

func testDeleteDeployment(t *testing.T, setup regSetup) {
	t.Run("Delete", func(t *testing.T) {
		f := setup(t)
		reg := randomRegistration()
		f.create(reg, "a", "b", "B")
		f.deleteDeployment(reg.Key(), "b")
		f.checkStored(reg, "a", "B")
		f.checkNoDeployment(reg, "b")
		if err := f.r.DeleteDeployment(f.ctx, reg.Key(), "b"); !errors.Is(err, deployment.ErrNotFound) {
			t.Errorf("DeleteDeployment of a deleted deployment error = %v; want deployment.ErrNotFound", err)
		}
		// Deleted, it may be created again.
		f.createDeployment(reg.Key(), "b")
		f.checkStored(reg, "a", "b", "B")
	})

	t.Run("Last", func(t *testing.T) {
		f := setup(t)
		reg := randomRegistration()
		f.create(reg, "only")
		f.deleteDeployment(reg.Key(), "only")
		f.checkStored(reg)
	})

	t.Run("NotFound", func(t *testing.T) {
		tests := []struct {
			name string
			id   string
		}{
			{"Unknown", "other"},
			{"CaseDiffers", "D1"},
			{"Prefix", "d"},
			{"TrailingSpace", "d1 "},
			{"Empty", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				reg := randomRegistration()
				f.create(reg, "d1")
				if err := f.r.DeleteDeployment(f.ctx, reg.Key(), tc.id); !errors.Is(err, deployment.ErrNotFound) {
					t.Errorf("DeleteDeployment(%q) with only \"d1\" stored error = %v; want deployment.ErrNotFound", tc.id, err)
				}
				f.checkStored(reg, "d1")
			})
		}
	})

	t.Run("UnknownRegistration", func(t *testing.T) {
		f := setup(t)
		reg := randomRegistration()
		f.create(reg, "d1")
		other := registration.Key{Issuer: reg.Issuer, ClientID: reg.ClientID + "-other"}
		if err := f.r.DeleteDeployment(f.ctx, other, "d1"); !errors.Is(err, registration.ErrNotFound) {
			t.Errorf("DeleteDeployment under %s, not stored, error = %v; want registration.ErrNotFound", other, err)
		}
		f.checkStored(reg, "d1")
	})

	t.Run("OtherRegistration", func(t *testing.T) {
		f := setup(t)
		a := randomRegistration()
		b := randomRegistration()
		b.Issuer = a.Issuer
		f.create(a, "d1", "d2")
		f.create(b, "d1")
		f.deleteDeployment(b.Key(), "d1")
		f.checkStored(a, "d1", "d2")
		f.checkStored(b)
	})
}

func testDeleteRegistration(t *testing.T, setup regSetup) {
	t.Run("Cascade", func(t *testing.T) {
		f := setup(t)
		reg := randomRegistration()
		other := randomRegistration()
		other.Issuer = reg.Issuer
		f.create(reg, "d1", "d2")
		f.create(other, "d1")
		found := f.findRegistration(reg.Key())
		if err := f.r.DeleteRegistration(f.ctx, reg.Key()); err != nil {
			t.Fatalf("DeleteRegistration: %v", err)
		}
		f.checkAbsent(reg.Key())
		for _, id := range []string{"d1", "d2"} {
			// Asked with the value found before the delete, and with the
			// library's own Registration: both are gone.
			for _, r := range []registration.Registerable{found, reg} {
				if d, err := f.h.Adapter.FindDeployment(f.ctx, r, id); !errors.Is(err, deployment.ErrNotFound) {
					t.Errorf("FindDeployment(%q) of a deleted registration (given a %T) = %v, %v; want deployment.ErrNotFound", id, r, describeDep(d), err)
				}
			}
		}
		f.checkStored(other, "d1")
		if err := f.r.DeleteRegistration(f.ctx, reg.Key()); !errors.Is(err, registration.ErrNotFound) {
			t.Errorf("DeleteRegistration again error = %v; want registration.ErrNotFound", err)
		}
		if err := f.r.CreateDeployment(f.ctx, reg.Key(), "d3"); !errors.Is(err, registration.ErrNotFound) {
			t.Errorf("CreateDeployment under a deleted registration error = %v; want registration.ErrNotFound", err)
		}
		if err := f.r.DeleteDeployment(f.ctx, reg.Key(), "d1"); !errors.Is(err, registration.ErrNotFound) {
			t.Errorf("DeleteDeployment under a deleted registration error = %v; want registration.ErrNotFound", err)
		}
		f.checkAbsent(reg.Key())
	})

	t.Run("Recreate", func(t *testing.T) {
		f := setup(t)
		reg := randomRegistration()
		f.create(reg, "d1", "d2")
		if err := f.r.DeleteRegistration(f.ctx, reg.Key()); err != nil {
			t.Fatalf("DeleteRegistration: %v", err)
		}
		again := reg
		again.AuthEndpoint += "/v2"
		f.create(again, "d2", "d3")
		f.checkStored(again, "d2", "d3")
		// The deleted deployment did not come back with the registration.
		f.checkNoDeployment(again, "d1")
	})

	t.Run("NotFound", func(t *testing.T) {
		tests := []struct {
			name string
			key  func(r registration.Registration) registration.Key
		}{
			{"UnknownIssuer", func(r registration.Registration) registration.Key {
				return registration.Key{Issuer: r.Issuer + "/other", ClientID: r.ClientID}
			}},
			{"UnknownClientID", func(r registration.Registration) registration.Key {
				return registration.Key{Issuer: r.Issuer, ClientID: r.ClientID + "-other"}
			}},
			{"IssuerCaseDiffers", func(r registration.Registration) registration.Key {
				return registration.Key{Issuer: strings.ToUpper(r.Issuer), ClientID: r.ClientID}
			}},
			{"EmptyClientID", func(r registration.Registration) registration.Key {
				return registration.Key{Issuer: r.Issuer}
			}},
			{"Empty", func(registration.Registration) registration.Key { return registration.Key{} }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t)
				reg := randomRegistration()
				f.create(reg, "d1")
				key := tc.key(reg)
				if err := f.r.DeleteRegistration(f.ctx, key); !errors.Is(err, registration.ErrNotFound) {
					t.Errorf("DeleteRegistration(%s), not stored, error = %v; want registration.ErrNotFound", key, err)
				}
				f.checkStored(reg, "d1")
			})
		}
	})
}

func testRegistrations(t *testing.T, setup regSetup) {
	t.Run("Order", func(t *testing.T) {
		f := setup(t)
		// Byte order puts upper case before lower case, "_" between them
		// and "é" after both; most database collations do not.
		base := "https://lms-" + randomHex() + ".example.com/"
		var want []storage.Entry
		ids := []string{"b", "B", "a", "A", "_", "10", "9", "é", "e", "a b"}
		for _, iss := range []string{"a", "B", "_", "é", "Z"} {
			for _, cid := range []string{"client-10", "client-9", "Client-1", "client-_"} {
				reg := randomRegistration()
				reg.Issuer, reg.ClientID = base+iss, cid
				n := len(want) % (len(ids) + 1)
				f.create(reg, ids[:n]...)
				want = append(want, storage.Entry{Registration: reg, Deployments: slices.Sorted(slices.Values(ids[:n]))})
			}
		}
		slices.SortFunc(want, compareEntries)

		got := f.registrations()
		if !slices.IsSortedFunc(got, compareEntries) {
			t.Error("Registrations is not ordered by issuer then client_id in byte order")
		}
		var ours []storage.Entry
		for _, e := range got {
			if strings.HasPrefix(e.Registration.Issuer, base) {
				ours = append(ours, e)
			}
		}
		if len(ours) != len(want) {
			t.Fatalf("Registrations listed %d of the %d registrations created", len(ours), len(want))
		}
		for i := range want {
			g, w := ours[i], want[i]
			if g.Registration.Key() != w.Registration.Key() {
				t.Errorf("Registrations[%d] is %s, want %s", i, g.Registration.Key(), w.Registration.Key())
				continue
			}
			for _, d := range diffRegistration(g.Registration, w.Registration) {
				t.Errorf("%s: %s", w.Registration.Key(), d)
			}
			if !slices.Equal(g.Deployments, w.Deployments) {
				t.Errorf("%s: deployments %q, want %q (byte order)", w.Registration.Key(), g.Deployments, w.Deployments)
			}
		}
	})

	t.Run("Unique", func(t *testing.T) {
		f := setup(t)
		f.create(randomRegistration(), "d1")
		seen := map[registration.Key]bool{}
		for _, e := range f.registrations() {
			k := e.Registration.Key()
			if seen[k] {
				t.Errorf("Registrations lists %s twice", k)
			}
			seen[k] = true
		}
	})
}

func testRegistrarCancelled(t *testing.T, setup regSetup) {
	f := setup(t)
	reg := randomRegistration()
	f.create(reg, "d1")
	fresh := randomRegistration()
	ctx := cancelled()

	err := f.r.CreateRegistration(ctx, fresh, "d1")
	checkRegistrarFailure(t, "CreateRegistration with a cancelled context", err)
	f.checkAbsent(fresh.Key())

	err = f.r.CreateDeployment(ctx, reg.Key(), "d2")
	checkRegistrarFailure(t, "CreateDeployment with a cancelled context", err)

	err = f.r.DeleteDeployment(ctx, reg.Key(), "d1")
	checkRegistrarFailure(t, "DeleteDeployment with a cancelled context", err)

	err = f.r.DeleteRegistration(ctx, reg.Key())
	checkRegistrarFailure(t, "DeleteRegistration with a cancelled context", err)

	entries, err := f.r.Registrations(ctx)
	checkRegistrarFailure(t, "Registrations with a cancelled context", err)
	if err != nil && len(entries) != 0 {
		t.Errorf("Registrations with a cancelled context returned %d entries along with its error", len(entries))
	}
	// Nothing changed.
	f.checkStored(reg, "d1")
	f.checkNoDeployment(reg, "d2")
}

func testRegistrarRace(t *testing.T, setup regSetup) {
	t.Run("CreateRegistration", func(t *testing.T) {
		f := setup(t)
		for round := range registrarRaceRounds {
			reg := randomRegistration()
			errs := f.race(func(r storage.Registrar, i int) error {
				return r.CreateRegistration(f.ctx, reg, fmt.Sprintf("d-%02d", i))
			})
			winner := f.checkOneWins(round, "CreateRegistration", errs, storage.ErrExists)
			// All or none: only the winner's deployment was written.
			f.checkStored(reg, fmt.Sprintf("d-%02d", winner))
		}
	})

	t.Run("CreateDeployment", func(t *testing.T) {
		f := setup(t)
		reg := randomRegistration()
		f.create(reg)
		var ids []string
		for round := range registrarRaceRounds {
			id := "d-" + randomHex()
			errs := f.race(func(r storage.Registrar, _ int) error {
				return r.CreateDeployment(f.ctx, reg.Key(), id)
			})
			f.checkOneWins(round, "CreateDeployment", errs, storage.ErrExists)
			ids = append(ids, id)
		}
		f.checkStored(reg, ids...)
	})

	t.Run("DeleteRegistration", func(t *testing.T) {
		f := setup(t)
		for round := range registrarRaceRounds {
			reg := randomRegistration()
			f.create(reg, "d1", "d2")
			errs := f.race(func(r storage.Registrar, _ int) error {
				return r.DeleteRegistration(f.ctx, reg.Key())
			})
			f.checkOneWins(round, "DeleteRegistration", errs, registration.ErrNotFound)
			f.checkAbsent(reg.Key())
		}
	})

	// One delete of a registration races creates of its deployments: each
	// create happens before the delete (and the delete removes it) or
	// after (and is registration.ErrNotFound). None survives, not even for
	// the value FindRegistration returned before.
	t.Run("DeleteRegistrationWhileCreatingDeployments", func(t *testing.T) {
		f := setup(t)
		for round := range registrarRaceRounds {
			reg := randomRegistration()
			f.create(reg, "d-first")
			found := f.findRegistration(reg.Key())
			errs := f.race(func(r storage.Registrar, i int) error {
				if i == raceGoroutines/2 {
					return r.DeleteRegistration(f.ctx, reg.Key())
				}
				return r.CreateDeployment(f.ctx, reg.Key(), fmt.Sprintf("d-%02d", i))
			})
			for i, err := range errs {
				switch {
				case i == raceGoroutines/2 && err != nil:
					t.Errorf("round %d: DeleteRegistration: %v", round, err)
				case err != nil && !errors.Is(err, registration.ErrNotFound):
					t.Errorf("round %d: CreateDeployment racing a delete error = %v; want nil or registration.ErrNotFound", round, err)
				}
			}
			f.checkAbsent(reg.Key())
			for i := range raceGoroutines {
				id := fmt.Sprintf("d-%02d", i)
				if d, err := f.h.Adapter.FindDeployment(f.ctx, found, id); !errors.Is(err, deployment.ErrNotFound) {
					t.Errorf("round %d: FindDeployment(%q) after the delete = %v, %v; want deployment.ErrNotFound", round, id, describeDep(d), err)
				}
			}
		}
	})
}

// regFixture is one Registrar subtest's harness and helpers.
type regFixture struct {
	t   *testing.T
	h   RegistrarHarness
	r   storage.Registrar
	ctx context.Context
}

func (f *regFixture) create(reg registration.Registration, ids ...string) {
	f.t.Helper()
	if err := f.r.CreateRegistration(f.ctx, reg, ids...); err != nil {
		f.t.Fatalf("CreateRegistration(%s, %q): %v", reg.Key(), ids, err)
	}
}

func (f *regFixture) createDeployment(key registration.Key, id string) {
	f.t.Helper()
	if err := f.r.CreateDeployment(f.ctx, key, id); err != nil {
		f.t.Fatalf("CreateDeployment(%s, %q): %v", key, id, err)
	}
}

func (f *regFixture) deleteDeployment(key registration.Key, id string) {
	f.t.Helper()
	if err := f.r.DeleteDeployment(f.ctx, key, id); err != nil {
		f.t.Fatalf("DeleteDeployment(%s, %q): %v", key, id, err)
	}
}

func (f *regFixture) findRegistration(key registration.Key) registration.Registerable {
	f.t.Helper()
	r, err := f.h.Adapter.FindRegistration(f.ctx, key.Issuer, key.ClientID)
	if err != nil {
		f.t.Fatalf("FindRegistration(%q, %q): %v", key.Issuer, key.ClientID, err)
	}
	if r == nil {
		f.t.Fatalf("FindRegistration(%q, %q) returned nil and no error", key.Issuer, key.ClientID)
	}
	return r
}

func (f *regFixture) registrations() []storage.Entry {
	f.t.Helper()
	entries, err := f.r.Registrations(f.ctx)
	if err != nil {
		f.t.Fatalf("Registrations: %v", err)
	}
	return entries
}

// entry returns the listing of key, if listed.
func (f *regFixture) entry(key registration.Key) (storage.Entry, bool) {
	f.t.Helper()
	for _, e := range f.registrations() {
		if e.Registration.Key() == key {
			return e, true
		}
	}
	return storage.Entry{}, false
}

// checkStored checks that reg is stored as given, with exactly the
// deployments ids: FindRegistration and FindDeployment find them, and
// Registrations lists them.
func (f *regFixture) checkStored(reg registration.Registration, ids ...string) {
	f.t.Helper()
	found := f.findRegistration(reg.Key())
	for _, d := range diffRegistration(found.LTIRegistration(), reg) {
		f.t.Errorf("FindRegistration(%s): %s", reg.Key(), d)
	}
	for _, id := range ids {
		d, err := f.h.Adapter.FindDeployment(f.ctx, found, id)
		switch {
		case err != nil:
			f.t.Errorf("FindDeployment(%s, %q): %v", reg.Key(), id, err)
		case d == nil:
			f.t.Errorf("FindDeployment(%s, %q) returned nil and no error", reg.Key(), id)
		case d.LTIDeployment().DeploymentID != id:
			f.t.Errorf("FindDeployment(%s, %q) returned deployment %q", reg.Key(), id, d.LTIDeployment().DeploymentID)
		}
	}
	e, ok := f.entry(reg.Key())
	if !ok {
		f.t.Errorf("Registrations does not list %s", reg.Key())
		return
	}
	for _, d := range diffRegistration(e.Registration, reg) {
		f.t.Errorf("Registrations entry of %s: %s", reg.Key(), d)
	}
	if want := slices.Sorted(slices.Values(ids)); !slices.Equal(e.Deployments, want) {
		f.t.Errorf("Registrations lists the deployments of %s as %q, want %q", reg.Key(), e.Deployments, want)
	}
}

// checkNoDeployment checks that reg (stored) has no deployment id.
func (f *regFixture) checkNoDeployment(reg registration.Registration, id string) {
	f.t.Helper()
	found := f.findRegistration(reg.Key())
	if d, err := f.h.Adapter.FindDeployment(f.ctx, found, id); !errors.Is(err, deployment.ErrNotFound) {
		f.t.Errorf("FindDeployment(%s, %q) = %v, %v; want deployment.ErrNotFound", reg.Key(), id, describeDep(d), err)
	}
}

// checkAbsent checks that no registration is stored under key: not found,
// not listed. (An empty client_id is not looked up: FindRegistration would
// find the issuer's only registration.)
func (f *regFixture) checkAbsent(key registration.Key) {
	f.t.Helper()
	if key.Issuer != "" && key.ClientID != "" {
		if r, err := f.h.Adapter.FindRegistration(f.ctx, key.Issuer, key.ClientID); !errors.Is(err, registration.ErrNotFound) {
			f.t.Errorf("FindRegistration(%q, %q) = %v, %v; want registration.ErrNotFound", key.Issuer, key.ClientID, describeReg(r), err)
		}
	}
	if _, ok := f.entry(key); ok {
		f.t.Errorf("Registrations lists %s", key)
	}
}

// race runs call from raceGoroutines goroutines at once, split between
// the Registrar and the Other one when there is one, and returns their
// errors by goroutine.
func (f *regFixture) race(call func(r storage.Registrar, i int) error) []error {
	registrars := []storage.Registrar{f.h.Registrar}
	if f.h.Other != nil {
		registrars = append(registrars, f.h.Other)
	}
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, raceGoroutines)
	)
	for i := range raceGoroutines {
		r := registrars[i%len(registrars)]
		wg.Go(func() {
			<-start
			errs[i] = call(r, i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// checkOneWins checks that exactly one call succeeded and that every other
// one was refused with loss, and returns the winner.
func (f *regFixture) checkOneWins(round int, what string, errs []error, loss error) int {
	f.t.Helper()
	winner, wins := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			winner = i
			wins++
		case !errors.Is(err, loss):
			f.t.Errorf("round %d: losing %s error = %v; want %v", round, what, err, loss)
		}
	}
	if wins != 1 {
		f.t.Fatalf("round %d: %d of %d concurrent %s calls succeeded; want exactly 1", round, wins, len(errs), what)
	}
	return winner
}

// randomRegistration returns a valid registration with a random issuer and
// client_id.
func randomRegistration() registration.Registration {
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

// staticKeySet returns a key set of one fresh EC public key.
func staticKeySet(t *testing.T) jwk.Set {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.FromRaw(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Set(jwk.KeyIDKey, "k-"+randomHex()); err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(key); err != nil {
		t.Fatal(err)
	}
	return set
}

func compareEntries(a, b storage.Entry) int {
	return cmp.Or(cmp.Compare(a.Registration.Issuer, b.Registration.Issuer),
		cmp.Compare(a.Registration.ClientID, b.Registration.ClientID))
}

// checkNotRefusal checks that err, the error of invalid input, is not
// mistaken for a refusal of stored data.
func checkNotRefusal(t *testing.T, what string, err error) {
	t.Helper()
	if isAny(err, storage.ErrExists, registration.ErrNotFound, deployment.ErrNotFound) {
		t.Errorf("%s error = %v; want an error of its own, not storage.ErrExists or ErrNotFound", what, err)
	}
}

// checkRegistrarFailure checks that err reports a failure, not a refusal.
func checkRegistrarFailure(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded; want an error", what)
		return
	}
	checkNotRefusal(t, what, err)
}
