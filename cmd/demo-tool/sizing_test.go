package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/ltikit/ltikit/internal/redistest"
	"github.com/ltikit/ltikit/ltitest"
)

// sizedTables are the tables a launch may write, with what the database
// sizing section of docs/operations.md says one launch leaves in each
// until the purge: its login state (taken, kept until it expires so that
// a replay is recognised) and its launch session. The nonce travels in
// the state row, and nothing else is written.
var sizedTables = []struct {
	name      string
	perLaunch int64
}{
	{"ltikit_login_states", 1},
	{"ltikit_launch_sessions", 1},
	{"ltikit_nonces", 0},
	{"ltikit_registrations", 0},
	{"ltikit_deployments", 0},
	{"demo_tool_records", 0},
}

// TestRowsPerLaunch runs launches through the binary on SQLite and on
// PostgreSQL and counts the rows each table gained: the figures of the
// database sizing section of docs/operations.md. It also logs the bytes
// the tables (on PostgreSQL, with their indexes and TOAST) or the database
// (SQLite) grew by.
func TestRowsPerLaunch(t *testing.T) {
	t.Parallel()
	const launches = 200
	sqlite := func(t *testing.T, dir string) string { return filepath.Join(dir, "tool.db") }
	for _, tc := range []struct {
		name  string
		dsn   func(t *testing.T, dir string) string
		redis bool // --state-store: states and sessions in Redis, none in the database
	}{
		{"sqlite", sqlite, false},
		{"postgres", func(t *testing.T, _ string) string { return postgresDSN(t, 1) }, false},
		{"sqlite with the Redis state store", sqlite, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dsn := tc.dsn(t, dir)
			env := []string{"LTIKIT_DB=" + dsn}
			if tc.redis {
				u, err := url.Parse(redistest.URL(t))
				if err != nil {
					t.Fatal(err)
				}
				q := u.Query()
				q.Set("prefix", redistest.Prefix(t, redistest.Client(t)))
				u.RawQuery = q.Encode()
				env = append(env, "LTIKIT_STATE_STORE="+u.String())
			}
			n := startProcess(t, dir, env, "serve", "--addr", "127.0.0.1:0")
			platform, err := ltitest.NewPlatform(ltitest.Config{
				ToolLoginURL:     n.url + pathLogin,
				ToolRedirectURIs: []string{n.url + pathLaunch},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer platform.Close()
			runCLIEnv(t, dir, []string{"LTIKIT_DB=" + dsn}, "platform", "add",
				"--issuer", platform.Issuer(), "--client-id", platform.ClientID(),
				"--auth-url", platform.AuthEndpoint(), "--jwks-url", platform.KeySetURL(),
				"--deployment", platform.DeploymentID())
			db := openPurgeNode(t, dsn)
			count := func() map[string]int64 {
				out := map[string]int64{}
				for _, tb := range sizedTables {
					var c int64
					if err := db.db.Raw("SELECT count(*) FROM " + tb.name).Scan(&c).Error; err != nil {
						t.Fatal(err)
					}
					out[tb.name] = c
				}
				return out
			}
			// size is the bytes of each table of the schema, with its
			// indexes and TOAST, on PostgreSQL; of the database on SQLite.
			size := func() map[string]int64 {
				out := map[string]int64{}
				if tc.name != "postgres" {
					// SQLite: the database's pages, the write-ahead log's included.
					var b int64
					if err := db.db.Raw("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()").Scan(&b).Error; err != nil {
						t.Fatal(err)
					}
					out["the SQLite database"] = b
					return out
				}
				var rows []struct {
					Name  string
					Bytes int64
				}
				if err := db.db.Raw(`SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes FROM pg_class c
					JOIN pg_namespace n ON n.oid = c.relnamespace
					WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&rows).Error; err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					out[r.Name] = r.Bytes
				}
				return out
			}
			before, sizeBefore := count(), size()
			for i := range launches {
				r := readResponseOf(t, platform, jsonBrowser())
				if r.status != http.StatusOK {
					t.Fatalf("launch %d: %d %s", i, r.status, r.body)
				}
			}
			after, sizeAfter := count(), size()
			for _, tb := range sizedTables {
				got := after[tb.name] - before[tb.name]
				want := tb.perLaunch * launches
				if tc.redis {
					want = 0
				}
				if got != want {
					t.Errorf("%s: %d rows after %d launches, want %d", tb.name, got, launches, want)
				}
			}
			var total int64
			for name, b := range sizeAfter {
				if grew := b - sizeBefore[name]; grew != 0 {
					total += grew
					t.Logf("%s: %s grew by %d bytes in %d launches (%d per launch)", tc.name, name, grew, launches, grew/launches)
				}
			}
			t.Logf("%s: %d bytes in %d launches: %d bytes per launch", tc.name, total, launches, total/launches)
		})
	}
}

// readResponseOf runs one whole launch of platform with browser.
func readResponseOf(t *testing.T, platform *ltitest.Platform, browser *http.Client) response {
	t.Helper()
	resp, err := platform.Launch(t.Context(), browser)
	return readResponse(t, resp, err)
}

// runCLIEnv runs the binary with the LTIKIT_* variables of env and fails
// the test unless it exits 0.
func runCLIEnv(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	if res := runCLI(t, dir, env, args...); res.code != 0 {
		t.Fatalf("demo-tool %v: exit %d: %s", args, res.code, res.stderr)
	}
}
