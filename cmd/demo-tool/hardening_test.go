package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runBriefly runs the binary like runCLI, but kills it after 10 s: a
// command that should refuse at once must not start serving.
func runBriefly(t *testing.T, dir string, env []string, args ...string) (res cliResult, killed bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res = cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return res, true
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running demo-tool: %v", err)
	}
	return res, false
}

// TestFlagsWithoutSubcommandRefused: flags without a subcommand are a
// usage error; they neither serve nor mount the sandbox nor write its
// registration into the database they name. Only no arguments at all is
// the sandbox shortcut (TestServeDefaults).
func TestFlagsWithoutSubcommandRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "prod.db")
	for _, args := range [][]string{
		{"--addr", "127.0.0.1:0", "--base-url", "https://tool.example", "--db", db},
		{"--db", db},
		{"--sandbox=false", "--db", db},
	} {
		res, killed := runBriefly(t, dir, nil, args...)
		if killed || res.code != exitUsage || !strings.Contains(res.stderr, "subcommand") {
			t.Errorf("demo-tool %s: killed %v, exit %d, stderr %q; want exit 2 asking for a subcommand",
				strings.Join(args, " "), killed, res.code, res.stderr)
		}
		if strings.Contains(res.stdout, "sandbox") {
			t.Errorf("demo-tool %s started the sandbox:\n%s", strings.Join(args, " "), res.stdout)
		}
	}
	if _, err := os.Stat(db); err == nil {
		if res := mustCLI(t, dir, "platform", "list", "--db", db); strings.Contains(res.stdout, "/sandbox") {
			t.Errorf("the sandbox registration was written to %s:\n%s", db, res.stdout)
		}
	}
	if res := runCLI(t, dir, nil, "--help"); res.code != 0 || !strings.Contains(res.stdout, "Usage:") {
		t.Errorf("demo-tool --help: exit %d, stdout %q", res.code, res.stdout)
	}
}

// TestServeWithoutSandboxWritesNoSandbox: serve without --sandbox serves
// no sandbox and registers none.
func TestServeWithoutSandboxWritesNoSandbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "prod.db")
	n := startNode(t, dir, "--addr", "127.0.0.1:0", "--db", db)
	resp, err := http.Get(n.url + "/sandbox/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /sandbox/ without --sandbox: %d, want 404", resp.StatusCode)
	}
	n.stop()
	if res := mustCLI(t, dir, "platform", "list", "--db", db); strings.Contains(res.stdout, "/sandbox") {
		t.Errorf("the sandbox registration was written to %s:\n%s", db, res.stdout)
	}
}

// accessLine returns the access log line of the request with id.
func accessLine(t *testing.T, n *node, id string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for line := range strings.SplitSeq(n.logs.String(), "\n") {
			if strings.Contains(line, "msg=request ") && strings.Contains(line, "request_id="+id) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access log line for request %s:\n%s", id, n.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getWithXFF sends GET /healthz with X-Forwarded-For xff and request id
// id, and returns the request id the tool answered (id itself only when
// the connection came from a trusted proxy).
func getWithXFF(t *testing.T, n *node, id, xff string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, n.url+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", xff)
	req.Header.Set(headerRequestID, id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get(headerRequestID)
}

// TestAccessLogTrustsNoProxyByDefault: without --trusted-proxies the
// access log has the connection's address, whatever X-Forwarded-For says.
func TestAccessLogTrustsNoProxyByDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := startNode(t, dir, "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "t.db"))
	id := getWithXFF(t, n, "spoof1", "203.0.113.9")
	if id == "spoof1" || id == "" {
		t.Errorf("the request id %q of a client that is no trusted proxy was answered as %q", "spoof1", id)
	}
	line := accessLine(t, n, id)
	if !strings.Contains(line, "remote=127.0.0.1") || strings.Contains(line, "203.0.113.9") {
		t.Errorf("access log trusts X-Forwarded-For from an untrusted client:\n%s", line)
	}
}

// TestAccessLogTrustedProxies: with --trusted-proxies (or
// LTIKIT_TRUSTED_PROXIES) the access log has the right-most address of
// X-Forwarded-For that is not a trusted proxy.
func TestAccessLogTrustedProxies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{name: "flag", args: []string{"--trusted-proxies", "127.0.0.1, 10.0.0.0/8"}},
		{name: "env", env: []string{"LTIKIT_TRUSTED_PROXIES=127.0.0.0/8,10.0.0.0/8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, tc.name+".db")}, tc.args...)
			n := startProcess(t, dir, tc.env, args...)
			getWithXFF(t, n, "chain1", "198.51.100.7, 203.0.113.9, 10.1.2.3")
			if line := accessLine(t, n, "chain1"); !strings.Contains(line, "remote=203.0.113.9") {
				t.Errorf("want the right-most untrusted address 203.0.113.9:\n%s", line)
			}
			// A private address that is not a configured proxy is a client.
			getWithXFF(t, n, "chain2", "203.0.113.9, 192.168.1.5")
			if line := accessLine(t, n, "chain2"); !strings.Contains(line, "remote=192.168.1.5") {
				t.Errorf("want 192.168.1.5, not a configured proxy:\n%s", line)
			}
		})
	}
	res, killed := runBriefly(t, dir, nil, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "x.db"), "--trusted-proxies", "10.0.0.0/33")
	if killed || res.code != exitUsage || !strings.Contains(res.stderr, "--trusted-proxies") {
		t.Errorf("bad --trusted-proxies: killed %v, exit %d, stderr %q; want exit 2", killed, res.code, res.stderr)
	}
}

// TestPasswordOnCommandLineWarns: a password in the --db flag (visible in
// the process list) draws a WARN log line pointing to LTIKIT_DB; the same
// DSN in LTIKIT_DB does not; the password is never printed.
func TestPasswordOnCommandLineWarns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const dsn = "postgres://nobody:secret@127.0.0.1:1/x?connect_timeout=2"
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--db", dsn},
		{"serve", "--addr", "127.0.0.1:0", "--db=" + dsn},
		{"platform", "list", "--db", dsn},
		{"serve", "--addr", "127.0.0.1:0", "--db", "postgres://nobody@127.0.0.1:1/x?connect_timeout=2&password=secret"},
	} {
		res, _ := runBriefly(t, dir, nil, args...)
		if !strings.Contains(res.stderr, "level=WARN") || !strings.Contains(res.stderr, "LTIKIT_DB") {
			t.Errorf("demo-tool %s: no WARN pointing to LTIKIT_DB:\n%s", strings.Join(args, " "), res.stderr)
		}
		if strings.Contains(res.stderr+res.stdout, "secret") {
			t.Errorf("demo-tool %s printed the password:\n%s", strings.Join(args, " "), res.stderr)
		}
	}
	res, _ := runBriefly(t, dir, []string{"LTIKIT_DB=" + dsn}, "serve", "--addr", "127.0.0.1:0")
	if strings.Contains(res.stderr, "level=WARN") || res.code != exitFailure {
		t.Errorf("LTIKIT_DB with a password: exit %d, stderr %q; want exit 1 and no warning", res.code, res.stderr)
	}
	if help := runCLI(t, dir, nil, "help"); !strings.Contains(help.stdout, "password") {
		t.Errorf("help does not say where the database password goes:\n%s", help.stdout)
	}
}
