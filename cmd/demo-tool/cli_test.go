package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ltikit/ltikit/toolkey"
)

// TestCLI drives platform add, platform list and deployment add of the
// real binary against one SQLite file, in order: each step sees the
// database the earlier ones left. The first platform add uses the
// deprecated --deployment, which stays an alias of --deployment-id.
func TestCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "cli.db")
	moodle := []string{"platform", "add", "--db", db,
		"--issuer", "https://moodle.example.edu",
		"--client-id", "abc123",
		"--auth-url", "https://moodle.example.edu/mod/lti/auth.php",
		"--jwks-url", "https://moodle.example.edu/mod/lti/certs.php",
		"--token-url", "https://moodle.example.edu/mod/lti/token.php",
		"--deployment", "1", "--deployment", "2"}

	steps := []struct {
		name string
		env  []string
		args []string
		code int
		out  string // stdout contains
		err  string // stderr contains (the one-line message)
	}{
		{name: "add", args: moodle, out: "added platform https://moodle.example.edu (client_id abc123) with 2 deployment(s)"},
		{name: "add plain http platform, db from LTIKIT_DB", env: []string{"LTIKIT_DB=" + db},
			args: []string{"platform", "add", "--issuer", "http://localhost:9000", "--client-id", "local",
				"--auth-url", "http://localhost:9000/auth", "--jwks-url", "http://localhost:9000/jwks"},
			out: "added platform http://localhost:9000"},
		{name: "duplicate platform", args: moodle, code: 1, err: `a platform with issuer "https://moodle.example.edu" and client_id "abc123" is already registered`},
		{name: "same issuer, other client_id", args: []string{"platform", "add", "--db", db, "--issuer", "https://moodle.example.edu",
			"--client-id", "other", "--auth-url", "https://moodle.example.edu/auth", "--jwks-url", "https://moodle.example.edu/jwks"},
			out: "added platform"},
		{name: "auth URL not http(s)", args: []string{"platform", "add", "--db", db, "--issuer", "https://x.example", "--client-id", "c",
			"--auth-url", "ftp://x.example/auth", "--jwks-url", "https://x.example/jwks"},
			code: 2, err: `--auth-url "ftp://x.example/auth" must be an absolute http:// or https:// URL`},
		{name: "relative JWKS URL", args: []string{"platform", "add", "--db", db, "--issuer", "https://x.example", "--client-id", "c",
			"--auth-url", "https://x.example/auth", "--jwks-url", "/jwks"},
			code: 2, err: `--jwks-url "/jwks" must be an absolute http:// or https:// URL`},
		{name: "JWKS URL without host", args: []string{"platform", "add", "--db", db, "--issuer", "https://x.example", "--client-id", "c",
			"--auth-url", "https://x.example/auth", "--jwks-url", "https://"},
			code: 2, err: `--jwks-url "https://" has no host`},
		{name: "unparsable token URL", args: []string{"platform", "add", "--db", db, "--issuer", "https://x.example", "--client-id", "c",
			"--auth-url", "https://x.example/auth", "--jwks-url", "https://x.example/jwks", "--token-url", "https://x.example:port/token"},
			code: 2, err: `--token-url "https://x.example:port/token" is not a URL`},
		{name: "missing client id", args: []string{"platform", "add", "--db", db, "--issuer", "https://x.example",
			"--auth-url", "https://x.example/auth", "--jwks-url", "https://x.example/jwks"},
			code: 2, err: "platform add: missing --client-id"},
		{name: "deployment given twice", args: []string{"platform", "add", "--db", db, "--issuer", "https://x.example", "--client-id", "c",
			"--auth-url", "https://x.example/auth", "--jwks-url", "https://x.example/jwks", "--deployment-id", "7", "--deployment", "7"},
			code: 2, err: `--deployment-id "7" is given twice`},
		{name: "unknown flag", args: []string{"platform", "add", "--db", db, "--issuer-url", "https://x.example"},
			code: 2, err: "flag provided but not defined: -issuer-url"},
		{name: "deployment add", args: []string{"deployment", "add", "--db", db, "--issuer", "https://moodle.example.edu",
			"--client-id", "abc123", "--deployment-id", "3"}, out: "added deployment 3"},
		{name: "duplicate deployment", args: []string{"deployment", "add", "--db", db, "--issuer", "https://moodle.example.edu",
			"--client-id", "abc123", "--deployment-id", "1"},
			code: 1, err: `deployment "1" of issuer "https://moodle.example.edu" and client_id "abc123" is already registered`},
		{name: "deployment of unknown platform", args: []string{"deployment", "add", "--db", db, "--issuer", "https://nowhere.example",
			"--client-id", "abc123", "--deployment-id", "1"},
			code: 1, err: `no platform with issuer "https://nowhere.example" and client_id "abc123" is registered`},
		{name: "deployment add without id", args: []string{"deployment", "add", "--db", db, "--issuer", "https://moodle.example.edu",
			"--client-id", "abc123"}, code: 2, err: "deployment add: missing --deployment-id"},
		{name: "list", args: []string{"platform", "list", "--db", db}, out: "https://moodle.example.edu"},
		{name: "unknown command", args: []string{"platfrom", "list"}, code: 2, err: `unknown command "platfrom"`},
		{name: "unsupported database URL", args: []string{"platform", "list", "--db", "mysql://root@localhost/x"},
			code: 2, err: "only postgres:// URLs and SQLite file paths are supported"},
		{name: "help", args: []string{"help"}, out: "LTIKIT_DB"},
	}
	for _, s := range steps {
		res := runCLI(t, dir, s.env, s.args...)
		if res.code != s.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", s.name, res.code, s.code, res.stdout, res.stderr)
			continue
		}
		if s.out != "" && !strings.Contains(res.stdout, s.out) {
			t.Errorf("%s: stdout %q does not contain %q", s.name, res.stdout, s.out)
		}
		if s.code != 0 {
			if !strings.Contains(res.stderr, s.err) {
				t.Errorf("%s: stderr %q does not contain %q", s.name, res.stderr, s.err)
			}
			if lines := strings.Count(strings.TrimRight(res.stderr, "\n"), "\n") + 1; lines != 1 || !strings.HasPrefix(res.stderr, "demo-tool: ") {
				t.Errorf("%s: the error message is not one line starting with \"demo-tool: \": %q", s.name, res.stderr)
			}
		} else if res.stderr != "" {
			t.Errorf("%s: unexpected stderr %q", s.name, res.stderr)
		}
	}

	// The list as JSON: every platform with its deployments, in order.
	res := mustCLI(t, dir, "platform", "list", "--json", "--db", db)
	var list []struct {
		Issuer      string   `json:"issuer"`
		ClientID    string   `json:"client_id"`
		AuthURL     string   `json:"auth_url"`
		JWKSURL     string   `json:"jwks_url"`
		TokenURL    string   `json:"token_url"`
		Deployments []string `json:"deployments"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &list); err != nil {
		t.Fatalf("platform list --json: %v\n%s", err, res.stdout)
	}
	var got []string
	for _, p := range list {
		got = append(got, p.Issuer+"|"+p.ClientID+"|"+strings.Join(p.Deployments, ","))
	}
	want := []string{"http://localhost:9000|local|", "https://moodle.example.edu|abc123|1,2,3", "https://moodle.example.edu|other|"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("platforms %q, want %q", got, want)
	}
	if list[1].TokenURL != "https://moodle.example.edu/mod/lti/token.php" || list[1].JWKSURL != "https://moodle.example.edu/mod/lti/certs.php" {
		t.Errorf("stored URLs: %+v", list[1])
	}

	// The default database is ./demo-tool.db in the working directory.
	other := t.TempDir()
	mustCLI(t, other, "platform", "add", "--issuer", "https://canvas.example", "--client-id", "1",
		"--auth-url", "https://canvas.example/auth", "--jwks-url", "https://canvas.example/jwks")
	if res := mustCLI(t, other, "platform", "list"); !strings.Contains(res.stdout, "https://canvas.example") {
		t.Errorf("the default database does not keep the platform: %q", res.stdout)
	}
	if res := mustCLI(t, other, "platform", "list", "--db", filepath.Join(other, "demo-tool.db")); !strings.Contains(res.stdout, "https://canvas.example") {
		t.Errorf("the default database is not ./demo-tool.db: %q", res.stdout)
	}
}

// TestCLIKeys lists and rotates the tool's signing keys in one SQLite
// file: listing makes no key, the first rotation makes the first, an
// emergency rotation (--now) makes a new active key at once and keeps the
// old one published for the grace period. TestCLIKeysRotatePublishesBeforeUse covers the default,
// delayed rotation.
func TestCLIKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "keys.db")
	type key struct {
		KID            string     `json:"kid"`
		Status         string     `json:"status"`
		CreatedAt      time.Time  `json:"created_at"`
		RetiredAt      *time.Time `json:"retired_at"`
		PublishedUntil *time.Time `json:"published_until"`
	}
	list := func() []key {
		t.Helper()
		res := mustCLI(t, dir, "keys", "list", "--json", "--db", db)
		var keys []key
		if err := json.Unmarshal([]byte(res.stdout), &keys); err != nil {
			t.Fatalf("keys list --json: %v\n%s", err, res.stdout)
		}
		return keys
	}

	// No key until one is made: listing makes none.
	if res := runCLI(t, dir, nil, "keys", "list", "--db", db); res.code != 1 || !strings.Contains(res.stderr, "no SQLite database") {
		t.Fatalf("keys list of a missing file: exit %d, stderr %q", res.code, res.stderr)
	}
	emptyDB(t, dir, "keys.db")
	if keys := list(); len(keys) != 0 {
		t.Fatalf("keys list of an empty database: %+v", keys)
	}
	if res := mustCLI(t, dir, "keys", "list", "--db", db); !strings.Contains(res.stdout, "no signing keys yet") {
		t.Errorf("keys list of an empty database:\n%s", res.stdout)
	}
	res := mustCLI(t, dir, "keys", "rotate", "--db", db)
	first := list()
	if len(first) != 1 || first[0].Status != "active" || first[0].KID == "" || first[0].RetiredAt != nil {
		t.Fatalf("first list: %+v", first)
	}
	if again := list(); len(again) != 1 || again[0].KID != first[0].KID {
		t.Fatalf("a second list changed the keys: %+v then %+v", first, again)
	}

	if !strings.Contains(res.stdout, "made the tool's first signing key: "+first[0].KID+" signs now") {
		t.Errorf("first rotate output:\n%s", res.stdout)
	}

	res = mustCLI(t, dir, "keys", "rotate", "--now", "--db", db)
	keys := list()
	if len(keys) != 2 || keys[0].Status != "active" || keys[1].Status != "retired" || keys[1].KID != first[0].KID ||
		keys[0].KID == first[0].KID {
		t.Fatalf("after rotate: %+v", keys)
	}
	if !strings.Contains(res.stdout, "rotated: "+keys[0].KID+" signs now") || !strings.Contains(res.stdout, first[0].KID) {
		t.Errorf("rotate output:\n%s", res.stdout)
	}
	if r := keys[1]; r.RetiredAt == nil || r.PublishedUntil == nil || r.PublishedUntil.Sub(*r.RetiredAt) != toolkey.DefaultGrace {
		t.Errorf("retired key %+v: want it published for %s after its retirement", r, toolkey.DefaultGrace)
	}
	if res := mustCLI(t, dir, "keys", "list", "--db", db); !strings.Contains(res.stdout, "KID") ||
		!strings.Contains(res.stdout, keys[0].KID+"  active") || !strings.Contains(res.stdout, "retired") {
		t.Errorf("keys list:\n%s", res.stdout)
	}

	for _, bad := range []struct {
		args []string
		err  string
	}{
		{[]string{"keys"}, "keys: want a subcommand: list or rotate"},
		{[]string{"keys", "delete"}, `keys: unknown subcommand "delete"`},
		{[]string{"keys", "rotate", "--db", db, "now"}, `unexpected argument "now"`},
	} {
		if res := runCLI(t, dir, nil, bad.args...); res.code != 2 || !strings.Contains(res.stderr, bad.err) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", bad.args, res.code, res.stderr, bad.err)
		}
	}
}
