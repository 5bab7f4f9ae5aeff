package main

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ltikit/ltikit/internal/browsertest"
)

// TestBrowserFrameAncestors checks the frame-ancestors of the pages after
// the launch in a real browser: the sandbox's course page
// (http://127.0.0.1:PORT, the issuer's origin) frames the tool's roster,
// while a page of another origin (127.0.0.1 on another port: the same
// site, so even the partitioned session cookie would reach the frame)
// framing the same roster URL, token included, gets nothing rendered.
func TestBrowserFrameAncestors(t *testing.T) {
	t.Parallel()
	ctx := newChromium(t)
	n, toolBase, sandbox := framedNode(t)
	blockThirdPartyCookies(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(sandbox+"/frame?role=instructor&message=resource_link&storage=parent")); err != nil {
		t.Fatal(err)
	}
	// (a) The framed flow: the launch page in the sandbox's frame, then
	// its roster link.
	var href string
	_, fctx, err := inToolFrame(t, ctx, toolBase, "#link-roster")
	if err == nil {
		href, err = chromedp.Run(fctx, chromedp.Evaluate[string](`document.getElementById("link-roster").href`))
	}
	if err != nil {
		t.Fatalf("framed launch: %v\nlogs:\n%s", err, n.logs.String())
	}
	u, err := url.Parse(href)
	if err != nil || u.Query().Get("lti_session") == "" || !strings.HasPrefix(href, toolBase+pathRoster) {
		t.Fatalf("the roster link %q carries no session token (%v)", href, err)
	}
	if _, _, err := inToolFrame(t, ctx, toolBase, "#link-roster",
		chromedp.Click(chromedp.CSS("#link-roster")), chromedp.WaitVisible(chromedp.CSS("#roster-summary"))); err != nil {
		t.Fatalf("the framed roster: %v\nlogs:\n%s", err, n.logs.String())
	}

	// The roster's policy, as the browser gets it.
	resp, err := http.Get(href)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sandboxOrigin := strings.TrimSuffix(sandbox, "/sandbox")
	want := "frame-ancestors 'self' " + sandboxOrigin
	if got := resp.Header.Values("Content-Security-Policy"); resp.StatusCode != http.StatusOK || !contains(got, want) {
		t.Fatalf("the roster: %d, Content-Security-Policy %q, want %q among them", resp.StatusCode, got, want)
	}

	// (b) Another origin frames the roster, token included, and the
	// tool's index page as a control: the control renders, the roster
	// never does.
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>attacker</title><iframe id=f src="%s"></iframe><iframe id=g src="%s/"></iframe>`,
			html.EscapeString(href), html.EscapeString(toolBase))
	}))
	t.Cleanup(attacker.Close)
	if attacker.URL == sandboxOrigin {
		t.Fatalf("the attacker %s has the sandbox's origin", attacker.URL)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(attacker.URL)); err != nil {
		t.Fatal(err)
	}
	control, roster := false, false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !roster; {
		targets, err := browsertest.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range targets {
			if ti.Type != "iframe" || !strings.HasPrefix(ti.URL, toolBase) {
				continue
			}
			tctx, detach, err := browsertest.AttachTarget(ctx, ti.TargetID, 2*time.Second)
			if err != nil {
				continue
			}
			wctx, cancel := context.WithTimeout(tctx, time.Second)
			got, err := chromedp.Run(wctx, chromedp.Evaluate[[]bool](
				`[!!document.getElementById("roster-summary"), document.title !== "" && location.pathname === "/"]`))
			cancel()
			detach()
			if err != nil || len(got) != 2 {
				continue
			}
			roster = roster || got[0]
			control = control || got[1]
		}
		if control && time.Now().After(deadline.Add(-3*time.Second)) {
			// The control rendered a while ago: the roster had the time to.
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	saveScreenshot(ctx, t, filepath.Join(screenshotDir(t), "demo-tool-frame-ancestors-attacker.png"))
	if roster {
		t.Fatalf("a page of %s renders the tool's roster in its frame", attacker.URL)
	}
	if !control {
		t.Fatalf("the control frame (the tool's index page) never rendered in the page of %s: the check proves nothing\nlogs:\n%s",
			attacker.URL, n.logs.String())
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
