package deeplink_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/deeplink"
	"github.com/ltikit/ltikit/lti"
)

// sentinels lists every exported error of the package with its reason.
var sentinels = map[string]struct {
	err    error
	reason deeplink.Reason
}{
	"ErrNotDeepLinking":       {deeplink.ErrNotDeepLinking, deeplink.ReasonNotDeepLinking},
	"ErrInvalidSettings":      {deeplink.ErrInvalidSettings, deeplink.ReasonInvalidSettings},
	"ErrInvalidReturnURL":     {deeplink.ErrInvalidReturnURL, deeplink.ReasonInvalidReturnURL},
	"ErrInvalidRequest":       {deeplink.ErrInvalidRequest, deeplink.ReasonInvalidRequest},
	"ErrTypeNotAccepted":      {deeplink.ErrTypeNotAccepted, deeplink.ReasonTypeNotAccepted},
	"ErrMultipleNotAccepted":  {deeplink.ErrMultipleNotAccepted, deeplink.ReasonMultipleNotAccepted},
	"ErrLineItemNotAccepted":  {deeplink.ErrLineItemNotAccepted, deeplink.ReasonLineItemNotAccepted},
	"ErrTargetNotAccepted":    {deeplink.ErrTargetNotAccepted, deeplink.ReasonTargetNotAccepted},
	"ErrMediaTypeNotAccepted": {deeplink.ErrMediaTypeNotAccepted, deeplink.ReasonMediaTypeNotAccepted},
	"ErrInvalidURL":           {deeplink.ErrInvalidURL, deeplink.ReasonInvalidURL},
	"ErrInvalidItem":          {deeplink.ErrInvalidItem, deeplink.ReasonInvalidItem},
}

// sentinelOf returns the sentinel of reason.
func sentinelOf(t *testing.T, reason deeplink.Reason) error {
	t.Helper()
	for _, s := range sentinels {
		if s.reason == reason {
			return s.err
		}
	}
	t.Fatalf("no sentinel for reason %q", reason)
	return nil
}

// TestErrorsClassify: every exported error of the package is in the table,
// and lti.Classify gives it the code invalid_deep_linking (400, input),
// bare or wrapped; its reason is the one of its name; errors.Is matches it
// by reason.
func TestErrorsClassify(t *testing.T) {
	names := exportedErrVars(t)
	for _, n := range names {
		if _, ok := sentinels[n]; !ok {
			t.Errorf("deeplink.%s is not in the table", n)
		}
	}
	for name, s := range sentinels {
		if !slices.Contains(names, name) {
			t.Errorf("the table lists deeplink.%s, which the package does not declare", name)
		}
		for _, err := range []error{s.err, fmt.Errorf("wrapped: %w", s.err)} {
			c := lti.Classify(err)
			if c.Code != lti.CodeInvalidDeepLinking || c.Kind != lti.KindInput || c.Status != 400 {
				t.Errorf("Classify(%s) = %+v; want invalid_deep_linking, input, 400", name, c)
			}
			var de *deeplink.Error
			if !errors.As(err, &de) || de.Reason() != s.reason || de.Item() != -1 || de.Field() != "" || de.Detail() != "" {
				t.Errorf("%s: reason %q item %d; want %q, -1", name, de.Reason(), de.Item(), s.reason)
			}
			if !errors.Is(err, s.err) {
				t.Errorf("%s does not match itself with errors.Is", name)
			}
		}
		for other, o := range sentinels {
			if other != name && errors.Is(s.err, o.err) {
				t.Errorf("%s matches %s", name, other)
			}
		}
	}
}

// TestSentinelsCannotBeModified: no exported sentinel has an exported
// field that code outside the package could set (the Reason, Item, Field
// and Detail are read with methods).
func TestSentinelsCannotBeModified(t *testing.T) {
	for name, s := range sentinels {
		if got := settableFields("deeplink."+name, reflect.ValueOf(s.err)); len(got) > 0 {
			t.Errorf("settable exported fields: %v", got)
		}
	}
	// A refusal returned by the package is just as closed.
	err := (&deeplink.Response{Request: baseRequest(), Items: []deeplink.Item{deeplink.Link{URL: "javascript:x"}}}).Validate()
	var de *deeplink.Error
	if !errors.As(err, &de) {
		t.Fatalf("err = %v; want a *deeplink.Error", err)
	}
	if got := settableFields("refusal", reflect.ValueOf(de)); len(got) > 0 {
		t.Errorf("settable exported fields: %v", got)
	}
	if de.Reason() != deeplink.ReasonInvalidURL || de.Item() != 0 || de.Field() != "url" || de.Detail() == "" || de.Code() != lti.CodeInvalidDeepLinking {
		t.Errorf("refusal %v: reason %q item %d field %q detail %q code %q", de, de.Reason(), de.Item(), de.Field(), de.Detail(), de.Code())
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
