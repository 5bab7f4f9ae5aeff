package main

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/session"
)

// htmlGet is GET with a browser's Accept header.
func htmlGet(t *testing.T, client *http.Client, u string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := client.Do(req)
	return readResponse(t, resp, err)
}

// titleOf is the page's <title>.
func titleOf(page []byte) string {
	m := regexp.MustCompile(`<title>([^<]*)</title>`).FindSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(string(m[1]))
}

func TestRefusalHeading(t *testing.T) {
	t.Parallel()
	_, srv := newTestApp(t)
	for _, tc := range []struct {
		name, method, path, body, want string
	}{
		{"login without parameters", http.MethodGet, pathLogin, "", "Login refused"},
		{"login post without parameters", http.MethodPost, pathLogin, "x=1", "Login refused"},
		{"launch without state", http.MethodPost, pathLaunch, "id_token=a.b.c", "Launch refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "text/html")
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := http.DefaultClient.Do(req)
			r := readResponse(t, resp, err)
			if r.status < 400 || !strings.HasPrefix(titleOf(r.body), tc.want+" (") ||
				!strings.Contains(string(r.body), `<h1 class="bad" id="error-heading">`+tc.want+`</h1>`) {
				t.Errorf("%d, title %q, want %q:\n%s", r.status, titleOf(r.body), tc.want, r.body)
			}
		})
	}
	for path, want := range map[string]string{pathLogin: "Login refused", pathLaunch: "Launch refused", "/grade": "Request refused"} {
		if got := refusalHeading(&http.Request{URL: &url.URL{Path: path}}); got != want {
			t.Errorf("refusalHeading(%s) = %q, want %q", path, got, want)
		}
	}
}

func TestStamp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ raw, iso, text string }{
		{"2026-12-04T10:41:07.123Z", "2026-12-04T10:41:07Z", "4 Dec 2026, 10:41 UTC"},
		{"2026-12-04T11:41:07+01:00", "2026-12-04T10:41:07Z", "4 Dec 2026, 10:41 UTC"},
		{"yesterday", "", "yesterday"},
		{"", "", ""},
	} {
		if got := newStamp(tc.raw); got.ISO != tc.iso || got.Text != tc.text {
			t.Errorf("newStamp(%q) = %+v, want %q %q", tc.raw, got, tc.iso, tc.text)
		}
	}
	if got := breakable("accept_presentation<b>_targets"); got != "accept_<wbr>presentation&lt;b&gt;_<wbr>targets" {
		t.Errorf("breakable: %s", got)
	}
}

// TestTeacherPages drives the pages after a launch as a teacher and a
// learner use them: the link back to the launch page on the grade, roster
// and error pages, the refused empty score, names and readable times in
// the gradebooks, and the deep-linked items launched from the sandbox.
func TestTeacherPages(t *testing.T) {
	t.Parallel()
	a, srv := newTestApp(t)

	t.Run("links back to the launch page", func(t *testing.T) {
		browser := ltitest.NewBrowser()
		resp, err := a.sandbox.Launch(t.Context(), browser, a.sandbox.WithAGS(), a.sandbox.WithNRPS())
		lp := readResponse(t, resp, err)
		if lp.status != http.StatusOK {
			t.Fatalf("launch: %d\n%s", lp.status, lp.body)
		}
		fields := sessionFields(t, get(t, browser, srv.URL+pathGrade).body)
		token := fields.Get(session.ParamName)
		for _, path := range []string{pathGrade, pathRoster} {
			// Without the cookie: the link alone carries the session.
			page := htmlGet(t, &http.Client{}, srv.URL+path+"?"+session.ParamName+"="+url.QueryEscape(token))
			back := linkHref(t, page.body, "nav-launch")
			if !strings.HasPrefix(back, srv.URL+pathLaunchPage+"?") || !strings.Contains(back, url.QueryEscape(token)) {
				t.Errorf("%s: the launch page link %q does not carry the session", path, back)
			}
			again := htmlGet(t, &http.Client{}, back)
			if again.status != http.StatusOK || !strings.Contains(string(again.body), "Launch accepted") ||
				!strings.Contains(string(again.body), `id="link-grade"`) {
				t.Errorf("%s → launch page: %d\n%s", path, again.status, again.body)
			}
		}
		// An error page of a session's page links back too.
		noAGS := ltitest.NewBrowser()
		resp, err = a.sandbox.Launch(t.Context(), noAGS)
		if r := readResponse(t, resp, err); r.status != http.StatusOK {
			t.Fatalf("launch: %d", r.status)
		}
		ep := htmlGet(t, noAGS, srv.URL+pathGrade)
		if ep.status != http.StatusConflict || !strings.Contains(string(ep.body), "grading_unavailable") ||
			!strings.HasPrefix(linkHref(t, ep.body, "back-to-launch"), srv.URL+pathLaunchPage+"?"+session.ParamName+"=") ||
			titleOf(ep.body) != "No grading (409) · demo-tool" {
			t.Errorf("error page: %d %q\n%s", ep.status, titleOf(ep.body), ep.body)
		}
		// Without a session, the launch page is refused, not shown.
		if r := htmlGet(t, &http.Client{}, srv.URL+pathLaunchPage); r.status != http.StatusUnauthorized || strings.Contains(string(r.body), "back-to-launch") {
			t.Errorf("launch page without a session: %d\n%s", r.status, r.body)
		}
	})

	t.Run("an empty score is not FullyGraded", func(t *testing.T) {
		browser := ltitest.NewBrowser()
		resp, err := a.sandbox.Launch(t.Context(), browser, ltitest.AsLearner(), a.sandbox.WithAGS())
		if r := readResponse(t, resp, err); r.status != http.StatusOK {
			t.Fatalf("launch: %d", r.status)
		}
		_, fields := openGradePage(t, browser, srv.URL)
		before := len(a.sandbox.Scores())
		post := func(grading string) response {
			resp, err := browser.PostForm(srv.URL+pathGrade, withFields(fields, url.Values{"score_given": {" "}, "score_maximum": {"10"},
				"activity_progress": {"Submitted"}, "grading_progress": {grading}}))
			return readResponse(t, resp, err)
		}
		r := post("FullyGraded")
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `id="grade-error"`) ||
			!strings.Contains(string(r.body), "a grade marked FullyGraded needs one") {
			t.Errorf("empty FullyGraded score: %d\n%s", r.status, r.body)
		}
		if n := len(a.sandbox.Scores()); n != before {
			t.Fatalf("an empty FullyGraded score was sent")
		}
		// Progress without a score is a valid AGS score.
		r = post("Pending")
		scores := a.sandbox.Scores()
		if r.status != http.StatusOK || len(scores) != before+1 || scores[before].ScoreGiven != nil || scores[before].GradingProgress != "Pending" {
			t.Fatalf("pending score without scoreGiven: %d, %+v\n%s", r.status, scores, r.body)
		}
		page := string(r.body)
		if !strings.Contains(page, `<span id="result-user"><strong>Stu Dent</strong> (<code>1002</code>)</span>`) ||
			!regexp.MustCompile(`<time id="result-time" datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC</time>`).MatchString(page) {
			t.Errorf("the result does not name the learner or show a readable time:\n%s", page)
		}
	})

	t.Run("gradebook page", func(t *testing.T) {
		ts := time.Now().UTC()
		r := htmlGet(t, http.DefaultClient, srv.URL+"/sandbox/scores")
		page := string(r.body)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
			!strings.Contains(page, `<span class="name">Stu Dent</span><span class="sub">1002</span>`) ||
			!strings.Contains(page, `<td class="nowrap status">Pending</td>`) ||
			!strings.Contains(page, `<time datetime="`+ts.Format("2006-01-02T")) || !strings.Contains(page, ts.Format(" Jan 2006, ")) {
			t.Errorf("gradebook page: %d\n%s", r.status, page)
		}
		for _, u := range []string{srv.URL + "/sandbox/scores", srv.URL + "/sandbox/scores?format=json"} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
			if strings.Contains(u, "format") {
				req.Header.Set("Accept", "text/html")
			}
			resp, err := http.DefaultClient.Do(req)
			r := readResponse(t, resp, err)
			var out struct{ Scores []sandboxScore }
			if r.status != http.StatusOK || json.Unmarshal(r.body, &out) != nil || len(out.Scores) == 0 {
				t.Errorf("%s: %d %s", u, r.status, r.body)
			}
		}
	})

	t.Run("deep-linked items launch from the sandbox", func(t *testing.T) {
		browser := ltitest.NewBrowser()
		resp, err := a.sandbox.Launch(t.Context(), browser, ltitest.DeepLinking())
		lp := readResponse(t, resp, err)
		if lp.status != http.StatusOK {
			t.Fatalf("deep linking launch: %d", lp.status)
		}
		resp, err = browser.PostForm(srv.URL+pathDeepLinking, withFields(sessionFields(t, lp.body),
			url.Values{"item": {"quiz", "reading", "spec"}, "action": {"add"}}))
		if err != nil {
			t.Fatal(err)
		}
		resp, err = a.sandbox.SubmitDeepLinkingForm(t.Context(), browser, resp)
		ret := readResponse(t, resp, err)
		if ret.status != http.StatusOK || strings.Count(string(ret.body), `class="launch-item"`) != 2 ||
			strings.Count(string(ret.body), `class="open-item"`) != 1 {
			t.Fatalf("return page: %d, want 2 launch links and 1 open link\n%s", ret.status, ret.body)
		}
		launchRe := regexp.MustCompile(`<a class="launch-item" href="([^"]+)">`)
		links := launchRe.FindAllSubmatch(ret.body, -1)
		sandboxPage := get(t, http.DefaultClient, srv.URL+"/sandbox/")
		if n := len(launchRe.FindAll(sandboxPage.body, -1)); n != 2 {
			t.Errorf("the sandbox page has %d item launch links, want 2", n)
		}

		quiz := browseSandbox(t, ltitest.NewBrowser(), html.UnescapeString(string(links[0][1])))
		page := string(quiz.body)
		if quiz.status != http.StatusOK || !strings.Contains(page, "Launch accepted") || !strings.Contains(page, "Quiz: LTI 1.3 basics") ||
			!strings.Contains(page, "quiz-1") || !strings.Contains(page, `id="link-grade"`) {
			t.Fatalf("quiz launch: %d\n%s", quiz.status, page)
		}
		var column *ltitest.LineItem
		for _, li := range a.sandbox.LineItems() {
			if li.Label == "Quiz: LTI 1.3 basics" && li.ScoreMaximum == 10 && strings.HasPrefix(li.ResourceLinkID, "dl-") {
				column = &li
			}
		}
		if column == nil {
			t.Errorf("no gradebook column for the quiz: %+v", a.sandbox.LineItems())
		}
		reading := browseSandbox(t, ltitest.NewBrowser(), strings.Replace(html.UnescapeString(string(links[1][1])), "item=", "item=0", 1))
		if reading.status != http.StatusNotFound {
			t.Errorf("a forged item key: %d", reading.status)
		}
		learnerLink := regexp.MustCompile(`<a class="launch-item-learner" href="([^"]+)">`).FindAllSubmatch(ret.body, -1)
		reading = browseSandbox(t, ltitest.NewBrowser(), html.UnescapeString(string(learnerLink[1][1])))
		page = string(reading.body)
		if reading.status != http.StatusOK || !strings.Contains(page, "Reading: the LTI security model") || !strings.Contains(page, "reading-1") ||
			!strings.Contains(page, "the platform sent no line item") || !strings.Contains(page, "Stu Dent") {
			t.Errorf("reading launch as learner: %d\n%s", reading.status, page)
		}
	})
}
