package gormadapter

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// Errors of the constructor and of the Put methods, matched by identity
// with errors.Is. ErrNotMigrated and ErrUnsupportedDialect have the code
// storage_unavailable, ErrDuplicate already_exists. Put errors and database
// failures reach callers wrapped in an lti storage_unavailable error, so
// errors.Is(err, lti.ErrStorageUnavailable) holds for them as well, and
// lti.Classify says storage_unavailable.
var (
	// ErrNotMigrated means a table or column the adapter needs is missing:
	// run [Migrate] (or the SQL in the package documentation) first.
	ErrNotMigrated = lti.NewSentinel(lti.CodeStorageUnavailable, "gormadapter: schema is not migrated")
	// ErrUnsupportedDialect means the *gorm.DB is neither PostgreSQL nor
	// SQLite (the adapter relies on UPDATE … RETURNING and ON CONFLICT).
	ErrUnsupportedDialect = lti.NewSentinel(lti.CodeStorageUnavailable, "gormadapter: unsupported database dialect")
	// ErrDuplicate means PutState or PutNonce was given a value that is
	// already stored; stored values are never overwritten.
	ErrDuplicate = lti.NewSentinel(lti.CodeAlreadyExists, "gormadapter: value already stored")
)

// Adapter is a [storage.Adapter] on a GORM database, PostgreSQL or SQLite.
// Its TakeState consumes the nonce the state carries, so it implements
// [nonce.Carrier] and a launch costs two writes. It is safe for concurrent
// use, also by many processes sharing one database: every single-use
// operation is one conditional statement that the database serialises.
type Adapter struct {
	db     *gorm.DB
	sqlite bool
	now    func() time.Time
	logger *slog.Logger
	models hostModels
}

var (
	_ storage.Adapter = (*Adapter)(nil)
	_ nonce.Carrier   = (*Adapter)(nil)
)

// Option tunes an Adapter.
type Option func(*Adapter)

// WithClock sets the clock that judges expiry (default time.Now). The time
// is passed to the database as a parameter, never taken from its now(), so
// every node and both dialects judge expiry the same way.
func WithClock(now func() time.Time) Option {
	return func(a *Adapter) {
		if now != nil {
			a.now = now
		}
	}
}

// WithLogger sets the logger of the background sweeper (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(a *Adapter) {
		if l != nil {
			a.logger = l
		}
	}
}

// New returns an Adapter that keeps registrations and deployments in the
// package's own models ([Registration], [Deployment]). db must already hold
// the schema ([Migrate]). The constructor checks that the database answers
// and that the tables exist, so a misconfiguration is an error here and not
// a panic or a failed launch later.
func New(ctx context.Context, db *gorm.DB, opts ...Option) (*Adapter, error) {
	return NewWithModels(ctx, db, DefaultModels(), opts...)
}

// NewWithModels returns an Adapter that finds registrations and deployments
// in the host's own GORM models R and D, as m describes, and keeps nonces,
// login states and launch sessions in its own tables ([MigrateLoginTables]). FindRegistration
// returns values of type R and FindDeployment values of type D.
//
// A database that does not answer is an error wrapping
// lti.ErrStorageUnavailable; a missing table or column is [ErrNotMigrated].
func NewWithModels[R registration.Registerable, D deployment.Deployable](ctx context.Context, db *gorm.DB, m Models[R, D], opts ...Option) (*Adapter, error) {
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
	a := &Adapter{now: time.Now, logger: slog.Default()}
	switch name := db.Dialector.Name(); name {
	case "postgres":
	case "sqlite":
		a.sqlite = true
	default:
		return nil, fmt.Errorf("%w: %q (want postgres or sqlite)", ErrUnsupportedDialect, name)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(a)
	}
	// A fresh statement, without the caller's scopes or conditions, and
	// without GORM's implicit transactions: each operation here is one
	// statement. On SQLite the statements are prepared once per
	// connection and kept (GORM's PrepareStmt, for the adapter's own fixed
	// set of statements): compiling the SQL again on every execution was
	// about 40 % of the CPU of PutState and TakeState. PostgreSQL gains
	// nothing measurable from it (pgx already caches statements), so its
	// connections are left as the host configured them.
	a.db = db.Session(&gorm.Session{NewDB: true, SkipDefaultTransaction: true, PrepareStmt: a.sqlite})

	if err := a.db.WithContext(ctx).Exec("SELECT 1").Error; err != nil {
		return nil, unavailable("connect", err)
	}
	regModel, err := newModel[R]()
	if err != nil {
		return nil, err
	}
	depModel, err := newModel[D]()
	if err != nil {
		return nil, err
	}
	regTable, err := tableOf(a.db, regModel)
	if err != nil {
		return nil, err
	}
	depTable, err := tableOf(a.db, depModel)
	if err != nil {
		return nil, err
	}
	checks := []struct {
		table string
		cols  []string
	}{
		{NoncesTable, []string{"nonce", "issuer", "client_id", "expires_at", "consumed_at"}},
		{LoginStatesTable, []string{"state", "nonce", "issuer", "client_id", "target_link_uri", "deployment_id", "binding", "expires_at", "consumed_at"}},
		{LaunchSessionsTable, []string{"id", "issuer", "client_id", "deployment_id", "subject", "claims", "csrf", "created_at", "idle_expires_at", "expires_at"}},
		{regTable, []string{m.IssuerColumn, m.ClientIDColumn}},
		{depTable, []string{m.RegistrationColumn, m.DeploymentIDColumn}},
	}
	for _, c := range checks {
		if err := a.probe(ctx, c.table, c.cols); err != nil {
			return nil, err
		}
	}
	a.models = hostModelsOf[R, D]{m: m}
	return a, nil
}

// probe checks that table has cols with a query that reads no row.
func (a *Adapter) probe(ctx context.Context, table string, cols []string) error {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = a.quote(c)
	}
	sqlText := "SELECT " + strings.Join(q, ", ") + " FROM " + a.quote(table) + " WHERE 1 = 0"
	rows, err := a.db.WithContext(ctx).Raw(sqlText).Rows()
	if err == nil {
		err = rows.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return unavailable("check schema", err)
		}
		return fmt.Errorf("%w: table %s with columns %s: %w", ErrNotMigrated, table, strings.Join(cols, ", "), err)
	}
	return nil
}

func (a *Adapter) quote(name string) string {
	var b strings.Builder
	a.db.Dialector.QuoteTo(&b, name)
	return b.String()
}

// unavailable wraps a database failure as storage_unavailable.
func unavailable(op string, err error) error {
	return lti.ErrStorageUnavailable.WithCause(fmt.Errorf("gormadapter: %s: %w", op, err))
}

// usable reports whether s could ever have been stored: PostgreSQL refuses
// text that is not UTF-8 or holds NUL, so such input is "not found" rather
// than a database error.
func usable(s string) bool {
	return s != "" && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// clock returns the current time at the precision both databases keep.
func (a *Adapter) clock() time.Time { return a.now().UTC().Truncate(time.Microsecond) }

// sqliteTime is the layout of times written to SQLite: fixed width and UTC,
// so SQLite's text comparison orders them in time.
const sqliteTime = "2006-01-02 15:04:05.000000-07:00"

// ts converts t to the parameter the dialect compares correctly.
func (a *Adapter) ts(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if a.sqlite {
		return t.Format(sqliteTime)
	}
	return t
}

// dbTime scans a nullable time written by ts, from either dialect.
type dbTime struct {
	t     time.Time
	valid bool
}

// Scan implements sql.Scanner for time.Time values, the layouts SQLite
// drivers write, and NULL.
func (d *dbTime) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		d.valid = false
		return nil
	case time.Time:
		d.t, d.valid = v.UTC(), true
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("gormadapter: cannot scan %T into a time", src)
	}
	for _, layout := range [...]string{sqliteTime, "2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			d.t, d.valid = t.UTC(), true
			return nil
		}
	}
	return fmt.Errorf("gormadapter: cannot parse time %q", s)
}

// The statements of the single-use values. They are the same in both
// dialects; GORM rewrites the ? placeholders.
const (
	sqlPutNonce = "INSERT INTO ltikit_nonces (nonce, issuer, client_id, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (nonce) DO NOTHING"
	// sqlConsumeNonce is the one conditional statement of ConsumeNonce.
	//
	// The expiry test is wrapped in IS TRUE (same truth, expires_at is NOT
	// NULL) so that no planner can serve it from the expires_at index the
	// sweeper uses: PostgreSQL otherwise picks that index whenever its
	// statistics say few rows are live, and then reads every live row; the
	// primary key keeps each launch one B-tree descent however many rows
	// the table holds.
	sqlConsumeNonce = "UPDATE ltikit_nonces SET consumed_at = ? WHERE nonce = ? AND issuer = ? AND client_id = ? AND consumed_at IS NULL AND (expires_at > ?) IS TRUE"
	sqlNonceReason  = "SELECT consumed_at, expires_at FROM ltikit_nonces WHERE nonce = ? AND issuer = ? AND client_id = ?"
	sqlPutState     = "INSERT INTO ltikit_login_states (state, nonce, issuer, client_id, target_link_uri, deployment_id, binding, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (state) DO NOTHING"
	// sqlTakeState is the one conditional statement of TakeState.
	// (IS TRUE as in sqlConsumeNonce.)
	sqlTakeState   = "UPDATE ltikit_login_states SET consumed_at = ? WHERE state = ? AND consumed_at IS NULL AND (expires_at > ?) IS TRUE RETURNING nonce, issuer, client_id, target_link_uri, deployment_id, binding, expires_at"
	sqlStateReason = "SELECT consumed_at, expires_at FROM ltikit_login_states WHERE state = ?"
	sqlPurgeNonces = "DELETE FROM ltikit_nonces WHERE nonce IN (SELECT nonce FROM ltikit_nonces WHERE expires_at <= ? LIMIT ?)"
	sqlPurgeStates = "DELETE FROM ltikit_login_states WHERE state IN (SELECT state FROM ltikit_login_states WHERE expires_at <= ? LIMIT ?)"
)

// CarriesNonce reports true: the login state row keeps the nonce, and
// TakeState consumes both in one statement.
func (a *Adapter) CarriesNonce() bool { return true }

// PutState stores l under l.State until l.ExpiresAt. A state already stored
// (even taken or expired, until purged) is refused with [ErrDuplicate].
func (a *Adapter) PutState(ctx context.Context, l nonce.Login) error {
	for _, f := range [...]string{l.State, l.Nonce, l.Issuer, l.ClientID} {
		if !usable(f) {
			return unavailable("put state", errors.New("state, nonce, issuer and client_id must be non-empty UTF-8 without NUL"))
		}
	}
	res := a.db.WithContext(ctx).Exec(sqlPutState, l.State, l.Nonce, l.Issuer, l.ClientID,
		l.TargetLinkURI, l.DeploymentID, l.Binding, a.ts(l.ExpiresAt))
	if res.Error != nil {
		return unavailable("put state", res.Error)
	}
	if res.RowsAffected == 0 {
		return unavailable("put state", ErrDuplicate)
	}
	return nil
}

// TakeState takes the login record for state with one conditional UPDATE …
// RETURNING: exactly one of any number of concurrent callers, on any node,
// gets it. A zero-row result is read back once for the reason:
// nonce.ErrNotFound, nonce.ErrExpired or nonce.ErrConsumed. Taken rows are
// kept until they expire so a replay is reported as consumed.
func (a *Adapter) TakeState(ctx context.Context, state string) (nonce.Login, error) {
	if !usable(state) {
		return nonce.Login{}, nonce.ErrNotFound
	}
	now := a.clock()
	rows, err := a.db.WithContext(ctx).Raw(sqlTakeState, a.ts(now), state, a.ts(now)).Rows()
	if err != nil {
		return nonce.Login{}, unavailable("take state", err)
	}
	l := nonce.Login{State: state}
	var exp dbTime
	got := rows.Next()
	if got {
		err = rows.Scan(&l.Nonce, &l.Issuer, &l.ClientID, &l.TargetLinkURI, &l.DeploymentID, &l.Binding, &exp)
	}
	if err == nil {
		err = rows.Err()
	}
	// Close before anything else: on SQLite the write lock lasts until then.
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nonce.Login{}, unavailable("take state", err)
	}
	if got {
		l.ExpiresAt = exp.t
		return l, nil
	}
	return nonce.Login{}, a.refusal(ctx, "take state", now, sqlStateReason, state)
}

// PutNonce stores n until n.ExpiresAt. A value already stored is refused
// with [ErrDuplicate]. The launch pipeline does not need it with this
// adapter (the login state carries the nonce); it is here for hosts that
// combine stores.
func (a *Adapter) PutNonce(ctx context.Context, n nonce.Nonce) error {
	for _, f := range [...]string{n.Value, n.Issuer, n.ClientID} {
		if !usable(f) {
			return unavailable("put nonce", errors.New("value, issuer and client_id must be non-empty UTF-8 without NUL"))
		}
	}
	res := a.db.WithContext(ctx).Exec(sqlPutNonce, n.Value, n.Issuer, n.ClientID, a.ts(n.ExpiresAt))
	if res.Error != nil {
		return unavailable("put nonce", res.Error)
	}
	if res.RowsAffected == 0 {
		return unavailable("put nonce", ErrDuplicate)
	}
	return nil
}

// ConsumeNonce consumes the nonce value issued to (issuer, clientID) with
// one conditional UPDATE: exactly one of any number of concurrent callers
// succeeds. A zero-row result is read back once for the reason:
// nonce.ErrNotFound (also for another registration's nonce), nonce.ErrExpired
// or nonce.ErrConsumed.
func (a *Adapter) ConsumeNonce(ctx context.Context, value, issuer, clientID string) error {
	if !usable(value) || !usable(issuer) || !usable(clientID) {
		return nonce.ErrNotFound
	}
	now := a.clock()
	res := a.db.WithContext(ctx).Exec(sqlConsumeNonce, a.ts(now), value, issuer, clientID, a.ts(now))
	if res.Error != nil {
		return unavailable("consume nonce", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	return a.refusal(ctx, "consume nonce", now, sqlNonceReason, value, issuer, clientID)
}

// refusal reads a row back after a conditional update matched nothing and
// returns why. Every answer refuses.
func (a *Adapter) refusal(ctx context.Context, op string, now time.Time, query string, args ...any) error {
	consumed, exp, got, err := a.readTimes(ctx, query, args...)
	switch {
	case err != nil:
		return unavailable(op, err)
	case !got:
		return nonce.ErrNotFound
	case consumed.valid:
		return nonce.ErrConsumed
	case !exp.t.After(now):
		return nonce.ErrExpired
	default:
		// The row is usable, yet the conditional update did not match it.
		// That cannot happen with a consistent database; refuse as a
		// storage failure rather than guess.
		return unavailable(op, errors.New("row neither taken nor refused"))
	}
}

// readTimes runs query, which selects two timestamps of at most one row,
// and returns them and whether there was a row.
func (a *Adapter) readTimes(ctx context.Context, query string, args ...any) (first, second dbTime, got bool, err error) {
	rows, err := a.db.WithContext(ctx).Raw(query, args...).Rows()
	if err != nil {
		return first, second, false, err
	}
	got = rows.Next()
	if got {
		err = rows.Scan(&first, &second)
	}
	if err == nil {
		err = rows.Err()
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return first, second, got, err
}

// FindRegistration returns the registration for issuer and clientID, as the
// host's model type (or *[Registration] with [New]). An empty clientID
// matches the issuer's single registration, several are
// registration.ErrAmbiguous; none is registration.ErrNotFound.
func (a *Adapter) FindRegistration(ctx context.Context, issuer, clientID string) (registration.Registerable, error) {
	if !usable(issuer) || (clientID != "" && !usable(clientID)) {
		return nil, registration.ErrNotFound
	}
	return a.models.findRegistration(ctx, a.db, issuer, clientID)
}

// FindDeployment returns the deployment deploymentID of reg, as the host's
// model type (or *[Deployment] with [New]). When reg is the value
// FindRegistration returned, its key is used directly; any other
// Registerable is first resolved by issuer and client_id. None is
// deployment.ErrNotFound.
func (a *Adapter) FindDeployment(ctx context.Context, reg registration.Registerable, deploymentID string) (deployment.Deployable, error) {
	if reg == nil || !usable(deploymentID) || len(deploymentID) > deployment.MaxIDLength {
		return nil, deployment.ErrNotFound
	}
	return a.models.findDeployment(ctx, a.db, reg, deploymentID)
}

// hostModels is the typed half of the adapter, built by NewWithModels.
type hostModels interface {
	findRegistration(ctx context.Context, db *gorm.DB, issuer, clientID string) (registration.Registerable, error)
	findDeployment(ctx context.Context, db *gorm.DB, reg registration.Registerable, deploymentID string) (deployment.Deployable, error)
	// The storage.Registrar half, in registrar.go.
	createRegistration(ctx context.Context, a *Adapter, reg registration.Registration, deploymentIDs []string) error
	createDeployment(ctx context.Context, a *Adapter, key registration.Key, deploymentID string) error
	deleteRegistration(ctx context.Context, a *Adapter, key registration.Key) error
	deleteDeployment(ctx context.Context, a *Adapter, key registration.Key, deploymentID string) error
	registrations(ctx context.Context, a *Adapter) ([]storage.Entry, error)
}

type hostModelsOf[R registration.Registerable, D deployment.Deployable] struct {
	m Models[R, D]
}

func eq(col string, v any) clause.Eq {
	return clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: col}, Value: v}
}

// lookup finds the registration of issuer and clientID (any client_id
// when empty). lock, when given, is a row-locking clause (see
// [Adapter.lock]).
func (h hostModelsOf[R, D]) lookup(ctx context.Context, db *gorm.DB, issuer, clientID string, lock ...clause.Expression) (R, error) {
	var zero R
	tx := db.WithContext(ctx).Clauses(lock...).Where(eq(h.m.IssuerColumn, issuer))
	if clientID != "" {
		tx = tx.Where(eq(h.m.ClientIDColumn, clientID))
	}
	var rows []R
	if err := tx.Limit(2).Find(&rows).Error; err != nil {
		return zero, unavailable("find registration", err)
	}
	switch len(rows) {
	case 0:
		return zero, registration.ErrNotFound
	case 1:
		return rows[0], nil
	default:
		return zero, registration.ErrAmbiguous
	}
}

func (h hostModelsOf[R, D]) findRegistration(ctx context.Context, db *gorm.DB, issuer, clientID string) (registration.Registerable, error) {
	r, err := h.lookup(ctx, db, issuer, clientID)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (h hostModelsOf[R, D]) findDeployment(ctx context.Context, db *gorm.DB, reg registration.Registerable, deploymentID string) (deployment.Deployable, error) {
	if isNilPointer(reg) {
		return nil, deployment.ErrNotFound
	}
	r, ok := reg.(R)
	if !ok {
		key := reg.LTIRegistration()
		if !usable(key.Issuer) || !usable(key.ClientID) {
			return nil, deployment.ErrNotFound
		}
		var err error
		r, err = h.lookup(ctx, db, key.Issuer, key.ClientID)
		switch {
		case errors.Is(err, registration.ErrNotFound), errors.Is(err, registration.ErrAmbiguous):
			return nil, deployment.ErrNotFound
		case err != nil:
			return nil, err
		}
	}
	var rows []D
	err := db.WithContext(ctx).
		Where(eq(h.m.RegistrationColumn, h.m.RegistrationKey(r))).
		Where(eq(h.m.DeploymentIDColumn, deploymentID)).
		Limit(1).Find(&rows).Error
	if err != nil {
		return nil, unavailable("find deployment", err)
	}
	if len(rows) == 0 {
		return nil, deployment.ErrNotFound
	}
	return rows[0], nil
}

func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

var _ sql.Scanner = (*dbTime)(nil)
