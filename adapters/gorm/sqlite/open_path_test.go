//go:build unix

package gormsqlite_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormsqlite "github.com/ltikit/ltikit/adapters/gorm/sqlite"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/toolkey"
)

// TestOpenPathErrors: a path Open or OpenReadOnly
// cannot use is a *PathError saying what is wrong and naming the
// path at fault, matched by ErrPath and classified
// storage_unavailable, and nothing is created.
func TestOpenPathErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	rw := func(p string) error { _, err := gormsqlite.Open(p); return err }
	ro := func(p string) error { _, err := gormsqlite.OpenReadOnly(p); return err }
	type pathCase struct {
		name     string
		path     string
		open     func(string) error
		problem  gormsqlite.PathProblem
		subject  string
		contains string
	}
	cases := []pathCase{
		{"missing directory", filepath.Join(dir, "no", "such", "x.db"), rw, gormsqlite.DirMissing, filepath.Join(dir, "no", "such"), "does not exist"},
		{"missing directory, read-only", filepath.Join(dir, "no", "x.db"), ro, gormsqlite.DirMissing, filepath.Join(dir, "no"), "does not exist"},
		{"a directory", dir, rw, gormsqlite.IsDirectory, dir, "is a directory"},
		{"a directory, read-only", dir, ro, gormsqlite.IsDirectory, dir, "is a directory"},
		{"under a file", filepath.Join(file, "x.db"), rw, gormsqlite.NotADirectory, file, "is a file, not a directory"},
		{"deep under a file", filepath.Join(file, "sub", "x.db"), ro, gormsqlite.NotADirectory, file, "is a file, not a directory"},
		{"missing file, read-only", filepath.Join(dir, "x.db"), ro, gormsqlite.FileMissing, filepath.Join(dir, "x.db"), "does not exist"},
		{"a device", "/dev/null", rw, gormsqlite.NotRegular, "/dev/null", "not a regular file"},
	}
	if runtime.GOOS == "linux" {
		// sysfs refuses new files even to root: a directory that is not
		// writable whoever runs the test.
		cases = append(cases, pathCase{"directory not writable", "/sys/ltikit-test.db", rw, gormsqlite.NotWritable, "/sys", "is not writable"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.open(tc.path)
			var pe *gormsqlite.PathError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want a *PathError", err, err)
			}
			if pe.Problem != tc.problem || pe.Subject != tc.subject || pe.Path != tc.path {
				t.Errorf("problem %q subject %q path %q; want %q %q %q", pe.Problem, pe.Subject, pe.Path, tc.problem, tc.subject, tc.path)
			}
			if !strings.Contains(err.Error(), tc.contains) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("message %q does not say %q about %s", err, tc.contains, tc.path)
			}
			if strings.Contains(err.Error(), "out of memory") {
				t.Errorf("message %q repeats the driver's misleading words", err)
			}
			if !errors.Is(err, gormsqlite.ErrPath) || lti.Classify(err).Code != lti.CodeStorageUnavailable {
				t.Errorf("%v: not ErrPath, or classified %s", err, lti.Classify(err).Code)
			}
			if tc.problem != gormsqlite.IsDirectory && tc.problem != gormsqlite.NotRegular {
				if _, err := os.Lstat(tc.path); err == nil {
					t.Errorf("%s was created", tc.path)
				}
			}
		})
	}
}

// TestOpenReadOnly: OpenReadOnly reads what Open wrote,
// and no write gets through: no insert, no tool key made on first use, no
// table created; the file keeps its bytes and its mode (0644 draws a
// warning, not a chmod). Root included, as SQLite's mode=ro and query_only
// bind whatever the permissions.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	// A space and a percent sign: the read-only open names the file in a
	// URI, percent-encoded.
	dir := filepath.Join(t.TempDir(), "a dir %41")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tool.db")
	db, err := gormsqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := gormadapter.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	a, err := gormadapter.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	reg := registration.Registration{Issuer: "https://lms.example", ClientID: "c", AuthEndpoint: "https://lms.example/auth",
		KeySetURL: "https://lms.example/jwks"}
	if err := a.CreateRegistration(ctx, reg, "d1"); err != nil {
		t.Fatal(err)
	}
	closeDB(db)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	ro, err := gormsqlite.OpenReadOnly(path, gormsqlite.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	ra, err := gormadapter.New(ctx, ro)
	if err != nil {
		t.Fatalf("New on the read-only database: %v", err)
	}
	entries, err := ra.Registrations(ctx)
	if err != nil || len(entries) != 1 || entries[0].Registration.Issuer != reg.Issuer {
		t.Fatalf("Registrations: %v, %+v", err, entries)
	}
	if err := ra.CreateDeployment(ctx, reg.Key(), "d2"); err == nil {
		t.Error("a deployment was written through the read-only database")
	}
	ks, err := gormadapter.NewToolKeyStore(ctx, ro, toolkey.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Active(ctx); err == nil {
		t.Error("the first tool key was made through the read-only database")
	}
	if err := ro.Exec("CREATE TABLE x (a INTEGER)").Error; err == nil {
		t.Error("a table was created through the read-only database")
	}
	closeDB(ro)

	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the database file changed")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "a dir A")); err == nil {
		t.Error("the URI was decoded to another directory")
	}
	if m := mode(t, path); m != 0o644 {
		t.Errorf("mode %#o after a read-only open, want 0644 left alone", m)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "0644") {
		t.Errorf("no warning about the 0644 file:\n%s", logs.String())
	}
	// The writer still opens it, tightening the mode as before.
	db, err = gormsqlite.Open(path, gormsqlite.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	closeDB(db)
	if m := mode(t, path); m != 0o600 {
		t.Errorf("mode %#o after Open, want 0600", m)
	}
}

// TestOpenExistingNotWritable: an existing file the process may not
// write is not_writable for Open and opens with
// OpenReadOnly. Root writes a file whatever its mode, so as root the
// test checks a path under /proc instead, where no one may create a file
// (cmd/demo-tool's tests run the binary as an unprivileged user for the
// 0400 file).
func TestOpenExistingNotWritable(t *testing.T) {
	if os.Getuid() == 0 {
		_, err := gormsqlite.Open("/proc/ltikit-test.db")
		var pe *gormsqlite.PathError
		if !errors.As(err, &pe) || strings.Contains(err.Error(), "out of memory") {
			t.Fatalf("Open under /proc: %v; want a *PathError", err)
		}
		return
	}
	path := filepath.Join(t.TempDir(), "tool.db")
	db, err := gormsqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	closeDB(db)
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	_, err = gormsqlite.Open(path)
	var pe *gormsqlite.PathError
	if !errors.As(err, &pe) || pe.Problem != gormsqlite.NotWritable || pe.Subject != path {
		t.Fatalf("Open of a 0400 file: %v; want not_writable", err)
	}
	ro, err := gormsqlite.OpenReadOnly(path)
	if err != nil {
		t.Fatalf("OpenReadOnly of a 0400 file: %v", err)
	}
	closeDB(ro)
}
