package pgtest_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ltikit/ltikit/internal/pgtest"
)

// TestSchema: the DSN's connections use a fresh schema of the prefix,
// which exists while the test runs.
func TestSchema(t *testing.T) {
	dsn := pgtest.Schema(t, "pgtest_", 2)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	if len(schema) != len("pgtest_")+12 || schema[:7] != "pgtest_" {
		t.Fatalf("search_path %q, want pgtest_ and 12 hex digits", schema)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var current string
	if err := conn.QueryRow(t.Context(), "SELECT current_schema()").Scan(&current); err != nil {
		t.Fatal(err)
	}
	if current != schema {
		t.Fatalf("current_schema() = %q, want %q", current, schema)
	}
}

// TestWithSearchPath: both DSN forms pgx takes get the schema as a
// runtime parameter, and a URL keeps its other parameters.
func TestWithSearchPath(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?search_path=s1&sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/db?search_path=s1"},
		{"postgres://u@h/db?search_path=old", "postgres://u@h/db?search_path=s1"},
		{"host=h user=u dbname=db", "host=h user=u dbname=db search_path=s1"},
	} {
		if got := pgtest.WithSearchPath(tc.dsn, "s1"); got != tc.want {
			t.Errorf("WithSearchPath(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}

// TestNewSchemaDrop: the drop function removes the schema, and the admin
// connection that made it serves the next schema too.
func TestNewSchemaDrop(t *testing.T) {
	base := pgtest.Schema(t, "pgtest_base_", 1) // skips or fails as the environment demands
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	dsn := u.String()
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	exists := func(schema string) bool {
		t.Helper()
		var n int
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	for range 2 {
		schemaDSN, drop, err := pgtest.NewSchema(t.Context(), dsn, "pgtest_new_")
		if err != nil {
			t.Fatal(err)
		}
		su, _ := url.Parse(schemaDSN)
		schema := su.Query().Get("search_path")
		if !exists(schema) {
			t.Fatalf("schema %s does not exist after NewSchema", schema)
		}
		if err := drop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if exists(schema) {
			t.Fatalf("schema %s exists after drop", schema)
		}
	}
}
