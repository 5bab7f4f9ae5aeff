package gormadapter

import (
	"context"
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/ltikit/ltikit/toolkey"
)

// ToolKeysTable holds the tool's signing keys of a [ToolKeyStore].
const ToolKeysTable = "ltikit_tool_keys"

// The tool keys schema as SQL, like the other schema strings.
var (
	// PostgresToolKeysSQL creates ltikit_tool_keys on PostgreSQL.
	//
	//go:embed schema/postgres_toolkeys.sql
	PostgresToolKeysSQL string
	// SQLiteToolKeysSQL creates ltikit_tool_keys on SQLite.
	//
	//go:embed schema/sqlite_toolkeys.sql
	SQLiteToolKeysSQL string
)

// The active_from column (when a rotated-in key starts signing), added to
// tables made before it existed. [MigrateToolKeys] runs it (on SQLite only
// when the column is missing); teams that run their own migrations run it
// once after the table's SQL.
const (
	// PostgresToolKeysActiveFromSQL adds active_from on PostgreSQL; it is
	// idempotent.
	PostgresToolKeysActiveFromSQL = "ALTER TABLE ltikit_tool_keys ADD COLUMN IF NOT EXISTS active_from TIMESTAMPTZ"
	// SQLiteToolKeysActiveFromSQL adds active_from on SQLite; run it only
	// when the column is missing (SQLite has no IF NOT EXISTS here).
	SQLiteToolKeysActiveFromSQL = "ALTER TABLE ltikit_tool_keys ADD COLUMN active_from DATETIME"
)

// toolKeyLockKey is the PostgreSQL advisory lock Rotate holds: "ltikey" in
// ASCII.
const toolKeyLockKey = 0x6c74696b6579

// MigrateToolKeys creates ltikit_tool_keys and its index, for hosts that
// migrate with [MigrateLoginTables] ([Migrate] creates it too), and adds
// the active_from column to a table made before it existed
// ([PostgresToolKeysActiveFromSQL]): rows already there keep signing and
// publishing as before (NULL means active since created). It is idempotent
// and never drops anything.
func MigrateToolKeys(ctx context.Context, db *gorm.DB) error {
	if db == nil {
		return errors.New("gormadapter: migrate: nil *gorm.DB")
	}
	if db.Dialector == nil {
		return errors.New("gormadapter: migrate: the *gorm.DB has no dialector")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	var text, lock string
	switch name := db.Dialector.Name(); name {
	case "postgres":
		text, lock = PostgresToolKeysSQL, fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrateLockKey)
	case "sqlite":
		text = SQLiteToolKeysSQL
	default:
		return fmt.Errorf("%w: %q (want postgres or sqlite)", ErrUnsupportedDialect, name)
	}
	err := db.Session(&gorm.Session{NewDB: true}).WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if lock != "" {
			if err := tx.Exec(lock).Error; err != nil {
				return err
			}
		}
		for _, stmt := range statements(text) {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("%s: %w", firstLine(stmt), err)
			}
		}
		return addActiveFrom(tx, lock == "")
	})
	if err != nil {
		return unavailable("migrate tool keys", err)
	}
	return nil
}

// addActiveFrom adds the active_from column inside the migration's
// transaction.
func addActiveFrom(tx *gorm.DB, sqlite bool) error {
	if !sqlite {
		return tx.Exec(PostgresToolKeysActiveFromSQL).Error
	}
	var n int64
	if err := tx.Raw("SELECT COUNT(*) FROM pragma_table_info('ltikit_tool_keys') WHERE name = 'active_from'").Scan(&n).Error; err != nil {
		return fmt.Errorf("tool keys: columns: %w", err)
	}
	if n > 0 {
		return nil
	}
	return tx.Exec(SQLiteToolKeysActiveFromSQL).Error
}

// The statements of the tool key store; GORM rewrites the placeholders.
// Each key signs over [active_from, retired_at): active_from NULL means
// since its creation (the first key, and rows from before the column),
// retired_at NULL means until a rotation.
const (
	sqlActiveToolKey = "SELECT kid, private_key, created_at FROM ltikit_tool_keys " +
		"WHERE (active_from IS NULL OR active_from <= ?) AND (retired_at IS NULL OR retired_at > ?) " +
		"ORDER BY created_at DESC LIMIT 1"
	// sqlFirstToolKey inserts the first key unless another node's insert
	// won: the partial unique index admits one row with retired_at NULL.
	sqlFirstToolKey = "INSERT INTO ltikit_tool_keys (kid, private_key, public_key, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
	// sqlRetireToolKey ends at the new key's active_from every signing
	// period that reaches past it: the unretired key's, and the retiring
	// key's while a rotation waits.
	sqlRetireToolKey  = "UPDATE ltikit_tool_keys SET retired_at = ?, expires_at = ? WHERE retired_at IS NULL OR retired_at > ?"
	sqlInsertToolKey  = "INSERT INTO ltikit_tool_keys (kid, private_key, public_key, created_at, active_from) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
	sqlPurgeToolKeys  = "DELETE FROM ltikit_tool_keys WHERE expires_at <= ?"
	sqlPublishedKeys  = "SELECT kid, public_key, created_at, active_from, retired_at, expires_at FROM ltikit_tool_keys WHERE retired_at IS NULL OR expires_at > ?"
	maxParsedToolKeys = 64
)

// ToolKeyStore is a [toolkey.Store] in ltikit_tool_keys, so a tool keeps
// its kid across restarts and every node signs with the same key. Private
// keys are stored as PKCS #8 DER, public keys as PKIX DER (the key set is
// served without reading private keys). Protect the table like any secret:
// whoever reads it can sign as the tool.
//
// One active key at most is guaranteed by the database: a partial unique
// index on the rows with retired_at NULL. The first key is one INSERT … ON
// CONFLICT DO NOTHING, so nodes starting together agree on it; [Rotate] is
// one transaction (on PostgreSQL under an advisory lock, on SQLite a
// BEGIN IMMEDIATE with gormsqlite.Open) that retires the active key, inserts
// the new one and deletes keys past their grace period.
//
// It is safe for concurrent use, also by many processes sharing one
// database.
type ToolKeyStore struct {
	db     *gorm.DB
	sqlite bool
	opts   toolkey.StoreOptions

	mu     sync.Mutex
	parsed map[string]*toolkey.Key // kid → parsed private key
}

var _ toolkey.Store = (*ToolKeyStore)(nil)

// NewToolKeyStore returns a ToolKeyStore on db, which must hold the table
// ([Migrate] or [MigrateToolKeys]). opts are the store's grace period, key
// size and clock (zero values: the toolkey defaults). A database that does
// not answer is an error wrapping lti.ErrStorageUnavailable; a missing
// table is [ErrNotMigrated].
func NewToolKeyStore(ctx context.Context, db *gorm.DB, opts toolkey.StoreOptions) (*ToolKeyStore, error) {
	if db == nil {
		return nil, errors.New("gormadapter: nil *gorm.DB")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if db.Error != nil {
		return nil, fmt.Errorf("gormadapter: the *gorm.DB carries an error: %w", db.Error)
	}
	if db.Dialector == nil {
		return nil, errors.New("gormadapter: the *gorm.DB has no dialector")
	}
	o, err := opts.WithDefaults()
	if err != nil {
		return nil, err
	}
	s := &ToolKeyStore{opts: o, parsed: make(map[string]*toolkey.Key)}
	switch name := db.Dialector.Name(); name {
	case "postgres":
	case "sqlite":
		s.sqlite = true
	default:
		return nil, fmt.Errorf("%w: %q (want postgres or sqlite)", ErrUnsupportedDialect, name)
	}
	s.db = db.Session(&gorm.Session{NewDB: true, SkipDefaultTransaction: true})
	if err := s.db.WithContext(ctx).Exec("SELECT 1").Error; err != nil {
		return nil, unavailable("connect", err)
	}
	a := &Adapter{db: s.db, sqlite: s.sqlite}
	if err := a.probe(ctx, ToolKeysTable, []string{"kid", "private_key", "public_key", "created_at", "active_from", "retired_at", "expires_at"}); err != nil {
		return nil, err
	}
	return s, nil
}

// ts converts t to the parameter the dialect compares correctly (as
// Adapter.ts).
func (s *ToolKeyStore) ts(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if s.sqlite {
		return t.Format(sqliteTime)
	}
	return t
}

func (s *ToolKeyStore) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// Active implements [toolkey.Store]: the row whose signing period holds
// now. With none (an empty table), a new key is generated and inserted with ON CONFLICT DO NOTHING,
// and the row read again: concurrent first calls on any node get the one
// key that won.
func (s *ToolKeyStore) Active(ctx context.Context) (*toolkey.Key, error) {
	k, err := s.active(ctx)
	if err != nil || k != nil {
		return k, err
	}
	nk, err := s.opts.GenerateKey()
	if err != nil {
		return nil, err
	}
	priv, pub, err := derOf(nk)
	if err != nil {
		return nil, err
	}
	if err := s.db.WithContext(ctx).Exec(sqlFirstToolKey, nk.KID(), priv, pub, s.ts(nk.CreatedAt())).Error; err != nil {
		return nil, unavailable("tool keys: first key", err)
	}
	k, err = s.active(ctx)
	if err == nil && k == nil {
		// Rotated and purged between the two statements is impossible
		// (rotation inserts before it commits), and a rotation always
		// leaves a key signing; refuse rather than loop.
		err = unavailable("tool keys: active", errors.New("no key signs now after inserting one"))
	}
	return k, err
}

// active reads the row that signs now; nil without error when there is
// none.
func (s *ToolKeyStore) active(ctx context.Context) (*toolkey.Key, error) {
	now := s.ts(s.now())
	rows, err := s.db.WithContext(ctx).Raw(sqlActiveToolKey, now, now).Rows()
	if err != nil {
		return nil, unavailable("tool keys: active", err)
	}
	var (
		kid     string
		der     []byte
		created dbTime
	)
	got := rows.Next()
	if got {
		err = rows.Scan(&kid, &der, &created)
	}
	if err == nil {
		err = rows.Err()
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, unavailable("tool keys: active", err)
	}
	if !got {
		return nil, nil
	}
	return s.parse(kid, der, created.t)
}

// parse returns the key of a row, parsed once per kid.
func (s *ToolKeyStore) parse(kid string, der []byte, created time.Time) (*toolkey.Key, error) {
	s.mu.Lock()
	k, ok := s.parsed[kid]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	k, err := toolkey.ParseKey(der, created)
	if err != nil {
		return nil, unavailable("tool keys: stored key "+kid, err)
	}
	if k.KID() != kid {
		return nil, unavailable("tool keys", fmt.Errorf("stored key %s has thumbprint %s", kid, k.KID()))
	}
	s.mu.Lock()
	if len(s.parsed) >= maxParsedToolKeys {
		clear(s.parsed)
	}
	s.parsed[kid] = k
	s.mu.Unlock()
	return k, nil
}

// Published implements [toolkey.Store]: the unretired key and the retired
// keys whose expires_at is still ahead, the one that signs now first, then
// newest first. Only public keys are read.
func (s *ToolKeyStore) Published(ctx context.Context) ([]toolkey.PublicKey, error) {
	for attempt := 0; ; attempt++ {
		keys, hasActive, err := s.published(ctx)
		if err != nil || hasActive || attempt == 1 {
			if err == nil && !hasActive {
				err = unavailable("tool keys: published", errors.New("no active key"))
			}
			return keys, err
		}
		if _, err := s.Active(ctx); err != nil {
			return nil, err
		}
	}
}

func (s *ToolKeyStore) published(ctx context.Context) ([]toolkey.PublicKey, bool, error) {
	now := s.now()
	rows, err := s.db.WithContext(ctx).Raw(sqlPublishedKeys, s.ts(now)).Rows()
	if err != nil {
		return nil, false, unavailable("tool keys: published", err)
	}
	var (
		out       []toolkey.PublicKey
		hasActive bool
	)
	for rows.Next() {
		var (
			kid                             string
			der                             []byte
			created, from, retired, expires dbTime
		)
		if err = rows.Scan(&kid, &der, &created, &from, &retired, &expires); err != nil {
			break
		}
		pub, perr := x509.ParsePKIXPublicKey(der)
		if perr != nil {
			err = fmt.Errorf("stored public key %s: %w", kid, perr)
			break
		}
		if tp, terr := toolkey.Thumbprint(pub); terr != nil || tp != kid {
			err = fmt.Errorf("stored public key %s does not match its kid", kid)
			break
		}
		p := toolkey.PublicKey{KID: kid, Key: pub, CreatedAt: created.t}
		if from.valid {
			p.ActiveFrom = from.t
		}
		if retired.valid {
			p.RetiredAt, p.ExpiresAt = retired.t, expires.t
		} else {
			hasActive = true
		}
		out = append(out, p)
	}
	if err == nil {
		err = rows.Err()
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, unavailable("tool keys: published", err)
	}
	slices.SortStableFunc(out, func(a, b toolkey.PublicKey) int {
		if as, bs := a.SignsAt(now), b.SignsAt(now); as != bs {
			if as {
				return -1
			}
			return 1
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	return out, hasActive, nil
}

// Rotate implements [toolkey.Store] in one transaction: end every signing
// period that reaches past now + delay there (retired_at, and expires_at
// = retired_at + grace), insert the new key with active_from = now +
// delay (now on an empty table), delete keys whose expires_at has passed.
// The new key is generated before the transaction starts. Concurrent
// rotations on any node are serialised (a PostgreSQL advisory lock;
// SQLite's single writer), and the partial unique index refuses a second
// unretired key in any case, so exactly one key is unretired after any
// number of concurrent calls.
func (s *ToolKeyStore) Rotate(ctx context.Context, delay time.Duration) error {
	if delay < 0 {
		return toolkey.ErrNegativeDelay
	}
	nk, err := s.opts.GenerateKey()
	if err != nil {
		return err
	}
	priv, pub, err := derOf(nk)
	if err != nil {
		return err
	}
	now := s.now()
	from := now.Add(delay).Truncate(time.Microsecond)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if !s.sqlite {
			if err := tx.Exec(fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", toolKeyLockKey)).Error; err != nil {
				return err
			}
		}
		// A first key inserted by Active on another node (which takes no
		// lock) can commit between the two statements; PostgreSQL's next
		// statement sees it, so retiring once more settles it.
		for attempt := 0; ; attempt++ {
			res := tx.Exec(sqlRetireToolKey, s.ts(from), s.ts(from.Add(s.opts.Grace)), s.ts(from))
			if res.Error != nil {
				return res.Error
			}
			start := from
			if res.RowsAffected == 0 {
				// An empty table: no key signs until the new one does.
				start = now
			}
			res = tx.Exec(sqlInsertToolKey, nk.KID(), priv, pub, s.ts(nk.CreatedAt()), s.ts(start))
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				break
			}
			if attempt == 1 {
				return errors.New("another key became active during the rotation")
			}
		}
		return tx.Exec(sqlPurgeToolKeys, s.ts(now)).Error
	})
	if err != nil {
		return unavailable("tool keys: rotate", err)
	}
	return nil
}

// derOf returns the PKCS #8 private and PKIX public encodings of k.
func derOf(k *toolkey.Key) (priv, pub []byte, err error) {
	if priv, err = k.MarshalPKCS8(); err != nil {
		return nil, nil, err
	}
	if pub, err = x509.MarshalPKIXPublicKey(k.Public().Key); err != nil {
		return nil, nil, fmt.Errorf("gormadapter: %w", err)
	}
	return priv, pub, nil
}
