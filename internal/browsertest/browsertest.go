package browsertest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium, which scripts/ensure-chromium.sh
// installs.
const ChromiumPath = "/usr/bin/chromium"

// requireChromium skips t when the browser is missing, or fails it when
// CI=true.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing and CI=true: run scripts/ensure-chromium.sh", ChromiumPath)
		}
		t.Skipf("%s is missing: run scripts/ensure-chromium.sh to run the browser test", ChromiumPath)
	}
}

// options are the browser's flags, with the profile in dir.
func options(dir string, width, height int) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
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
		// Two parts of the browser that no page can observe; with them
		// off, the demo tool's browser tests take about 50 CPU-seconds
		// instead of 80:
		//   - WebUIOmniboxPopup and WebUIOmniboxAimPopup: the address
		//     bar's drop-downs, two WebUI pages in a renderer of their own,
		//     loaded for every window whether or not it is shown (and each
		//     browser context has a window).
		//   - SpareRendererForSitePerProcess: a renderer started ahead of
		//     the next cross-site navigation, which short tests mostly
		//     leave unused.
		// Cookies, storage partitioning, site isolation and frames are
		// unchanged. Translate and BlinkGenPropertyTrees are chromedp's
		// defaults, which this flag replaces.
		chromedp.Flag("disable-features", strings.Join([]string{
			"Translate", "BlinkGenPropertyTrees",
			"WebUIOmniboxPopup", "WebUIOmniboxAimPopup",
			"SpareRendererForSitePerProcess",
		}, ",")),
		// Renderer processes are reused where site isolation allows it
		// instead of started afresh. A launch crosses sites three times
		// (platform, tool, platform, tool), and a crossing could start a
		// renderer: about 85 in the demo tool's browser tests, some 0.25
		// CPU-seconds each on a 2-CPU machine (a new tab cost 0.46
		// CPU-seconds with a renderer of its own, 0.21 with one reused).
		// With the limit at one, Chromium gives a page or frame an
		// existing renderer of the same site and browser context when
		// there is one (about 65 started). A renderer still serves one
		// site only: cross-site frames stay out of process, as the framed
		// launch tests check when they attach to the tool's iframe target.
		chromedp.Flag("renderer-process-limit", "1"),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(width, height),
	)
}

// Shared is one headless Chromium that the browser tests of a package
// share, each test in a browser context of its own: cookies, storage,
// cache and permissions apart, as in a fresh profile, and its targets apart
// (Targets, Cookies). A new browser with its helper processes costs about
// 2 CPU-seconds more than a new browser context in a running one. The
// browser starts with the first test that asks for it; the package's
// TestMain calls Close once m.Run returns.
type Shared struct {
	width, height int
	slots         chan struct{}

	once    sync.Once
	dir     string
	browser context.Context
	stop    func()
	err     error
}

// NewShared returns a Shared browser with windows of width × height that
// lets at most parallel tests hold a browser context at once (a page that
// loads takes a CPU, and the machines that run these tests may have two).
func NewShared(width, height, parallel int) *Shared {
	return &Shared{width: width, height: height, slots: make(chan struct{}, parallel)}
}

// Context returns a context for a new tab in a new browser context of the
// shared browser, valid for timeout, once fewer than the parallel bound of
// other tests hold one. The browser context (its tab, cookies and storage)
// is disposed of when t ends. Without the browser t is skipped, or fails
// when CI=true.
func (s *Shared) Context(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	requireChromium(t)
	s.slots <- struct{}{}
	t.Cleanup(func() { <-s.slots })
	s.once.Do(s.start)
	if s.err != nil {
		t.Fatalf("starting %s: %v", ChromiumPath, s.err)
	}
	ctx, cancelCtx := chromedp.NewContext(s.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelCtx)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a browser context in %s: %v", ChromiumPath, err)
	}
	return ctx
}

// start starts the browser, once.
func (s *Shared) start() {
	s.dir, s.err = os.MkdirTemp("", "browsertest-")
	if s.err != nil {
		return
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), options(s.dir, s.width, s.height)...)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	s.browser = browser
	s.stop = func() { cancelBrowser(); cancelAlloc() }
	s.err = chromedp.Do(browser)
}

// Close stops the browser, if it started, and removes its profile. The
// browser is asked to close (Browser.close) before it is killed: a killed
// Chromium leaves its singleton socket's directory in the temporary
// directory, one per package and run.
func (s *Shared) Close() {
	s.once.Do(func() {}) // no start after Close
	if s.stop != nil {
		if s.err == nil {
			ctx, cancel := context.WithTimeout(s.browser, 10*time.Second)
			chromedp.Cancel(ctx) // the kill below covers a browser that did not close
			cancel()
		}
		s.stop()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// Targets lists the targets (tabs, cross-site iframes, workers) of the
// browser context of ctx: with a Shared browser, another test's targets
// are never among them.
func Targets(ctx context.Context) ([]*target.Info, error) {
	all, err := chromedp.Targets(ctx)
	if err != nil {
		return nil, err
	}
	own := chromedp.FromContext(ctx).BrowserContextID
	var mine []*target.Info
	for _, ti := range all {
		if ti.BrowserContextID == own {
			mine = append(mine, ti)
		}
	}
	return mine, nil
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

// Cookies returns every cookie of the browser context of ctx, partitioned
// ones included. With a Shared browser, Storage.getCookies without a
// browser context would read the default context's cookies, which no test
// uses.
func Cookies(ctx context.Context) ([]*network.Cookie, error) {
	res, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{
		BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
	})
	if err != nil {
		return nil, err
	}
	return res.Cookies, nil
}
