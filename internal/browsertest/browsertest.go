package browsertest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium, which scripts/ensure-chromium.sh
// installs.
const ChromiumPath = "/usr/bin/chromium"

// Chromium starts headless Chromium for t with a window of width × height
// and returns a context for its first tab, valid for timeout. Without the
// browser the test is skipped, or fails when CI=true. The browser is closed
// when the test ends.
func Chromium(t *testing.T, width, height int, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing and CI=true: run scripts/ensure-chromium.sh", ChromiumPath)
		}
		t.Skipf("%s is missing: run scripts/ensure-chromium.sh to run the browser test", ChromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		// Without these, Chromium's own connections are refused by the
		// closed network, many at a time.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	ctx, cancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancel)
	// Start the browser now, so a start failure is reported as such.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", ChromiumPath, err)
	}
	return ctx
}

// AttachTarget returns a context attached to the existing target id (a
// cross-site iframe, say) of the browser of ctx, or an error when the
// attachment does not complete within wait. A frame that navigates away
// while it is being attached leaves a target that never answers; without
// the bound, the attach would wait for ctx's own deadline. The attachment
// is detached, never closed, when the returned context's cancel runs or
// the wait passes, so the page keeps its frame.
func AttachTarget(ctx context.Context, id target.ID, wait time.Duration) (context.Context, context.CancelFunc, error) {
	fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id), chromedp.WithDetachOnCancel())
	// The first run binds the target to fctx itself: a deadline on a
	// context derived from fctx would end the target's session when it
	// passes, so the wait is a timer here instead.
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(fctx) }()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			cancel()
			return nil, nil, err
		}
		return fctx, cancel, nil
	case <-timer.C:
		cancel()
		return nil, nil, fmt.Errorf("attaching to target %s: no answer within %v", id, wait)
	}
}
