package dynreg_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/dynreg"
	"github.com/ltikit/ltikit/lti"
)

// errorTable lists every exported error of the package with the code
// lti.Classify must give it and the status of the registration page.
var errorTable = map[string]struct {
	err    error
	code   lti.Code
	status int
}{
	"ErrInvalidRequest":           {dynreg.ErrInvalidRequest, lti.CodeInvalidRequest, http.StatusBadRequest},
	"ErrNotAllowed":               {dynreg.ErrNotAllowed, lti.CodeRegistrationNotAllowed, http.StatusForbidden},
	"ErrConfigurationUnavailable": {dynreg.ErrConfigurationUnavailable, lti.CodeConfigurationUnavailable, http.StatusBadGateway},
	"ErrInvalidConfiguration":     {dynreg.ErrInvalidConfiguration, lti.CodeInvalidConfiguration, http.StatusBadGateway},
	"ErrRegistrationRefused":      {dynreg.ErrRegistrationRefused, lti.CodeRegistrationRefused, http.StatusBadGateway},
	"ErrRegistrationFailed":       {dynreg.ErrRegistrationFailed, lti.CodeRegistrationFailed, http.StatusBadGateway},
	"ErrRegistrationConflict":     {dynreg.ErrRegistrationConflict, lti.CodeRegistrationConflict, http.StatusConflict},
	"ErrStorageUnavailable":       {dynreg.ErrStorageUnavailable, lti.CodeStorageUnavailable, http.StatusServiceUnavailable},
	"ErrServerError":              {dynreg.ErrServerError, lti.CodeInternal, http.StatusInternalServerError},
}

// TestErrorsClassify: every exported error of the package is in the table;
// lti.Classify gives it its code and status, bare or wrapped; errors.Is
// matches by code, so each sentinel matches itself and no other.
func TestErrorsClassify(t *testing.T) {
	names := exportedErrVars(t)
	for _, n := range names {
		if _, ok := errorTable[n]; !ok {
			t.Errorf("dynreg.%s is not in the table", n)
		}
	}
	for name, tc := range errorTable {
		if !slices.Contains(names, name) {
			t.Errorf("the table lists dynreg.%s, which the package does not declare", name)
		}
		for _, err := range []error{tc.err, fmt.Errorf("wrapped: %w", tc.err)} {
			c := lti.Classify(err)
			if c.Code != tc.code || c.Status != tc.status || c.Kind != tc.code.Kind() {
				t.Errorf("Classify(%s) = %+v; want %s, %d", name, c, tc.code, tc.status)
			}
			var e *dynreg.Error
			if !errors.As(err, &e) || e.Code() != tc.code || e.Status() != tc.status || e.Kind() != tc.code.Kind() || e.Description() == "" {
				t.Errorf("%s: %v; want an *Error with code %s", name, err, tc.code)
			}
		}
		for other, o := range errorTable {
			if got := errors.Is(tc.err, o.err); got != (other == name) {
				t.Errorf("errors.Is(%s, %s) = %v", name, other, got)
			}
		}
	}
}

// TestNotAllowed: the hosts' refusal is a registration_not_allowed Error
// with their words, matching ErrNotAllowed, and leaves the sentinel as it
// was.
func TestNotAllowed(t *testing.T) {
	before := dynreg.ErrNotAllowed.Error()
	e := dynreg.NotAllowed("invitations only")
	if e.Code() != lti.CodeRegistrationNotAllowed || e.Description() != "invitations only" || !errors.Is(e, dynreg.ErrNotAllowed) || e.Status() != http.StatusForbidden {
		t.Fatalf("NotAllowed = %v (code %s, status %d)", e, e.Code(), e.Status())
	}
	if dynreg.NotAllowed("").Description() != dynreg.ErrNotAllowed.Description() {
		t.Fatal("an empty reason does not keep the generic description")
	}
	if dynreg.ErrNotAllowed.Error() != before || e == dynreg.ErrNotAllowed {
		t.Fatal("NotAllowed changed or returned the sentinel")
	}
}

// TestSentinelsCannotBeModified: no exported sentinel, and no error the
// package builds, has an exported field that code outside the package
// could set.
func TestSentinelsCannotBeModified(t *testing.T) {
	for name, tc := range errorTable {
		if got := settableFields("dynreg."+name, reflect.ValueOf(tc.err)); len(got) > 0 {
			t.Errorf("settable exported fields: %v", got)
		}
	}
	if got := settableFields("NotAllowed", reflect.ValueOf(dynreg.NotAllowed("x"))); len(got) > 0 {
		t.Errorf("settable exported fields: %v", got)
	}
}

// exportedErrVars returns the names of the package-level exported
// variables whose name starts with "Err" declared in the package's non-test
// Go files (the test runs in the package's directory), so the table of a
// classification test cannot miss a sentinel added later.
func exportedErrVars(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != gotoken.VAR {
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
		t.Fatal("no exported error variables found")
	}
	return names
}

// settableFields returns the paths of the exported fields reachable from v
// that reflection may set: through a pointer, a struct's exported field is
// addressable, so code outside the package could assign it. Unexported
// fields are not followed: only the declaring package reaches them.
func settableFields(path string, v reflect.Value) []string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return settableFields(path, v.Elem())
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
			out = append(out, settableFields(p, v.Field(i))...)
		}
		return out
	case reflect.Map, reflect.Slice:
		// Reached through exported fields only: its elements can change.
		if !v.IsNil() {
			return []string{path + " (" + v.Kind().String() + ")"}
		}
	}
	return nil
}

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
	if got := settableFields("old", reflect.ValueOf(e)); len(got) != 2 {
		t.Fatalf("settableFields = %v; want Code and Description", got)
	}
	type closed struct{ code, msg string }
	if got := settableFields("closed", reflect.ValueOf(&closed{"a", "b"})); len(got) != 0 {
		t.Fatalf("settableFields = %v; want none", got)
	}
}
