package lti_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/internal/errortest"
	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/session"
	"github.com/ltikit/ltikit/storage"
	"github.com/ltikit/ltikit/toolkey"
)

// ltiSentinels are the exported error variables of package lti, by name.
var ltiSentinels = map[string]*lti.Error{
	"ErrInvalidRequest":      lti.ErrInvalidRequest,
	"ErrUnknownRegistration": lti.ErrUnknownRegistration,
	"ErrPlatformError":       lti.ErrPlatformError,
	"ErrInvalidState":        lti.ErrInvalidState,
	"ErrInvalidToken":        lti.ErrInvalidToken,
	"ErrInvalidSignature":    lti.ErrInvalidSignature,
	"ErrTokenExpired":        lti.ErrTokenExpired,
	"ErrInvalidClaims":       lti.ErrInvalidClaims,
	"ErrInvalidNonce":        lti.ErrInvalidNonce,
	"ErrUnknownDeployment":   lti.ErrUnknownDeployment,
	"ErrKeysetUnavailable":   lti.ErrKeysetUnavailable,
	"ErrStorageUnavailable":  lti.ErrStorageUnavailable,
}

// snake turns "InvalidRequest" into "invalid_request".
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestErrorHasNoExportedField: no one can change an *lti.Error, sentinels
// included; the only way to a different error is a With… copy.
func TestErrorHasNoExportedField(t *testing.T) {
	typ := reflect.TypeFor[lti.Error]()
	for i := range typ.NumField() {
		if f := typ.Field(i); f.IsExported() {
			t.Errorf("lti.Error has the exported field %s: a sentinel could be modified", f.Name)
		}
	}
	// Try: no field of a sentinel can be set through reflection either.
	v := reflect.ValueOf(lti.ErrInvalidState).Elem()
	for i := range v.NumField() {
		if v.Field(i).CanSet() {
			t.Errorf("field %s of lti.ErrInvalidState can be set", v.Type().Field(i).Name)
		}
	}
	// The With… methods copy: the sentinel is unchanged.
	before := lti.ErrInvalidState.Description()
	e := lti.ErrInvalidState.WithDescription("changed").WithSpec("§0").WithCause(errors.New("cause"))
	if lti.ErrInvalidState.Description() != before || lti.ErrInvalidState.SpecRef() != "" || lti.ErrInvalidState.Unwrap() != nil {
		t.Errorf("a With… method changed the sentinel: %v", lti.ErrInvalidState)
	}
	if !errors.Is(e, lti.ErrInvalidState) || e.Description() != "changed" || e.SpecRef() != "§0" {
		t.Errorf("copy %v: description %q, spec %q", e, e.Description(), e.SpecRef())
	}
}

// TestSentinelsOfLTI: every exported Err… variable of package lti is an
// *Error listed in ltiSentinels whose code is its name in snake case
// (ErrInvalidState is invalid_state), with the code's status and kind.
func TestSentinelsOfLTI(t *testing.T) {
	declared := errortest.CheckDeclared(t, "lti", ".", ltiSentinels)
	for _, name := range declared {
		e, ok := ltiSentinels[name]
		if !ok {
			continue // reported by CheckDeclared
		}
		want := lti.Code(snake(strings.TrimPrefix(name, "Err")))
		if e.Code() != want {
			t.Errorf("lti.%s.Code() = %q, want %q", name, e.Code(), want)
		}
		if e.Status() != want.Status() || e.Kind() != want.Kind() || e.Description() == "" {
			t.Errorf("lti.%s: status %d kind %q description %q", name, e.Status(), e.Kind(), e.Description())
		}
		if !errors.Is(fmt.Errorf("wrapped: %w", e.WithDescription("other")), e) {
			t.Errorf("lti.%s does not match a copy of itself by code", name)
		}
	}
}

// TestCodes: every code has a known status (4xx or 5xx) and kind, and is
// in snake case.
func TestCodes(t *testing.T) {
	kinds := map[lti.Kind]bool{lti.KindInput: true, lti.KindSecurity: true, lti.KindPlatform: true,
		lti.KindInfrastructure: true, lti.KindConfiguration: true}
	seen := map[lti.Code]bool{}
	for _, c := range lti.Codes() {
		if seen[c] {
			t.Errorf("code %q listed twice", c)
		}
		seen[c] = true
		if s := c.Status(); s < 400 || s > 599 {
			t.Errorf("%s: status %d", c, s)
		}
		if !kinds[c.Kind()] {
			t.Errorf("%s: kind %q", c, c.Kind())
		}
		if string(c) != snake(string(c)) || c == "" {
			t.Errorf("code %q is not snake case", c)
		}
	}
	if unknown := lti.Code("no_such_code"); unknown.Status() != http.StatusBadRequest || unknown.Kind() != lti.KindInput {
		t.Errorf("unknown code: %d %s", unknown.Status(), unknown.Kind())
	}
}

// TestNewSentinel: a sentinel with a code matches by identity, keeps its
// message, and has no field anyone can set.
func TestNewSentinel(t *testing.T) {
	a := lti.NewSentinel(lti.CodeInvalidState, "x: not found")
	b := lti.NewSentinel(lti.CodeInvalidState, "x: not found")
	if a.Error() != "x: not found" {
		t.Errorf("Error() = %q", a.Error())
	}
	if errors.Is(a, b) || errors.Is(b, a) || !errors.Is(fmt.Errorf("w: %w", a), a) {
		t.Error("sentinels of NewSentinel must match by identity only")
	}
	if state := fmt.Errorf("launch: %w", lti.ErrInvalidState); errors.Is(a, lti.ErrInvalidState) || errors.Is(state, a) {
		t.Error("a NewSentinel value must not match the *lti.Error of its code, nor the reverse")
	}
	var c lti.Coded
	if !errors.As(a, &c) || c.Code() != lti.CodeInvalidState {
		t.Errorf("errors.As(Coded) = %v", c)
	}
	v := reflect.ValueOf(a)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		t.Fatalf("NewSentinel returned a %T", a)
	}
	for i := range v.Elem().NumField() {
		if f := v.Elem().Type().Field(i); f.IsExported() || v.Elem().Field(i).CanSet() {
			t.Errorf("the sentinel's field %s can be set", f.Name)
		}
	}
}

// TestClassify: every sentinel of the launch-side packages, wrapped with
// %w, classifies to its code, the code's kind and status; an error without
// a code is internal_error, a context time-out service_unavailable, nil
// the zero Class.
func TestClassify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	tests := []struct {
		name string
		err  error
		want lti.Code
	}{
		{"registration.ErrNotFound", registration.ErrNotFound, lti.CodeUnknownRegistration},
		{"registration.ErrAmbiguous", registration.ErrAmbiguous, lti.CodeUnknownRegistration},
		{"deployment.ErrNotFound", deployment.ErrNotFound, lti.CodeUnknownDeployment},
		{"nonce.ErrNotFound", nonce.ErrNotFound, lti.CodeInvalidState},
		{"nonce.ErrExpired", nonce.ErrExpired, lti.CodeInvalidState},
		{"nonce.ErrConsumed", nonce.ErrConsumed, lti.CodeInvalidState},
		{"storage.ErrExists", storage.ErrExists, lti.CodeAlreadyExists},
		{"storage.ErrNoStore", storage.ErrNoStore, lti.CodeStorageUnavailable},
		{"session.ErrNotFound", session.ErrNotFound, lti.CodeNoSession},
		{"session.ErrExpired", session.ErrExpired, lti.CodeNoSession},
		{"session.ErrNoSession", session.ErrNoSession, lti.CodeNoSession},
		{"keys.ErrKeyNotFound", keys.ErrKeyNotFound, lti.CodeInvalidSignature},
		{"keys.ErrUnavailable", keys.ErrUnavailable, lti.CodeKeysetUnavailable},
		{"keys.FetchError", &keys.FetchError{URL: "https://lms.example/jwks", Status: 500}, lti.CodeKeysetUnavailable},
		{"toolkey.ErrNegativeDelay", toolkey.ErrNegativeDelay, lti.CodeInvalidRequest},
		{"memory.ErrDuplicate", memory.ErrDuplicate, lti.CodeAlreadyExists},
		{"memory.ErrFull", memory.ErrFull, lti.CodeStorageUnavailable},
		{"plain error", errors.New("boom"), lti.CodeInternal},
		{"context deadline", ctx.Err(), lti.CodeServiceUnavailable},
		{"context.DeadlineExceeded", context.DeadlineExceeded, lti.CodeServiceUnavailable},
		{"context.Canceled", context.Canceled, lti.CodeInternal},
		{"an *lti.Error with a cause without a code", lti.ErrInvalidNonce.WithCause(errors.New("cause")), lti.CodeInvalidNonce},
		{"the outer code wins", lti.ErrInvalidState.WithCause(keys.ErrUnavailable), lti.CodeInvalidState},
		{"a coded cause of a plain error", fmt.Errorf("store: %w", storage.ErrExists), lti.CodeAlreadyExists},
		{"the first of several wrapped", fmt.Errorf("%w: %w", keys.ErrKeyNotFound, keys.ErrUnavailable), lti.CodeInvalidSignature},
	}
	for _, sentinel := range ltiSentinels {
		tests = append(tests, struct {
			name string
			err  error
			want lti.Code
		}{"lti " + string(sentinel.Code()), sentinel, sentinel.Code()})
	}
	for _, tc := range tests {
		for _, err := range []error{tc.err, fmt.Errorf("op: %w", tc.err), fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", tc.err))} {
			got := lti.Classify(err)
			want := lti.Class{Code: tc.want, Kind: tc.want.Kind(), Status: tc.want.Status()}
			if got != want {
				t.Errorf("%s: Classify(%v) = %+v, want %+v", tc.name, err, got, want)
			}
		}
	}
	if got := lti.Classify(nil); got != (lti.Class{}) {
		t.Errorf("Classify(nil) = %+v, want the zero Class", got)
	}
	if c := lti.Classify(errors.New("x")); c.Status != http.StatusInternalServerError || c.Kind != lti.KindInfrastructure {
		t.Errorf("an error without a code: %+v", c)
	}
}

// TestAsErrorKeepsCodes: an error that carries a code but is not an
// *Error keeps its code through AsError, with a generic description; an
// error without a code fails closed as storage_unavailable.
func TestAsErrorKeepsCodes(t *testing.T) {
	notFound := lti.NewSentinel(lti.CodeUnknownRegistration, "registration: not found")
	for _, tc := range []struct {
		name string
		err  error
		want lti.Code
		desc string
	}{
		{"sentinel", notFound, lti.CodeUnknownRegistration, lti.ErrUnknownRegistration.Description()},
		{"wrapped sentinel", fmt.Errorf("lookup: %w", notFound), lti.CodeUnknownRegistration, lti.ErrUnknownRegistration.Description()},
		{"services code", lti.NewSentinel(lti.CodeTokenRefused, "token: refused"), lti.CodeTokenRefused, "the platform's answer could not be used"},
		{"no code", errors.New("boom"), lti.CodeStorageUnavailable, lti.ErrStorageUnavailable.Description()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := lti.AsError(tc.err)
			if e.Code() != tc.want || e.Description() != tc.desc || !errors.Is(e, tc.err) {
				t.Fatalf("AsError = %v (description %q), want code %s, description %q, wrapping the error", e, e.Description(), tc.want, tc.desc)
			}
		})
	}
}
