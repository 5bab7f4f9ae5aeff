package errortest

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/lti"
)

// ExportedErrVars returns the names of the exported package-level
// variables whose name starts with "Err" declared in the non-test Go files
// of dir (a package's tests run in its directory: pass "."). It fails t if
// the directory cannot be read, a file does not parse, or no such variable
// is found: a classification test that checks nothing must not pass.
func ExportedErrVars(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var names []string
	for _, en := range entries {
		name := en.Name()
		if en.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if n.IsExported() && strings.HasPrefix(n.Name, "Err") {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("no exported error variables found in %s", dir)
	}
	return names
}

// CheckDeclared compares a classification table, keyed by variable name
// ("ErrNotFound"), with the exported Err… variables the package in dir
// declares: it reports every declared variable the table lacks and every
// name of the table the package does not declare. pkg ("ags") qualifies
// the names in the messages. It returns the declared names.
func CheckDeclared[V any](t testing.TB, pkg, dir string, table map[string]V) []string {
	t.Helper()
	names := ExportedErrVars(t, dir)
	for _, n := range names {
		if _, ok := table[n]; !ok {
			t.Errorf("%s.%s is not in the table", pkg, n)
		}
	}
	for n := range table {
		if !slices.Contains(names, n) {
			t.Errorf("the table lists %s.%s, which the package does not declare", pkg, n)
		}
	}
	return names
}

// CheckClassified reports, for err bare and wrapped with %w, a
// classification other than want with want's kind and status, and an
// err that errors.Is does not match with itself. name names err in the
// messages.
func CheckClassified(t testing.TB, name string, err error, want lti.Code) {
	t.Helper()
	for _, e := range []error{err, fmt.Errorf("wrapped: %w", err)} {
		if c := lti.Classify(e); c.Code != want || c.Kind != want.Kind() || c.Status != want.Status() {
			t.Errorf("Classify(%s) = %+v; want %s", name, c, want)
		}
		if !errors.Is(e, err) {
			t.Errorf("%s does not match itself", name)
		}
	}
}

// SettableFields returns the paths, under path, of the exported fields
// reachable from v that reflection may set: through a pointer, a struct's
// exported field is addressable, so code outside the package could assign
// it. A non-nil map or slice reached through exported fields is reported
// too, as its elements can change. Unexported fields are not followed:
// only the declaring package reaches them.
func SettableFields(path string, v reflect.Value) []string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return SettableFields(path, v.Elem())
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			p := path + "." + f.Name
			if v.Field(i).CanSet() {
				out = append(out, p)
			}
			out = append(out, SettableFields(p, v.Field(i))...)
		}
		return out
	case reflect.Map, reflect.Slice:
		if !v.IsNil() {
			return []string{path + " (" + v.Kind().String() + ")"}
		}
	}
	return nil
}

// Sentinel is one row of a classification table: an exported error
// variable and the code lti.Classify must give it.
type Sentinel struct {
	// Err is the exported error variable.
	Err error
	// Code is the code lti.Classify must give Err, bare or wrapped.
	Code lti.Code
}

// Sentinels is the classification table of a package whose sentinels
// match by identity: every exported error variable, keyed by its name
// ("ErrNotFound").
type Sentinels map[string]Sentinel

// Check reports every difference between s and the exported Err…
// variables of the package in dir (CheckDeclared), every sentinel that
// does not classify to its code or match itself, bare or wrapped
// (CheckClassified), and every sentinel that errors.Is matches with
// another one of s. pkg ("ags") qualifies the names in the messages.
func (s Sentinels) Check(t testing.TB, pkg, dir string) {
	t.Helper()
	CheckDeclared(t, pkg, dir, s)
	for name, tc := range s {
		CheckClassified(t, pkg+"."+name, tc.Err, tc.Code)
		for other, o := range s {
			if other != name && errors.Is(tc.Err, o.Err) {
				t.Errorf("errors.Is(%s.%s, %s.%s) is true", pkg, name, pkg, other)
			}
		}
	}
}

// CheckUnmodifiable reports every sentinel of s that has an exported field
// code outside its package could set (SettableFields). pkg qualifies the
// names in the messages.
func (s Sentinels) CheckUnmodifiable(t testing.TB, pkg string) {
	t.Helper()
	for name, tc := range s {
		if got := SettableFields(pkg+"."+name, reflect.ValueOf(tc.Err)); len(got) > 0 {
			t.Errorf("settable exported fields: %v", got)
		}
	}
}

// RefusedMessage is the error text of RefusedTransport: a dial refused.
const RefusedMessage = "dial tcp 192.0.2.1:443: connect: connection refused"

// RefusedTransport is an http.RoundTripper that fails every request as a
// refused connection does, for the tests that prove an unreachable
// platform gives the package's ErrUnreachable.
type RefusedTransport struct{}

// RoundTrip fails with RefusedMessage and sends nothing.
func (RefusedTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New(RefusedMessage)
}

// CheckUnreachable fails t unless err, the result of a call made through
// RefusedTransport, matches unreachable (the package's ErrUnreachable),
// classifies as service_unavailable and still carries the transport's
// error text.
func CheckUnreachable(t testing.TB, err, unreachable error) {
	t.Helper()
	if !errors.Is(err, unreachable) || lti.Classify(err).Code != lti.CodeServiceUnavailable || err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("%v (%+v); want ErrUnreachable wrapping the transport's error", err, lti.Classify(err))
	}
}
