package gormadapter_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Module path prefixes of the database drivers, by database.
var (
	postgresDrivers = []string{"github.com/jackc/", "gorm.io/driver/postgres", "github.com/lib/pq"}
	sqliteDrivers   = []string{"github.com/glebarez/", "github.com/libtnb/", "modernc.org/", "github.com/ncruces/", "github.com/mattn/go-sqlite3",
		"gorm.io/driver/sqlite", "github.com/tetratelabs/wazero"}
)

// TestDriversLinkedOnlyWhenUsed: the adapter imports no database driver,
// package gormsqlite none of PostgreSQL's and package gormpostgres none of
// SQLite's, so a program links only the driver of the database it opens
// (go list -deps, the packages a build of each links).
func TestDriversLinkedOnlyWhenUsed(t *testing.T) {
	t.Parallel()
	const mod = "github.com/ltikit/ltikit/adapters/gorm"
	cases := []struct {
		name   string
		pkg    string
		banned []string
		needs  string // a package the build links, so the check is not vacuous
	}{
		{"gormadapter", mod, append(append([]string{}, postgresDrivers...), sqliteDrivers...), "gorm.io/gorm"},
		{"gormsqlite", mod + "/sqlite", postgresDrivers, "gorm.io/gorm"},
		{"gormpostgres", mod + "/postgres", sqliteDrivers, "github.com/jackc/pgx/v5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", c.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", c.pkg, err, out)
			}
			deps := strings.Fields(string(out))
			found := false
			for _, dep := range deps {
				found = found || dep == c.needs
				for _, banned := range c.banned {
					if strings.HasPrefix(dep, banned) {
						t.Errorf("%s links %s", c.pkg, dep)
					}
				}
			}
			if !found {
				t.Errorf("%s does not link %s; the list of %d packages looks wrong", c.pkg, c.needs, len(deps))
			}
		})
	}
}
