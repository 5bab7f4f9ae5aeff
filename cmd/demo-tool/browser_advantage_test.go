package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// crossSiteNode starts demo-tool for a browser test with the sandbox and
// the tool on different sites, as TestBrowserSandboxLaunch explains: it
// returns the node, the tool's base URL (http://localhost:PORT) and the
// sandbox's URL (http://127.0.0.1:PORT/sandbox).
func crossSiteNode(t *testing.T) (*node, string, string) {
	t.Helper()
	port := freePort(t)
	toolBase := fmt.Sprintf("http://localhost:%d", port)
	sandbox := fmt.Sprintf("http://127.0.0.1:%d/sandbox", port)
	dir := t.TempDir()
	n := startNode(t, dir, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--base-url", toolBase,
		"--sandbox", "--sandbox-url", sandbox, "--db", filepath.Join(dir, "browser.db"))
	return n, toolBase, sandbox
}

// pageText is the text of the page's main element, for failure messages.
func pageText(ctx context.Context) string {
	s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	return s
}

// TestBrowserDeepLinking runs the deep linking round trip in headless
// Chromium, cross-site: the sandbox's deep linking link, the tool's picker
// (items ticked by clicking), the signed response the tool's page posts
// back to the sandbox, and the sandbox's page showing the verified items.
func TestBrowserDeepLinking(t *testing.T) {
	t.Parallel()
	ctx := newChromium(t)
	n, toolBase, sandbox := crossSiteNode(t)
	shots := screenshotDir(t)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(sandbox+"/"),
		chromedp.WaitVisible(chromedp.CSS("#launch-deep-linking")),
		chromedp.Click(chromedp.CSS("#launch-deep-linking")),
		chromedp.WaitVisible(chromedp.CSS("#deep-linking-picker")),
	); err != nil {
		t.Fatalf("deep linking launch: %v\npage: %s\nlogs:\n%s", err, pageText(ctx), n.logs.String())
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != toolBase+"/lti/launch" {
		t.Errorf("the picker is at %s, want the launch page", loc)
	}
	// The sandbox's request accepts ltiResourceLink and link items only.
	disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#item-welcome").disabled`))
	if err != nil || !disabled {
		t.Errorf("the html item is not disabled (%v)", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#item-quiz")),
		chromedp.Click(chromedp.CSS("#item-spec")),
	); err != nil {
		t.Fatal(err)
	}
	saveScreenshot(ctx, t, filepath.Join(shots, "demo-tool-deep-linking-picker.png"))

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#picker-submit")),
		chromedp.WaitVisible(chromedp.CSS("#dl-status")),
	); err != nil {
		t.Fatalf("picker submit: %v\npage: %s\nlogs:\n%s", err, pageText(ctx), n.logs.String())
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != sandbox+"/deep_links" {
		t.Errorf("the return page is at %s, want %s/deep_links", loc, sandbox)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#dl-status")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "verified") {
		t.Fatalf("the sandbox did not verify the response: %q\npage: %s\nlogs:\n%s", status, pageText(ctx), n.logs.String())
	}
	titles, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#dl-items tr.dl-item td.title")).map(td => td.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Quiz: LTI 1.3 basics", "LTI 1.3 Core specification"}; strings.Join(titles, "|") != strings.Join(want, "|") {
		t.Errorf("the return page lists %q, want %q", titles, want)
	}
	items, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#dl-items")))
	if !strings.Contains(items, "ltiResourceLink") || !strings.Contains(items, `gradebook column "Quiz: LTI 1.3 basics", maximum 10`) {
		t.Errorf("the items section lacks the type or the line item:\n%s", items)
	}
	saveScreenshot(ctx, t, filepath.Join(shots, "demo-tool-deep-linking-return.png"))
	if !strings.Contains(n.logs.String(), `msg="deep linking response sent"`) {
		t.Error("the tool did not log the response")
	}
}

// TestBrowserGradeAndRoster clicks through the grade and roster pages in
// headless Chromium, cross-site: the launch session, started by the
// launch's cross-site post, carries the launch to the pages after it, in
// its cookie (SameSite=None, Secure, Partitioned) and in the token of the
// launch page's links and the grade form's hidden fields.
// TestBrowserFramedAdvantage runs the same pages in the platform's iframe.
func TestBrowserGradeAndRoster(t *testing.T) {
	t.Parallel()
	ctx := newChromium(t)
	n, _, sandbox := crossSiteNode(t)
	shots := screenshotDir(t)
	launch := func(t *testing.T) {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(sandbox+"/"),
			chromedp.WaitVisible(chromedp.CSS("#launch-instructor")),
			chromedp.Click(chromedp.CSS("#launch-instructor")),
			chromedp.WaitVisible(chromedp.CSS("#services")),
		); err != nil {
			t.Fatalf("instructor launch: %v\npage: %s\nlogs:\n%s", err, pageText(ctx), n.logs.String())
		}
	}

	t.Run("roster", func(t *testing.T) {
		launch(t)
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS("#link-roster")),
			chromedp.WaitVisible(chromedp.CSS("#roster-summary")),
		); err != nil {
			t.Fatalf("roster: %v\npage: %s", err, pageText(ctx))
		}
		rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#members tr.member").length`))
		if err != nil || rows != sandboxLearners+2 {
			t.Errorf("the roster shows %d members (%v), want %d", rows, err, sandboxLearners+2)
		}
		saveScreenshot(ctx, t, filepath.Join(shots, "demo-tool-roster.png"))
	})

	t.Run("send a grade", func(t *testing.T) {
		launch(t)
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS("#link-grade")),
			chromedp.WaitVisible(chromedp.CSS("#grade-form")),
			chromedp.SetValue(chromedp.CSS("#user_id"), "1002"),
			chromedp.SetValue(chromedp.CSS("#score_given"), "8"),
			chromedp.SetValue(chromedp.CSS("#score_maximum"), "10"),
			chromedp.SendKeys(chromedp.CSS("#comment"), "Nice work"),
		); err != nil {
			t.Fatalf("grade page: %v\npage: %s", err, pageText(ctx))
		}
		saveScreenshot(ctx, t, filepath.Join(shots, "demo-tool-grade-form.png"))
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS("#grade-submit")),
			chromedp.WaitVisible(chromedp.CSS("#grade-result")),
		); err != nil {
			t.Fatalf("grade submit: %v\npage: %s\nlogs:\n%s", err, pageText(ctx), n.logs.String())
		}
		result, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#grade-result")))
		if !strings.Contains(result, "1002") || !strings.Contains(result, "8 / 10") {
			t.Errorf("the result section:\n%s", result)
		}
		saveScreenshot(ctx, t, filepath.Join(shots, "demo-tool-grade-result.png"))
		scores := sandboxScores(t, strings.TrimSuffix(sandbox, "/sandbox"))
		if len(scores) != 1 || scores[0].UserID != "1002" || *scores[0].ScoreGiven != 8 || scores[0].Comment != "Nice work" {
			t.Errorf("recorded scores %+v", scores)
		}
		if err := chromedp.Do(ctx,
			chromedp.Navigate(sandbox+"/"),
			chromedp.WaitVisible(chromedp.CSS("#gradebook tr.score")),
		); err != nil {
			t.Fatalf("sandbox gradebook: %v", err)
		}
		saveScreenshot(ctx, t, filepath.Join(shots, "demo-tool-sandbox-gradebook.png"))
	})
}
