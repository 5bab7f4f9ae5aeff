//go:build !unix

package cputime

import "time"

// process is not measured on this platform.
func process() (time.Duration, bool) { return 0, false }
