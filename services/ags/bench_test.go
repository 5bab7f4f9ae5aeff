package ags_test

import (
	"testing"
	"time"

	"github.com/ltikit/ltikit/services/ags"
)

// BenchmarkPostScore posts scores over real HTTP to the ltitest platform
// with a cached token: validation, encoding, the request and the
// platform's checks.
func BenchmarkPostScore(b *testing.B) {
	e := newEnv(b)
	c, err := ags.FromLaunch(e.launch(b), e.src, nil)
	if err != nil {
		b.Fatal(err)
	}
	s := ags.Score{UserID: "1002", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}.WithScore(7, 10)
	ctx := b.Context()
	if err := c.PostScore(ctx, "", s); err != nil { // fetches and caches the token
		b.Fatal(err)
	}
	base := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Timestamp = base.Add(time.Duration(i+1) * time.Millisecond)
		if err := c.PostScore(ctx, "", s); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := e.p.TokenRequests(); n != 1 {
		b.Fatalf("%d token requests", n)
	}
}
