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

	"github.com/ltikit/ltikit/internal/browsertest"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/session"
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
		targets, err := browsertest.Targets(ctx)
		if err != nil {
			return "", nil, err
		}
		for _, ti := range targets {
			if ti.Type != "iframe" || !strings.HasPrefix(ti.URL, toolBase) {
				continue
			}
			// A frame that navigates while it is attached leaves a target
			// that never answers: the attach is bounded and tried again on
			// the next round.
			fctx, detach, err := browsertest.AttachTarget(ctx, ti.TargetID, 5*time.Second)
			if err != nil {
				last = fmt.Errorf("%s: attach: %w", ti.URL, err)
				continue
			}
			wctx, cancel := context.WithTimeout(fctx, 3*time.Second)
			err = chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(sel)))
			cancel()
			if err != nil {
				detach()
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
	t.Parallel()
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
		{name: "third-party cookies blocked, platform storage offered, partitioned cookie", block: true,
			query: "storage=parent", wantBinding: "the state cookie", shot: "framed-blocked-storage-and-chips"},
		{name: "default settings, unpartitioned cookie: platform storage", flags: []string{"--partitioned-cookies=false"},
			query: "storage=parent", wantBinding: "platform storage", shot: "framed-default-unpartitioned"},
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
	// The cases share a node per set of flags: none depends on a fresh
	// one (each launch has its own state and session, and no case reads
	// the sandbox's records), and starting a node per case cost a start
	// and a shutdown each. The nodes stop when every case has ended.
	type framed struct {
		n                 *node
		toolBase, sandbox string
	}
	nodes := map[string]framed{}
	for _, c := range cases {
		key := strings.Join(c.flags, " ")
		if _, ok := nodes[key]; !ok {
			n, toolBase, sandbox := framedNode(t, c.flags...)
			nodes[key] = framed{n, toolBase, sandbox}
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Each case has a browser context of its own (newChromium
			// bounds how many run at once), so the cases can run side by
			// side.
			t.Parallel()
			ctx := newChromium(t)
			f := nodes[strings.Join(c.flags, " ")]
			n, toolBase, sandbox := f.n, f.toolBase, f.sandbox
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

// TestBrowserFramedAdvantage runs the pages after a framed launch (roster,
// send a grade, the deep linking picker's answer) with third-party cookies
// blocked, in the tool's cross-site iframe of the sandbox's course page:
//
//   - with --partitioned-cookies=false the browser keeps no cookie of the
//     tool at all (the launch is bound by platform storage), and only the
//     launch session's token, in the pages' links and forms, carries the
//     session: the tool's page without it has no session;
//   - with the default flags and no platform storage, the partitioned
//     (CHIPS) session cookie is kept for the sandbox's site, and carries
//     the session too: the tool's page without the token works.
func TestBrowserFramedAdvantage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		flags       []string
		storage     string // the framed launch's storage parameter
		wantBinding string
		cookie      bool // the partitioned session cookie carries the session
		shot        string
	}{
		{name: "no cookie, the token alone", flags: []string{"--partitioned-cookies=false"}, storage: "storage=parent",
			wantBinding: "platform storage", shot: "demo-tool-framed-blocked-"},
		{name: "partitioned session cookie", storage: "storage=off",
			wantBinding: "the state cookie", cookie: true, shot: "demo-tool-framed-blocked-chips-"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := newChromium(t)
			n, toolBase, sandbox := framedNode(t, c.flags...)
			blockThirdPartyCookies(t, ctx)
			shots := screenshotDir(t)
			shot := func(step string) { saveScreenshot(ctx, t, filepath.Join(shots, c.shot+step+".png")) }
			// frame runs actions in the tool's frame once it shows sel.
			frame := func(t *testing.T, what, sel string, actions ...chromedp.Action[chromedp.Void]) context.Context {
				t.Helper()
				_, fctx, err := inToolFrame(t, ctx, toolBase, sel, actions...)
				if err != nil {
					text := ""
					if fctx != nil {
						// The frame may be gone: do not wait for it.
						tctx, cancel := context.WithTimeout(fctx, 2*time.Second)
						text = pageText(tctx)
						cancel()
					}
					t.Fatalf("%s: %v\nframe: %s\nlogs:\n%s", what, err, text, n.logs.String())
				}
				return fctx
			}
			// launch runs a framed launch and checks how it was bound.
			launch := func(t *testing.T, query string) context.Context {
				t.Helper()
				if err := chromedp.Do(ctx, chromedp.Navigate(sandbox+"/frame?role=instructor&"+query+"&"+c.storage)); err != nil {
					t.Fatal(err)
				}
				fctx := frame(t, "framed launch", "#state-binding")
				got, err := chromedp.Run(fctx, chromedp.Text(chromedp.CSS("#state-binding")))
				if err != nil || !strings.HasPrefix(got, c.wantBinding) {
					t.Fatalf("bound by %q (%v), want %q\nlogs:\n%s", got, err, c.wantBinding, n.logs.String())
				}
				return fctx
			}

			start := time.Now()
			launch(t, "message=resource_link")
			shot("launch")
			fctx := frame(t, "roster link", "#link-roster",
				chromedp.Click(chromedp.CSS("#link-roster")), chromedp.WaitVisible(chromedp.CSS("#roster-summary")))
			rows, err := chromedp.Run(fctx, chromedp.Evaluate[int](`document.querySelectorAll("#members tr.member").length`))
			if err != nil || rows != sandboxLearners+2 {
				t.Errorf("the framed roster shows %d members (%v), want %d", rows, err, sandboxLearners+2)
			}
			shot("roster")

			// The same page without the token: only a cookie could carry
			// the session.
			want := "#error-code"
			if c.cookie {
				want = "#roster-summary"
			}
			fctx = frame(t, "roster without the token", "#roster-summary",
				chromedp.Evaluate[chromedp.Void](`location.assign("/roster")`), chromedp.WaitVisible(chromedp.CSS(want)))
			if loc, _ := chromedp.Run(fctx, chromedp.Location()); loc != toolBase+pathRoster {
				t.Errorf("the frame is at %s, want %s", loc, toolBase+pathRoster)
			}
			if !c.cookie {
				code, _ := chromedp.Run(fctx, chromedp.Text(chromedp.CSS("#error-code")))
				if text := pageText(fctx); code != "no_session" || !strings.Contains(text, "No launch session") {
					t.Errorf("the roster without the token, and no cookie: %q\n%s", code, text)
				}
			}
			shot("roster-without-token")
			cookies, err := browsertest.Cookies(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var sc *network.Cookie
			for _, ck := range cookies {
				if ck.Name == session.DefaultCookieName {
					sc = ck
				}
			}
			switch {
			case !c.cookie && sc != nil:
				t.Errorf("the browser kept the unpartitioned session cookie of a framed tool: %+v", sc)
			case c.cookie && (sc == nil || sc.PartitionKey == nil || sc.PartitionKey.TopLevelSite != "http://127.0.0.1" ||
				!sc.HTTPOnly || !sc.Secure || sc.SameSite != network.CookieSameSiteNone):
				t.Errorf("the session cookie %+v, want an HttpOnly, Secure, SameSite=None cookie partitioned for http://127.0.0.1", sc)
			}

			// A fresh framed launch: send a grade through the form.
			launch(t, "message=resource_link")
			frame(t, "grade form", "#link-grade",
				chromedp.Click(chromedp.CSS("#link-grade")),
				chromedp.WaitVisible(chromedp.CSS("#grade-form")),
				chromedp.SetValue(chromedp.CSS("#user_id"), "1002"),
				chromedp.SetValue(chromedp.CSS("#score_given"), "6"),
				chromedp.SetValue(chromedp.CSS("#score_maximum"), "10"),
				chromedp.SendKeys(chromedp.CSS("#comment"), "Framed"))
			shot("grade-form")
			fctx = frame(t, "grade submit", "#grade-submit",
				chromedp.Click(chromedp.CSS("#grade-submit")), chromedp.WaitVisible(chromedp.CSS("#grade-result")))
			result, _ := chromedp.Run(fctx, chromedp.Text(chromedp.CSS("#grade-result")))
			if !strings.Contains(result, "1002") || !strings.Contains(result, "6 / 10") {
				t.Errorf("the result section:\n%s", result)
			}
			shot("grade-result")
			scores := sandboxScores(t, strings.TrimSuffix(sandbox, "/sandbox"))
			if len(scores) != 1 || scores[0].UserID != "1002" || *scores[0].ScoreGiven != 6 || scores[0].Comment != "Framed" ||
				scores[0].ScoringUserID != ltitest.DefaultInstructor.Sub {
				t.Errorf("recorded scores %+v", scores)
			}

			// Deep linking: the picker in the frame, its answer posted back
			// to the sandbox's return page, which then shows in the frame.
			launch(t, "message=deep_linking")
			fctx = frame(t, "picker", "#deep-linking-picker",
				chromedp.Click(chromedp.CSS("#item-quiz")), chromedp.Click(chromedp.CSS("#item-spec")))
			shot("picker")
			// The submit leaves the tool's site (the response page posts
			// itself to the sandbox), and the frame's target with it: click
			// by script, which returns before the frame navigates.
			if err := chromedp.Do(fctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("picker-submit").click()`)); err != nil {
				t.Fatalf("picker submit: %v", err)
			}
			// The return page is the sandbox's, same-origin with the
			// course page: read it through the iframe once it is parsed
			// whole (the status line comes before the items' table, and a
			// page still loading may show it with part of the table).
			status, err := chromedp.Run(ctx, chromedp.Poll[string](
				`(d => d?.readyState === "complete" ? d.querySelector("#dl-status")?.textContent : undefined)(document.getElementById("tool-frame").contentDocument)`,
				chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
			if err != nil || !strings.Contains(status, "verified") {
				t.Fatalf("the sandbox's deep links page in the frame: %q (%v)\npage: %s\nlogs:\n%s", status, err, pageText(ctx), n.logs.String())
			}
			titles, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
				`Array.from(document.getElementById("tool-frame").contentDocument.querySelectorAll("#dl-items tr.dl-item td.title")).map(td => td.textContent)`))
			if want := "Quiz: LTI 1.3 basics|LTI 1.3 Core specification"; err != nil || strings.Join(titles, "|") != want {
				t.Errorf("the return page lists %q (%v), want %q", titles, err, want)
			}
			shot("deep-links")
			t.Logf("framed roster, grade and deep linking in %v", time.Since(start).Round(time.Millisecond))
		})
	}
}
