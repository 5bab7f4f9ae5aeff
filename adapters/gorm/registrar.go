package gormadapter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

var _ storage.Registrar = (*Adapter)(nil)

// CreateRegistration implements [storage.Registrar]: in one transaction it
// inserts the row [Models.NewRegistration] builds for reg and, for each
// deployment id, the row [Models.NewDeployment] builds ([New] sets both),
// all or none.
//
// reg must pass [registration.Registration.Validate], its text must be
// UTF-8 without NUL, and each deployment id must be non-empty, at most
// deployment.MaxIDLength bytes, UTF-8 without NUL and given once; invalid
// input is an error (not storage_unavailable) and nothing is written. A
// registration with reg's issuer and client_id already stored is an error
// matching [storage.ErrExists], found by a read in the transaction or, when
// another process inserts it at the same time, by the unique index on
// (issuer, client_id): the adapter reads the unique violation of
// PostgreSQL (SQLSTATE 23505) and of SQLite itself, whether or not the
// *gorm.DB translates errors. With host models, the host's tables must
// carry those unique indexes for concurrent creates to be refused.
//
// With host models that have no NewRegistration (or no NewDeployment while
// deployment ids are given), it returns an error wrapping
// errors.ErrUnsupported.
func (a *Adapter) CreateRegistration(ctx context.Context, reg registration.Registration, deploymentIDs ...string) error {
	const op = "create registration"
	if err := checkRegistration(reg); err != nil {
		return fmt.Errorf("gormadapter: %s: %w", op, err)
	}
	seen := make(map[string]bool, len(deploymentIDs))
	for _, id := range deploymentIDs {
		if err := checkDeploymentID(id); err != nil {
			return fmt.Errorf("gormadapter: %s %s: %w", op, reg.Key(), err)
		}
		if seen[id] {
			return fmt.Errorf("gormadapter: %s %s: deployment_id %q given twice", op, reg.Key(), id)
		}
		seen[id] = true
	}
	return a.models.createRegistration(ctx, a, reg, deploymentIDs)
}

// CreateDeployment implements [storage.Registrar]: in one transaction it
// reads the registration (locking its row against a concurrent delete on
// PostgreSQL) and inserts the row [Models.NewDeployment] builds. No such
// registration is registration.ErrNotFound; the deployment already stored
// is [storage.ErrExists], found by the read or by the unique index on
// (registration, deployment_id) as in CreateRegistration. An invalid
// deployment id is an error and nothing is written.
func (a *Adapter) CreateDeployment(ctx context.Context, key registration.Key, deploymentID string) error {
	const op = "create deployment"
	if err := checkDeploymentID(deploymentID); err != nil {
		return fmt.Errorf("gormadapter: %s under %s: %w", op, key, err)
	}
	if !usable(key.Issuer) || !usable(key.ClientID) {
		return fmt.Errorf("gormadapter: %s: registration %s: %w", op, key, registration.ErrNotFound)
	}
	return a.models.createDeployment(ctx, a, key, deploymentID)
}

// DeleteRegistration implements [storage.Registrar]: in one transaction it
// reads the registration (locking its row on PostgreSQL), deletes its
// deployments and then it. Rows are deleted for good (GORM's Unscoped),
// also with host models that soft-delete. None is registration.ErrNotFound.
func (a *Adapter) DeleteRegistration(ctx context.Context, key registration.Key) error {
	if !usable(key.Issuer) || !usable(key.ClientID) {
		return fmt.Errorf("gormadapter: delete registration %s: %w", key, registration.ErrNotFound)
	}
	return a.models.deleteRegistration(ctx, a, key)
}

// DeleteDeployment implements [storage.Registrar] with a read of the
// registration and one DELETE (for good, as in DeleteRegistration).
func (a *Adapter) DeleteDeployment(ctx context.Context, key registration.Key, deploymentID string) error {
	if !usable(key.Issuer) || !usable(key.ClientID) {
		return fmt.Errorf("gormadapter: delete deployment: registration %s: %w", key, registration.ErrNotFound)
	}
	return a.models.deleteDeployment(ctx, a, key, deploymentID)
}

// Registrations implements [storage.Registrar]: every row of the
// registrations model, as its LTIRegistration, with the ids of its
// deployments. It is for administration, not for launches: it reads every
// registration, then the deployments in one query when
// [Models.RegistrationKey] returns an integer or a string (as with [New]),
// or one query per registration otherwise. The order is made in Go, by
// bytes, whatever the database's collation.
func (a *Adapter) Registrations(ctx context.Context) ([]storage.Entry, error) {
	return a.models.registrations(ctx, a)
}

// checkRegistration checks reg as CreateRegistration requires.
func checkRegistration(reg registration.Registration) error {
	if err := reg.Validate(); err != nil {
		return err
	}
	for _, s := range [...]string{reg.Issuer, reg.ClientID, reg.AuthEndpoint, reg.TokenEndpoint, reg.TokenAudience, reg.KeySetURL} {
		if s != "" && !usable(s) {
			return errors.New("registration text must be UTF-8 without NUL")
		}
	}
	return nil
}

// checkDeploymentID checks a deployment id to be written: LTI 1.3 Core
// §5.3.3 bounds it to 255 ASCII characters; the adapter takes any UTF-8
// without NUL (what PostgreSQL's text keeps) up to that many bytes.
func checkDeploymentID(id string) error {
	switch {
	case id == "":
		return errors.New("deployment_id is empty")
	case len(id) > deployment.MaxIDLength:
		return fmt.Errorf("deployment_id is longer than %d bytes", deployment.MaxIDLength)
	case !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0:
		return errors.New("deployment_id must be UTF-8 without NUL")
	}
	return nil
}

// hostError is a mistake of the host's [Models] functions found inside a
// transaction: reported as is, not as storage_unavailable.
type hostError struct{ error }

func (e hostError) Unwrap() error { return e.error }

// lock returns the row-locking clause of strength ("UPDATE" or "SHARE")
// on PostgreSQL, and nothing on SQLite, whose transactions (BEGIN
// IMMEDIATE with gormsqlite.Open) hold the database's one write lock.
func (a *Adapter) lock(strength string) []clause.Expression {
	if a.sqlite {
		return nil
	}
	return []clause.Expression{clause.Locking{Strength: strength}}
}

// isUniqueViolation reports whether err is the database refusing a row
// that a unique index already holds: SQLSTATE 23505 unique_violation on
// PostgreSQL (PostgreSQL documentation, Appendix A), SQLITE_CONSTRAINT_UNIQUE
// or SQLITE_CONSTRAINT_PRIMARYKEY on SQLite (or GORM's translation of
// either, when the host turned TranslateError on).
func (a *Adapter) isUniqueViolation(err error) bool {
	return a.isViolation(err, gorm.ErrDuplicatedKey, "23505", []int{sqliteConstraintUnique, sqliteConstraintPrimaryKey}, "UNIQUE constraint failed")
}

// isForeignKeyViolation reports whether err is a foreign key refusing a
// row: SQLSTATE 23503 on PostgreSQL, SQLITE_CONSTRAINT_FOREIGNKEY on SQLite.
func (a *Adapter) isForeignKeyViolation(err error) bool {
	return a.isViolation(err, gorm.ErrForeignKeyViolated, "23503", []int{sqliteConstraintForeignKey}, "FOREIGN KEY constraint failed")
}

// SQLite's extended result codes (https://sqlite.org/rescode.html).
const (
	sqliteConstraintForeignKey = 787
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

func (a *Adapter) isViolation(err, translated error, sqlState string, sqliteCodes []int, sqliteMessage string) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, translated) {
		return true
	}
	if !a.sqlite {
		// pgx's *pgconn.PgError, like the errors of lib/pq and other
		// PostgreSQL drivers, tells its SQLSTATE through this method; the
		// adapter reads it without importing a driver.
		var pgErr interface{ SQLState() string }
		return errors.As(err, &pgErr) && pgErr.SQLState() == sqlState
	}
	// modernc.org/sqlite's errors (and those of its fork
	// github.com/glebarez/go-sqlite) have a Code method returning the
	// extended result code; other drivers' errors carry SQLite's message.
	var coded interface{ Code() int }
	if errors.As(err, &coded) && slices.Contains(sqliteCodes, coded.Code()) {
		return true
	}
	return strings.Contains(err.Error(), sqliteMessage)
}

// registrarError turns the error of a Registrar operation into what the
// caller gets: nil, a refusal (storage.ErrExists, registration.ErrNotFound,
// registration.ErrAmbiguous, deployment.ErrNotFound), errors.ErrUnsupported,
// a host mistake, or storage_unavailable. A unique violation is
// storage.ErrExists.
func (a *Adapter) registrarError(op string, err error) error {
	var he hostError
	switch {
	case err == nil:
		return nil
	case a.isUniqueViolation(err):
		return fmt.Errorf("gormadapter: %s: %w", op, storage.ErrExists)
	case errors.Is(err, lti.ErrStorageUnavailable):
		return err
	case errors.Is(err, storage.ErrExists), errors.Is(err, registration.ErrNotFound),
		errors.Is(err, registration.ErrAmbiguous), errors.Is(err, deployment.ErrNotFound),
		errors.Is(err, errors.ErrUnsupported):
		return fmt.Errorf("gormadapter: %s: %w", op, err)
	case errors.As(err, &he):
		return fmt.Errorf("gormadapter: %s: %w", op, he.error)
	default:
		return unavailable(op, err)
	}
}

// addr returns what GORM's Create needs for *v: v itself when T is a
// struct, *v when T is already a pointer, so the database's defaults (the
// primary key) land in the caller's value.
func addr[T any](v *T) any {
	if reflect.TypeFor[T]().Kind() == reflect.Pointer {
		return *v
	}
	return v
}

func unsupported(field string) error {
	return fmt.Errorf("writing needs Models.%s, which is not set: %w", field, errors.ErrUnsupported)
}

func (h hostModelsOf[R, D]) createRegistration(ctx context.Context, a *Adapter, reg registration.Registration, ids []string) error {
	const op = "create registration"
	switch {
	case h.m.NewRegistration == nil:
		return a.registrarError(op, unsupported("NewRegistration"))
	case len(ids) > 0 && h.m.NewDeployment == nil:
		return a.registrarError(op, unsupported("NewDeployment"))
	}
	row := h.m.NewRegistration(reg)
	if isNilPointer(row) {
		return a.registrarError(op, hostError{errors.New("the host's Models.NewRegistration returned nil")})
	}
	if got := row.LTIRegistration(); !sameRegistration(got, reg) {
		return a.registrarError(op, hostError{fmt.Errorf("the row Models.NewRegistration returned for %s does not keep every field of it (a static key set the host model has no column for?)", reg.Key())})
	}
	err := a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The read refuses the common duplicate without a failed insert;
		// the unique index refuses the one inserted meanwhile.
		switch _, err := h.lookup(ctx, tx, reg.Issuer, reg.ClientID); {
		case err == nil, errors.Is(err, registration.ErrAmbiguous):
			return storage.ErrExists
		case !errors.Is(err, registration.ErrNotFound):
			return err
		}
		if err := tx.Omit(clause.Associations).Create(addr(&row)).Error; err != nil {
			return err
		}
		for _, id := range ids {
			if err := h.insertDeployment(tx, row, id); err != nil {
				return err
			}
		}
		return nil
	})
	return a.registrarError(op, err)
}

// sameRegistration reports whether got, the LTIRegistration of a row built
// for want, keeps what the launch needs of want, so a host model that
// cannot store a field (a static key set) fails the create instead of
// storing a registration that launches differently.
func sameRegistration(got, want registration.Registration) bool {
	return got.Issuer == want.Issuer && got.ClientID == want.ClientID &&
		got.AuthEndpoint == want.AuthEndpoint && got.TokenEndpoint == want.TokenEndpoint &&
		got.TokenAudience == want.TokenAudience && got.KeySetURL == want.KeySetURL &&
		(got.KeySet == nil) == (want.KeySet == nil)
}

// insertDeployment inserts the row NewDeployment builds for id under reg.
func (h hostModelsOf[R, D]) insertDeployment(tx *gorm.DB, reg R, id string) error {
	d := h.m.NewDeployment(reg, id)
	if isNilPointer(d) {
		return hostError{errors.New("the host's Models.NewDeployment returned nil")}
	}
	if got := d.LTIDeployment().DeploymentID; got != id {
		return hostError{fmt.Errorf("the host's Models.NewDeployment returned deployment %q, want %q", got, id)}
	}
	return tx.Omit(clause.Associations).Create(addr(&d)).Error
}

// hasDeployment reports whether the deployment id of the registration
// whose key is regKey is stored.
func (h hostModelsOf[R, D]) hasDeployment(ctx context.Context, db *gorm.DB, regKey any, id string) (bool, error) {
	var rows []D
	err := db.WithContext(ctx).
		Where(eq(h.m.RegistrationColumn, regKey)).
		Where(eq(h.m.DeploymentIDColumn, id)).
		Limit(1).Find(&rows).Error
	return len(rows) > 0, err
}

func (h hostModelsOf[R, D]) createDeployment(ctx context.Context, a *Adapter, key registration.Key, id string) error {
	const op = "create deployment"
	if h.m.NewDeployment == nil {
		return a.registrarError(op, unsupported("NewDeployment"))
	}
	err := a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// FOR SHARE: a concurrent DeleteRegistration (FOR UPDATE) waits
		// for this insert, and then deletes the new deployment too.
		reg, err := h.lookup(ctx, tx, key.Issuer, key.ClientID, a.lock("SHARE")...)
		if err != nil {
			return err
		}
		switch found, err := h.hasDeployment(ctx, tx, h.m.RegistrationKey(reg), id); {
		case err != nil:
			return err
		case found:
			return storage.ErrExists
		}
		return h.insertDeployment(tx, reg, id)
	})
	if a.isForeignKeyViolation(err) {
		// The registration was deleted between the read and the insert
		// (possible where no row lock was taken).
		err = registration.ErrNotFound
	}
	return a.registrarError(op, err)
}

func (h hostModelsOf[R, D]) deleteRegistration(ctx context.Context, a *Adapter, key registration.Key) error {
	const op = "delete registration"
	err := a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		reg, err := h.lookup(ctx, tx, key.Issuer, key.ClientID, a.lock("UPDATE")...)
		if err != nil {
			return err
		}
		depModel, _ := newModel[D]() // checked by NewWithModels
		if err := tx.Unscoped().Where(eq(h.m.RegistrationColumn, h.m.RegistrationKey(reg))).Delete(depModel).Error; err != nil {
			return err
		}
		regModel, _ := newModel[R]()
		res := tx.Unscoped().Where(eq(h.m.IssuerColumn, key.Issuer)).Where(eq(h.m.ClientIDColumn, key.ClientID)).Delete(regModel)
		switch {
		case res.Error != nil:
			return res.Error
		case res.RowsAffected == 0:
			return registration.ErrNotFound
		}
		return nil
	})
	return a.registrarError(op, err)
}

func (h hostModelsOf[R, D]) deleteDeployment(ctx context.Context, a *Adapter, key registration.Key, id string) error {
	const op = "delete deployment"
	reg, err := h.lookup(ctx, a.db, key.Issuer, key.ClientID)
	if err != nil {
		return a.registrarError(op, err)
	}
	if !usable(id) || len(id) > deployment.MaxIDLength {
		return a.registrarError(op, deployment.ErrNotFound)
	}
	depModel, _ := newModel[D]()
	res := a.db.WithContext(ctx).Unscoped().
		Where(eq(h.m.RegistrationColumn, h.m.RegistrationKey(reg))).
		Where(eq(h.m.DeploymentIDColumn, id)).
		Delete(depModel)
	switch {
	case res.Error != nil:
		return a.registrarError(op, res.Error)
	case res.RowsAffected == 0:
		return a.registrarError(op, deployment.ErrNotFound)
	}
	return nil
}

func (h hostModelsOf[R, D]) registrations(ctx context.Context, a *Adapter) ([]storage.Entry, error) {
	const op = "list registrations"
	var rows []R
	if err := a.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, unavailable(op, err)
	}
	entries := make([]storage.Entry, len(rows))
	keys := make([]any, len(rows))
	for i, r := range rows {
		entries[i].Registration = r.LTIRegistration()
		keys[i] = h.m.RegistrationKey(r)
	}
	if len(rows) > 0 {
		var err error
		if t := reflect.TypeOf(keys[0]); simpleKey(t) {
			err = h.deploymentsByKey(ctx, a.db, t, keys, entries)
		} else {
			err = h.deploymentsOneByOne(ctx, a.db, keys, entries)
		}
		if err != nil {
			return nil, unavailable(op, err)
		}
	}
	for _, e := range entries {
		slices.Sort(e.Deployments)
	}
	slices.SortFunc(entries, func(x, y storage.Entry) int {
		return cmp.Or(cmp.Compare(x.Registration.Issuer, y.Registration.Issuer),
			cmp.Compare(x.Registration.ClientID, y.Registration.ClientID))
	})
	return entries, nil
}

// simpleKey reports whether registration keys of type t can be read back
// from the deployments' column into a t and compared with ==: integers
// and strings (and named types of them), which database/sql converts.
func simpleKey(t reflect.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.String:
		return true
	}
	return false
}

// deploymentsByKey reads every deployment in one query, its registration
// column scanned into a keyType, and gives each entry the ids of its key.
func (h hostModelsOf[R, D]) deploymentsByKey(ctx context.Context, db *gorm.DB, keyType reflect.Type, keys []any, entries []storage.Entry) error {
	index := make(map[any]int, len(keys))
	for i, k := range keys {
		if reflect.TypeOf(k) != keyType {
			return h.deploymentsOneByOne(ctx, db, keys, entries)
		}
		index[k] = i
	}
	depModel, _ := newModel[D]()
	rows, err := db.WithContext(ctx).Model(depModel).
		Select([]string{h.m.RegistrationColumn, h.m.DeploymentIDColumn}).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		key := reflect.New(keyType)
		var id string
		if err := rows.Scan(key.Interface(), &id); err != nil {
			return err
		}
		if i, ok := index[key.Elem().Interface()]; ok {
			entries[i].Deployments = append(entries[i].Deployments, id)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// deploymentsOneByOne reads the ids of each registration's deployments
// with a query of its own, the one FindDeployment's condition uses.
func (h hostModelsOf[R, D]) deploymentsOneByOne(ctx context.Context, db *gorm.DB, keys []any, entries []storage.Entry) error {
	for i, k := range keys {
		depModel, _ := newModel[D]()
		var ids []string
		if err := db.WithContext(ctx).Model(depModel).Where(eq(h.m.RegistrationColumn, k)).Pluck(h.m.DeploymentIDColumn, &ids).Error; err != nil {
			return err
		}
		entries[i].Deployments = ids
	}
	return nil
}
