package gormadapter_test

import (
	"context"
	"strings"
	"testing"
	"time"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
)

// TestPlansUseIndexes checks the structural half of "a launch's cost does
// not grow with the rows left behind": with 20,000 expired rows in both
// tables and fresh statistics, every statement of a launch is a
// primary-key lookup, never a scan. (BenchmarkConsumeWithExpiredRows
// measures the time with a million rows.)
func TestPlansUseIndexes(t *testing.T) {
	t.Parallel()
	const rows = 20000
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := migrated(t, b)
			ctx := context.Background()
			past := time.Now().Add(-time.Hour).UTC()
			var fill []string
			var explain string
			switch b.name {
			case "postgres":
				fill = []string{
					`INSERT INTO ltikit_nonces (nonce, issuer, client_id, expires_at)
						SELECT 'n' || g, 'i', 'c', ? FROM generate_series(1, ?) AS g`,
					`INSERT INTO ltikit_login_states (state, nonce, issuer, client_id, target_link_uri, deployment_id, binding, expires_at)
						SELECT 's' || g, 'n', 'i', 'c', 'u', 'd', 'b', ? FROM generate_series(1, ?) AS g`,
					"ANALYZE",
				}
				explain = "EXPLAIN "
			case "sqlite":
				fill = []string{
					`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?)
						INSERT INTO ltikit_nonces (nonce, issuer, client_id, expires_at) SELECT 'n' || n, 'i', 'c', ? FROM g`,
					`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?)
						INSERT INTO ltikit_login_states (state, nonce, issuer, client_id, target_link_uri, deployment_id, binding, expires_at)
						SELECT 's' || n, 'n', 'i', 'c', 'u', 'd', 'b', ? FROM g`,
					"ANALYZE",
				}
				explain = "EXPLAIN QUERY PLAN "
			}
			for i, q := range fill {
				var err error
				switch {
				case q == "ANALYZE":
					err = db.WithContext(ctx).Exec(q).Error
				case b.name == "postgres":
					err = db.WithContext(ctx).Exec(q, past, rows).Error
				default:
					err = db.WithContext(ctx).Exec(q, rows, past.Format("2006-01-02 15:04:05.000000-07:00")).Error
				}
				if err != nil {
					t.Fatalf("fill %d: %v", i, err)
				}
			}
			now := time.Now().UTC()
			args := map[string][]any{
				"consume nonce": {now, "n1", "i", "c", now},
				"nonce reason":  {"n1", "i", "c"},
				"take state":    {now, "s1", now},
				"state reason":  {"s1"},
			}
			for name, q := range gormadapter.Statements {
				r, err := db.WithContext(ctx).Raw(explain+q, args[name]...).Rows()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				cols, _ := r.Columns()
				var plan []string
				for r.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := r.Scan(ptrs...); err != nil {
						t.Fatal(err)
					}
					line := vals[len(vals)-1]
					if bs, ok := line.([]byte); ok {
						line = string(bs)
					}
					plan = append(plan, strings.TrimSpace(line.(string)))
				}
				r.Close()
				text := strings.Join(plan, " | ")
				if strings.Contains(text, "Seq Scan") || strings.Contains(text, "SCAN ") ||
					!(strings.Contains(text, "_pkey") || strings.Contains(text, "PRIMARY KEY")) {
					t.Errorf("%s is not a primary-key lookup: %s", name, text)
				} else {
					t.Logf("%s: %s", name, text)
				}
			}
		})
	}
}
