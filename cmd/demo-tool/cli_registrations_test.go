package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/storage"
)

// cliStep is one run of the binary and what it must print.
type cliStep struct {
	name  string
	args  []string
	stdin string
	code  int
	out   []string // stdout contains each
	err   []string // stderr contains each
	noErr []string // stderr contains none
}

// runSteps runs steps in order in dir. A failing step must print one line
// starting "demo-tool: " on stderr; a successful one only warnings there.
func runSteps(t *testing.T, dir string, steps []cliStep) {
	t.Helper()
	for _, s := range steps {
		res := runCLIInput(t, dir, s.stdin, s.args...)
		if res.code != s.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", s.name, res.code, s.code, res.stdout, res.stderr)
			continue
		}
		for _, o := range s.out {
			if !strings.Contains(res.stdout, o) {
				t.Errorf("%s: stdout %q does not contain %q", s.name, res.stdout, o)
			}
		}
		for _, e := range s.err {
			if !strings.Contains(res.stderr, e) {
				t.Errorf("%s: stderr %q does not contain %q", s.name, res.stderr, e)
			}
		}
		for _, e := range s.noErr {
			if strings.Contains(res.stderr, e) {
				t.Errorf("%s: stderr %q contains %q", s.name, res.stderr, e)
			}
		}
		if s.code != 0 {
			if lines := strings.Count(strings.TrimRight(res.stderr, "\n"), "\n") + 1; lines != 1 || !strings.HasPrefix(res.stderr, "demo-tool: ") {
				t.Errorf("%s: the error message is not one line starting with \"demo-tool: \": %q", s.name, res.stderr)
			}
			continue
		}
		for _, line := range strings.Split(strings.TrimRight(res.stderr, "\n"), "\n") {
			if line != "" && !strings.HasPrefix(line, "demo-tool: warning: ") {
				t.Errorf("%s: stderr line %q is not a warning", s.name, line)
			}
		}
	}
}

// runCLIInput runs the binary like runCLI, with stdin as standard input.
func runCLIInput(t *testing.T, dir, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running demo-tool %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// Platforms of the tests, as an export document has them.
var (
	moodleP = platformJSON{
		Issuer: "https://moodle.example.edu", ClientID: "abc123",
		AuthURL:     "https://moodle.example.edu/mod/lti/auth.php",
		TokenURL:    "https://moodle.example.edu/mod/lti/token.php",
		JWKSURL:     "https://moodle.example.edu/mod/lti/certs.php",
		Deployments: []string{"2", "10", "1"}, // exported in byte order: 1, 10, 2
	}
	canvasP = platformJSON{
		Issuer: "https://canvas.instructure.com", ClientID: "10000000000001",
		AuthURL:       "https://sso.canvaslms.com/api/lti/authorize_redirect",
		TokenURL:      "https://sso.canvaslms.com/login/oauth2/token",
		TokenAudience: "https://canvas.instructure.com/login/oauth2/token",
		JWKSURL:       "https://sso.canvaslms.com/api/lti/security/jwks",
		Deployments:   []string{"1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb", "é & <x>"},
	}
	canvas2P = platformJSON{
		Issuer: "https://canvas.instructure.com", ClientID: "10000000000002",
		AuthURL: "https://sso.canvaslms.com/api/lti/authorize_redirect",
		JWKSURL: "https://sso.canvaslms.com/api/lti/security/jwks",
	}
)

// staticP is a platform with a static key set of one EC public key.
func staticP(t *testing.T) platformJSON {
	t.Helper()
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.FromRaw(pk.Public())
	if err != nil {
		t.Fatal(err)
	}
	_ = k.Set(jwk.KeyIDKey, "platform-key-1")
	_ = k.Set(jwk.AlgorithmKey, "ES256")
	set := jwk.NewSet()
	_ = set.AddKey(k)
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return platformJSON{
		Issuer: "https://lms.example.org", ClientID: "static",
		AuthURL: "https://lms.example.org/auth?a=1&b=2", KeySet: raw, Deployments: []string{"d"},
	}
}

// docOf is an export document of platforms, as a file in dir.
func docOf(t *testing.T, dir, name string, version int, platforms ...platformJSON) string {
	t.Helper()
	data, err := json.Marshal(exportDoc{Version: version, Platforms: platforms})
	if err != nil {
		t.Fatal(err)
	}
	return writeTestFile(t, dir, name, string(data))
}

func writeTestFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// exportOf is 'demo-tool export' of db, on standard output.
func exportOf(t *testing.T, dir, db string) string {
	t.Helper()
	return mustCLI(t, dir, "export", "--db", db).stdout
}

// addArgs are the platform add arguments of p.
func addArgs(db string, p platformJSON) []string {
	args := []string{"platform", "add", "--db", db, "--issuer", p.Issuer, "--client-id", p.ClientID,
		"--auth-url", p.AuthURL, "--jwks-url", p.JWKSURL}
	if p.TokenURL != "" {
		args = append(args, "--token-url", p.TokenURL)
	}
	if p.TokenAudience != "" {
		args = append(args, "--token-audience", p.TokenAudience)
	}
	for _, d := range p.Deployments {
		args = append(args, "--deployment-id", d)
	}
	return args
}

// TestCLIFlagsChecked runs every command with missing and invalid flags:
// each answers one usage error listing every problem, and never creates
// the database.
func TestCLIFlagsChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "never.db")
	add := func(extra ...string) []string {
		return append([]string{"platform", "add", "--db", db}, extra...)
	}
	steps := []cliStep{
		{name: "platform add without flags", args: add(), code: 2,
			err: []string{"platform add: missing --issuer, --client-id, --auth-url, --jwks-url (see 'demo-tool help')"}},
		{name: "platform add, everything wrong at once", code: 2,
			args: add("--client-id", "c\x01", "--auth-url", "ftp://x.example/auth", "--jwks-url", "/jwks",
				"--token-url", "https://x.example/t#frag", "--token-audience", "aud",
				"--deployment-id", "1", "--deployment", "1", "--deployment-id", strings.Repeat("d", 256)),
			err: []string{"missing --issuer;",
				"--client-id must be at most 255 printable characters",
				`--auth-url "ftp://x.example/auth" must be an absolute http:// or https:// URL`,
				`--jwks-url "/jwks" must be an absolute http:// or https:// URL`,
				`--token-url "https://x.example/t#frag" must not contain a fragment`,
				`--deployment-id "1" is given twice`,
				"must be at most 255 printable characters"}},
		{name: "token audience without token URL", code: 2,
			args: add("--issuer", "https://x.example", "--client-id", "c", "--auth-url", "https://x.example/a",
				"--jwks-url", "https://x.example/j", "--token-audience", "aud"),
			err: []string{"--token-audience is set without --token-url"}},
		{name: "URL with user info, bad port, no host", code: 2,
			args: add("--issuer", "https://x.example", "--client-id", "c", "--auth-url", "https://u:p@x.example/a",
				"--jwks-url", "https://x.example:99999/j", "--token-url", "https://"),
			err: []string{`--auth-url "https://u:p@x.example/a" must not contain user info`,
				`--jwks-url "https://x.example:99999/j" has an invalid port`, `--token-url "https://" has no host`}},
		{name: "empty deployment id", code: 2,
			args: add("--issuer", "https://x.example", "--client-id", "c", "--auth-url", "https://x.example/a",
				"--jwks-url", "https://x.example/j", "--deployment-id", ""),
			err: []string{"--deployment-id must not be empty"}},
		{name: "platform show without issuer", args: []string{"platform", "show", "--db", db, "--json"}, code: 2,
			err: []string{"platform show: missing --issuer"}},
		{name: "platform remove without flags", args: []string{"platform", "remove", "--db", db}, code: 2,
			err: []string{"platform remove: missing --issuer, --client-id"}},
		{name: "platform remove without client id", args: []string{"platform", "remove", "--db", db, "--issuer", "https://x.example"}, code: 2,
			err: []string{"platform remove: missing --client-id"}},
		{name: "deployment add without flags", args: []string{"deployment", "add", "--db", db}, code: 2,
			err: []string{"deployment add: missing --issuer, --client-id, --deployment-id"}},
		{name: "deployment add with the old flag name", args: []string{"deployment", "add", "--db", db, "--deployment", "1"}, code: 2,
			err: []string{"flag provided but not defined: -deployment"}},
		{name: "deployment remove without flags", args: []string{"deployment", "remove", "--db", db}, code: 2,
			err: []string{"deployment remove: missing --issuer, --client-id, --deployment-id"}},
		{name: "deployment remove, bad id", args: []string{"deployment", "remove", "--db", db, "--issuer", "i", "--client-id", "c",
			"--deployment-id", "a\nb"}, code: 2, err: []string{"must be at most 255 printable characters"}},
		{name: "deployment list, client id without issuer", args: []string{"deployment", "list", "--db", db, "--client-id", "c"}, code: 2,
			err: []string{"deployment list: --client-id needs --issuer"}},
		{name: "export, empty --out", args: []string{"export", "--db", db, "--out", ""}, code: 2,
			err: []string{"export: --out is empty"}},
		{name: "import without --in", args: []string{"import", "--db", db}, code: 2, err: []string{"import: missing --in"}},
		{name: "import of a missing file", args: []string{"import", "--db", db, "--in", filepath.Join(dir, "nope.json")}, code: 2,
			err: []string{"nope.json: no such file"}},
		{name: "unknown platform subcommand", args: []string{"platform", "delete"}, code: 2,
			err: []string{`platform: unknown subcommand "delete": want add, list, show or remove`}},
		{name: "unknown deployment subcommand", args: []string{"deployment", "show"}, code: 2,
			err: []string{`deployment: unknown subcommand "show": want add, list or remove`}},
		{name: "deployment without subcommand", args: []string{"deployment"}, code: 2,
			err: []string{"deployment: want a subcommand: add, list or remove"}},
		{name: "help documents one deployment flag", args: []string{"help"},
			out: []string{"platform show --issuer ISS", "deployment remove --issuer ISS --client-id ID --deployment-id ID",
				"[--deployment-id ID]...", "export [--out FILE|-]", "import --in FILE|- [--replace]"}},
	}
	runSteps(t, dir, steps)
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a command with bad flags touched the database: %v", err)
	}
	if res := runCLI(t, dir, nil, "help"); strings.Contains(res.stdout, "--deployment ") {
		t.Errorf("help still documents --deployment:\n%s", res.stdout)
	}
}

// TestCLIPlainHTTPWarning: plain http URLs are accepted, with a warning
// unless the host is loopback, and an issuer that is not a URL with one.
func TestCLIPlainHTTPWarning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "w.db")
	p := func(iss, auth, jwks, token string) []string {
		args := []string{"platform", "add", "--db", db, "--issuer", iss, "--client-id", "c",
			"--auth-url", auth, "--jwks-url", jwks}
		if token != "" {
			args = append(args, "--token-url", token)
		}
		return args
	}
	runSteps(t, dir, []cliStep{
		{name: "loopback hosts: no warning",
			args: p("http://localhost:9000", "http://localhost:9000/auth", "http://127.0.0.5:9000/jwks", "http://[::1]:9000/token"),
			out:  []string{"added platform http://localhost:9000"}, noErr: []string{"warning"}},
		{name: "LOCALHOST in capitals is loopback", args: p("http://a.test", "http://LOCALHOST/auth", "https://a.test/jwks", ""),
			noErr: []string{"warning"}},
		{name: "plain http on a LAN host: warned, accepted",
			args: p("http://lms.lan", "http://lms.lan/auth", "https://lms.lan/jwks", "http://192.0.2.7/token"),
			out:  []string{"added platform http://lms.lan"},
			err: []string{`demo-tool: warning: --auth-url "http://lms.lan/auth" uses plain http on a host that is not loopback`,
				`demo-tool: warning: --token-url "http://192.0.2.7/token" uses plain http`},
			noErr: []string{"--jwks-url", "--issuer"}},
		{name: "a host merely named like localhost is not loopback",
			args: p("https://b.test", "http://localhost.example.com/auth", "https://b.test/jwks", ""),
			err:  []string{`--auth-url "http://localhost.example.com/auth" uses plain http`}},
		{name: "issuer that is not a URL: warned, accepted",
			args: p("moodle", "https://moodle.test/auth", "https://moodle.test/jwks", ""),
			out:  []string{"added platform moodle"},
			err:  []string{`demo-tool: warning: --issuer "moodle" is not a URL: an issuer is usually the platform's https URL`}},
	})
}

// TestCLIPlatformLifecycle adds platforms and deployments, shows, lists
// and removes them, in order in one SQLite file.
func TestCLIPlatformLifecycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "life.db")
	for _, p := range []platformJSON{moodleP, canvasP, canvas2P} {
		mustCLI(t, dir, addArgs(db, p)...)
	}
	canvas := []string{"--issuer", canvasP.Issuer}
	runSteps(t, dir, []cliStep{
		{name: "show", args: []string{"platform", "show", "--db", db, "--issuer", moodleP.Issuer},
			out: []string{"issuer       https://moodle.example.edu\n", "client id    abc123\n",
				"token URL    https://moodle.example.edu/mod/lti/token.php\n", "JWKS URL     https://moodle.example.edu/mod/lti/certs.php\n",
				"deployments  1, 10, 2\n"}},
		{name: "show, ambiguous issuer", args: append([]string{"platform", "show", "--db", db}, canvas...), code: 2,
			err: []string{`platform show: issuer "https://canvas.instructure.com" has 2 registrations, with client_id "10000000000001", "10000000000002": choose one with --client-id`}},
		{name: "show, the issuer's other client id", args: append([]string{"platform", "show", "--db", db, "--client-id", "10000000000002"}, canvas...),
			out: []string{"client id    10000000000002\n", "token URL    -\n", "deployments  -\n"}},
		{name: "show, unknown issuer", args: []string{"platform", "show", "--db", db, "--issuer", "https://nowhere.example"}, code: 1,
			err: []string{`platform show: no platform with issuer "https://nowhere.example" is registered`}},
		{name: "show, unknown client id", args: []string{"platform", "show", "--db", db, "--issuer", moodleP.Issuer, "--client-id", "x"}, code: 1,
			err: []string{`no platform with issuer "https://moodle.example.edu" and client_id "x" is registered`}},
		{name: "deployment list", args: []string{"deployment", "list", "--db", db},
			out: []string{"ISSUER                          CLIENT ID       DEPLOYMENT ID\n",
				"https://canvas.instructure.com  10000000000001  é & <x>\n", "https://moodle.example.edu      abc123          10\n"}},
		{name: "deployment list of an issuer", args: append([]string{"deployment", "list", "--db", db}, canvas...),
			out: []string{"1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"}},
		{name: "deployment list of an unknown issuer", args: []string{"deployment", "list", "--db", db, "--issuer", "https://nowhere.example"}, code: 1,
			err: []string{`deployment list: no platform with issuer "https://nowhere.example" is registered`}},
		{name: "deployment add", args: []string{"deployment", "add", "--db", db, "--issuer", moodleP.Issuer, "--client-id", "abc123",
			"--deployment-id", "3"}, out: []string{"added deployment 3 to platform https://moodle.example.edu (client_id abc123)"}},
		{name: "deployment remove", args: []string{"deployment", "remove", "--db", db, "--issuer", moodleP.Issuer, "--client-id", "abc123",
			"--deployment-id", "10"},
			out: []string{"removed deployment 10 of platform https://moodle.example.edu (client_id abc123); running servers stop accepting launches for it within their --lookup-cache time (default 30s)"}},
		{name: "deployment remove again", args: []string{"deployment", "remove", "--db", db, "--issuer", moodleP.Issuer, "--client-id", "abc123",
			"--deployment-id", "10"}, code: 1,
			err: []string{`deployment remove: platform https://moodle.example.edu (client_id abc123) has no deployment "10"`}},
		{name: "deployment remove of an unknown platform", args: []string{"deployment", "remove", "--db", db, "--issuer", moodleP.Issuer,
			"--client-id", "zzz", "--deployment-id", "1"}, code: 1,
			err: []string{`deployment remove: no platform with issuer "https://moodle.example.edu" and client_id "zzz" is registered`}},
		{name: "platform remove", args: []string{"platform", "remove", "--db", db, "--issuer", moodleP.Issuer, "--client-id", "abc123"},
			out: []string{"removed platform https://moodle.example.edu (client_id abc123) and its 3 deployment(s); running servers stop accepting launches for it within their --lookup-cache time (default 30s)"}},
		{name: "platform remove again", args: []string{"platform", "remove", "--db", db, "--issuer", moodleP.Issuer, "--client-id", "abc123"}, code: 1,
			err: []string{`platform remove: no platform with issuer "https://moodle.example.edu" and client_id "abc123" is registered`}},
		{name: "its deployments are gone", args: []string{"deployment", "list", "--db", db, "--issuer", moodleP.Issuer}, code: 1,
			err: []string{"no platform with issuer"}},
		{name: "the other platforms stay", args: []string{"platform", "list", "--db", db},
			out: []string{"10000000000001", "10000000000002"}},
		{name: "added again: no deployment left over from before", args: addArgs(db, platformJSON{Issuer: moodleP.Issuer, ClientID: "abc123",
			AuthURL: moodleP.AuthURL, JWKSURL: moodleP.JWKSURL}), out: []string{"with 0 deployment(s)"}},
		{name: "an old deployment id is new again", args: []string{"deployment", "add", "--db", db, "--issuer", moodleP.Issuer, "--client-id", "abc123",
			"--deployment-id", "1"}, out: []string{"added deployment 1"}},
	})

	// The JSON shapes.
	var shown map[string]any
	res := mustCLI(t, dir, "platform", "show", "--json", "--db", db, "--issuer", canvasP.Issuer, "--client-id", canvasP.ClientID)
	if err := json.Unmarshal([]byte(res.stdout), &shown); err != nil {
		t.Fatalf("platform show --json: %v\n%s", err, res.stdout)
	}
	wantShown := map[string]any{
		"issuer": canvasP.Issuer, "client_id": canvasP.ClientID, "auth_url": canvasP.AuthURL,
		"token_url": canvasP.TokenURL, "token_audience": canvasP.TokenAudience, "jwks_url": canvasP.JWKSURL,
		"deployments": []any{"1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb", "é & <x>"},
	}
	if diff := cmp.Diff(wantShown, shown); diff != "" {
		t.Errorf("platform show --json (-want +got):\n%s", diff)
	}
	var deps []map[string]string
	res = mustCLI(t, dir, "deployment", "list", "--json", "--db", db, "--issuer", moodleP.Issuer, "--client-id", "abc123")
	if err := json.Unmarshal([]byte(res.stdout), &deps); err != nil {
		t.Fatalf("deployment list --json: %v\n%s", err, res.stdout)
	}
	if want := []map[string]string{{"issuer": moodleP.Issuer, "client_id": "abc123", "deployment_id": "1"}}; !cmp.Equal(want, deps) {
		t.Errorf("deployment list --json: %v, want %v", deps, want)
	}
	if res := mustCLI(t, dir, "deployment", "list", "--json", "--db", db, "--issuer", canvas2P.Issuer, "--client-id", canvas2P.ClientID); strings.TrimSpace(res.stdout) != "[]" {
		t.Errorf("deployment list --json of a platform without deployments: %q, want []", res.stdout)
	}
}

// TestCLIExportImportRoundTrip: export, import into an empty database,
// export again gives the same bytes; importing it again changes nothing.
func TestCLIExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db1, db2 := filepath.Join(dir, "one.db"), filepath.Join(dir, "two.db")
	static := staticP(t)
	src := docOf(t, dir, "src.json", 1, moodleP, static, canvasP, canvas2P)
	res := mustCLI(t, dir, "import", "--db", db1, "--in", src)
	if want := "imported " + src + ": 4 platform(s) added, 0 skipped (identical), 0 replaced; 6 deployment(s) added\n"; res.stdout != want {
		t.Errorf("import: %q, want %q", res.stdout, want)
	}
	out := filepath.Join(dir, "export.json")
	res = mustCLI(t, dir, "export", "--db", db1, "--out", out)
	if want := "exported 4 platform(s) with 6 deployment(s) to " + out + "\n"; res.stdout != want {
		t.Errorf("export: %q, want %q", res.stdout, want)
	}
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if stdout := exportOf(t, dir, db1); stdout != string(first) {
		t.Errorf("export to standard output differs from export to a file")
	}

	// The documented shape, ordered by issuer, client_id and deployment id.
	var doc exportDoc
	dec := json.NewDecoder(bytes.NewReader(first))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("export: %v\n%s", err, first)
	}
	var order []string
	for _, p := range doc.Platforms {
		order = append(order, p.Issuer+"|"+p.ClientID+"|"+strings.Join(p.Deployments, ","))
	}
	want := []string{
		"https://canvas.instructure.com|10000000000001|1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb,é & <x>",
		"https://canvas.instructure.com|10000000000002|",
		"https://lms.example.org|static|d",
		"https://moodle.example.edu|abc123|1,10,2",
	}
	if doc.Version != 1 || !cmp.Equal(order, want) {
		t.Errorf("export: version %d, platforms %q; want 1, %q", doc.Version, order, want)
	}
	if p := doc.Platforms[2]; p.JWKSURL != "" || !strings.Contains(string(p.KeySet), `"kid": "platform-key-1"`) || p.AuthURL != static.AuthURL {
		t.Errorf("the static key set platform is exported as %+v", p)
	}
	if p := doc.Platforms[0]; p.TokenAudience != canvasP.TokenAudience {
		t.Errorf("the token audience is exported as %q", p.TokenAudience)
	}
	for _, s := range []string{`"deployments": []`, `"é & <x>"`, `auth?a=1&b=2`} {
		if !strings.Contains(string(first), s) {
			t.Errorf("export does not contain %s:\n%s", s, first)
		}
	}

	// Into an empty database, from standard input, and out again.
	res = runCLIInput(t, dir, string(first), "import", "--db", db2, "--in", "-")
	if res.code != 0 || !strings.Contains(res.stdout, "imported standard input: 4 platform(s) added") || res.stderr != "" {
		t.Fatalf("import from standard input: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if second := exportOf(t, dir, db2); second != string(first) {
		t.Errorf("export → import → export is not byte-identical:\n%s", cmp.Diff(string(first), second))
	}
	// Again: everything is there already.
	res = mustCLI(t, dir, "import", "--db", db2, "--in", out)
	if !strings.Contains(res.stdout, "0 platform(s) added, 4 skipped (identical), 0 replaced; 0 deployment(s) added") {
		t.Errorf("second import: %q", res.stdout)
	}
	if third := exportOf(t, dir, db2); third != string(first) {
		t.Errorf("a second import changed the database:\n%s", cmp.Diff(string(first), third))
	}
	// An empty database exports an empty list.
	if got := exportOf(t, dir, emptyDB(t, dir, "empty.db")); got != "{\n  \"version\": 1,\n  \"platforms\": []\n}\n" {
		t.Errorf("export of an empty database: %q", got)
	}
}

// TestCLIImportConflicts: a platform of the file that differs from the
// stored one fails the whole import unless --replace, which overwrites it
// and keeps its deployments.
func TestCLIImportConflicts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	for _, p := range []platformJSON{moodleP, canvas2P} {
		mustCLI(t, dir, addArgs(db, p)...)
	}
	before := exportOf(t, dir, db)

	changed := moodleP
	changed.AuthURL = "https://moodle.example.edu/new/auth.php"
	changed.TokenURL = ""
	changed.Deployments = []string{"1", "99"}
	sameMore := canvas2P
	sameMore.Deployments = []string{"new"}
	file := docOf(t, dir, "conflict.json", 1, canvasP, changed, sameMore)

	res := runCLI(t, dir, nil, "import", "--db", db, "--in", file)
	if res.code != 1 ||
		!strings.Contains(res.stderr, "1 platform(s) differ from the database, nothing written (--replace overwrites them)") ||
		!strings.Contains(res.stderr, `issuer "https://moodle.example.edu" client_id "abc123": auth_url "https://moodle.example.edu/mod/lti/auth.php" in the database, "https://moodle.example.edu/new/auth.php" in the file, token_url "https://moodle.example.edu/mod/lti/token.php" in the database, "" in the file`) {
		t.Fatalf("import with a conflict: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if after := exportOf(t, dir, db); after != before {
		t.Fatalf("an import with a conflict wrote to the database:\n%s", cmp.Diff(before, after))
	}

	res = mustCLI(t, dir, "import", "--db", db, "--in", file, "--replace")
	if want := "imported " + file + ": 1 platform(s) added, 1 skipped (identical), 1 replaced; 4 deployment(s) added; running servers use the replaced settings within their --lookup-cache time (default 30s)\n"; res.stdout != want {
		t.Errorf("import --replace: %q, want %q", res.stdout, want)
	}
	var doc exportDoc
	if err := json.Unmarshal([]byte(exportOf(t, dir, db)), &doc); err != nil {
		t.Fatal(err)
	}
	want := []platformJSON{
		{Issuer: canvasP.Issuer, ClientID: canvasP.ClientID, AuthURL: canvasP.AuthURL, TokenURL: canvasP.TokenURL,
			TokenAudience: canvasP.TokenAudience, JWKSURL: canvasP.JWKSURL, Deployments: []string{"1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb", "é & <x>"}},
		{Issuer: canvas2P.Issuer, ClientID: canvas2P.ClientID, AuthURL: canvas2P.AuthURL, JWKSURL: canvas2P.JWKSURL, Deployments: []string{"new"}},
		// The file's settings, the union of the deployments.
		{Issuer: moodleP.Issuer, ClientID: moodleP.ClientID, AuthURL: changed.AuthURL, JWKSURL: moodleP.JWKSURL,
			Deployments: []string{"1", "10", "2", "99"}},
	}
	if diff := cmp.Diff(want, doc.Platforms); diff != "" {
		t.Errorf("after import --replace (-want +got):\n%s", diff)
	}
}

// TestCLIImportInvalid: a document that is not valid, or holds an invalid
// platform, is refused as a whole, every problem listed, nothing written.
func TestCLIImportInvalid(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "i.db")
	mustCLI(t, dir, addArgs(db, canvas2P)...)
	before := exportOf(t, dir, db)

	privKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := jwk.FromRaw(privKey)
	privSet := jwk.NewSet()
	_ = privSet.AddKey(pk)
	privRaw, _ := json.Marshal(privSet)
	sym, _ := jwk.FromRaw([]byte("a shared secret of thirty-two b!"))
	symSet := jwk.NewSet()
	_ = symSet.AddKey(sym)
	symRaw, _ := json.Marshal(symSet)

	good := moodleP
	badURL := moodleP
	badURL.ClientID, badURL.AuthURL = "bad-url", "javascript:alert(1)"
	noClient := moodleP
	noClient.ClientID = ""
	both := staticP(t)
	both.ClientID, both.JWKSURL = "both", "https://lms.example.org/jwks"
	neither := moodleP
	neither.ClientID, neither.JWKSURL = "neither", ""
	private := staticP(t)
	private.ClientID, private.KeySet = "private", privRaw
	symmetric := staticP(t)
	symmetric.ClientID, symmetric.KeySet = "symmetric", symRaw
	notJWKS := staticP(t)
	notJWKS.ClientID, notJWKS.KeySet = "notjwks", json.RawMessage(`{"keys":"no"}`)
	dupDeps := moodleP
	dupDeps.ClientID, dupDeps.Deployments = "dup", []string{"1", "1"}

	cases := []struct {
		name string
		file string
		err  []string
	}{
		{"not JSON", writeTestFile(t, dir, "a.json", `{"version":1,"platforms":[`), []string{"is not an export document: unexpected EOF"}},
		{"an array", writeTestFile(t, dir, "b.json", `[]`), []string{"is not an export document: json: cannot unmarshal array"}},
		{"trailing data", writeTestFile(t, dir, "c.json", `{"version":1,"platforms":[]} {}`), []string{"has more after its JSON document"}},
		{"no version", writeTestFile(t, dir, "d.json", `{"platforms":[]}`), []string{`has no version: want {"version":1,"platforms":[...]}`}},
		{"unknown version", docOf(t, dir, "e.json", 2, good), []string{"is of version 2; this demo-tool reads version 1"}},
		{"unknown field", writeTestFile(t, dir, "f.json", `{"version":1,"platforms":[{"issuer":"https://x.example","client_id":"c","auth_url":"https://x.example/a","jwks_uri":"https://x.example/j"}]}`),
			[]string{`unknown field "jwks_uri"`}},
		{"a deployment id that is not a string", writeTestFile(t, dir, "g.json", `{"version":1,"platforms":[{"issuer":"https://x.example","client_id":"c","auth_url":"https://x.example/a","jwks_url":"https://x.example/j","deployments":[1]}]}`),
			[]string{"cannot unmarshal number"}},
		{"invalid platforms, every problem listed", docOf(t, dir, "h.json", 1, good, badURL, noClient, both, neither, private, symmetric, notJWKS, dupDeps, good),
			[]string{
				`platforms[1].auth_url "javascript:alert(1)" must be an absolute http:// or https:// URL`,
				"missing platforms[2].client_id, platforms[4].jwks_url",
				"platforms[3].jwks_url and platforms[3].key_set are both set",
				"platforms[5].key_set key 0 is a private key",
				"platforms[6].key_set key 0 is a symmetric key",
				"platforms[7].key_set is not a JWK set",
				`platforms[8].deployments "1" is given twice`,
				`platforms[9] repeats the issuer "https://moodle.example.edu" and client_id "abc123" of platforms[0]`,
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runCLI(t, dir, nil, "import", "--db", db, "--in", tc.file)
			if res.code != 2 {
				t.Fatalf("exit %d, want 2\n%s%s", res.code, res.stdout, res.stderr)
			}
			for _, e := range tc.err {
				if !strings.Contains(res.stderr, e) {
					t.Errorf("stderr %q does not contain %q", res.stderr, e)
				}
			}
			if lines := strings.Count(strings.TrimRight(res.stderr, "\n"), "\n") + 1; lines != 1 {
				t.Errorf("the error is not one line: %q", res.stderr)
			}
			if after := exportOf(t, dir, db); after != before {
				t.Errorf("a refused import wrote to the database:\n%s", cmp.Diff(before, after))
			}
		})
	}
}

// TestCLIExportImportPostgres runs the round trip and the removals on
// PostgreSQL.
func TestCLIExportImportPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t, 1)
	dir := t.TempDir()
	src := docOf(t, dir, "src.json", 1, moodleP, staticP(t), canvasP, canvas2P)
	mustCLI(t, dir, "import", "--db", dsn, "--in", src)
	first := exportOf(t, dir, dsn)
	// Into an empty SQLite file and back: the same bytes from both
	// databases, whatever PostgreSQL's collation.
	lite := filepath.Join(dir, "lite.db")
	out := writeTestFile(t, dir, "pg.json", first)
	mustCLI(t, dir, "import", "--db", lite, "--in", out)
	if second := exportOf(t, dir, lite); second != first {
		t.Errorf("PostgreSQL → SQLite export differs:\n%s", cmp.Diff(first, second))
	}
	res := mustCLI(t, dir, "import", "--db", dsn, "--in", out)
	if !strings.Contains(res.stdout, "0 platform(s) added, 4 skipped") {
		t.Errorf("import of its own export: %q", res.stdout)
	}
	runSteps(t, dir, []cliStep{
		{name: "deployment remove", args: []string{"deployment", "remove", "--db", dsn, "--issuer", moodleP.Issuer, "--client-id", "abc123",
			"--deployment-id", "2"}, out: []string{"removed deployment 2"}},
		{name: "platform remove", args: []string{"platform", "remove", "--db", dsn, "--issuer", canvasP.Issuer, "--client-id", canvasP.ClientID},
			out: []string{"and its 2 deployment(s)"}},
		{name: "show, no longer ambiguous", args: []string{"platform", "show", "--db", dsn, "--issuer", canvasP.Issuer},
			out: []string{"client id    10000000000002"}},
	})
	var deps []deploymentJSON
	res = mustCLI(t, dir, "deployment", "list", "--json", "--db", dsn)
	if err := json.Unmarshal([]byte(res.stdout), &deps); err != nil {
		t.Fatalf("deployment list --json: %v\n%s", err, res.stdout)
	}
	want := []deploymentJSON{
		{Issuer: "https://lms.example.org", ClientID: "static", DeploymentID: "d"},
		{Issuer: moodleP.Issuer, ClientID: "abc123", DeploymentID: "1"},
		{Issuer: moodleP.Issuer, ClientID: "abc123", DeploymentID: "10"},
	}
	if diff := cmp.Diff(want, deps); diff != "" {
		t.Errorf("deployments left (-want +got):\n%s", diff)
	}
}

// TestCLIRemoveReachesServer: with --lookup-cache 0 a running server sees
// a removal made by the CLI at the next launch (with a cache, when its
// entry expires).
func TestCLIRemoveReachesServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "srv.db")
	n := startNode(t, dir, "--addr", "127.0.0.1:0", "--db", db, "--lookup-cache", "0")
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     n.url + "/lti/login",
		ToolRedirectURIs: []string{n.url + "/lti/launch"},
		ToolJWKSURL:      n.url + pathJWKS,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer platform.Close()
	mustCLI(t, dir, "platform", "add", "--db", db, "--issuer", platform.Issuer(), "--client-id", platform.ClientID(),
		"--auth-url", platform.AuthEndpoint(), "--jwks-url", platform.KeySetURL(), "--deployment-id", platform.DeploymentID())
	launch := func() response {
		t.Helper()
		browser := jsonBrowser()
		ar, err := platform.Authorize(t.Context(), browser)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := platform.Post(t.Context(), browser, ar)
		return readResponse(t, resp, err)
	}
	if r := launch(); r.status != http.StatusOK {
		t.Fatalf("launch: %d %s", r.status, r.body)
	}
	mustCLI(t, dir, "deployment", "remove", "--db", db, "--issuer", platform.Issuer(), "--client-id", platform.ClientID(),
		"--deployment-id", platform.DeploymentID())
	wantError(t, "launch after deployment remove", launch(), http.StatusForbidden, "unknown_deployment")
	mustCLI(t, dir, "platform", "remove", "--db", db, "--issuer", platform.Issuer(), "--client-id", platform.ClientID())
	if _, err := platform.Authorize(t.Context(), jsonBrowser()); err == nil {
		t.Fatal("the login of a removed platform was accepted")
	}
}

// FuzzImportDocument: any bytes given to import are refused with a usage
// error or give platforms that the library accepts; nothing panics.
func FuzzImportDocument(f *testing.F) {
	f.Add([]byte(`{"version":1,"platforms":[{"issuer":"https://x.example","client_id":"c","auth_url":"https://x.example/a","jwks_url":"https://x.example/j","deployments":["1"]}]}`))
	f.Add([]byte(`{"version":1,"platforms":[{"issuer":"i","client_id":"c","auth_url":"http://x/a","key_set":{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}}]}`))
	f.Add([]byte(`{"version":1,"platforms":[{"issuer":"https://x.example","client_id":"c","auth_url":"https://x.example/a","token_audience":"a","key_set":null}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"platforms":null} x`))
	f.Fuzz(func(t *testing.T, data []byte) {
		platforms, err := decodeImport("fuzz", data)
		if err != nil {
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("not a usage error: %v", err)
			}
			return
		}
		for i, p := range platforms {
			c := &checker{}
			reg := checkPlatform(c, flagName, p)
			if c.err("import") != nil {
				continue
			}
			if err := reg.Validate(); err != nil {
				t.Fatalf("platforms[%d] passed the checks but not Validate: %v", i, err)
			}
			if _, err := toPlatformJSON(storage.Entry{Registration: reg, Deployments: p.Deployments}); err != nil {
				t.Fatalf("platforms[%d] cannot be exported: %v", i, err)
			}
		}
	})
}
