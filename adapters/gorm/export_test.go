package gormadapter

// The statements, for the query-plan test in package gormadapter_test.
var Statements = map[string]string{
	"consume nonce": sqlConsumeNonce,
	"nonce reason":  sqlNonceReason,
	"take state":    sqlTakeState,
	"state reason":  sqlStateReason,
}
