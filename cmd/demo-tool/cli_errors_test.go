package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// emptyDB makes the SQLite file name in dir with the tool's tables and
// nothing in them (an import of an empty export), and returns its path.
func emptyDB(t *testing.T, dir, name string) string {
	t.Helper()
	db := filepath.Join(dir, name)
	in := writeTestFile(t, dir, name+".json", `{"version":1,"platforms":[]}`)
	mustCLI(t, dir, "import", "--db", db, "--in", in)
	return db
}

// runInProcess runs the command line in this process with the environment
// env, and returns the exit code and what it wrote on stderr.
func runInProcess(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestCLIDatabasePathErrors: an SQLite path that cannot be used says what
// is wrong with it, never SQLite's "out of memory (14)", for the commands
// that write and for those that only read; a command that only reads
// creates no file.
func TestCLIDatabasePathErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeTestFile(t, dir, "a-file", "x")
	add := func(db string) []string {
		return []string{"platform", "add", "--db", db, "--issuer", "https://lms.example", "--client-id", "c",
			"--auth-url", "https://lms.example/auth", "--jwks-url", "https://lms.example/jwks"}
	}
	missingDir := filepath.Join(dir, "nonexistent", "dir", "x.db")
	underFile := filepath.Join(file, "x.db")
	cases := []struct {
		name string
		args []string
		err  string
	}{
		{"add, missing directory", add(missingDir), "its directory " + filepath.Dir(missingDir) + " does not exist"},
		{"list, missing directory", []string{"platform", "list", "--db", missingDir}, "its directory " + filepath.Dir(missingDir) + " does not exist"},
		{"add, a directory", add(dir), "cannot use the SQLite database " + dir + ": it is a directory"},
		{"keys list, a directory", []string{"keys", "list", "--db", dir}, "it is a directory"},
		{"add, under a file", add(underFile), file + " is a file, not a directory"},
		{"export, under a file", []string{"export", "--db", underFile}, file + " is a file, not a directory"},
		{"list, no such file", []string{"platform", "list", "--db", filepath.Join(dir, "typo.db")}, "no SQLite database " + filepath.Join(dir, "typo.db") + ": the file does not exist"},
		{"registration links, no such file", []string{"registration", "links", "--db", filepath.Join(dir, "typo.db")}, "the file does not exist"},
		{"deployment list, no such file", []string{"deployment", "list", "--db", filepath.Join(dir, "typo.db")}, "the file does not exist"},
		{"list, a file without the tables", []string{"platform", "list", "--db", file}, "has no demo-tool tables"},
		{"keys list, a file without the tables", []string{"keys", "list", "--db", file}, "has no demo-tool tables"},
	}
	if runtime.GOOS == "linux" {
		// sysfs refuses new files even to root.
		cases = append(cases, struct {
			name string
			args []string
			err  string
		}{"add, directory not writable", add("/sys/ltikit-test.db"), "the directory /sys is not writable (permission denied)"})
	}
	for _, tc := range cases {
		res := runCLI(t, dir, nil, tc.args...)
		if res.code != exitFailure || !strings.Contains(res.stderr, tc.err) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", tc.name, res.code, res.stderr, tc.err)
		}
		if strings.Contains(res.stderr, "out of memory") || strings.Count(res.stderr, "\n") != 1 {
			t.Errorf("%s: stderr %q: want one line without the driver's misleading words", tc.name, res.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "typo.db")); err == nil {
		t.Error("a read-only command created the database file")
	}
	if _, err := os.Stat(filepath.Dir(missingDir)); err == nil {
		t.Error("a directory was created")
	}
}

// TestCLIEnvVarErrorsNameTheVariable: a bad value from an environment
// variable is reported as VARIABLE=value, never as the flag, with the
// format expected; every bad variable at once.
func TestCLIEnvVarErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
		not  []string
	}{
		{name: "LTIKIT_DB not a database", env: map[string]string{"LTIKIT_DB": "mysql://x"}, args: []string{"platform", "list"},
			want: []string{"platform list: LTIKIT_DB=mysql://x: only postgres:// URLs and SQLite file paths are supported"}, not: []string{"--db"}},
		{name: "LTIKIT_DB password redacted", env: map[string]string{"LTIKIT_DB": "mysql://u:secret@h/x"}, args: []string{"keys", "list"},
			want: []string{"LTIKIT_DB=mysql://u:xxxxx@h/x"}, not: []string{"secret"}},
		{name: "--db named as the flag", args: []string{"export", "--db", "mysql://x"},
			want: []string{`export: --db "mysql://x": only postgres://`}},
		{name: "LTIKIT_DB SQLite URI", env: map[string]string{"LTIKIT_DB": "file:x.db?mode=ro"}, args: []string{"serve"},
			want: []string{"LTIKIT_DB=file:x.db?mode=ro: an SQLite database is given as a plain file path"}},
		{name: "LTIKIT_LOOKUP_CACHE", env: map[string]string{"LTIKIT_LOOKUP_CACHE": "5"}, args: []string{"serve"},
			want: []string{"LTIKIT_LOOKUP_CACHE=5: want a duration like 30s"}, not: []string{"--lookup-cache"}},
		{name: "LTIKIT_LOOKUP_CACHE negative", env: map[string]string{"LTIKIT_LOOKUP_CACHE": "-1s"}, args: []string{"serve"},
			want: []string{"LTIKIT_LOOKUP_CACHE=-1s must not be negative"}},
		{name: "every bad variable at once", args: []string{"serve"}, env: map[string]string{
			"LTIKIT_SANDBOX": "yes please", "LTIKIT_PARTITIONED_COOKIES": "maybe", "LTIKIT_BASE_URL": "http://u:p@x",
			"LTIKIT_ADDR": "8080", "LTIKIT_NEW_DEPLOYMENTS": "accept", "LTIKIT_TRUSTED_PROXIES": "10.0.0.0/33"},
			want: []string{`LTIKIT_SANDBOX="yes please": want true or false`, "LTIKIT_PARTITIONED_COOKIES=maybe: want true or false",
				"LTIKIT_BASE_URL=http://u:p@x must not contain user info", "LTIKIT_ADDR=8080 must be host:port",
				"LTIKIT_NEW_DEPLOYMENTS=accept: want refuse or record", `LTIKIT_TRUSTED_PROXIES: "10.0.0.0/33" is not an IP address or CIDR`}},
		{name: "LTIKIT_SANDBOX_URL", env: map[string]string{"LTIKIT_SANDBOX": "true", "LTIKIT_SANDBOX_URL": "https://lms.example/x"}, args: []string{"serve"},
			want: []string{"LTIKIT_SANDBOX_URL=https://lms.example/x: its path must end in /sandbox"}},
		{name: "LTIKIT_OPEN_REGISTRATION", env: map[string]string{"LTIKIT_OPEN_REGISTRATION": "true", "LTIKIT_BASE_URL": "https://tool.example"}, args: []string{"serve"},
			want: []string{"LTIKIT_OPEN_REGISTRATION lets anyone"}},
		{name: "config LTIKIT_BASE_URL", env: map[string]string{"LTIKIT_BASE_URL": "ftp://tool.example"}, args: []string{"config"},
			want: []string{"config: LTIKIT_BASE_URL=ftp://tool.example must be an absolute http:// or https:// URL"}},
		{name: "registration link LTIKIT_BASE_URL", env: map[string]string{"LTIKIT_BASE_URL": "https://tool.example/?q"}, args: []string{"registration", "link"},
			want: []string{"LTIKIT_BASE_URL=https://tool.example/?q must not contain a query"}},
	} {
		code, _, stderr := runInProcess(t, tc.env, tc.args...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, stderr %q; want 2", tc.name, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr %q does not contain %q", tc.name, stderr, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(stderr, n) {
				t.Errorf("%s: stderr %q contains %q", tc.name, stderr, n)
			}
		}
	}
}

// TestCLIParseErrorsSayTheFormat: a value a flag cannot parse is reported
// with the flag and the format it takes: durations, booleans, URLs,
// addresses.
func TestCLIParseErrorsSayTheFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--lookup-cache", "5"}, `serve: --lookup-cache "5": want a duration like 30s, 5m or 1h30m`},
		{[]string{"serve", "--lookup-cache=soon"}, `--lookup-cache "soon": want a duration like 30s`},
		{[]string{"serve", "--sandbox=maybe"}, `serve: --sandbox "maybe": want true or false`},
		{[]string{"platform", "list", "--json=yes"}, `platform list: --json "yes": want true or false`},
		{[]string{"keys", "rotate", "--now=soon"}, `keys rotate: --now "soon": want true or false`},
		{[]string{"import", "--in", "-", "--replace=please"}, `--replace "please": want true or false`},
		{[]string{"registration", "link", "--base-url", "https://tool.example", "--ttl", "1"}, `registration link: --ttl "1": want a duration like 30s`},
		{[]string{"registration", "link", "--base-url", "https://tool.example", "--ttl", "-1h"}, `--ttl "-1h0m0s" must be more than 0`},
		{[]string{"serve", "--base-url", "https://tool.example:port"}, `--base-url "https://tool.example:port" is not a URL: want an absolute http:// or https:// URL like`},
		{[]string{"serve", "--base-url", "tool.example"}, `--base-url "tool.example" must be an absolute http:// or https:// URL`},
		{[]string{"serve", "--base-url", "https://tool.example:0"}, `--base-url "https://tool.example:0" has an invalid port: want 1 to 65535`},
		{[]string{"serve", "--addr", "8080"}, `--addr "8080" must be host:port, like 127.0.0.1:8080 or :8080`},
		{[]string{"serve", "--trusted-proxies", "10.0.0.0/33"}, `--trusted-proxies: "10.0.0.0/33" is not an IP address or CIDR: want a comma-separated list like`},
		{[]string{"platform", "add", "--auth-url", "https://x.example:port/"}, `--auth-url "https://x.example:port/" is not a URL: want an absolute http:// or https:// URL`},
	} {
		code, _, stderr := runInProcess(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
		if strings.Contains(stderr, "parse error") {
			t.Errorf("%q: stderr %q says only \"parse error\"", tc.args, stderr)
		}
	}
}

// TestCLIEveryProblemAtOnce: each command reports every missing flag and
// every invalid value in one message, the database's too.
func TestCLIEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	badDB := map[string]string{"LTIKIT_DB": "mysql://x"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{name: "platform add", env: badDB, args: []string{"platform", "add", "--token-url", "ftp://x"},
			want: []string{"missing --issuer, --client-id, --auth-url, --jwks-url", `--token-url "ftp://x" must be`, "LTIKIT_DB=mysql://x"}},
		{name: "platform show", env: badDB, args: []string{"platform", "show"}, want: []string{"missing --issuer", "LTIKIT_DB=mysql://x"}},
		{name: "platform remove", env: badDB, args: []string{"platform", "remove"}, want: []string{"missing --issuer, --client-id", "LTIKIT_DB"}},
		{name: "deployment add", env: badDB, args: []string{"deployment", "add"}, want: []string{"missing --issuer, --client-id, --deployment-id", "LTIKIT_DB"}},
		{name: "deployment remove", args: []string{"deployment", "remove", "--db", "x.db?y"},
			want: []string{"missing --issuer, --client-id, --deployment-id", `--db "x.db?y": an SQLite database is given as a plain file path`}},
		{name: "deployment list", env: badDB, args: []string{"deployment", "list", "--client-id", "c"}, want: []string{"--client-id needs --issuer", "LTIKIT_DB"}},
		{name: "export", env: badDB, args: []string{"export", "--out", ""}, want: []string{"--out is empty", "LTIKIT_DB=mysql://x"}},
		{name: "import", env: badDB, args: []string{"import"}, want: []string{"import: missing --in", "LTIKIT_DB=mysql://x"}},
		{name: "keys list", env: badDB, args: []string{"keys", "list"}, want: []string{"keys list: LTIKIT_DB=mysql://x"}},
		{name: "keys rotate", env: badDB, args: []string{"keys", "rotate"}, want: []string{"keys rotate: LTIKIT_DB=mysql://x"}},
		{name: "registration link", env: badDB, args: []string{"registration", "link", "--ttl", "0s", "--note", "a\nb"},
			want: []string{"missing --base-url", `--ttl "0s" must be more than 0`, "--note must be at most", "LTIKIT_DB=mysql://x"}},
		{name: "registration links", env: badDB, args: []string{"registration", "links"}, want: []string{"registration links: LTIKIT_DB=mysql://x"}},
		{name: "config", args: []string{"config", "--lms", "mooodle", "--base-url", "https://tool.example/?x"},
			want: []string{`unknown --lms "mooodle"`, `--base-url "https://tool.example/?x" must not contain a query`}},
		{name: "serve", env: map[string]string{"LTIKIT_LOOKUP_CACHE": "soon"},
			args: []string{"serve", "--db", "mysql://x", "--addr", "x", "--new-deployments", "maybe", "--sandbox-url", "https://lms.example/sandbox"},
			want: []string{`--db "mysql://x"`, "LTIKIT_LOOKUP_CACHE=soon", `--addr "x" must be host:port`, `--new-deployments "maybe": want refuse or record`,
				"--sandbox-url needs --sandbox"}},
	} {
		code, _, stderr := runInProcess(t, tc.env, tc.args...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, stderr %q; want 2", tc.name, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr %q does not contain %q", tc.name, stderr, w)
			}
		}
		if strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: stderr %q is not one line", tc.name, stderr)
		}
	}
}

// TestHelpAligned: the columns of 'demo-tool help' line up: the usage's
// descriptions, the flags table (flag, variable, use) and the endpoints
// (method, path, use) each start at one column.
func TestHelpAligned(t *testing.T) {
	t.Parallel()
	code, help, _ := runInProcess(t, nil, "help")
	if code != exitOK {
		t.Fatalf("help: exit %d", code)
	}
	section := func(title string) []string {
		_, rest, ok := strings.Cut(help, "\n"+title)
		if !ok {
			t.Fatalf("help has no %q section", title)
		}
		rest, _, _ = strings.Cut(rest, "\n\n")
		return strings.Split(rest, "\n")[1:]
	}
	width := func(s string) int { return len([]rune(s)) }
	gap := regexp.MustCompile(`\S(\s{2,})\S`)

	// Usage: a description follows its command after two spaces or more,
	// or has its own line, at one column.
	const usageCol = 48
	for _, line := range section("Usage:") {
		switch trimmed := strings.TrimLeft(line, " "); {
		case strings.HasPrefix(trimmed, "demo-tool"):
			if m := gap.FindStringSubmatchIndex(line); m != nil && m[3] != usageCol {
				t.Errorf("usage: the description starts at column %d, want %d:\n%s", m[3], usageCol, line)
			}
		case strings.HasPrefix(trimmed, "["):
			// The rest of a command's flags.
		default:
			if col := len(line) - len(trimmed); col != usageCol {
				t.Errorf("usage: a description line starts at column %d, want %d:\n%s", col, usageCol, line)
			}
		}
	}

	// Flags: FLAG, VARIABLE and USE columns, continuation lines at USE's.
	rows := section("Flags and their environment variables")
	header := rows[0]
	envCol, useCol := strings.Index(header, "VARIABLE"), strings.Index(header, "USE")
	if envCol < 0 || useCol < 0 {
		t.Fatalf("flags table header %q", header)
	}
	flags := 0
	for _, line := range rows[1:] {
		if strings.HasPrefix(line, "  --") {
			flags++
			if line[envCol-1] != ' ' || !strings.HasPrefix(line[envCol:], "LTIKIT_") || line[useCol-1] != ' ' || line[useCol] == ' ' {
				t.Errorf("flags table: the row is not aligned with the header:\n%s\n%s", header, line)
			}
		} else if strings.TrimLeft(line, " ") == "" || len(line)-len(strings.TrimLeft(line, " ")) != useCol {
			t.Errorf("flags table: a continuation line does not start at column %d:\n%s", useCol, line)
		}
		if width(line) > helpWidth {
			t.Errorf("flags table: a line is %d wide, more than %d:\n%s", width(line), helpWidth, line)
		}
	}
	if flags != len(envFlags) {
		t.Errorf("flags table has %d rows, want %d", flags, len(envFlags))
	}

	// Endpoints: METHOD PATH USE.
	pathCol, descCol := -1, -1
	for _, line := range section("Endpoints:") {
		fields := strings.Fields(line)
		if !strings.HasPrefix(line, "  ") || len(fields) == 0 {
			t.Errorf("endpoints: %q", line)
			continue
		}
		if !strings.HasPrefix(fields[0], "GET") && !strings.HasPrefix(fields[0], "POST") {
			if col := len(line) - len(strings.TrimLeft(line, " ")); col != descCol {
				t.Errorf("endpoints: a continuation line starts at column %d, want %d:\n%s", col, descCol, line)
			}
			continue
		}
		p := strings.Index(line, fields[1])
		d := strings.Index(line[p+len(fields[1]):], fields[2]) + p + len(fields[1])
		if pathCol < 0 {
			pathCol, descCol = p, d
		}
		if p != pathCol || d != descCol {
			t.Errorf("endpoints: path at column %d and use at %d, want %d and %d:\n%s", p, d, pathCol, descCol, line)
		}
	}
}

// TestEnvVarsDocumented: every LTIKIT_* variable the demo tool reads is in
// the help's flags table, in 'demo-tool help' and in the README's demo
// tool section.
func TestEnvVarsDocumented(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	// A variable is read through a flagSet (fromEnv) or getenv.
	lit := regexp.MustCompile(`(?:fromEnv\("[a-z-]+", |[gG]etenv\()"(LTIKIT_[A-Z0-9_]+)"`)
	var read []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range lit.FindAllStringSubmatch(string(src), -1) {
			if !slices.Contains(read, m[1]) {
				read = append(read, m[1])
			}
		}
	}
	if len(read) < 10 {
		t.Fatalf("found only %d variables in the sources: %v", len(read), read)
	}
	readme, err := os.ReadFile(filepath.Join(moduleRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, demo, ok := strings.Cut(string(readme), "\n## The demo tool\n")
	if !ok {
		t.Fatal("README.md has no '## The demo tool' section")
	}
	demo, _, _ = strings.Cut(demo, "\n## ")
	for _, v := range read {
		if !slices.ContainsFunc(envFlags, func(f envFlag) bool { return f.env == v }) {
			t.Errorf("%s is read but not in envFlags (the help's table)", v)
		}
		if !strings.Contains(helpText, " "+v+" ") {
			t.Errorf("%s is not in 'demo-tool help'", v)
		}
		if !strings.Contains(demo, "`"+v+"`") {
			t.Errorf("%s is not in the README's demo tool section", v)
		}
	}
	for _, f := range envFlags {
		if !slices.Contains(read, f.env) {
			t.Errorf("envFlags lists %s, which the code does not read", f.env)
		}
	}
}

// TestCLIReadOnlyPostgres: on PostgreSQL the commands that only read
// create no table and no key either: on an empty schema they say the
// tables are missing; after a write they list, and 'keys list' still makes
// no key.
func TestCLIReadOnlyPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t, 1)
	dir := t.TempDir()
	for _, args := range [][]string{{"platform", "list"}, {"keys", "list"}, {"export"}, {"registration", "links"}} {
		res := runCLI(t, dir, []string{"LTIKIT_DB=" + dsn}, args...)
		if res.code != exitFailure || !strings.Contains(res.stderr, "has no demo-tool tables") {
			t.Errorf("%q on an empty schema: exit %d, stderr %q; want 1 and the tables missing", args, res.code, res.stderr)
		}
	}
	mustCLI(t, dir, addArgs(dsn, moodleP)...)
	for range 2 {
		if res := mustCLI(t, dir, "keys", "list", "--json", "--db", dsn); strings.TrimSpace(res.stdout) != "[]" {
			t.Fatalf("keys list --json without keys: %q", res.stdout)
		}
	}
	if res := mustCLI(t, dir, "platform", "list", "--db", dsn); !strings.Contains(res.stdout, moodleP.Issuer) {
		t.Errorf("platform list:\n%s", res.stdout)
	}
}
