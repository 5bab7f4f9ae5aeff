package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormsqlite "github.com/ltikit/ltikit/adapters/gorm/sqlite"
	"github.com/ltikit/ltikit/adapters/memory"
	redisadapter "github.com/ltikit/ltikit/adapters/redis"
	"github.com/ltikit/ltikit/deeplink"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/dynreg"
	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/ags"
	"github.com/ltikit/ltikit/services/nrps"
	ltitoken "github.com/ltikit/ltikit/services/token"
	"github.com/ltikit/ltikit/session"
	"github.com/ltikit/ltikit/storage"
	"github.com/ltikit/ltikit/toolkey"
)

// moduleSentinels is every exported error variable of the library's
// packages, by qualified name, with its code.
var moduleSentinels = map[string]struct {
	err  error
	code lti.Code
}{
	"lti.ErrInvalidRequest":      {lti.ErrInvalidRequest, lti.CodeInvalidRequest},
	"lti.ErrUnknownRegistration": {lti.ErrUnknownRegistration, lti.CodeUnknownRegistration},
	"lti.ErrPlatformError":       {lti.ErrPlatformError, lti.CodePlatformError},
	"lti.ErrInvalidState":        {lti.ErrInvalidState, lti.CodeInvalidState},
	"lti.ErrInvalidToken":        {lti.ErrInvalidToken, lti.CodeInvalidToken},
	"lti.ErrInvalidSignature":    {lti.ErrInvalidSignature, lti.CodeInvalidSignature},
	"lti.ErrTokenExpired":        {lti.ErrTokenExpired, lti.CodeTokenExpired},
	"lti.ErrInvalidClaims":       {lti.ErrInvalidClaims, lti.CodeInvalidClaims},
	"lti.ErrInvalidNonce":        {lti.ErrInvalidNonce, lti.CodeInvalidNonce},
	"lti.ErrUnknownDeployment":   {lti.ErrUnknownDeployment, lti.CodeUnknownDeployment},
	"lti.ErrKeysetUnavailable":   {lti.ErrKeysetUnavailable, lti.CodeKeysetUnavailable},
	"lti.ErrStorageUnavailable":  {lti.ErrStorageUnavailable, lti.CodeStorageUnavailable},

	"session.ErrNoSession": {session.ErrNoSession, lti.CodeNoSession},
	"session.ErrNotFound":  {session.ErrNotFound, lti.CodeNoSession},
	"session.ErrExpired":   {session.ErrExpired, lti.CodeNoSession},

	"registration.ErrNotFound":  {registration.ErrNotFound, lti.CodeUnknownRegistration},
	"registration.ErrAmbiguous": {registration.ErrAmbiguous, lti.CodeUnknownRegistration},
	"deployment.ErrNotFound":    {deployment.ErrNotFound, lti.CodeUnknownDeployment},
	"nonce.ErrNotFound":         {nonce.ErrNotFound, lti.CodeInvalidState},
	"nonce.ErrExpired":          {nonce.ErrExpired, lti.CodeInvalidState},
	"nonce.ErrConsumed":         {nonce.ErrConsumed, lti.CodeInvalidState},
	"storage.ErrExists":         {storage.ErrExists, lti.CodeAlreadyExists},
	"storage.ErrNoStore":        {storage.ErrNoStore, lti.CodeStorageUnavailable},
	"keys.ErrKeyNotFound":       {keys.ErrKeyNotFound, lti.CodeInvalidSignature},
	"keys.ErrUnavailable":       {keys.ErrUnavailable, lti.CodeKeysetUnavailable},
	"toolkey.ErrNegativeDelay":  {toolkey.ErrNegativeDelay, lti.CodeInvalidRequest},

	"memory.ErrDuplicate":               {memory.ErrDuplicate, lti.CodeAlreadyExists},
	"memory.ErrFull":                    {memory.ErrFull, lti.CodeStorageUnavailable},
	"gormadapter.ErrNotMigrated":        {gormadapter.ErrNotMigrated, lti.CodeStorageUnavailable},
	"gormadapter.ErrUnsupportedDialect": {gormadapter.ErrUnsupportedDialect, lti.CodeStorageUnavailable},
	"gormadapter.ErrDuplicate":          {gormadapter.ErrDuplicate, lti.CodeAlreadyExists},
	"gormsqlite.ErrPath":                {gormsqlite.ErrPath, lti.CodeStorageUnavailable},
	"redisadapter.ErrDuplicate":         {redisadapter.ErrDuplicate, lti.CodeAlreadyExists},
	"redisadapter.ErrCorrupt":           {redisadapter.ErrCorrupt, lti.CodeStorageUnavailable},

	"token.ErrNoTokenEndpoint":      {ltitoken.ErrNoTokenEndpoint, lti.CodeNoTokenEndpoint},
	"token.ErrRejected":             {ltitoken.ErrRejected, lti.CodeTokenRefused},
	"token.ErrMalformedResponse":    {ltitoken.ErrMalformedResponse, lti.CodeMalformedResponse},
	"token.ErrResponseTooLarge":     {ltitoken.ErrResponseTooLarge, lti.CodeResponseTooLarge},
	"token.ErrNoAccessToken":        {ltitoken.ErrNoAccessToken, lti.CodeMalformedResponse},
	"token.ErrUnsupportedTokenType": {ltitoken.ErrUnsupportedTokenType, lti.CodeMalformedResponse},
	"token.ErrForeignHost":          {ltitoken.ErrForeignHost, lti.CodeForeignHost},
	"token.ErrRedirect":             {ltitoken.ErrRedirect, lti.CodeForeignHost},
	"token.ErrTimeout":              {ltitoken.ErrTimeout, lti.CodeServiceUnavailable},
	"token.ErrUnreachable":          {ltitoken.ErrUnreachable, lti.CodeServiceUnavailable},

	"ags.ErrNoAGS":               {ags.ErrNoAGS, lti.CodeServiceNotOffered},
	"ags.ErrScopeNotGranted":     {ags.ErrScopeNotGranted, lti.CodeScopeNotGranted},
	"ags.ErrNoLineItemsURL":      {ags.ErrNoLineItemsURL, lti.CodeServiceNotOffered},
	"ags.ErrNoLineItem":          {ags.ErrNoLineItem, lti.CodeServiceNotOffered},
	"ags.ErrInvalidScore":        {ags.ErrInvalidScore, lti.CodeInvalidRequest},
	"ags.ErrInvalidLineItem":     {ags.ErrInvalidLineItem, lti.CodeInvalidRequest},
	"ags.ErrForeignHost":         {ags.ErrForeignHost, lti.CodeForeignHost},
	"ags.ErrBadURL":              {ags.ErrBadURL, lti.CodeForeignHost},
	"ags.ErrResponseTooLarge":    {ags.ErrResponseTooLarge, lti.CodeResponseTooLarge},
	"ags.ErrMalformedResponse":   {ags.ErrMalformedResponse, lti.CodeMalformedResponse},
	"ags.ErrPagingLoop":          {ags.ErrPagingLoop, lti.CodeMalformedResponse},
	"ags.ErrTooManyPages":        {ags.ErrTooManyPages, lti.CodeResponseTooLarge},
	"ags.ErrTooManyItems":        {ags.ErrTooManyItems, lti.CodeResponseTooLarge},
	"ags.ErrTimeout":             {ags.ErrTimeout, lti.CodeServiceUnavailable},
	"ags.ErrUnreachable":         {ags.ErrUnreachable, lti.CodeServiceUnavailable},
	"ags.ErrRedirect":            {ags.ErrRedirect, lti.CodeForeignHost},
	"nrps.ErrNoNRPS":             {nrps.ErrNoNRPS, lti.CodeServiceNotOffered},
	"nrps.ErrUnsupportedVersion": {nrps.ErrUnsupportedVersion, lti.CodeServiceNotOffered},
	"nrps.ErrNoMembershipsURL":   {nrps.ErrNoMembershipsURL, lti.CodeServiceNotOffered},
	"nrps.ErrForeignHost":        {nrps.ErrForeignHost, lti.CodeForeignHost},
	"nrps.ErrBadURL":             {nrps.ErrBadURL, lti.CodeForeignHost},
	"nrps.ErrResponseTooLarge":   {nrps.ErrResponseTooLarge, lti.CodeResponseTooLarge},
	"nrps.ErrMalformedResponse":  {nrps.ErrMalformedResponse, lti.CodeMalformedResponse},
	"nrps.ErrPagingLoop":         {nrps.ErrPagingLoop, lti.CodeMalformedResponse},
	"nrps.ErrTooManyPages":       {nrps.ErrTooManyPages, lti.CodeResponseTooLarge},
	"nrps.ErrTooManyItems":       {nrps.ErrTooManyItems, lti.CodeResponseTooLarge},
	"nrps.ErrTimeout":            {nrps.ErrTimeout, lti.CodeServiceUnavailable},
	"nrps.ErrUnreachable":        {nrps.ErrUnreachable, lti.CodeServiceUnavailable},
	"nrps.ErrRedirect":           {nrps.ErrRedirect, lti.CodeForeignHost},

	"deeplink.ErrNotDeepLinking":       {deeplink.ErrNotDeepLinking, lti.CodeInvalidDeepLinking},
	"deeplink.ErrInvalidSettings":      {deeplink.ErrInvalidSettings, lti.CodeInvalidDeepLinking},
	"deeplink.ErrInvalidReturnURL":     {deeplink.ErrInvalidReturnURL, lti.CodeInvalidDeepLinking},
	"deeplink.ErrInvalidRequest":       {deeplink.ErrInvalidRequest, lti.CodeInvalidDeepLinking},
	"deeplink.ErrTypeNotAccepted":      {deeplink.ErrTypeNotAccepted, lti.CodeInvalidDeepLinking},
	"deeplink.ErrMultipleNotAccepted":  {deeplink.ErrMultipleNotAccepted, lti.CodeInvalidDeepLinking},
	"deeplink.ErrLineItemNotAccepted":  {deeplink.ErrLineItemNotAccepted, lti.CodeInvalidDeepLinking},
	"deeplink.ErrTargetNotAccepted":    {deeplink.ErrTargetNotAccepted, lti.CodeInvalidDeepLinking},
	"deeplink.ErrMediaTypeNotAccepted": {deeplink.ErrMediaTypeNotAccepted, lti.CodeInvalidDeepLinking},
	"deeplink.ErrInvalidURL":           {deeplink.ErrInvalidURL, lti.CodeInvalidDeepLinking},
	"deeplink.ErrInvalidItem":          {deeplink.ErrInvalidItem, lti.CodeInvalidDeepLinking},

	"dynreg.ErrInvalidRequest":           {dynreg.ErrInvalidRequest, lti.CodeInvalidRequest},
	"dynreg.ErrNotAllowed":               {dynreg.ErrNotAllowed, lti.CodeRegistrationNotAllowed},
	"dynreg.ErrConfigurationUnavailable": {dynreg.ErrConfigurationUnavailable, lti.CodeConfigurationUnavailable},
	"dynreg.ErrInvalidConfiguration":     {dynreg.ErrInvalidConfiguration, lti.CodeInvalidConfiguration},
	"dynreg.ErrRegistrationRefused":      {dynreg.ErrRegistrationRefused, lti.CodeRegistrationRefused},
	"dynreg.ErrRegistrationFailed":       {dynreg.ErrRegistrationFailed, lti.CodeRegistrationFailed},
	"dynreg.ErrRegistrationConflict":     {dynreg.ErrRegistrationConflict, lti.CodeRegistrationConflict},
	"dynreg.ErrStorageUnavailable":       {dynreg.ErrStorageUnavailable, lti.CodeStorageUnavailable},
	"dynreg.ErrServerError":              {dynreg.ErrServerError, lti.CodeInternal},

	"ltitest.ErrNoCookieJar":   {ltitest.ErrNoCookieJar, lti.CodeInvalidRequest},
	"ltitest.ErrNotLaunchable": {ltitest.ErrNotLaunchable, lti.CodeInvalidRequest},
}

// moduleErrorTypes is every exported error type of the library's packages,
// by its name in docs/errors.md, with a zero value.
var moduleErrorTypes = map[string]error{
	"*lti.Error":                &lti.Error{},
	"*launch.StorageLaunch":     nil, // checked by name only: no zero value outside launch
	"*keys.FetchError":          &keys.FetchError{},
	"*token.RetrieveError":      &ltitoken.RetrieveError{},
	"*ags.HTTPError":            &ags.HTTPError{},
	"*nrps.HTTPError":           &nrps.HTTPError{},
	"*deeplink.Error":           &deeplink.Error{},
	"*dynreg.Error":             &dynreg.Error{},
	"*gormsqlite.PathError":     &gormsqlite.PathError{},
	"*ltitest.LoginError":       &ltitest.LoginError{},
	"*ltitest.AuthError":        &ltitest.AuthError{},
	"*ltitest.DeepLinkingError": &ltitest.DeepLinkingError{},
}

// moduleRoot is the module's directory, two levels up from cmd/demo-tool.
const moduleRoot = "../.."

// scanModuleErrors returns the exported Err… variables and the exported
// error types (types with an Error method, and aliases named …Error) of
// the library's non-test files, as "pkg.ErrX" and "*pkg.Type". Commands,
// internal packages, examples and test data are not the library's API.
func scanModuleErrors(t *testing.T) (vars, types []string) {
	t.Helper()
	fset := token.NewFileSet()
	err := filepath.WalkDir(moduleRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "cmd", "internal", "examples", "testdata", "bench", "scripts", "docs", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		pkg := f.Name.Name
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if d.Tok == token.VAR && n.IsExported() && strings.HasPrefix(n.Name, "Err") {
								vars = append(vars, pkg+"."+n.Name)
							}
						}
					case *ast.TypeSpec:
						if s.Assign.IsValid() && s.Name.IsExported() && strings.HasSuffix(s.Name.Name, "Error") {
							types = append(types, "*"+pkg+"."+s.Name.Name)
						}
					}
				}
			case *ast.FuncDecl:
				if d.Name.Name != "Error" || d.Recv == nil || len(d.Recv.List) != 1 {
					continue
				}
				typ := d.Recv.List[0].Type
				if star, ok := typ.(*ast.StarExpr); ok {
					typ = star.X
				}
				if id, ok := typ.(*ast.Ident); ok && id.IsExported() {
					types = append(types, "*"+pkg+"."+id.Name)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(vars)
	slices.Sort(types)
	return vars, types
}

// TestEveryErrorHasACode: every exported error variable and error type of
// the library is known here, classifies to its code, and no sentinel can
// be modified: its dynamic type has no field that can be set.
func TestEveryErrorHasACode(t *testing.T) {
	t.Parallel()
	vars, types := scanModuleErrors(t)
	for _, name := range vars {
		if _, ok := moduleSentinels[name]; !ok {
			t.Errorf("%s is not in moduleSentinels: add it there and to docs/errors.md", name)
		}
	}
	for name := range moduleSentinels {
		if !slices.Contains(vars, name) {
			t.Errorf("moduleSentinels lists %s, which the module does not declare", name)
		}
	}
	for _, name := range types {
		if _, ok := moduleErrorTypes[name]; !ok {
			t.Errorf("error type %s is not in moduleErrorTypes: add it there and to docs/errors.md", name)
		}
	}
	for name, s := range moduleSentinels {
		if got := lti.Classify(s.err).Code; got != s.code {
			t.Errorf("lti.Classify(%s) = %s, want %s", name, got, s.code)
		}
		v := reflect.ValueOf(s.err)
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			t.Errorf("%s is a %T: want a pointer to a struct, or a struct, without exported fields", name, s.err)
			continue
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() || v.Field(i).CanSet() {
				t.Errorf("%s (%T) has the field %s, which can be set: the sentinel could be modified", name, s.err, f.Name)
			}
		}
	}
	for name, e := range moduleErrorTypes {
		if e == nil {
			continue
		}
		if _, ok := e.(lti.Coded); !ok {
			t.Errorf("%s does not implement lti.Coded", name)
		}
	}
}

// TestErrorsDoc: docs/errors.md names every code, every exported error
// variable and every error type.
func TestErrorsDoc(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(moduleRoot, "docs", "errors.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, c := range lti.Codes() {
		if !strings.Contains(doc, "`"+string(c)+"`") {
			t.Errorf("docs/errors.md does not name the code %s", c)
		}
	}
	vars, types := scanModuleErrors(t)
	for _, name := range append(vars, types...) {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("docs/errors.md does not name %s", name)
		}
	}
	// A row of the table that names one code gives that code's kind and
	// status: | error | `code` | kind | status | when |.
	known := map[lti.Code]bool{}
	for _, c := range lti.Codes() {
		known[c] = true
	}
	rows := 0
	for line := range strings.Lines(doc) {
		cells := strings.Split(line, " | ")
		if len(cells) < 5 || !strings.HasPrefix(cells[1], "`") {
			continue
		}
		code := lti.Code(strings.Trim(cells[1], "`"))
		if !known[code] {
			t.Errorf("docs/errors.md names an unknown code %q: %s", code, line)
			continue
		}
		rows++
		if cells[2] != string(code.Kind()) || cells[3] != strconv.Itoa(code.Status()) {
			t.Errorf("docs/errors.md: %s is %s %d, the row says %s %s", code, code.Kind(), code.Status(), cells[2], cells[3])
		}
	}
	if rows < len(moduleSentinels)/3 {
		t.Errorf("docs/errors.md: only %d rows of the error table read", rows)
	}
}
