//go:build unix

package pgtest

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReserveWaitsForCapacity: reservations that fit are granted at once;
// one that does not waits until enough are released, and a deadline ends
// the wait with an error.
func TestReserveWaitsForCapacity(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	far := time.Now().Add(time.Minute)
	r1, err := reserve(ctx, dir, 5, 10, far)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := reserve(ctx, dir, 3, 10, far)
	if err != nil {
		t.Fatal(err)
	}
	defer r2()
	if _, err := reserve(ctx, dir, 5, 10, time.Now().Add(50*time.Millisecond)); !errors.Is(err, errTimeout) {
		t.Fatalf("8 of 10 held, 5 more: %v; want the timeout", err)
	}
	granted := make(chan error, 1)
	go func() {
		release, err := reserve(ctx, dir, 5, 10, far)
		if err == nil {
			defer release()
		}
		granted <- err
	}()
	select {
	case err := <-granted:
		t.Fatalf("granted while 8 of 10 were held: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	r1()
	select {
	case err := <-granted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not granted after the release")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := reserve(cancelled, dir, 9, 10, far); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait: %v; want context.Canceled", err)
	}
}

// TestReserveAcrossProcesses: another process's reservation counts, and
// when that process dies without releasing it, it no longer does and its
// file is removed.
func TestReserveAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PGTEST_HOLD_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "held" {
	}
	if sc.Err() != nil {
		t.Fatal(sc.Err())
	}
	if _, err := reserve(t.Context(), dir, 5, 10, time.Now().Add(100*time.Millisecond)); !errors.Is(err, errTimeout) {
		t.Fatalf("another process holds 8 of 10, 5 more: %v; want the timeout", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	release, err := reserve(t.Context(), dir, 5, 10, time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	defer release()
	left, _ := filepath.Glob(filepath.Join(dir, "8-*"))
	if len(left) != 0 {
		t.Errorf("the dead process's reservation is still there: %v", left)
	}
}

// TestMain runs the holder process of TestReserveAcrossProcesses when
// PGTEST_HOLD_DIR names a directory: it holds 8 connections of 10 until
// it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("PGTEST_HOLD_DIR"); dir != "" {
		if _, err := reserve(context.Background(), dir, 8, 10, time.Now().Add(time.Minute)); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestReserveOncePerTest: a test that holds a reservation, or runs under
// one that does, cannot reserve again (it could wait forever on another
// test doing the same); a sibling can.
func TestReserveOncePerTest(t *testing.T) {
	sessions.Lock()
	sessions.active["TestOuter/postgres"] = &reservation{}
	sessions.Unlock()
	t.Cleanup(func() {
		sessions.Lock()
		delete(sessions.active, "TestOuter/postgres")
		sessions.Unlock()
	})
	for _, tc := range []struct {
		name    string
		refused bool
	}{
		{"TestOuter/postgres", true},
		{"TestOuter/postgres/HostModels", true},
		{"TestOuter/postgresql", false},
		{"TestOuter", false},
	} {
		// An unparsable DSN: a test that passes the check fails next, on
		// the DSN, before any connection.
		fatal := fatalOf(t, tc.name, func(tb testing.TB) { Reserve(tb, "postgres://%zz", 1) })
		refused := strings.Contains(fatal, "already holds")
		if refused != tc.refused || fatal == "" {
			t.Errorf("%s: %q; want refused %v", tc.name, fatal, tc.refused)
		}
	}
}
