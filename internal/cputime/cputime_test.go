package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestSince: busy work shows as CPU time where the platform measures it.
func TestSince(t *testing.T) {
	m := Start()
	if _, ok := process(); !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("no CPU time on Linux")
		}
		t.Skip("CPU time is not measured on " + runtime.GOOS)
	}
	x := 0
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
		x++
	}
	d, ok := m.Since()
	if !ok || d <= 0 {
		t.Fatalf("%v, %v after busy work (%d rounds)", d, ok, x)
	}
}

func BenchmarkPerOp(b *testing.B) {
	defer PerOp(b)()
	for b.Loop() {
		_ = time.Now()
	}
}
