// Package errortest holds the helpers of the tests that prove the error
// contract of ltikit's packages (docs/errors.md): every exported error
// variable has a stable code that lti.Classify gives it, each sentinel
// matches itself and no other, and no sentinel can be modified by code
// outside its package.
//
// It owns three checks: ExportedErrVars reads a package's non-test source
// for its exported Err… variables, so a classification table cannot miss
// a sentinel added later (CheckDeclared compares the two); SettableFields
// finds the exported fields of a value that reflection could set;
// CheckClassified checks one sentinel's code, bare and wrapped; and
// Sentinels is a classification table that makes all these checks for a
// package whose sentinels match by identity.
//
// It is a package of its own because the classification tests of several
// packages (services/token, services/ags, services/nrps, dynreg, deeplink,
// lti and the demo tool's error-document test) make the same checks; one
// copy keeps them the same everywhere. Only tests import it.
package errortest
