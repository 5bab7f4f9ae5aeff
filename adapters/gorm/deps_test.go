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
	// One go list for the three packages (each go command loads the whole
	// module graph): a line per package, the package then every package
	// it links (.Deps, the same list go list -deps prints).
	args := []string{"list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}"}
	for _, c := range cases {
		args = append(args, c.pkg)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	links := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			links[f[0]] = f[1:]
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			deps, ok := links[c.pkg]
			if !ok {
				t.Fatalf("go list printed nothing for %s:\n%s", c.pkg, out)
			}
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
