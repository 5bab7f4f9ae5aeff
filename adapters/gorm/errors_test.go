package gormadapter_test

import (
	"fmt"
	"testing"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	"github.com/ltikit/ltikit/lti"
)

// TestClassify: each exported error of the package, bare and wrapped with
// %w, classifies to its code (docs/errors.md).
func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want lti.Code
	}{
		{"ErrNotMigrated", gormadapter.ErrNotMigrated, lti.CodeStorageUnavailable},
		{"ErrUnsupportedDialect", gormadapter.ErrUnsupportedDialect, lti.CodeStorageUnavailable},
		{"ErrDuplicate", gormadapter.ErrDuplicate, lti.CodeAlreadyExists},
	} {
		for _, err := range []error{tc.err, fmt.Errorf("op: %w", tc.err)} {
			if got := lti.Classify(err); got.Code != tc.want || got.Status != tc.want.Status() || got.Kind != tc.want.Kind() {
				t.Errorf("%s: Classify(%v) = %+v, want %s", tc.name, err, got, tc.want)
			}
		}
	}
}
