package redistest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/internal/redistest"
)

// TestPrefix: the prefix is fresh, and its keys are gone once the test
// that made it has ended.
func TestPrefix(t *testing.T) {
	c := redistest.Client(t)
	var prefix string
	t.Run("Writes", func(t *testing.T) {
		prefix = redistest.Prefix(t, c)
		if !strings.HasPrefix(prefix, "ltikit-test:") || len(prefix) != len("ltikit-test:")+13 || prefix == redistest.Prefix(t, c) {
			t.Fatalf("prefix %q: want ltikit-test:, 12 hex digits and a colon, fresh each call", prefix)
		}
		for _, k := range []string{"a", "b", "c"} {
			if err := c.Set(t.Context(), prefix+k, "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	n, err := c.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(n) != 0 {
		t.Errorf("keys left under %q after the test: %v", prefix, n)
	}
}
