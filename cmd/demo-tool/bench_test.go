package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/ltikit/ltikit/ltitest"
)

// BenchmarkSandboxLaunch is a complete instructor launch through the Echo
// application on SQLite, as a browser does it: login initiation, the
// sandbox's id_token (its RSA signing included), the launch post and the
// HTML launch page. cmd/ltibench measures the same over real HTTP against
// the binary; this one is for profiles (go test -cpuprofile).
func BenchmarkSandboxLaunch(b *testing.B) {
	a, _ := newTestApp(b)
	ctx := b.Context()
	for b.Loop() {
		resp, err := a.sandbox.Launch(ctx, ltitest.NewBrowser())
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
