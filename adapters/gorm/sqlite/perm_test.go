//go:build unix

package gormsqlite_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"gorm.io/gorm"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormsqlite "github.com/ltikit/ltikit/adapters/gorm/sqlite"
	"github.com/ltikit/ltikit/toolkey"
)

// umaskMu serialises the tests that set the process umask.
var umaskMu sync.Mutex

// withUmask runs f with the process umask set to mask.
func withUmask(mask int, f func()) {
	umaskMu.Lock()
	defer umaskMu.Unlock()
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	f()
}

// closeDB closes the pool of db.
func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat %s: %v", filepath.Base(path), err)
	}
	return fi.Mode().Perm()
}

// writeToolKey migrates the database at path and makes the tool's first
// signing key, through Open with opts; close closes the pool.
func writeToolKey(t *testing.T, path string, logger *slog.Logger) (close func()) {
	t.Helper()
	db, err := gormsqlite.Open(path, gormsqlite.WithLogger(logger))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx := context.Background()
	if err := gormadapter.Migrate(ctx, db); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	ks, err := gormadapter.NewToolKeyStore(ctx, db, toolkey.StoreOptions{})
	if err != nil {
		t.Fatalf("NewToolKeyStore: %v", err)
	}
	if _, err := ks.Active(ctx); err != nil {
		t.Fatalf("Active: %v", err)
	}
	return func() { closeDB(db) }
}

// TestSQLiteFilesPrivate: under umask 022, the database file that holds
// the tool's private key, its WAL and its shared-memory file are 0600.
func TestSQLiteFilesPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tool.db")
	var logs bytes.Buffer
	withUmask(0o022, func() {
		done := writeToolKey(t, path, slog.New(slog.NewTextHandler(&logs, nil)))
		defer done()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if m := mode(t, p); m != 0o600 {
				t.Errorf("%s: mode %#o, want 0600", filepath.Base(p), m)
			}
		}
	})
	if strings.Contains(logs.String(), "WARN") {
		t.Errorf("a new file is reported as too open:\n%s", logs.String())
	}
}

// TestSQLiteExistingFileTightened: an existing database file readable by
// group and others (and its sidecars) is made 0600 when opened, with a
// warning through the logger.
func TestSQLiteExistingFileTightened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tool.db")
	withUmask(0o022, func() {
		writeToolKey(t, path, slog.New(slog.DiscardHandler))()
		// A crash leaves the sidecars behind; make them, 0644 like the file.
		for _, p := range []string{path + "-wal", path + "-shm"} {
			if f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err == nil {
				f.Close()
			}
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var logs bytes.Buffer
		done := writeToolKey(t, path, slog.New(slog.NewTextHandler(&logs, nil)))
		defer done()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if m := mode(t, p); m != 0o600 {
				t.Errorf("%s: mode %#o after reopening, want 0600", filepath.Base(p), m)
			}
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "0644") {
			t.Errorf("no warning about the 0644 file:\n%s", logs.String())
		}
	})
}
