package errortest_test

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/internal/errortest"
	"github.com/ltikit/ltikit/lti"
)

// recorder is a testing.TB that keeps the failures it is given instead of
// failing the test, so the tests can check that the helpers report.
type recorder struct {
	testing.TB
	msgs  []string
	fatal bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatal(args ...any) {
	r.msgs = append(r.msgs, fmt.Sprint(args...))
	r.fatal = true
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Fatal(fmt.Sprintf(format, args...))
}

// run calls f with a recorder on its own goroutine (a Fatal ends it) and
// returns the recorder.
func run(t *testing.T, f func(testing.TB)) *recorder {
	t.Helper()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// TestExportedErrVars: the exported Err… variables of the non-test files,
// single or grouped, and nothing else: no unexported variable, constant,
// function or variable of a test file.
func TestExportedErrVars(t *testing.T) {
	got := errortest.ExportedErrVars(t, "testdata/sample")
	slices.Sort(got)
	if want := []string{"ErrFive", "ErrFour", "ErrOne", "ErrTwo"}; !slices.Equal(got, want) {
		t.Errorf("ExportedErrVars = %v; want %v", got, want)
	}
	for _, dir := range []string{"testdata/none", "testdata/missing"} {
		if r := run(t, func(tb testing.TB) { errortest.ExportedErrVars(tb, dir) }); !r.fatal {
			t.Errorf("ExportedErrVars(%s) did not fail the test: %v", dir, r.msgs)
		}
	}
}

// TestCheckDeclared: a variable missing from the table and a table entry
// the package does not declare are both reported, by qualified name.
func TestCheckDeclared(t *testing.T) {
	table := map[string]int{"ErrOne": 1, "ErrTwo": 2, "ErrFour": 4, "ErrFive": 5}
	if r := run(t, func(tb testing.TB) { errortest.CheckDeclared(tb, "sample", "testdata/sample", table) }); len(r.msgs) != 0 {
		t.Errorf("a complete table: %v", r.msgs)
	}
	delete(table, "ErrTwo")
	table["ErrSix"] = 6
	r := run(t, func(tb testing.TB) { errortest.CheckDeclared(tb, "sample", "testdata/sample", table) })
	want := []string{"sample.ErrTwo is not in the table", "the table lists sample.ErrSix, which the package does not declare"}
	if !slices.Equal(r.msgs, want) {
		t.Errorf("messages %q; want %q", r.msgs, want)
	}
}

// TestCheckClassified: a sentinel with its code passes; a wrong code, an
// error without a code and an error that does not match itself are
// reported.
func TestCheckClassified(t *testing.T) {
	state := lti.NewSentinel(lti.CodeInvalidState, "x: bad state")
	if r := run(t, func(tb testing.TB) { errortest.CheckClassified(tb, "state", state, lti.CodeInvalidState) }); len(r.msgs) != 0 {
		t.Errorf("a sentinel with its code: %v", r.msgs)
	}
	for _, tc := range []struct {
		name string
		err  error
		want lti.Code
	}{
		{"wrong code", state, lti.CodeInvalidNonce},
		{"no code", errors.New("plain"), lti.CodeInvalidState},
		{"not itself", neverItself{}, lti.CodeInternal},
	} {
		r := run(t, func(tb testing.TB) { errortest.CheckClassified(tb, tc.name, tc.err, tc.want) })
		if len(r.msgs) == 0 || !strings.Contains(r.msgs[0], tc.name) {
			t.Errorf("%s: messages %q", tc.name, r.msgs)
		}
	}
}

// neverItself is an error that errors.Is does not match with itself: it
// is not comparable, and its Is method says no.
type neverItself struct{ _ []int }

func (neverItself) Error() string { return "never itself" }
func (neverItself) Is(error) bool { return false }

// TestSettableFieldsDetects: the check catches the shape the sentinels
// used to have (a pointer to a struct with exported fields), so its
// silence on the real sentinels means something.
func TestSettableFieldsDetects(t *testing.T) {
	type old struct {
		Code        string
		Description string
		hidden      int
	}
	var e any = &old{Code: "x", hidden: 1}
	if got := errortest.SettableFields("old", reflect.ValueOf(e)); len(got) != 2 {
		t.Fatalf("SettableFields = %v; want Code and Description", got)
	}
	type closed struct{ code, msg string }
	if got := errortest.SettableFields("closed", reflect.ValueOf(&closed{"a", "b"})); len(got) != 0 {
		t.Fatalf("SettableFields = %v; want none", got)
	}
}

// TestSettableFieldsPaths: nested exported fields are reported by path,
// a map or slice reached through them as changeable, nil values and
// values not reached through a pointer as nothing.
func TestSettableFieldsPaths(t *testing.T) {
	type inner struct{ Detail string }
	type outer struct {
		In    inner
		Tags  []string
		Extra map[string]string
		None  []string
		in    inner
	}
	v := &outer{Tags: []string{"a"}, Extra: map[string]string{}, in: inner{Detail: "hidden"}}
	got := errortest.SettableFields("e", reflect.ValueOf(v))
	want := []string{"e.In", "e.In.Detail", "e.Tags", "e.Tags (slice)", "e.Extra", "e.Extra (map)", "e.None"}
	if !slices.Equal(got, want) {
		t.Errorf("SettableFields = %q; want %q", got, want)
	}
	if got := errortest.SettableFields("nil", reflect.ValueOf((*outer)(nil))); len(got) != 0 {
		t.Errorf("nil pointer: %v", got)
	}
	if got := errortest.SettableFields("value", reflect.ValueOf(inner{Detail: "x"})); len(got) != 0 {
		t.Errorf("a struct not behind a pointer: %v", got)
	}
	if got := errortest.SettableFields("none", reflect.Value{}); len(got) != 0 {
		t.Errorf("the zero Value: %v", got)
	}
}

// TestSentinelsCheck: a table of distinct sentinels with their codes
// passes; one whose sentinels match each other, or whose sentinel has a
// settable field, is reported.
func TestSentinelsCheck(t *testing.T) {
	one := lti.NewSentinel(lti.CodeInvalidState, "one")
	two := lti.NewSentinel(lti.CodeInvalidNonce, "two")
	good := errortest.Sentinels{
		"ErrOne":  {Err: one, Code: lti.CodeInvalidState},
		"ErrTwo":  {Err: two, Code: lti.CodeInvalidNonce},
		"ErrFour": {Err: lti.NewSentinel(lti.CodeInternal, "four"), Code: lti.CodeInternal},
		"ErrFive": {Err: lti.NewSentinel(lti.CodeInternal, "five"), Code: lti.CodeInternal},
	}
	if r := run(t, func(tb testing.TB) {
		good.Check(tb, "sample", "testdata/sample")
		good.CheckUnmodifiable(tb, "sample")
	}); len(r.msgs) != 0 {
		t.Errorf("a good table: %v", r.msgs)
	}
	// ErrTwo wraps ErrOne: errors.Is(ErrTwo, ErrOne) is true.
	bad := errortest.Sentinels{
		"ErrOne":  good["ErrOne"],
		"ErrTwo":  {Err: fmt.Errorf("two: %w", one), Code: lti.CodeInvalidState},
		"ErrFour": good["ErrFour"],
		"ErrFive": {Err: &open{Code: "x"}, Code: lti.CodeInvalidState}, // Classify gives it internal_error
	}
	r := run(t, func(tb testing.TB) {
		bad.Check(tb, "sample", "testdata/sample")
		bad.CheckUnmodifiable(tb, "sample")
	})
	for _, want := range []string{"errors.Is(sample.ErrTwo, sample.ErrOne) is true", "Classify(sample.ErrFive)", "sample.ErrFive.Code"} {
		if !slices.ContainsFunc(r.msgs, func(m string) bool { return strings.Contains(m, want) }) {
			t.Errorf("no message with %q in %q", want, r.msgs)
		}
	}
}

// open is an error with a field anyone can set.
type open struct{ Code string }

func (e *open) Error() string { return e.Code }

// TestCheckUnreachable: the refused transport's error, wrapped in a
// service_unavailable sentinel, passes; the sentinel without the
// transport's error, another sentinel, and nil fail.
func TestCheckUnreachable(t *testing.T) {
	unreachable := lti.NewSentinel(lti.CodeServiceUnavailable, "svc: unreachable")
	_, terr := errortest.RefusedTransport{}.RoundTrip(nil)
	good := fmt.Errorf("%w: %w", unreachable, terr)
	if r := run(t, func(tb testing.TB) { errortest.CheckUnreachable(tb, good, unreachable) }); r.fatal {
		t.Errorf("the refused call: %v", r.msgs)
	}
	other := lti.NewSentinel(lti.CodeServiceUnavailable, "svc: other")
	for name, err := range map[string]error{"no transport error": unreachable, "other sentinel": fmt.Errorf("%w: %w", other, terr), "nil": nil} {
		if r := run(t, func(tb testing.TB) { errortest.CheckUnreachable(tb, err, unreachable) }); !r.fatal {
			t.Errorf("%s: not reported", name)
		}
	}
}
