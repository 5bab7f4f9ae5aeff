package sqladapter_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ltikit/ltikit/examples/sqladapter"
	"github.com/ltikit/ltikit/internal/pgtest"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
)

// TestFailsClosed: every method of a Store whose database is gone returns
// an error that wraps lti.ErrStorageUnavailable (503) and is none of the
// refusal sentinels, so a launch fails closed and a broken database never
// passes for an unknown or used value. The database is gone in two ways:
// a pool pointed at a port nothing listens on, and a pool on a live
// database that was closed.
func TestFailsClosed(t *testing.T) {
	// The test database's DSN, pointed at a port nothing listens on: no
	// connection reaches the server through it, so it reserves none
	// (newDatabase below reserves the live pool's).
	unreachable := pgtest.UnreachableDSN(t, pgtest.Schema(t, "sqladapter_fault_", 0))
	cfg, err := pgx.ParseConfig(unreachable)
	if err != nil {
		t.Fatal(err)
	}

	// Open checks that the database answers.
	ctx := t.Context()
	if db, err := sqladapter.Open(ctx, unreachable); !errors.Is(err, lti.ErrStorageUnavailable) {
		if db != nil {
			db.Close()
		}
		t.Errorf("Open on a closed port = %v, want lti.ErrStorageUnavailable", err)
	}

	noServer := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { noServer.Close() })
	closed := newDatabase(t)(t)
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}

	exp := time.Now().Add(time.Hour)
	reg := &sqladapter.Platform{ID: 1, Issuer: "https://lms.example.com", ClientID: "client-1",
		AuthEndpoint: "https://lms.example.com/auth", KeySetURL: "https://lms.example.com/jwks"}
	calls := []struct {
		name string
		call func(context.Context, *sqladapter.Store, *sql.DB) error
	}{
		{"FindRegistration", func(ctx context.Context, s *sqladapter.Store, _ *sql.DB) error {
			_, err := s.FindRegistration(ctx, reg.Issuer, reg.ClientID)
			return err
		}},
		{"FindRegistrationNoClientID", func(ctx context.Context, s *sqladapter.Store, _ *sql.DB) error {
			_, err := s.FindRegistration(ctx, reg.Issuer, "")
			return err
		}},
		{"FindDeployment", func(ctx context.Context, s *sqladapter.Store, _ *sql.DB) error {
			_, err := s.FindDeployment(ctx, reg, "1")
			return err
		}},
		{"FindDeploymentOtherRegisterable", func(ctx context.Context, s *sqladapter.Store, _ *sql.DB) error {
			_, err := s.FindDeployment(ctx, reg.LTIRegistration(), "1")
			return err
		}},
		{"PutState", func(ctx context.Context, s *sqladapter.Store, _ *sql.DB) error { return s.PutState(ctx, login(exp)) }},
		{"TakeState", func(ctx context.Context, s *sqladapter.Store, _ *sql.DB) error {
			l, err := s.TakeState(ctx, nonce.NewValue())
			if l != (nonce.Login{}) {
				return fmt.Errorf("a failed TakeState returned a Login: %w", err)
			}
			return err
		}},
		{"PutNonce", func(ctx context.Context, s *sqladapter.Store, _ *sql.DB) error {
			return s.PutNonce(ctx, nonce.Nonce{Value: nonce.NewValue(), Issuer: reg.Issuer, ClientID: reg.ClientID, ExpiresAt: exp})
		}},
		{"ConsumeNonce", func(ctx context.Context, s *sqladapter.Store, _ *sql.DB) error {
			return s.ConsumeNonce(ctx, nonce.NewValue(), reg.Issuer, reg.ClientID)
		}},
		{"PurgeExpired", func(ctx context.Context, s *sqladapter.Store, _ *sql.DB) error {
			_, err := s.PurgeExpired(ctx)
			return err
		}},
		{"AddPlatform", func(ctx context.Context, s *sqladapter.Store, _ *sql.DB) error {
			_, err := s.AddPlatform(ctx, *reg)
			return err
		}},
		{"AddInstall", func(ctx context.Context, s *sqladapter.Store, _ *sql.DB) error {
			_, err := s.AddInstall(ctx, 1, "1", "")
			return err
		}},
		{"Migrate", func(ctx context.Context, _ *sqladapter.Store, db *sql.DB) error { return sqladapter.Migrate(ctx, db) }},
	}
	for _, down := range []struct {
		name string
		db   *sql.DB
	}{{"ClosedPort", noServer}, {"ClosedPool", closed}} {
		s := mustNew(t, down.db)
		for _, c := range calls {
			t.Run(down.name+"/"+c.name, func(t *testing.T) {
				err := c.call(t.Context(), s, down.db)
				switch {
				case err == nil:
					t.Fatal("succeeded with the database gone")
				case !errors.Is(err, lti.ErrStorageUnavailable):
					t.Errorf("error %v does not wrap lti.ErrStorageUnavailable", err)
				case errors.Is(err, nonce.ErrNotFound), errors.Is(err, nonce.ErrExpired), errors.Is(err, nonce.ErrConsumed),
					errors.Is(err, registration.ErrNotFound), errors.Is(err, registration.ErrAmbiguous):
					t.Errorf("error %v is a refusal, want a storage failure", err)
				}
				if got := lti.Classify(err); got.Code != lti.CodeStorageUnavailable || got.Status != http.StatusServiceUnavailable {
					t.Errorf("Classify(%v) = %s %d, want storage_unavailable 503", err, got.Code, got.Status)
				}
			})
		}
	}
}

// TestDuplicatePutFailsClosed: a put of a value already stored is an
// error wrapping both ErrDuplicate and lti.ErrStorageUnavailable, and the
// stored row is unchanged.
func TestDuplicatePutFailsClosed(t *testing.T) {
	ctx := t.Context()
	s := mustNew(t, newDatabase(t)(t))
	l := login(time.Now().Add(time.Hour))
	if err := s.PutState(ctx, l); err != nil {
		t.Fatal(err)
	}
	dup := l
	dup.TargetLinkURI = "https://evil.example/"
	dup.Binding = dup.Bind()
	if err := s.PutState(ctx, dup); !errors.Is(err, sqladapter.ErrDuplicate) || !errors.Is(err, lti.ErrStorageUnavailable) {
		t.Errorf("duplicate PutState = %v, want ErrDuplicate and lti.ErrStorageUnavailable", err)
	}
	n := nonce.Nonce{Value: l.Nonce, Issuer: l.Issuer, ClientID: l.ClientID, ExpiresAt: l.ExpiresAt}
	if err := s.PutNonce(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := s.PutNonce(ctx, n); !errors.Is(err, sqladapter.ErrDuplicate) || !errors.Is(err, lti.ErrStorageUnavailable) {
		t.Errorf("duplicate PutNonce = %v, want ErrDuplicate and lti.ErrStorageUnavailable", err)
	}
	got, err := s.TakeState(ctx, l.State)
	if err != nil || got.TargetLinkURI != l.TargetLinkURI || got.Binding != l.Binding {
		t.Errorf("TakeState after a refused duplicate = %+v, %v; want the first record", got, err)
	}
}

// TestLaunchWithDatabaseDown: the real pipeline answers 503
// storage_unavailable when the database goes away, at login (the
// registration lookup fails) and between login and launch (the state
// cannot be taken); it never lets the launch through.
func TestLaunchWithDatabaseDown(t *testing.T) {
	tool := startTool(t, newDatabase(t), false)
	browser := ltitest.NewBrowser()

	// The login succeeds while the database is up.
	ar, err := tool.platform.Authorize(t.Context(), browser)
	if err != nil {
		t.Fatal(err)
	}
	tool.dbA.Close()
	tool.dbB.Close()

	// The launch of that login, and a new login, both fail closed.
	resp, err := tool.platform.Post(t.Context(), acceptJSON(browser), ar)
	if err != nil {
		t.Fatal(err)
	}
	code := errorCode(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || code != string(lti.CodeStorageUnavailable) || tool.launched.Load() != nil {
		t.Errorf("launch with the database closed: %d %q; want 503 storage_unavailable and no launch", resp.StatusCode, code)
	}
	_, err = tool.platform.Authorize(t.Context(), browser)
	var le *ltitest.LoginError
	if !errors.As(err, &le) || le.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("login with the database closed = %v; want the tool to answer 503", err)
	}
}
