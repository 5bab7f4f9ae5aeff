package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// admins holds, per DSN, the one connection a test process creates and
// drops its schemas on, kept open while the process uses it. A new
// PostgreSQL connection costs the server a process of its own (fork,
// start-up, catalog caches, exit); a connection for each reachability
// check, CREATE SCHEMA and DROP SCHEMA was 140 of a whole run's 773. The
// connection is one of those Headroom leaves room for; concurrent tests of
// a process take turns on it.
var admins = struct {
	sync.Mutex
	pools map[string]*pgxpool.Pool
}{pools: map[string]*pgxpool.Pool{}}

// adminIdle is how long the admin connection stays open unused; a test
// process that stops making schemas then gives its slot back.
const adminIdle = 30 * time.Second

// admin returns the admin pool of dsn, made on first use. It connects
// lazily: an unreachable server is an error of the first query, not here.
func admin(dsn string) (*pgxpool.Pool, error) {
	admins.Lock()
	defer admins.Unlock()
	if p, ok := admins.pools[dsn]; ok {
		return p, nil
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 1
	cfg.MaxConnIdleTime = adminIdle
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	admins.pools[dsn] = p
	return p, nil
}

// ping checks that the server of dsn answers, on the admin connection.
func ping(ctx context.Context, dsn string) error {
	p, err := admin(dsn)
	if err != nil {
		return err
	}
	return p.Ping(ctx)
}

// NewSchema creates a schema named prefix plus 12 random hex digits in the
// database of dsn and returns a DSN whose every connection uses it
// (search_path), and a function that drops it with everything in it. It
// reserves no connections (see [Reserve]); tests use [Schema] or
// [CreateSchema], which drop the schema when the test ends. dsn may be a
// URL or key=value pairs.
func NewSchema(ctx context.Context, dsn, prefix string) (schemaDSN string, drop func(context.Context) error, err error) {
	p, err := admin(dsn)
	if err != nil {
		return "", nil, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	if _, err := p.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("creating schema %s: %w", schema, err)
	}
	drop = func(ctx context.Context) error {
		if _, err := p.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			return fmt.Errorf("dropping schema %s: %w", schema, err)
		}
		return nil
	}
	return WithSearchPath(dsn, schema), drop, nil
}

// CreateSchema is [NewSchema] for a test: the schema is dropped when tb
// ends, and a failure fails tb. Connections the test opens on it must be
// reserved first ([Reserve]), or come from [Schema], which does both.
func CreateSchema(tb testing.TB, dsn, prefix string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	defer cancel()
	schemaDSN, drop, err := NewSchema(ctx, dsn, prefix)
	if err != nil {
		tb.Fatalf("PostgreSQL at %s: %v", redacted(dsn), err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := drop(ctx); err != nil {
			tb.Errorf("PostgreSQL at %s: %v", redacted(dsn), err)
		}
	})
	return schemaDSN
}

// WithSearchPath returns dsn, a URL or key=value pairs, with its
// search_path set to schema: a runtime parameter, so every connection
// opened on it uses the schema.
func WithSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

// redacted is dsn for a message: a URL without its password, or only
// "the DSN" for key=value pairs, which may hold one.
func redacted(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the DSN"
}
