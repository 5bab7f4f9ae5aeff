package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/internal/redistest"
	"github.com/ltikit/ltikit/ltitest"
)

// TestStateStoreRedis runs launches through the real binary with
// LTIKIT_STATE_STORE naming Redis: the login's state is a key in Redis
// until the launch takes it, the launch session is a key there too, the
// platform stays in the SQLite file, and a replay is refused.
func TestStateStoreRedis(t *testing.T) {
	t.Parallel()
	client := redistest.Client(t)
	prefix := redistest.Prefix(t, client)
	storeURL := redistest.URL(t)
	if strings.Contains(storeURL, "?") {
		storeURL += "&prefix=" + prefix
	} else {
		storeURL += "?prefix=" + prefix
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "tool.db")
	n := startProcess(t, dir, []string{"LTIKIT_STATE_STORE=" + storeURL}, "serve", "--addr", "127.0.0.1:0", "--db", db)
	if !strings.Contains(n.stdout.String(), "state store:   Redis ") {
		t.Errorf("the startup text does not name the Redis state store:\n%s", n.stdout.String())
	}
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     n.url + "/lti/login",
		ToolRedirectURIs: []string{n.url + "/lti/launch"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer platform.Close()
	mustCLI(t, dir, "platform", "add", "--db", db,
		"--issuer", platform.Issuer(), "--client-id", platform.ClientID(),
		"--auth-url", platform.AuthEndpoint(), "--jwks-url", platform.KeySetURL(),
		"--token-url", platform.TokenEndpoint(), "--deployment", platform.DeploymentID())

	keys := func(space string) int {
		t.Helper()
		k, err := client.Keys(context.Background(), prefix+space+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(k)
	}
	for i := range 3 {
		browser := jsonBrowser()
		ar, err := platform.Authorize(t.Context(), browser)
		if err != nil {
			t.Fatalf("login %d: %v\nlogs:\n%s", i, err, n.logs.String())
		}
		if got := keys("state:"); got != 1 {
			t.Fatalf("after login %d: %d state keys in Redis, want 1", i, got)
		}
		resp, err := platform.Post(t.Context(), browser, ar)
		r := readResponse(t, resp, err)
		if r.status != http.StatusOK || r.json(t)["sub"] != ltitest.DefaultInstructor.Sub {
			t.Fatalf("launch %d: %d %s\nlogs:\n%s", i, r.status, r.body, n.logs.String())
		}
		if got := keys("state:"); got != 0 {
			t.Errorf("after launch %d: %d state keys left in Redis, want 0 (taken)", i, got)
		}
		if got := keys("session:"); got != i+1 {
			t.Errorf("after launch %d: %d launch sessions in Redis, want %d", i, got, i+1)
		}
		resp, err = platform.Post(t.Context(), browser, ar)
		wantError(t, "replay", readResponse(t, resp, err), http.StatusUnauthorized, "invalid_state")
	}
	// The readiness check asks the database and Redis.
	if r := get(t, &http.Client{}, n.url+"/readyz"); r.status != http.StatusOK || !strings.Contains(string(r.body), `"state_store":"ok"`) {
		t.Errorf("/readyz: %d %s", r.status, r.body)
	}
}

// TestStateStoreFlag: --state-store (LTIKIT_STATE_STORE) takes redis://
// and rediss:// URLs only, names where a bad value came from, never shows
// its password, and refuses to serve when Redis does not answer.
func TestStateStoreFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "tool.db")
	tests := []struct {
		name string
		env  []string
		args []string
		want string // in standard error
	}{
		{"UnknownSchemeFlag", nil, []string{"--state-store", "memcached://u:s3cret@cache:11211"}, `--state-store "memcached://u:xxxxx@cache:11211": unknown scheme "memcached"`},
		{"UnknownSchemeEnv", []string{"LTIKIT_STATE_STORE=postgres://u:s3cret@db/x"}, nil, `LTIKIT_STATE_STORE=postgres://u:xxxxx@db/x: unknown scheme "postgres"`},
		{"NotAURL", []string{"LTIKIT_STATE_STORE=127.0.0.1:6379"}, nil, "LTIKIT_STATE_STORE=127.0.0.1:6379: "},
		{"BadOption", nil, []string{"--state-store", "redis://:s3cret@127.0.0.1:6379/0?bogus=1"}, `--state-store "redis://:xxxxx@127.0.0.1:6379/0?bogus=1" is not a usable Redis URL`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCLI(t, dir, tc.env, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, tc.args...)...)
			if res.code != exitUsage || !strings.Contains(res.stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", res.code, res.stderr, exitUsage, tc.want)
			}
			if strings.Contains(res.stderr+res.stdout, "s3cret") {
				t.Errorf("the password is shown:\n%s", res.stderr)
			}
		})
	}

	t.Run("Unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		res := runCLI(t, dir, nil, "serve", "--addr", "127.0.0.1:0", "--db", db,
			"--state-store", "redis://:s3cret@127.0.0.1:"+strconv.Itoa(port)+"/0")
		if res.code != exitFailure || !strings.Contains(res.stderr, "state store redis://:xxxxx@127.0.0.1:") || !strings.Contains(res.stderr, "storage is unavailable") {
			t.Errorf("exit %d, stderr:\n%s\nwant exit %d naming the state store", res.code, res.stderr, exitFailure)
		}
		if !strings.Contains(res.stderr, "the --state-store flag carries a Redis password") {
			t.Errorf("no warning about the password on the command line:\n%s", res.stderr)
		}
		if strings.Contains(res.stderr+res.stdout, "s3cret") {
			t.Errorf("the password is shown:\n%s", res.stderr)
		}
	})
}
