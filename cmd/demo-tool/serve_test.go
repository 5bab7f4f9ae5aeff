package main

import (
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/ltitest"
)

// TestServeDefaults runs demo-tool with no subcommand, as `go run
// ./cmd/demo-tool` does: serve --sandbox on an SQLite file in the working
// directory, configured from the environment.
func TestServeDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := startProcess(t, dir, []string{"LTIKIT_ADDR=127.0.0.1:0"})
	out := n.stdout.String()
	for _, s := range []string{
		"base URL:      " + n.url,
		"database:      SQLite file demo-tool.db",
		"redirect URI:  " + n.url + "/lti/launch",
		"Open " + n.url + "/sandbox/ in a browser",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("startup output lacks %q:\n%s", s, out)
		}
	}
	resp, err := http.Get(n.url + "/sandbox/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /sandbox/: %d", resp.StatusCode)
	}
	n.stop()
	res := mustCLI(t, dir, "platform", "list")
	if !strings.Contains(res.stdout, n.url+"/sandbox") || !strings.Contains(res.stdout, sandboxDeploymentID) {
		t.Errorf("the sandbox is not registered in ./demo-tool.db:\n%s", res.stdout)
	}
}

// TestSandboxRestart starts the sandbox twice on one database: the second
// start finds its registration and deployment and adds nothing.
func TestSandboxRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "restart.db")
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	for range 2 {
		n := startNode(t, dir, "--addr", addr, "--sandbox", "--db", db)
		// Each start makes a new sandbox key; the registration points at
		// the key set URL, so a launch works after every start.
		r := browseSandbox(t, jsonBrowser(), n.url+"/sandbox/launch?role=learner")
		if r.status != http.StatusOK || r.json(t)["sub"] != ltitest.DefaultLearner.Sub {
			t.Fatalf("sandbox launch: %d %s\nlogs:\n%s", r.status, r.body, n.logs.String())
		}
		n.stop()
	}
	res := mustCLI(t, dir, "platform", "list", "--json", "--db", db)
	if got := strings.Count(res.stdout, `"issuer"`); got != 1 {
		t.Fatalf("%d registrations after two starts, want 1:\n%s", got, res.stdout)
	}
	if got := strings.Count(res.stdout, sandboxDeploymentID); got != 1 {
		t.Fatalf("the sandbox deployment is listed %d times:\n%s", got, res.stdout)
	}
}

// TestServeRefuses checks that serve fails with one line and a non-zero
// exit on bad flags and on a port in use.
func TestServeRefuses(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		err  string
	}{
		{name: "base URL not http", args: []string{"serve", "--base-url", "ftp://x"}, code: 2, err: "--base-url"},
		{name: "base URL with query", args: []string{"serve", "--base-url", "http://x/?a=b"}, code: 2, err: "must not contain a query"},
		{name: "bad address", args: []string{"serve", "--addr", "8080"}, code: 2, err: `--addr "8080" must be host:port`},
		{name: "bad LTIKIT_SANDBOX", env: []string{"LTIKIT_SANDBOX=maybe"}, args: []string{"serve"}, code: 2, err: "LTIKIT_SANDBOX"},
		{name: "sandbox URL without sandbox", args: []string{"serve", "--sandbox-url", "http://127.0.0.1:1/sandbox"}, code: 2, err: "--sandbox-url needs --sandbox"},
		{name: "sandbox URL path", args: []string{"serve", "--sandbox", "--sandbox-url", "http://127.0.0.1:1/lms"}, code: 2, err: "must end in /sandbox"},
		{name: "port in use", args: []string{"serve", "--addr", busy.Addr().String(), "--db", filepath.Join(dir, "x.db")}, code: 1, err: "address already in use"},
		// In LTIKIT_DB, where a password belongs: a --db with one adds a
		// warning line (TestPasswordOnCommandLineWarns).
		{name: "unreachable PostgreSQL", env: []string{"LTIKIT_DB=postgres://nobody:secret@127.0.0.1:1/x?connect_timeout=2"},
			args: []string{"serve", "--addr", "127.0.0.1:0"}, code: 1, err: "postgres://nobody:xxxxx@127.0.0.1:1/x"},
	} {
		res := runCLI(t, dir, tc.env, tc.args...)
		if res.code != tc.code || !strings.Contains(res.stderr, tc.err) || strings.Count(res.stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and one line containing %q", tc.name, res.code, res.stderr, tc.code, tc.err)
		}
		if strings.Contains(res.stderr, "secret") {
			t.Errorf("%s: the database password is printed: %q", tc.name, res.stderr)
		}
	}
}

var (
	formActionRe = regexp.MustCompile(`<form [^>]*action="([^"]*)"`)
	hiddenRe     = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// browseSandbox does what a browser does with a sandbox launch link:
// it follows redirects and submits the auto-submitting forms of the
// sandbox (login initiation, then the id_token post) until a page without
// one, the tool's answer.
func browseSandbox(t *testing.T, browser *http.Client, start string) response {
	t.Helper()
	resp, err := browser.Get(start)
	for range 5 {
		r := readResponse(t, resp, err)
		m := formActionRe.FindSubmatch(r.body)
		if m == nil {
			return r
		}
		form := url.Values{}
		for _, f := range hiddenRe.FindAllSubmatch(r.body, -1) {
			form.Add(html.UnescapeString(string(f[1])), html.UnescapeString(string(f[2])))
		}
		resp, err = browser.PostForm(html.UnescapeString(string(m[1])), form)
	}
	t.Fatalf("more than 5 forms from %s", start)
	return response{}
}
