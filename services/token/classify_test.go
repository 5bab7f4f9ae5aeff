package token_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/services/token"
)

// errorTable lists every exported error of the package with the code
// lti.Classify must give it.
var errorTable = map[string]struct {
	err  error
	code lti.Code
}{
	"ErrNoTokenEndpoint":      {token.ErrNoTokenEndpoint, lti.CodeNoTokenEndpoint},
	"ErrRejected":             {token.ErrRejected, lti.CodeTokenRefused},
	"ErrMalformedResponse":    {token.ErrMalformedResponse, lti.CodeMalformedResponse},
	"ErrResponseTooLarge":     {token.ErrResponseTooLarge, lti.CodeResponseTooLarge},
	"ErrNoAccessToken":        {token.ErrNoAccessToken, lti.CodeMalformedResponse},
	"ErrUnsupportedTokenType": {token.ErrUnsupportedTokenType, lti.CodeMalformedResponse},
	"ErrForeignHost":          {token.ErrForeignHost, lti.CodeForeignHost},
	"ErrRedirect":             {token.ErrRedirect, lti.CodeForeignHost},
	"ErrTimeout":              {token.ErrTimeout, lti.CodeServiceUnavailable},
	"ErrUnreachable":          {token.ErrUnreachable, lti.CodeServiceUnavailable},
}

// TestErrorsClassify: every exported error of the package is in the table,
// and lti.Classify gives it its code, bare or wrapped; errors.Is matches
// each sentinel by identity (and ErrTimeout matches
// context.DeadlineExceeded, as before).
func TestErrorsClassify(t *testing.T) {
	names := exportedErrVars(t)
	for _, n := range names {
		if _, ok := errorTable[n]; !ok {
			t.Errorf("token.%s is not in the table", n)
		}
	}
	for name, tc := range errorTable {
		if !slices.Contains(names, name) {
			t.Errorf("the table lists token.%s, which the package does not declare", name)
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
	if !errors.Is(token.ErrTimeout, context.DeadlineExceeded) {
		t.Error("ErrTimeout does not match context.DeadlineExceeded")
	}
}

// TestRetrieveErrorCode: a RetrieveError takes the code of the failure it
// wraps, and so does lti.Classify.
func TestRetrieveErrorCode(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		code   lti.Code
	}{
		{400, `{"error":"invalid_client"}`, lti.CodeTokenRefused},
		{500, "<html>oops</html>", lti.CodeTokenRefused},
		{200, "<html>welcome</html>", lti.CodeMalformedResponse},
		{200, `{"token_type":"Bearer"}`, lti.CodeMalformedResponse},
		{200, `{"access_token":"x","token_type":"mac"}`, lti.CodeMalformedResponse},
	} {
		_, err := token.ParseResponse(tc.status, []byte(tc.body))
		var re *token.RetrieveError
		if !errors.As(err, &re) || re.Code() != tc.code || lti.Classify(err).Code != tc.code {
			t.Errorf("ParseResponse(%d, %q) = %v; want a RetrieveError with code %s", tc.status, tc.body, err, tc.code)
		}
	}
	if c := (&token.RetrieveError{}).Code(); c != lti.CodeTokenRefused {
		t.Errorf("zero RetrieveError code %q; want token_refused", c)
	}
}

// TestUnreachable: a token endpoint or service that cannot be reached is
// ErrUnreachable (service_unavailable, retry later), wrapping the
// transport's error; no request reached anything.
func TestUnreachable(t *testing.T) {
	e := newEnv(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	reg := e.reg
	reg.TokenEndpoint = closed.URL + "/token"
	_, err := e.client.Token(t.Context(), reg, []string{scopeLineItem})
	if !errors.Is(err, token.ErrUnreachable) || lti.Classify(err).Code != lti.CodeServiceUnavailable {
		t.Fatalf("Token: %v (%+v); want ErrUnreachable", err, lti.Classify(err))
	}

	reg = e.reg
	reg.Issuer = closed.URL // the service is on the platform, but down
	req, _ := http.NewRequest(http.MethodGet, closed.URL+"/svc", nil)
	resp, err := e.client.Do(t.Context(), reg, []string{scopeLineItem}, req)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, token.ErrUnreachable) || lti.Classify(err).Code != lti.CodeServiceUnavailable {
		t.Fatalf("Do: %v (%+v); want ErrUnreachable", err, lti.Classify(err))
	}

	// A refused redirect keeps its own code: it is not a network failure.
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/svc/x?redirect="+closed.URL+"/elsewhere", nil)
	resp, err = e.client.Do(t.Context(), e.reg, []string{scopeLineItem}, req)
	if resp != nil {
		resp.Body.Close()
	}
	if errors.Is(err, token.ErrUnreachable) || lti.Classify(err).Code != lti.CodeForeignHost {
		t.Fatalf("redirect off the platform: %v (%+v); want foreign_host", err, lti.Classify(err))
	}
}

// TestSentinelsCannotBeModified: no exported sentinel has an exported
// field that code outside the package could set.
func TestSentinelsCannotBeModified(t *testing.T) {
	for name, tc := range errorTable {
		if got := settableFields("token."+name, reflect.ValueOf(tc.err)); len(got) > 0 {
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
