package main

import (
	"bytes"
	"context"
	"io"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// A comm with spaces and parentheses; utime 150, stime 50 ticks.
	line := "1234 (my (odd) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 4 0 100 1000 10 18446744073709551615\n"
	got, err := parseStatCPU(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := 200 * clockTick; got != want {
		t.Errorf("parseStatCPU = %v, want %v", got, want)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Error("parseStatCPU(garbage) succeeded")
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{50: 50, 90: 90, 99: 99, 100: 100, 0.1: 1} {
		if got := percentile(d, p); got != want {
			t.Errorf("percentile(%v) = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
}

// TestCPUProfileLabels checks the profile reader on a real CPU profile:
// work done under role=server and role=client is told apart.
func TestCPUProfileLabels(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skipf("CPU profiling unavailable: %v", err)
	}
	spin := func(ctx context.Context, d time.Duration) {
		end := time.Now().Add(d)
		x := 0
		for time.Now().Before(end) {
			x++
		}
		_ = x
	}
	done := make(chan struct{})
	go pprof.Do(context.Background(), pprof.Labels("role", "server"), func(ctx context.Context) {
		spin(ctx, 300*time.Millisecond)
		close(done)
	})
	pprof.Do(context.Background(), pprof.Labels("role", "client"), func(ctx context.Context) { spin(ctx, 300*time.Millisecond) })
	<-done
	pprof.StopCPUProfile()
	c, err := readCPUShares(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if c.server == 0 || c.client == 0 {
		t.Errorf("shares %+v: want server and client samples", c)
	}
	if f := c.serverFraction(0.5); f <= 0 || f >= 1 {
		t.Errorf("server fraction %v", f)
	}
}

// TestReadAllocs checks that the allocs profile reader finds allocations.
func TestReadAllocs(t *testing.T) {
	a, err := readAllocs()
	if err != nil {
		t.Fatal(err)
	}
	if a.otherObjects+a.serverObjects == 0 {
		t.Errorf("no allocations in the allocs profile: %+v", a)
	}
}

func TestParseFlags(t *testing.T) {
	env := func(string) string { return "" }
	o, err := parseFlags([]string{"-targets", "in-process,demo-tool", "-stores", "sqlite", "-fill", "10,20"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.targets, ",") != "in-process,demo-tool" || o.fillRegs != 10 || o.fillStates != 20 || o.postgres != defaultPostgres {
		t.Errorf("options %+v", o)
	}
	for _, bad := range [][]string{{"-targets", "nginx"}, {"-stores", "redis"}, {"-fill", "x"}, {"-clients", "0"}, {"extra"}} {
		if _, err := parseFlags(bad, env, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", bad)
		}
	}
}
