package gormadapter_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"gorm.io/gorm"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
)

func login(t testing.TB, exp time.Time) nonce.Login {
	l := nonce.Login{
		State:         newValue(t),
		Nonce:         newValue(t),
		Issuer:        "https://platform.example",
		ClientID:      "client-1",
		TargetLinkURI: "https://tool.example/launch",
		DeploymentID:  "dep-1",
		ExpiresAt:     exp,
	}
	l.Binding = l.Bind()
	return l
}

func TestStateSingleUse(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := migrated(t, b)
			clk := newClock()
			a := mustNew(t, db, gormadapter.WithClock(clk.Now))
			ctx := context.Background()

			l := login(t, clk.Now().Add(5*time.Minute+123456789*time.Nanosecond))
			if err := a.PutState(ctx, l); err != nil {
				t.Fatalf("PutState: %v", err)
			}
			if err := a.PutState(ctx, l); !errors.Is(err, gormadapter.ErrDuplicate) || !errors.Is(err, lti.ErrStorageUnavailable) {
				t.Fatalf("second PutState = %v, want ErrDuplicate as storage_unavailable", err)
			}
			got, err := a.TakeState(ctx, l.State)
			if err != nil {
				t.Fatalf("TakeState: %v", err)
			}
			want := l
			want.ExpiresAt = l.ExpiresAt.Truncate(time.Microsecond)
			if !got.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt)
			}
			got.ExpiresAt, want.ExpiresAt = time.Time{}, time.Time{}
			if got != want {
				t.Errorf("TakeState = %+v, want %+v", got, want)
			}
			if got.Bind() != l.Binding {
				t.Errorf("binding does not survive the round trip")
			}
			if _, err := a.TakeState(ctx, l.State); !errors.Is(err, nonce.ErrConsumed) {
				t.Errorf("second TakeState = %v, want ErrConsumed", err)
			}
			for _, s := range []string{"unknown", "", "bad\x00nul", "\xff\xfe"} {
				if _, err := a.TakeState(ctx, s); !errors.Is(err, nonce.ErrNotFound) {
					t.Errorf("TakeState(%q) = %v, want ErrNotFound", s, err)
				}
			}
			if !a.CarriesNonce() {
				t.Error("CarriesNonce = false")
			}
		})
	}
}

func TestExpiryBoundary(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := migrated(t, b)
			clk := newClock()
			a := mustNew(t, db, gormadapter.WithClock(clk.Now))
			ctx := context.Background()
			base := clk.Now()
			// Expiry is judged with the Go clock at microsecond precision:
			// a record is usable while now < ExpiresAt.
			cases := []struct {
				name string
				exp  time.Duration // ExpiresAt - now
				err  error
			}{
				{"one microsecond left", time.Microsecond, nil},
				{"half a second left", 500 * time.Millisecond, nil},
				{"a year left", 365 * 24 * time.Hour, nil},
				{"expires now", 0, nonce.ErrExpired},
				{"expired a microsecond ago", -time.Microsecond, nonce.ErrExpired},
				{"expired a day ago", -24 * time.Hour, nonce.ErrExpired},
				// Sub-microsecond remainders are dropped, so the record is
				// refused a little early rather than accepted late.
				{"under a microsecond left", 999 * time.Nanosecond, nonce.ErrExpired},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					for _, now := range []time.Time{base, base.Add(123456 * time.Microsecond), base.In(time.FixedZone("x", -7*3600))} {
						clk.Set(now)
						l := login(t, now.Add(c.exp))
						if err := a.PutState(ctx, l); err != nil {
							t.Fatal(err)
						}
						if _, err := a.TakeState(ctx, l.State); !errors.Is(err, c.err) && (c.err != nil || err != nil) {
							t.Errorf("now=%v TakeState = %v, want %v", now, err, c.err)
						}
						n := nonce.Nonce{Value: newValue(t), Issuer: "iss", ClientID: "cid", ExpiresAt: now.Add(c.exp)}
						if err := a.PutNonce(ctx, n); err != nil {
							t.Fatal(err)
						}
						if err := a.ConsumeNonce(ctx, n.Value, "iss", "cid"); !errors.Is(err, c.err) && (c.err != nil || err != nil) {
							t.Errorf("now=%v ConsumeNonce = %v, want %v", now, err, c.err)
						}
					}
				})
			}
		})
	}
}

func TestNonce(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := migrated(t, b)
			clk := newClock()
			a := mustNew(t, db, gormadapter.WithClock(clk.Now))
			ctx := context.Background()
			n := nonce.Nonce{Value: newValue(t), Issuer: "https://iss", ClientID: "c1", ExpiresAt: clk.Now().Add(time.Minute)}
			if err := a.PutNonce(ctx, n); err != nil {
				t.Fatal(err)
			}
			if err := a.PutNonce(ctx, n); !errors.Is(err, gormadapter.ErrDuplicate) {
				t.Errorf("duplicate PutNonce = %v", err)
			}
			// Another registration's nonce is not found, and not consumed.
			for _, k := range [][2]string{{"https://iss", "c2"}, {"https://other", "c1"}, {"https://ISS", "c1"}, {"", ""}} {
				if err := a.ConsumeNonce(ctx, n.Value, k[0], k[1]); !errors.Is(err, nonce.ErrNotFound) {
					t.Errorf("ConsumeNonce for %v = %v, want ErrNotFound", k, err)
				}
			}
			if err := a.ConsumeNonce(ctx, strings.ToUpper(n.Value), n.Issuer, n.ClientID); !errors.Is(err, nonce.ErrNotFound) {
				t.Errorf("case-changed nonce = %v, want ErrNotFound", err)
			}
			if err := a.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID); err != nil {
				t.Fatalf("ConsumeNonce: %v", err)
			}
			if err := a.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID); !errors.Is(err, nonce.ErrConsumed) {
				t.Errorf("replay = %v, want ErrConsumed", err)
			}
			clk.Add(2 * time.Minute)
			if err := a.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID); !errors.Is(err, nonce.ErrConsumed) {
				t.Errorf("replay after expiry = %v, want ErrConsumed", err)
			}
		})
	}
}

func TestRegistrationsAndDeployments(t *testing.T) {
	t.Parallel()
	set := jwk.NewSet()
	key, err := jwk.FromRaw([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	_ = key.Set(jwk.KeyIDKey, "k1")
	_ = set.AddKey(key)

	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := migrated(t, b)
			ctx := context.Background()
			regs := []registration.Registration{
				{Issuer: "https://a.example", ClientID: "one", AuthEndpoint: "https://a.example/auth", KeySetURL: "https://a.example/jwks"},
				{Issuer: "https://a.example", ClientID: "two", AuthEndpoint: "https://a.example/auth", KeySetURL: "https://a.example/jwks"},
				{Issuer: "https://b.example", ClientID: "Only", AuthEndpoint: "https://b.example/auth", TokenEndpoint: "https://b.example/token", TokenAudience: "aud", KeySet: set},
			}
			rows := make([]*gormadapter.Registration, len(regs))
			for i, r := range regs {
				rows[i] = gormadapter.NewRegistration(r)
				if err := db.Create(rows[i]).Error; err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Create(&gormadapter.Deployment{RegistrationID: rows[2].ID, DeploymentID: "Dep"}).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Create(&gormadapter.Registration{Issuer: "https://a.example", ClientID: "one", AuthEndpoint: "x"}).Error; err == nil {
				t.Error("a second (issuer, client_id) row was accepted")
			}
			if err := db.Create(&gormadapter.Deployment{RegistrationID: rows[2].ID, DeploymentID: "Dep"}).Error; err == nil {
				t.Error("a second (registration, deployment_id) row was accepted")
			}
			a := mustNew(t, db)

			got, err := a.FindRegistration(ctx, "https://b.example", "")
			if err != nil {
				t.Fatal(err)
			}
			row, ok := got.(*gormadapter.Registration)
			if !ok || row.ID != rows[2].ID {
				t.Fatalf("FindRegistration = %#v, want the *Registration row", got)
			}
			lr := got.LTIRegistration()
			if err := lr.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if lr.KeySet == nil || lr.KeySet.Len() != 1 {
				t.Fatalf("key set did not round-trip: %v", lr.KeySet)
			}
			if k, ok := lr.KeySet.LookupKeyID("k1"); !ok || k.KeyType() != key.KeyType() {
				t.Errorf("key k1 missing after round trip")
			}
			if lr.TokenAudience != "aud" || lr.TokenEndpoint != "https://b.example/token" {
				t.Errorf("fields lost: %+v", lr)
			}
			if r, _ := a.FindRegistration(ctx, "https://a.example", "two"); r == nil || r.LTIRegistration().KeySet != nil {
				t.Errorf("registration without key set: KeySet should be nil, got %v", r)
			}

			for _, c := range []struct {
				iss, cid string
				err      error
			}{
				{"https://a.example", "", registration.ErrAmbiguous},
				{"https://a.example", "three", registration.ErrNotFound},
				{"https://A.example", "one", registration.ErrNotFound},
				{"https://b.example", "only", registration.ErrNotFound},
				{"", "", registration.ErrNotFound},
				{"https://c.example", "", registration.ErrNotFound},
				{"\xff", "one", registration.ErrNotFound},
			} {
				if _, err := a.FindRegistration(ctx, c.iss, c.cid); !errors.Is(err, c.err) {
					t.Errorf("FindRegistration(%q, %q) = %v, want %v", c.iss, c.cid, err, c.err)
				}
			}

			// The value FindRegistration returned, and a plain Registration.
			for _, reg := range []registration.Registerable{got, regs[2], *row} {
				d, err := a.FindDeployment(ctx, reg, "Dep")
				if err != nil {
					t.Fatalf("FindDeployment(%T): %v", reg, err)
				}
				if dd, ok := d.(*gormadapter.Deployment); !ok || dd.RegistrationID != rows[2].ID || d.LTIDeployment().DeploymentID != "Dep" {
					t.Errorf("FindDeployment = %#v", d)
				}
			}
			for _, c := range []struct {
				reg registration.Registerable
				id  string
			}{
				{got, "dep"},
				{got, ""},
				{got, strings.Repeat("x", 256)},
				{rows[0], "Dep"},
				{regs[0], "Dep"},
				{registration.Registration{Issuer: "https://nobody"}, "Dep"},
				{nil, "Dep"},
				{(*gormadapter.Registration)(nil), "Dep"},
			} {
				if _, err := a.FindDeployment(ctx, c.reg, c.id); !errors.Is(err, deployment.ErrNotFound) {
					t.Errorf("FindDeployment(%v, %q) = %v, want ErrNotFound", c.reg, c.id, err)
				}
			}
		})
	}
}

func TestConstructor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := gormadapter.New(ctx, nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			openPool := b.newDatabase(t)
			db := openPool(t)
			if _, err := gormadapter.New(ctx, db); !errors.Is(err, gormadapter.ErrNotMigrated) {
				t.Errorf("New on an empty database = %v, want ErrNotMigrated", err)
			}
			if err := gormadapter.MigrateLoginTables(ctx, db); err != nil {
				t.Fatal(err)
			}
			// Login tables alone: the default models' tables are missing.
			_, err := gormadapter.New(ctx, db)
			if !errors.Is(err, gormadapter.ErrNotMigrated) || !strings.Contains(err.Error(), gormadapter.RegistrationsTable) {
				t.Errorf("New without registration tables = %v", err)
			}
			if err := gormadapter.Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			if err := gormadapter.Migrate(ctx, db); err != nil {
				t.Fatalf("Migrate is not idempotent: %v", err)
			}
			if _, err := gormadapter.New(ctx, db); err != nil {
				t.Errorf("New after Migrate: %v", err)
			}
			bad := gormadapter.DefaultModels()
			bad.IssuerColumn = "no_such_column"
			if _, err := gormadapter.NewWithModels(ctx, db, bad); !errors.Is(err, gormadapter.ErrNotMigrated) {
				t.Errorf("NewWithModels with a wrong column = %v, want ErrNotMigrated", err)
			}
			bad = gormadapter.DefaultModels()
			bad.RegistrationKey = nil
			if _, err := gormadapter.NewWithModels(ctx, db, bad); err == nil {
				t.Error("NewWithModels without RegistrationKey succeeded")
			}
		})
	}
}

func TestPurgeExpired(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := migrated(t, b)
			clk := newClock()
			a := mustNew(t, db, gormadapter.WithClock(clk.Now))
			ctx := context.Background()
			live := login(t, clk.Now().Add(time.Hour))
			taken := login(t, clk.Now().Add(time.Hour))
			for _, l := range []nonce.Login{live, taken} {
				if err := a.PutState(ctx, l); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.TakeState(ctx, taken.State); err != nil {
				t.Fatal(err)
			}
			const expired = 12345 // more than two purge batches
			past := clk.Now().Add(-time.Second)
			seedExpiredNonces(t, db, expired, past)
			oldState := login(t, past)
			if err := a.PutState(ctx, oldState); err != nil {
				t.Fatal(err)
			}
			n, err := a.PurgeExpired(ctx)
			if err != nil || n != expired+1 {
				t.Fatalf("PurgeExpired = %d, %v; want %d", n, err, expired+1)
			}
			if _, err := a.TakeState(ctx, taken.State); !errors.Is(err, nonce.ErrConsumed) {
				t.Errorf("a taken, unexpired state was purged: %v", err)
			}
			if _, err := a.TakeState(ctx, oldState.State); !errors.Is(err, nonce.ErrNotFound) {
				t.Errorf("expired state after purge = %v, want ErrNotFound", err)
			}
			// The sweeper purges in the background.
			clk.Add(2 * time.Hour)
			stop := a.StartSweeper(10 * time.Millisecond)
			deadline := time.Now().Add(10 * time.Second)
			for {
				var count int64
				if err := db.Table(gormadapter.LoginStatesTable).Count(&count).Error; err != nil {
					t.Fatal(err)
				}
				if count == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("sweeper left %d rows", count)
				}
				time.Sleep(10 * time.Millisecond)
			}
			stop()
			stop()
		})
	}
}

// seedExpiredNonces inserts n nonces expiring at past, with unique values,
// in one set-based statement: built and bound row by row through GORM the
// 12345 rows of TestPurgeExpired cost more CPU (under -race) than the
// purge they are there for. The expiry is bound as a parameter, so the
// driver stores it exactly as it stores the adapter's own times.
func seedExpiredNonces(t *testing.T, db *gorm.DB, n int, past time.Time) {
	t.Helper()
	expiry := "?"
	if db.Dialector.Name() == "postgres" {
		expiry = "CAST(? AS TIMESTAMPTZ)"
	}
	err := db.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO `+gormadapter.NoncesTable+` (nonce, issuer, client_id, expires_at)
		SELECT CAST(? AS TEXT) || CAST(i AS TEXT), 'i', 'c', `+expiry+` FROM seq`,
		n, "expired-"+randomHex(8)+"-", past).Error
	if err != nil {
		t.Fatalf("seeding %d expired nonces: %v", n, err)
	}
}
