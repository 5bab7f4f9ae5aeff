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
