package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ltikit/ltikit/ltitest"
)

// The framed browser tests run a launch as LMSes run it every day: the
// sandbox's course page on one site (http://127.0.0.1:PORT/sandbox/frame)
// frames the tool on another (http://localhost:PORT). The tool in the frame
// is a third party to the browser; with third-party cookies blocked it gets
// no unpartitioned cookie at all, and the launch has to live on partitioned
// cookies (CHIPS), platform storage (LTI Client Side postMessages) and the
// launch session's token.

// blockThirdPartyCookies makes the browser refuse third-party cookies, as
// Chrome does when the user blocks them (and Safari and Firefox do by
// default). Partitioned cookies are still kept, per top-level site.
func blockThirdPartyCookies(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.SetCookieControls, network.SetCookieControlsParams{EnableThirdPartyCookieRestriction: true}); err != nil {
		t.Fatalf("blocking third-party cookies: %v", err)
	}
}

// inToolFrame runs actions in the tool's iframe of the page of ctx, once
// the frame shows sel, and returns the frame's text. The frame is on
// another site, so Chromium runs it as a target of its own, and a new one
// after each cross-site navigation of the frame (the login page, the
// platform's auth page, the launch): the target is looked up again until
// sel appears in a document under toolBase.
func inToolFrame(t *testing.T, ctx context.Context, toolBase, sel string, actions ...chromedp.Action[chromedp.Void]) (string, context.Context, error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		targets, err := chromedp.Targets(ctx)
		if err != nil {
			return "", nil, err
		}
		for _, ti := range targets {
			if ti.Type != "iframe" || !strings.HasPrefix(ti.URL, toolBase) {
				continue
			}
			fctx, _ := chromedp.NewContext(ctx, chromedp.WithTargetID(ti.TargetID))
			// Attach first, with fctx itself: a deadline on the first run
			// of a context would close its target when it passes.
			if err := chromedp.Do(fctx); err != nil {
				last = fmt.Errorf("%s: attach: %w", ti.URL, err)
				continue
			}
			wctx, cancel := context.WithTimeout(fctx, 3*time.Second)
			err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(sel)))
			cancel()
			if err != nil {
				last = fmt.Errorf("%s: %w", ti.URL, err)
				continue
			}
			if err := chromedp.Do(fctx, actions...); err != nil {
				return "", fctx, err
			}
			text, err := chromedp.Run(fctx, chromedp.Text(chromedp.CSS("body")))
			return text, fctx, err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "", nil, fmt.Errorf("no frame of %s shows %s: %v", toolBase, sel, last)
}

// framedNode starts a cross-site node with extra serve flags.
func framedNode(t *testing.T, flags ...string) (*node, string, string) {
	t.Helper()
	port := freePort(t)
	toolBase := fmt.Sprintf("http://localhost:%d", port)
	sandbox := fmt.Sprintf("http://127.0.0.1:%d/sandbox", port)
	dir := t.TempDir()
	args := append([]string{"--addr", fmt.Sprintf("127.0.0.1:%d", port), "--base-url", toolBase,
		"--sandbox", "--sandbox-url", sandbox, "--db", filepath.Join(dir, "browser.db")}, flags...)
	return startNode(t, dir, args...), toolBase, sandbox
}

func TestBrowserFramedLaunch(t *testing.T) {
	cases := []struct {
		name        string
		flags       []string
		block       bool
		query       string
		forger      bool
		wantBinding string // "" with wantRefusal
		wantRefusal string
		shot        string
	}{
		{name: "default settings", query: "storage=parent", wantBinding: "the state cookie", shot: "framed-default"},
		{name: "third-party cookies blocked, platform storage", flags: []string{"--partitioned-cookies=false"}, block: true,
			query: "storage=parent", wantBinding: "platform storage", shot: "framed-blocked-platform-storage"},
		{name: "third-party cookies blocked, storage frame, Blackboard style", flags: []string{"--partitioned-cookies=false"}, block: true,
			query: "storage=frame&storage_target_at_launch=0", wantBinding: "platform storage", shot: "framed-blocked-storage-frame"},
		{name: "third-party cookies blocked, no storage target, partitioned cookie", block: true,
			query: "storage=off", wantBinding: "the state cookie", shot: "framed-blocked-chips"},
		{name: "every fallback off", flags: []string{"--partitioned-cookies=false"}, block: true,
			query: "storage=off", wantRefusal: "blocks cookies of a tool framed by another site", shot: "framed-blocked-no-fallback"},
		{name: "a forger of another origin is ignored", flags: []string{"--partitioned-cookies=false"}, block: true,
			query: "storage=frame", forger: true, wantBinding: "platform storage", shot: "framed-forger"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := newChromium(t)
			n, toolBase, sandbox := framedNode(t, c.flags...)
			if c.block {
				blockThirdPartyCookies(t, ctx)
			}
			q := "role=instructor&" + c.query
			if c.forger {
				forger := httptest.NewServer(ltitest.ForgerHandler())
				t.Cleanup(forger.Close)
				q += "&forger=" + forger.URL + "/"
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(sandbox+"/frame?"+q)); err != nil {
				t.Fatal(err)
			}
			sel := "#state-binding"
			if c.wantRefusal != "" {
				sel = "h1"
			}
			text, fctx, err := inToolFrame(t, ctx, toolBase, sel)
			if err != nil {
				t.Fatalf("framed launch: %v\nlogs:\n%s", err, n.logs.String())
			}
			saveScreenshot(ctx, t, filepath.Join(screenshotDir(t), "demo-tool-"+c.shot+".png"))
			if c.wantRefusal != "" {
				if !strings.Contains(text, c.wantRefusal) || !strings.Contains(text, "invalid_state") {
					t.Fatalf("the refusal page says:\n%s", text)
				}
				return
			}
			got, _ := chromedp.Run(fctx, chromedp.Text(chromedp.CSS("#state-binding")))
			if !strings.HasPrefix(got, c.wantBinding) || !strings.Contains(text, "Launch accepted") {
				t.Fatalf("bound by %q, want %q\nframe: %s\nlogs:\n%s", got, c.wantBinding, text, n.logs.String())
			}
		})
	}
}
