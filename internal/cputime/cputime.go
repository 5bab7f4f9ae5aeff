package cputime

import (
	"testing"
	"time"
)

// Meter is the process's CPU time at a starting point.
type Meter struct {
	start time.Duration
	ok    bool
}

// Start reads the process's CPU time now.
func Start() Meter {
	d, ok := process()
	return Meter{start: d, ok: ok}
}

// Since returns the CPU time the process has used since m started, and
// whether the platform measures it.
func (m Meter) Since() (time.Duration, bool) {
	d, ok := process()
	if !ok || !m.ok {
		return 0, false
	}
	return d - m.start, true
}

// Report reports on b the CPU time since m started divided by ops, as
// cpu-ns/op. It reports nothing when the platform does not measure CPU
// time, ops is not positive or b has failed.
func (m Meter) Report(b *testing.B, ops int64) {
	d, ok := m.Since()
	if !ok || ops <= 0 || b.Failed() {
		return
	}
	b.ReportMetric(float64(d.Nanoseconds())/float64(ops), "cpu-ns/op")
}

// PerOp starts a Meter and returns the function that reports it per
// iteration of b (b.N), for a deferred call at the start of a benchmark.
func PerOp(b *testing.B) func() {
	m := Start()
	return func() { m.Report(b, int64(b.N)) }
}
