package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOwnProcessProfiles checks that -profiles makes each own-process
// child write a CPU profile of its own, named in the order the children
// start: here the closed loop's child, then the open loop's fresh one.
func TestOwnProcessProfiles(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-targets", "own-process", "-stores", "memory", "-clients", "2", "-launches", "40",
		"-warmup", "5", "-micro", "0", "-floors", "0", "-profiles", dir, "-rates", "20", "-step-launches", "10"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("ltibench exited %d:\n%s\n%s", code, stdout.String(), stderr.String())
	}
	for _, name := range []string{"own-process-memory-node1-01.cpu.pprof", "own-process-memory-node1-02.cpu.pprof"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("the child's profile: %v (progress:\n%s)", err, stderr.String())
		}
		p, err := parseProfile(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Contains(p.sampleTypes, "cpu") {
			t.Errorf("%s: sample types %v, want a CPU profile", name, p.sampleTypes)
		}
		if !strings.Contains(stderr.String(), "CPU profile of own-process/memory's node 1: "+filepath.Join(dir, name)) {
			t.Errorf("the progress does not name %s:\n%s", name, stderr.String())
		}
	}
}
