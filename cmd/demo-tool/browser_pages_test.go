package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// pageWidths are the widths the pages are checked at: a desktop window,
// and a narrow LMS iframe (or a phone).
var pageWidths = []int{1280, 400}

// pageLayoutJS reports what is wrong with the page's layout at the
// current width: the page itself wider than the window (a table may
// scroll inside its .table-scroll wrapper, the page may not), a list
// table outside such a wrapper, or a text of a status, score or time cell
// broken over two lines (as "Complete|d" was).
const pageLayoutJS = `(() => {
	const problems = [];
	const root = document.documentElement;
	if (root.scrollWidth > window.innerWidth) {
		problems.push("the page is " + root.scrollWidth + " px wide in a " + window.innerWidth + " px window");
	}
	for (const cell of document.querySelectorAll("table.list td.nowrap, table.list td.status, time")) {
		const texts = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
		for (let node = texts.nextNode(); node; node = texts.nextNode()) {
			const r = document.createRange();
			r.selectNodeContents(node);
			const lines = new Set(Array.from(r.getClientRects()).map(c => Math.round(c.top)));
			if (lines.size > 1) {
				problems.push("'" + node.textContent + "' wraps over " + lines.size + " lines");
			}
		}
	}
	for (const t of document.querySelectorAll("table.list")) {
		if (!t.closest(".table-scroll")) {
			problems.push("a list table is not in a .table-scroll wrapper");
		}
	}
	return problems;
})()`

// TestBrowserPagesAtTwoWidths opens every page a teacher sees, in
// headless Chromium, cross-site as in an LMS, and checks each at 1280 and
// at 400 px wide: the index, /config, the sandbox, the launch page, the
// grade page after a score, the roster, the deep linking picker and its
// return page, a launch of a returned item, the sandbox's gradebook and a
// refused login. Each page must fit the window (tables scroll in their
// wrapper) and keep status cells on one line; with
// LTIKIT_TEST_SCREENSHOT_DIR set, a screenshot of each goes there, named
// pages-<page>-<width>.png.
//
// The pages are clicked through once, in the narrow window (the LMS
// iframe's width, where a link or button is likeliest to be hidden or
// covered); on each page the window is widened to 1280 px for the checks
// and narrowed again (the layout follows the window, as it does when a
// user resizes one). The other browser tests click through the same
// pages in a 1280 px window.
func TestBrowserPagesAtTwoWidths(t *testing.T) {
	t.Parallel()
	ctx := newChromium(t)
	n, toolBase, sandbox := crossSiteNode(t)
	shots := screenshotDir(t)
	narrow := pageWidths[len(pageWidths)-1]
	resize := func(t *testing.T, width int) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), 900)); err != nil {
			t.Fatal(err)
		}
	}
	resize(t, narrow)

	// check checks the page's layout at each width and saves its
	// screenshot, and one of each of the sections (CSS selectors), full
	// size; the window is narrow again afterwards.
	check := func(t *testing.T, name string, sections ...string) {
		t.Helper()
		for _, width := range pageWidths {
			resize(t, width)
			for _, sel := range sections {
				if !keepScreenshots() {
					// The screenshot would wait for the section to
					// be visible: without it, that wait alone.
					if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
						t.Fatalf("%s: %v", sel, err)
					}
					continue
				}
				png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
				if err != nil {
					t.Fatalf("%s: %v", sel, err)
				}
				path := filepath.Join(shots, fmt.Sprintf("pages-%s-%s-%d.png", name, strings.TrimPrefix(sel, "#"), width))
				if err := os.WriteFile(path, png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](pageLayoutJS))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("%s at %d px: %s", name, width, p)
			}
			saveScreenshot(ctx, t, filepath.Join(shots, fmt.Sprintf("pages-%s-%d.png", name, width)))
		}
		resize(t, narrow)
	}
	open := func(t *testing.T, url, waitFor string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(waitFor))); err != nil {
			t.Fatalf("%s: %v\npage: %s\nlogs:\n%s", url, err, pageText(ctx), n.logs.String())
		}
	}
	click := func(t *testing.T, sel, waitFor string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(waitFor))); err != nil {
			t.Fatalf("click %s: %v\npage: %s\nlogs:\n%s", sel, err, pageText(ctx), n.logs.String())
		}
	}
	text := func(t *testing.T, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}

	open(t, toolBase+"/", "main h1")
	check(t, "index")
	open(t, toolBase+pathConfig, "#lms-list")
	check(t, "config")

	// The launch, the grade page after a score, the roster.
	open(t, sandbox+"/", "#launch-instructor")
	click(t, "#launch-instructor", "#services")
	check(t, "launch")
	click(t, "#link-grade", "#grade-form")
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#user_id"), "1002"),
		chromedp.SetValue(chromedp.CSS("#score_given"), "8"),
		chromedp.SetValue(chromedp.CSS("#score_maximum"), "10"),
		chromedp.SendKeys(chromedp.CSS("#comment"), "Clear reasoning; check question 4."),
	); err != nil {
		t.Fatal(err)
	}
	click(t, "#grade-submit", "#grade-result")
	if got := text(t, "#result-user"); !strings.Contains(got, "Stu Dent") || !strings.Contains(got, "1002") {
		t.Errorf("the result names %q, want Stu Dent (1002)", got)
	}
	check(t, "grade")
	click(t, "#nav-roster", "#roster-summary")
	if got := text(t, "#members"); !strings.Contains(got, "Tea Cher") || !strings.Contains(got, "Stu Dent") {
		t.Errorf("the roster lacks the users who launched:\n%s", got)
	}
	check(t, "roster", "#roster")
	click(t, "#nav-launch", "#services")
	if got := text(t, "#user-name"); got != "Tea Cher" {
		t.Errorf("back on the launch page: user %q", got)
	}

	// Deep linking: the picker, the return page, an item launched.
	open(t, sandbox+"/", "#launch-deep-linking")
	click(t, "#launch-deep-linking", "#deep-linking-picker")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#item-quiz")), chromedp.Click(chromedp.CSS("#item-spec"))); err != nil {
		t.Fatal(err)
	}
	check(t, "deep-linking-picker", "#deep-linking-picker", "#deep-linking")
	click(t, "#picker-submit", "#dl-status")
	check(t, "deep-linking-return", "#dl-items")
	click(t, "#dl-items a.launch-item", "#services")
	if got := text(t, "#resource-link"); !strings.Contains(got, "Quiz: LTI 1.3 basics") {
		t.Errorf("the launched item's resource link:\n%s", got)
	}
	check(t, "deep-linked-item-launch")

	// The sandbox's gradebook, the sandbox page, a refused login.
	open(t, sandbox+"/scores", "#gradebook")
	if got := text(t, "#gradebook"); !strings.Contains(got, "Stu Dent") || !strings.Contains(got, "UTC") {
		t.Errorf("the gradebook:\n%s", got)
	}
	check(t, "scores", "#gradebook")
	open(t, sandbox+"/", "#content-items")
	check(t, "sandbox", "#gradebook", "#content-items")
	open(t, toolBase+pathLogin, "#error-code")
	if got := text(t, "#error-heading"); got != "Login refused" {
		t.Errorf("the login error page's heading is %q", got)
	}
	check(t, "error-login")
}
