package gormadapter_test

import (
	"os"
	"strings"
	"testing"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
)

// TestDocumentedSchema keeps the SQL shown in doc.go identical to the SQL
// Migrate runs.
func TestDocumentedSchema(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var doc strings.Builder
	for line := range strings.Lines(string(src)) {
		doc.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "//"), "\t"))
	}
	normal := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for name, sql := range map[string]string{
		"PostgresRegistrationsSQL": gormadapter.PostgresRegistrationsSQL,
		"PostgresLoginSQL":         gormadapter.PostgresLoginSQL,
		"PostgresSessionsSQL":      gormadapter.PostgresSessionsSQL,
	} {
		if !strings.Contains(normal(doc.String()), normal(sql)) {
			t.Errorf("doc.go does not show %s as Migrate runs it", name)
		}
	}
}
