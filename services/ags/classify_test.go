package ags_test

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

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/ags"
	"github.com/ltikit/ltikit/services/token"
)

// errorTable lists every exported error of the package with the code
// lti.Classify must give it.
var errorTable = map[string]struct {
	err  error
	code lti.Code
}{
	"ErrNoAGS":             {ags.ErrNoAGS, lti.CodeServiceNotOffered},
	"ErrScopeNotGranted":   {ags.ErrScopeNotGranted, lti.CodeScopeNotGranted},
	"ErrNoLineItemsURL":    {ags.ErrNoLineItemsURL, lti.CodeServiceNotOffered},
	"ErrNoLineItem":        {ags.ErrNoLineItem, lti.CodeServiceNotOffered},
	"ErrInvalidScore":      {ags.ErrInvalidScore, lti.CodeInvalidRequest},
	"ErrInvalidLineItem":   {ags.ErrInvalidLineItem, lti.CodeInvalidRequest},
	"ErrForeignHost":       {ags.ErrForeignHost, lti.CodeForeignHost},
	"ErrBadURL":            {ags.ErrBadURL, lti.CodeForeignHost},
	"ErrResponseTooLarge":  {ags.ErrResponseTooLarge, lti.CodeResponseTooLarge},
	"ErrMalformedResponse": {ags.ErrMalformedResponse, lti.CodeMalformedResponse},
	"ErrPagingLoop":        {ags.ErrPagingLoop, lti.CodeMalformedResponse},
	"ErrTooManyPages":      {ags.ErrTooManyPages, lti.CodeResponseTooLarge},
	"ErrTooManyItems":      {ags.ErrTooManyItems, lti.CodeResponseTooLarge},
	"ErrTimeout":           {ags.ErrTimeout, lti.CodeServiceUnavailable},
	"ErrUnreachable":       {ags.ErrUnreachable, lti.CodeServiceUnavailable},
	"ErrRedirect":          {ags.ErrRedirect, lti.CodeForeignHost},
}

// TestErrorsClassify: every exported error of the package is in the table,
// and lti.Classify gives it its code, bare or wrapped; errors.Is matches
// each sentinel by identity, and no other.
func TestErrorsClassify(t *testing.T) {
	names := exportedErrVars(t)
	for _, n := range names {
		if _, ok := errorTable[n]; !ok {
			t.Errorf("ags.%s is not in the table", n)
		}
	}
	for name, tc := range errorTable {
		if !slices.Contains(names, name) {
			t.Errorf("the table lists ags.%s, which the package does not declare", name)
		}
		for _, err := range []error{tc.err, fmt.Errorf("wrapped: %w", tc.err)} {
			if c := lti.Classify(err); c.Code != tc.code || c.Kind != tc.code.Kind() || c.Status != tc.code.Status() {
				t.Errorf("Classify(%s) = %+v; want %s", name, c, tc.code)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("%s does not match itself", name)
			}
		}
		for other, o := range errorTable {
			if other != name && errors.Is(tc.err, o.err) {
				t.Errorf("errors.Is(%s, %s) is true", name, other)
			}
		}
	}
	// The errors shared with package token are the same values.
	for _, p := range [][2]error{{ags.ErrForeignHost, token.ErrForeignHost}, {ags.ErrRedirect, token.ErrRedirect}, {ags.ErrTimeout, token.ErrTimeout}, {ags.ErrUnreachable, token.ErrUnreachable}} {
		if p[0] != p[1] {
			t.Errorf("%v is not token's sentinel", p[0])
		}
	}
	if c := lti.Classify(fmt.Errorf("x: %w", &ags.HTTPError{StatusCode: 404})); c.Code != lti.CodeServiceError || c.Status != http.StatusBadGateway {
		t.Errorf("Classify(HTTPError) = %+v; want service_error, 502", c)
	}
}

// failingTransport fails every request as a refused connection does.
type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp 192.0.2.1:443: connect: connection refused")
}

// TestUnreachable: a platform that cannot be reached is ErrUnreachable
// (service_unavailable), wrapping the transport's error.
func TestUnreachable(t *testing.T) {
	reg := registration.Registration{Issuer: "https://lms.example", ClientID: "tool", TokenEndpoint: "https://lms.example/token"}
	err := callUnreachable(t, reg, &http.Client{Transport: failingTransport{}})
	if !errors.Is(err, ags.ErrUnreachable) || lti.Classify(err).Code != lti.CodeServiceUnavailable || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("%v (%+v); want ErrUnreachable wrapping the transport's error", err, lti.Classify(err))
	}
}

// TestSentinelsCannotBeModified: no exported sentinel has an exported
// field that code outside the package could set.
func TestSentinelsCannotBeModified(t *testing.T) {
	for name, tc := range errorTable {
		if got := settableFields("ags."+name, reflect.ValueOf(tc.err)); len(got) > 0 {
			t.Errorf("settable exported fields: %v", got)
		}
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

// callUnreachable makes one AGS call through client.
func callUnreachable(t *testing.T, reg registration.Registration, client *http.Client) error {
	t.Helper()
	c, err := ags.New(ags.Config{Registration: reg, Endpoint: lti.AGSEndpoint{Scope: allScopes(), LineItem: "https://lms.example/lineitems/1"},
		Source: &fakeSource{}, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LineItem(t.Context(), "")
	return err
}
