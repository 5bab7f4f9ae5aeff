package main

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// TestFilledTarget checks the flat-cost target: capacity with -fill's rows
// stored against the empty database's, per configuration, whatever the
// launches/s.
func TestFilledTarget(t *testing.T) {
	rows := []row{
		// 1000 / (0.5 + 0.5) = 1000 per CPU-second.
		{Target: "own-process", Store: "postgres", Launches: 10, LaunchesPerS: 300, CPUMsPerLaunch: 0.5, DBCPUMsPerLaunch: 0.5, RedisCPUMsPerLaunch: -1, WritesPerLaunch: 2},
		// 1000 / (0.5 + 0.6) = 909 = 0.909 ×: met, although launches/s fell to 250.
		{Target: "own-process", Store: "postgres", Filled: "100000 regs, 1000000 states", Launches: 10, LaunchesPerS: 250, CPUMsPerLaunch: 0.5, DBCPUMsPerLaunch: 0.6, RedisCPUMsPerLaunch: -1, WritesPerLaunch: 2},
		{Target: "own-process", Store: "sqlite", Launches: 10, LaunchesPerS: 300, CPUMsPerLaunch: 1, DBCPUMsPerLaunch: -1, RedisCPUMsPerLaunch: -1, WritesPerLaunch: 2},
		// 1000 / 1.25 = 800 = 0.8 × the empty 1000: missed.
		{Target: "own-process", Store: "sqlite", Filled: "100000 regs, 1000000 states", Launches: 10, LaunchesPerS: 320, CPUMsPerLaunch: 1.25, DBCPUMsPerLaunch: -1, RedisCPUMsPerLaunch: -1, WritesPerLaunch: 2},
	}
	for i := range rows {
		rows[i].ReplayChecked, rows[i].ReplayRefused, rows[i].ReplayStatus = true, true, 401
	}
	r := &results{Rows: rows, Machine: machineInfo{CPUs: 2}}
	r.finish()
	checkTargets(t, r, map[string]targetWant{
		"own-process_postgres_filled_capacity_vs_empty": {1 / 1.1, true},
		"own-process_sqlite_filled_capacity_vs_empty":   {0.8, false},
	})
	// The launches/s ratio is a target unpinned only: pinned, it is the
	// generator's rate, and its line says so; -strict ignores it.
	for _, pinned := range []bool{false, true} {
		r := &results{Rows: slices.Clone(rows), Machine: machineInfo{CPUs: 2}}
		if pinned {
			r.Topology = &topology{}
		}
		r.finish()
		var text string
		for _, c := range r.Comparisons {
			if c.What == "own-process_postgres_filled_vs_empty" {
				text = c.Text
			}
		}
		if want := map[bool]string{false: "target ≥ 0.90", true: "not a target"}[pinned]; !strings.Contains(text, want) {
			t.Errorf("pinned %v: the launches/s comparison %q does not say %q", pinned, text, want)
		}
		strict := r.failures(true)
		if got := slices.ContainsFunc(strict, func(f string) bool { return strings.Contains(f, "launches/s of the empty database") }); got != !pinned {
			t.Errorf("pinned %v: -strict fails on the launches/s ratio: %v (%q)", pinned, got, strict)
		}
	}
}

// targetWant is a target's expected value and verdict.
type targetWant struct {
	value float64
	met   bool
}

// checkTargets checks that r's targets include each of want, with its
// value and verdict, and returns every target by name.
func checkTargets(t *testing.T, r *results, want map[string]targetWant) map[string]targetCheck {
	t.Helper()
	got := map[string]targetCheck{}
	for _, c := range r.Targets {
		got[c.What] = c
	}
	for what, w := range want {
		c, ok := got[what]
		if !ok {
			t.Errorf("%s: no target checked", what)
			continue
		}
		if math.Abs(c.Value-w.value) > 1e-6 || c.Met != w.met {
			t.Errorf("%s = %v (met %v), want %v (met %v): %s", what, c.Value, c.Met, w.value, w.met, c.Text)
		}
	}
	return got
}
