package pgtest

import (
	"fmt"
	"runtime"
	"testing"
)

// fatalTB is a testing.TB whose Fatalf records the message and stops the
// calling goroutine, as testing's does.
type fatalTB struct {
	testing.TB
	name  string
	fatal string
}

func (f *fatalTB) Name() string { return f.name }
func (f *fatalTB) Helper()      {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs f in a goroutine of its own, as tb named name, and returns
// the message of its Fatalf, or "".
func fatalOf(tb testing.TB, name string, f func(testing.TB)) string {
	ftb := &fatalTB{TB: tb, name: name}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ftb)
	}()
	<-done
	return ftb.fatal
}
