package main

import (
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// masks reads the CPU affinity of every thread of pid and its descendants.
func masks(t *testing.T, pid int) map[int]unix.CPUSet {
	t.Helper()
	out := map[int]unix.CPUSet{}
	for _, p := range append([]int{pid}, descendants(pid)...) {
		for _, tid := range tasks(p) {
			var m unix.CPUSet
			if err := unix.SchedGetaffinity(tid, &m); err != nil {
				t.Fatalf("affinity of %d: %v", tid, err)
			}
			out[tid] = m
		}
	}
	return out
}

// startTree starts a shell with two sleeping children: a process tree as
// PostgreSQL's postmaster and its backends are. It returns once both
// children run sleep: a child the shell has forked is named sh until it
// execs, and on a loaded machine a test could see it in between.
func startTree(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range descendants(cmd.Process.Pid) {
			_ = unix.Kill(c, unix.SIGKILL)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(5 * time.Second)
	for sleeping(cmd.Process.Pid) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the shell's two children did not start sleep")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cmd.Process.Pid
}

// sleeping counts the children of pid named sleep.
func sleeping(pid int) int {
	n := 0
	for _, e := range processTable() {
		if e.ppid == pid && e.comm == "sleep" {
			n++
		}
	}
	return n
}

// TestPinRestore moves a process tree (a shell and its two children) onto
// one CPU as -pin moves PostgreSQL, checks every thread is there, and that
// restore gives every thread its original mask back; a server moved with
// tool (ephemeral) is not recorded, and restore runs once.
func TestPinRestore(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("-pin needs 2 CPUs")
	}
	p, err := newPinning()
	if err != nil {
		t.Fatal(err)
	}
	store := startTree(t)
	server := startTree(t)
	orig, origServer := masks(t, store), masks(t, server)
	if len(orig) != 3 {
		t.Fatalf("%d threads in the tree, want 3", len(orig))
	}
	if _, err := p.tree(store, p.toolCPU, false); err != nil {
		t.Fatal(err)
	}
	if err := p.tool(server); err != nil {
		t.Fatal(err)
	}
	var want unix.CPUSet
	want.Set(p.toolCPU)
	for _, pid := range []int{store, server} {
		for tid, m := range masks(t, pid) {
			if m != want {
				t.Errorf("thread %d of tree %d: mask %v, want CPU %d only", tid, pid, m, p.toolCPU)
			}
		}
	}
	if err := p.resweep(); err != nil {
		t.Fatal(err)
	}
	p.forget(server)
	if err := p.restore(); err != nil {
		t.Fatal(err)
	}
	for tid, m := range masks(t, store) {
		if m != orig[tid] {
			t.Errorf("thread %d after restore: mask %v, want %v", tid, m, orig[tid])
		}
	}
	for tid, m := range masks(t, server) {
		if m != want {
			t.Errorf("server thread %d after restore: mask %v, want it left on CPU %d (not recorded; was %v)", tid, m, p.toolCPU, origServer[tid])
		}
	}
	if err := p.restore(); err != nil {
		t.Errorf("second restore: %v", err)
	}
}

// TestPinRefusesOneCPU checks that -pin is refused, with a clear message,
// to a process that may run on one CPU only: the test's thread is confined
// to one CPU while newPinning reads it, then given its mask back.
func TestPinRefusesOneCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var orig, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &orig); err != nil {
		t.Fatal(err)
	}
	for c := range 1024 {
		if orig.IsSet(c) {
			one.Set(c)
			break
		}
	}
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Fatal(err)
	}
	_, err := newPinning()
	if rerr := unix.SchedSetaffinity(0, &orig); rerr != nil {
		t.Fatal(rerr)
	}
	if err == nil || !strings.Contains(err.Error(), "needs 2") {
		t.Errorf("newPinning on one CPU: %v, want a refusal", err)
	}
}

func TestCommandRootsAndLocalURL(t *testing.T) {
	tree := startTree(t)
	table := processTable()
	if !slices.Contains(rootsIn(table, "sh"), tree) {
		t.Errorf("the shell %d is not a root of command sh", tree)
	}
	for _, c := range descendantsIn(table, tree) {
		if !slices.Contains(rootsIn(table, "sleep"), c) {
			t.Errorf("sleep %d under a shell is not a root of command sleep", c)
		}
	}
	for raw, want := range map[string]bool{
		"postgres://postgres@127.0.0.1:5432/postgres": true,
		"postgres://postgres@localhost/postgres":      true,
		"postgres:///postgres?host=/var/run/postgres": true,
		"redis://[::1]:6379/0":                        true,
		"postgres://db.example.com/postgres":          false,
		"redis://10.0.0.5:6379/0":                     false,
	} {
		if got := localURL(raw); got != want {
			t.Errorf("localURL(%q) = %v, want %v", raw, got, want)
		}
	}
}
