package main

import (
	"bytes"
	"context"
	"io"
	"math"
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
	for _, bad := range [][]string{{"-targets", "nginx"}, {"-stores", "mongodb"}, {"-fill", "x"}, {"-clients", "0"}, {"extra"}} {
		if _, err := parseFlags(bad, env, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", bad)
		}
	}
}

// TestDerivedVsPeer checks the two derived comparisons against figures
// worked by hand, that they are left out when a figure is missing, and that
// -strict never fails a run on them (they are not targets).
func TestDerivedVsPeer(t *testing.T) {
	peer := &row{Target: "ltijs", Store: "postgres", LaunchesPerS: 100, CPUMsPerLaunch: 8, DBCPUMsPerLaunch: 2, GenCPUMs: 2}
	tests := []struct {
		name         string
		w            row
		wantCeiling  float64 // 0: not derived
		wantCapacity float64
	}{
		{"all measured", row{LaunchesPerS: 800, CPUMsPerLaunch: 0.5, DBCPUMsPerLaunch: 0.5, GenCPUMs: 1.5}, 2 * 1e3 / 2.0 / 100, 10.0 / 1.0},
		{"no database CPU", row{LaunchesPerS: 800, CPUMsPerLaunch: 0.5, DBCPUMsPerLaunch: -1, GenCPUMs: 1.5}, 0, 0},
		{"no server CPU", row{LaunchesPerS: 800, DBCPUMsPerLaunch: 0.5, GenCPUMs: 1.5}, 2 * 1e3 / 2.0 / 100, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]float64{}
			for _, c := range derivedVsPeer("own-process", &tt.w, peer, 2) {
				got[c.What] = c.Value
			}
			check := func(what string, want float64) {
				v, ok := got[what]
				switch {
				case want == 0 && ok:
					t.Errorf("%s = %v, want none", what, v)
				case want != 0 && (!ok || math.Abs(v-want) > 1e-9):
					t.Errorf("%s = %v (present %v), want %v", what, v, ok, want)
				}
			}
			check("own-process_ceiling_vs_ltijs", tt.wantCeiling)
			check("own-process_capacity_vs_ltijs", tt.wantCapacity)
		})
	}
	r := &results{Comparisons: derivedVsPeer("own-process", &row{LaunchesPerS: 1, CPUMsPerLaunch: 50, DBCPUMsPerLaunch: 50, GenCPUMs: 50}, peer, 2)}
	if len(r.Comparisons) != 2 {
		t.Fatalf("got %d comparisons, want 2", len(r.Comparisons))
	}
	if f := r.failures(true); len(f) != 0 {
		t.Errorf("strict failures on derived figures: %q", f)
	}
}
