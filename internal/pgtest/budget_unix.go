//go:build unix

package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"
)

// seq makes reservation names unique within the process.
var seq atomic.Uint64

// reserve waits until the live reservations in dir and conns together fit
// in capacity, then adds one and returns the function that removes it.
// A reservation is a file that its process holds a shared flock on; one
// that can be locked exclusively belongs to a process that has ended and
// is removed. The check and the add happen under an exclusive flock on
// dir's lock file, so two processes never both take the last slots.
func reserve(ctx context.Context, dir string, conns, capacity int, deadline time.Time) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	name := reservationName(conns, fmt.Sprintf("%d-%d-%d", os.Getpid(), time.Now().UnixNano(), seq.Add(1)))
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		f, err := tryReserve(lock, dir, name, conns, capacity)
		if err != nil {
			return nil, err
		}
		if f != nil {
			path := f.Name()
			return func() {
				os.Remove(path)
				f.Close() // the flock goes with the descriptor
			}, nil
		}
		if time.Now().After(deadline) {
			return nil, errTimeout
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
	}
}

// tryReserve adds the reservation name when it fits and returns its file,
// locked; it returns nil, nil when it does not fit yet.
func tryReserve(lock *os.File, dir, name string, conns, capacity int) (*os.File, error) {
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	held := 0
	for _, e := range entries {
		n, ok := connsOf(e.Name())
		if !ok {
			continue
		}
		if live, err := isHeld(filepath.Join(dir, e.Name())); err != nil {
			return nil, err
		} else if live {
			held += n
		}
	}
	if held+conns > capacity {
		return nil, nil
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// isHeld reports whether a process still holds the reservation at path,
// and removes it when none does.
func isHeld(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // released meanwhile
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	// Nobody holds it: its process ended without releasing it.
	os.Remove(path)
	return false, nil
}
