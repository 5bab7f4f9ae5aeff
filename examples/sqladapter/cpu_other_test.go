//go:build !unix

package sqladapter_test

import "time"

// processCPU is not measured on this system: the benchmarks report no
// cpu-ns/op.
func processCPU() (time.Duration, bool) { return 0, false }
