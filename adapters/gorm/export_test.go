package gormadapter

// The statements, for the query-plan test in package gormadapter_test.
var Statements = map[string]string{
	"consume nonce": sqlConsumeNonce,
	"nonce reason":  sqlNonceReason,
	"take state":    sqlTakeState,
	"state reason":  sqlStateReason,
}

// IsUniqueViolation and IsForeignKeyViolation expose the adapter's reading
// of constraint errors to the tests.
func IsUniqueViolation(a *Adapter, err error) bool { return a.isUniqueViolation(err) }

// IsForeignKeyViolation: see IsUniqueViolation.
func IsForeignKeyViolation(a *Adapter, err error) bool { return a.isForeignKeyViolation(err) }
