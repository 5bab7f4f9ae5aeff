package launch_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The core packages import neither GORM nor Echo, so adapters can become
// separate modules later without breaking users (STYLE.md, "Dependency
// boundary").
func TestDependencyBoundary(t *testing.T) {
	core := []string{"lti", "registration", "deployment", "nonce", "storage", "storage/storagetest",
		"keys", "launch", "ltitest", "adapters/memory", "toolkey", "services/token", "services/ags", "services/nrps", "deeplink"}
	args := []string{"list", "-deps"}
	for _, p := range core {
		args = append(args, "github.com/ltikit/ltikit/"+p)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"gorm.io/", "github.com/labstack/", "github.com/jackc/", "github.com/glebarez/", "github.com/libtnb/", "modernc.org/"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("a core package depends on %s", dep)
			}
		}
	}
}
