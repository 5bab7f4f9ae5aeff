package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ltikit/ltikit/internal/browsertest"
)

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// browser is the headless Chromium the package's browser tests share,
// each in a browser context of its own (see internal/browsertest.Shared).
// At most two tests hold one at once: a browser loading a page takes a
// CPU, and the machines that run these tests may have two. TestMain closes
// it.
var browser = browsertest.NewShared(1280, 1400, 2)

// newChromium returns a context for a fresh browser context of the shared
// Chromium (a new tab with no cookies or storage), once fewer than two
// other tests hold one.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	return browser.Context(t, 90*time.Second)
}

// screenshotDir is where screenshots go: LTIKIT_TEST_SCREENSHOT_DIR when
// set (to keep them), else the test's temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("LTIKIT_TEST_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// keepScreenshots tells whether the screenshots are kept
// (LTIKIT_TEST_SCREENSHOT_DIR is set). When they are not, saveScreenshot
// takes none: a full-page PNG that nobody reads asserts nothing, and its
// capture and encoding were a large part of the browser tests' CPU time.
func keepScreenshots() bool { return os.Getenv("LTIKIT_TEST_SCREENSHOT_DIR") != "" }

// TestBrowserSandboxLaunch opens the sandbox in headless Chromium, clicks a
// launch link and checks the launch page: the whole flow runs in a real
// browser, with its real cookie rules.
//
// The platform and the tool are made different sites, as an LMS and a tool
// are: the sandbox is served as http://127.0.0.1:PORT/sandbox
// (--sandbox-url) and the tool as http://localhost:PORT (--base-url). A
// site is scheme plus registrable domain, and an IP address is its own
// site, so 127.0.0.1 and localhost are cross-site although one server
// answers both. The flow then crosses sites twice:
//
//  1. The sandbox page on 127.0.0.1 auto-posts the login initiation to
//     http://localhost:PORT/lti/login; the tool answers with the state
//     cookie (HttpOnly; Secure; SameSite=None) and a redirect to the
//     sandbox's auth endpoint on 127.0.0.1.
//  2. The auth endpoint's page on 127.0.0.1 auto-posts id_token and state
//     to http://localhost:PORT/lti/launch. A cross-site POST carries only
//     SameSite=None cookies: with Lax the state cookie would be missing and
//     the launch refused as invalid_state. (Checked with Chromium 156: a
//     form POST from 127.0.0.1 to localhost sent a SameSite=None; Secure
//     cookie and dropped a SameSite=Lax one; from localhost to localhost
//     it sent both. A cookie without SameSite was still sent, by
//     Chromium's two-minute "Lax+POST" allowance for new cookies.)
//
// Chromium treats http://localhost and http://127.0.0.1 as secure contexts,
// so it stores and sends the Secure cookie over plain http there; on any
// other http host the cookie would be dropped, which is why real
// deployments use https. Were both on one host (the default of
// `go run ./cmd/demo-tool`), step 2 would be same-site and would not test
// SameSite=None.
func TestBrowserSandboxLaunch(t *testing.T) {
	t.Parallel()
	ctx := newChromium(t)
	port := freePort(t)
	toolBase := fmt.Sprintf("http://localhost:%d", port)
	sandbox := fmt.Sprintf("http://127.0.0.1:%d/sandbox", port)
	dir := t.TempDir()
	n := startNode(t, dir, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--base-url", toolBase,
		"--sandbox", "--sandbox-url", sandbox, "--db", filepath.Join(dir, "browser.db"))
	shots := screenshotDir(t)

	t.Run("instructor", func(t *testing.T) {
		if err := chromedp.Do(ctx,
			chromedp.Navigate(sandbox+"/"),
			chromedp.WaitVisible(chromedp.CSS("#launch-instructor")),
			chromedp.Click(chromedp.CSS("#launch-instructor")),
			chromedp.WaitVisible(chromedp.CSS("#user-name")),
		); err != nil {
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("launch as instructor: %v\npage: %s\nlogs:\n%s", err, body, n.logs.String())
		}
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		if loc != toolBase+"/lti/launch" {
			t.Errorf("the launch page is at %s, want %s/lti/launch", loc, toolBase)
		}
		name, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#user-name")))
		if err != nil {
			t.Fatal(err)
		}
		if name != "Tea Cher" {
			t.Errorf("user name %q, want Tea Cher", name)
		}
		roles, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#roles")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(roles, "Instructor") || !strings.Contains(roles, "membership#Instructor") {
			t.Errorf("roles section %q does not show the Instructor role", roles)
		}
		// Taken in every run (see takeScreenshot).
		takeScreenshot(ctx, t, filepath.Join(shots, "demo-tool-launch-instructor.png"))
	})

	t.Run("custom parameters are shown as text", func(t *testing.T) {
		if err := chromedp.Do(ctx,
			chromedp.Navigate(sandbox+"/"),
			chromedp.WaitVisible(chromedp.CSS("#launch-custom")),
			chromedp.Click(chromedp.CSS("#launch-custom")),
			chromedp.WaitVisible(chromedp.CSS("#custom table")),
		); err != nil {
			t.Fatalf("launch with custom parameters: %v\nlogs:\n%s", err, n.logs.String())
		}
		custom, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#custom")))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"chapter", "greeting_html", `<b>Hello</b> & "welcome"`, "course_ctx"} {
			if !strings.Contains(custom, s) {
				t.Errorf("custom section %q lacks %q", custom, s)
			}
		}
		bold, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#custom b").length`))
		if err != nil {
			t.Fatal(err)
		}
		if bold != 0 {
			t.Errorf("a custom parameter's markup became %d <b> element(s)", bold)
		}
		saveScreenshot(ctx, t, filepath.Join(shots, "demo-tool-launch-custom.png"))
	})

	for _, tc := range []struct{ link, want string }{
		{"launch-learner", "Stu Dent"},
		{"launch-anonymous", "Anonymous launch"},
		{"launch-deep-linking", "LtiDeepLinkingRequest"},
		{"launch-instructor-get", "Tea Cher"},
	} {
		t.Run(tc.link, func(t *testing.T) {
			if err := chromedp.Do(ctx,
				chromedp.Navigate(sandbox+"/"),
				chromedp.WaitVisible(chromedp.CSS("#"+tc.link)),
				chromedp.Click(chromedp.CSS("#"+tc.link)),
				chromedp.WaitVisible(chromedp.CSS("#claims")),
			); err != nil {
				body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
				t.Fatalf("%s: %v\npage: %s", tc.link, err, body)
			}
			page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(page, "Launch accepted") || !strings.Contains(page, tc.want) {
				t.Errorf("%s: the launch page lacks %q:\n%s", tc.link, tc.want, page)
			}
		})
	}
}

// saveScreenshot saves a full-page screenshot of ctx's page to path when
// the screenshots are kept (keepScreenshots); otherwise it takes none.
func saveScreenshot(ctx context.Context, t *testing.T, path string) {
	t.Helper()
	if !keepScreenshots() {
		return
	}
	takeScreenshot(ctx, t, path)
}

// takeScreenshot saves a full-page screenshot of ctx's page to path, a
// PNG, whether or not the screenshots are kept. TestBrowserSandboxLaunch
// takes one this way in every run, so that the code that the kept
// screenshots depend on keeps being run.
func takeScreenshot(ctx context.Context, t *testing.T, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("the screenshot is not a PNG: %d bytes starting %q", len(png), png[:min(len(png), 8)])
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
