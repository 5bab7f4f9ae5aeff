//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unprivileged is the user the read-only test runs the binary as when the
// tests run as root, for whom permissions block nothing: nobody.
const unprivileged = 65534

// runUnprivileged runs a copy of the binary (in dir, which it makes
// reachable) as a user for whom file permissions hold: the test's own user,
// or nobody when that is root.
func runUnprivileged(t *testing.T, dir string, args ...string) cliResult {
	t.Helper()
	bin := filepath.Join(dir, "demo-tool")
	if _, err := os.Stat(bin); err != nil {
		data, err := os.ReadFile(binary)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: unprivileged, Gid: unprivileged}}
	}
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

// TestCLIReadOnlyDatabase: the commands that only read work on an SQLite
// file the user may not write (0400, in a 0500 directory: SQLite can make
// no -wal or -shm file there), and leave it as it was; the commands that
// write say that the file is not writable, or that its directory is not.
// As root the binary runs as nobody, the file and directory being
// nobody's, so that the permissions hold.
func TestCLIReadOnlyDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Reachable by the unprivileged user: the test's directory and its
	// parent (0700 from os.MkdirTemp).
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dbDir := filepath.Join(dir, "ro")
	if err := os.Mkdir(dbDir, 0o700); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dbDir, "tool.db")
	mustCLI(t, dir, addArgs(db, moodleP)...)
	rotated := mustCLI(t, dir, "keys", "rotate", "--db", db).stdout
	kid, _, _ := strings.Cut(strings.TrimPrefix(rotated, "made the tool's first signing key: "), " ")
	mustCLI(t, dir, "registration", "link", "--db", db, "--base-url", "https://tool.example", "--note", "for moodle")
	// The writers leave the file alone: its -wal and -shm files are gone
	// with the last connection.
	for _, p := range []string{db + "-wal", db + "-shm"} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s is left behind by the writers", p)
		}
	}
	if os.Getuid() == 0 {
		for _, p := range []string{dbDir, db} {
			if err := os.Chown(p, unprivileged, unprivileged); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Chmod(db, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dbDir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dbDir, 0o700) }) // for TempDir's removal
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"platform", "list"}, moodleP.Issuer},
		{[]string{"platform", "show", "--issuer", moodleP.Issuer}, "client id"},
		{[]string{"deployment", "list"}, moodleP.Issuer},
		{[]string{"export"}, `"client_id": "` + moodleP.ClientID + `"`},
		{[]string{"keys", "list"}, kid + "  active"},
		{[]string{"registration", "links"}, "for moodle"},
		{[]string{"config", "--lms", "moodle"}, "Moodle"},
	} {
		res := runUnprivileged(t, dir, append(tc.args, "--db", db)...)
		if tc.args[0] == "config" {
			res = runUnprivileged(t, dir, tc.args...) // config has no database
		}
		if res.code != 0 || !strings.Contains(res.stdout, tc.want) {
			t.Errorf("%q on a read-only file: exit %d, stderr %q, stdout:\n%s\nwant it to contain %q", tc.args, res.code, res.stderr, res.stdout, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{addArgs(db, canvasP), "the file is not writable (permission denied); the commands that only read"},
		{[]string{"keys", "rotate", "--db", db}, "the file is not writable"},
		{[]string{"registration", "link", "--db", db, "--base-url", "https://tool.example"}, "the file is not writable"},
		{[]string{"platform", "add", "--db", filepath.Join(dbDir, "new.db"), "--issuer", "https://x.example", "--client-id", "c",
			"--auth-url", "https://x.example/a", "--jwks-url", "https://x.example/j"}, "the directory " + dbDir + " is not writable (permission denied)"},
	} {
		res := runUnprivileged(t, dir, tc.args...)
		if res.code != exitFailure || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%q on a read-only file: exit %d, stderr %q; want 1 and %q", tc.args[:2], res.code, res.stderr, tc.want)
		}
	}

	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the read-only commands changed the database file")
	}
	entries, err := os.ReadDir(dbDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 { // SQLite could make no -wal or -shm file
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the database's directory holds %v; want tool.db alone", names)
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o400 {
		t.Errorf("the file's mode changed: %v %v", fi.Mode(), err)
	}
}

// TestCLIKeysListMakesNoKey: 'keys list' on a database without keys makes
// none, even when it could write (its own user's writable file); the JWKS
// of a server would.
func TestCLIKeysListMakesNoKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := emptyDB(t, dir, "tool.db")
	for range 2 {
		if res := mustCLI(t, dir, "keys", "list", "--json", "--db", db); strings.TrimSpace(res.stdout) != "[]" {
			t.Fatalf("keys list --json of an empty database: %q", res.stdout)
		}
	}
	// Still none: the rotation that follows makes the first key, which
	// signs at once, and is alone.
	res := mustCLI(t, dir, "keys", "rotate", "--db", db)
	if !strings.Contains(res.stdout, "made the tool's first signing key") || strings.Count(res.stdout, "active") != 1 ||
		strings.Contains(res.stdout, "retired") {
		t.Errorf("the first rotation:\n%s", res.stdout)
	}
}
