package gormadapter

import (
	"context"
	"sync"
	"time"
)

// purgeBatch is how many rows one DELETE of PurgeExpired removes, so that
// no statement holds locks (on SQLite: the database's write lock) for long.
const purgeBatch = 5000

// DefaultSweepInterval is the interval StartSweeper uses when given none.
const DefaultSweepInterval = 5 * time.Minute

// PurgeExpired deletes nonces and login states whose expiry has passed
// (consumed or not), and launch sessions past their idle (or absolute)
// expiry, in batches, and returns how many rows it deleted. A launch never
// depends on it: expiry is checked by the consume, take and session
// statements themselves, and their cost does not grow with the rows left
// behind. A database failure is an error wrapping
// lti.ErrStorageUnavailable, together with the count deleted before it.
func (a *Adapter) PurgeExpired(ctx context.Context) (int64, error) {
	now := a.ts(a.clock())
	var total int64
	for _, q := range [...]string{sqlPurgeNonces, sqlPurgeStates, sqlPurgeSessions} {
		for {
			res := a.db.WithContext(ctx).Exec(q, now, purgeBatch)
			if res.Error != nil {
				return total, unavailable("purge expired", res.Error)
			}
			total += res.RowsAffected
			if res.RowsAffected < purgeBatch {
				break
			}
			if err := ctx.Err(); err != nil {
				return total, unavailable("purge expired", err)
			}
		}
	}
	return total, nil
}

// StartSweeper runs PurgeExpired every interval (DefaultSweepInterval if
// interval is not positive) in a background goroutine, logging failures to
// the adapter's logger. stop cancels a purge in flight, waits for the
// goroutine to end, and may be called more than once. Running a sweeper on
// several nodes at once is safe.
func (a *Adapter) StartSweeper(interval time.Duration) (stop func()) {
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n, err := a.PurgeExpired(ctx)
				switch {
				case err != nil && ctx.Err() == nil:
					a.logger.Warn("ltikit: purging expired login states and sessions failed", "deleted", n, "err", err)
				case n > 0:
					a.logger.Debug("ltikit: purged expired login states and sessions", "deleted", n)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}
