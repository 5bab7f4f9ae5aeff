package main

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/session"
)

// privateJWKMembers are the JWK members of private keys (RFC 7518 §6.3.2,
// §6.4): none may appear in the tool's published key set.
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// fetchJWKS reads the tool's key set and checks it is a public RSA key set:
// it returns the kids.
func fetchJWKS(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + pathJWKS)
	r := readResponse(t, resp, err)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %d %s\n%s", pathJWKS, r.status, r.header.Get("Content-Type"), r.body)
	}
	var raw struct{ Keys []map[string]any }
	if err := json.Unmarshal(r.body, &raw); err != nil || len(raw.Keys) == 0 {
		t.Fatalf("the key set is not a JWK set with keys: %v\n%s", err, r.body)
	}
	for _, k := range raw.Keys {
		for _, m := range privateJWKMembers {
			if _, ok := k[m]; ok {
				t.Errorf("a published key has the private member %q", m)
			}
		}
	}
	set, err := jwk.Parse(r.body)
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		if k.KeyType() != jwa.RSA || k.KeyID() == "" || k.Algorithm().String() != "RS256" || k.KeyUsage() != "sig" {
			t.Errorf("key %d: kty %s, kid %q, alg %s, use %q; want an RS256 signing key with a kid", i, k.KeyType(), k.KeyID(), k.Algorithm(), k.KeyUsage())
		}
		if _, err := k.PublicKey(); err != nil {
			t.Error(err)
		}
		kids = append(kids, k.KeyID())
	}
	return kids
}

var (
	sessionFieldRe = regexp.MustCompile(`name="(lti_session|csrf_token)" value="([^"]+)"`)
	memberRowRe    = regexp.MustCompile(`<tr class="member`)
)

// get fetches path on the tool with the browser's cookies.
func get(t *testing.T, browser *http.Client, u string) response {
	t.Helper()
	resp, err := browser.Get(u)
	return readResponse(t, resp, err)
}

// openGradePage opens the grade page and returns it with its form's
// session fields.
func openGradePage(t *testing.T, browser *http.Client, base string) (response, url.Values) {
	t.Helper()
	r := get(t, browser, base+pathGrade)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", pathGrade, r.status, r.body)
	}
	return r, sessionFields(t, r.body)
}

// sessionFields returns the hidden session fields (lti_session and
// csrf_token) of the page's form.
func sessionFields(t *testing.T, page []byte) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range sessionFieldRe.FindAllSubmatch(page, -1) {
		v.Add(string(m[1]), html.UnescapeString(string(m[2])))
	}
	if len(v[session.ParamName]) != 1 || len(v[session.CSRFFieldName]) != 1 {
		t.Fatalf("the page's form has the session fields %v, want one lti_session and one csrf_token:\n%s", v, page)
	}
	return v
}

// withFields returns the form values with the session fields added.
func withFields(fields, form url.Values) url.Values {
	out := url.Values{}
	for _, vs := range []url.Values{fields, form} {
		for k, v := range vs {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

// forged is tok with its first character changed: well formed, but no
// session's.
func forged(tok string) string {
	if strings.HasPrefix(tok, "A") {
		return "B" + tok[1:]
	}
	return "A" + tok[1:]
}

// tokenOf returns the session token of a link of the tool's pages.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get(session.ParamName) == "" {
		t.Fatalf("link %q carries no session token (%v)", link, err)
	}
	return u.Query().Get(session.ParamName)
}

// linkHref returns the href of the page's link with the id, unescaped.
func linkHref(t *testing.T, page []byte, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `" href="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("the page has no link %s:\n%s", id, page)
	}
	return html.UnescapeString(string(m[1]))
}

// sandboxScores reads GET /sandbox/scores.
func sandboxScores(t *testing.T, base string) []sandboxScore {
	t.Helper()
	resp, err := http.Get(base + "/sandbox/scores")
	r := readResponse(t, resp, err)
	var out struct{ Scores []sandboxScore }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &out) != nil {
		t.Fatalf("GET /sandbox/scores: %d %s", r.status, r.body)
	}
	return out.Scores
}

func ptr(f float64) *float64 { return &f }

// TestAdvantageEndToEnd runs the binary with the sandbox and drives the LTI
// Advantage pages over HTTP as a browser would: the tool's key set (and its
// kid across a restart), a grade sent by a learner and by an instructor
// through AGS and recorded by the sandbox, and the roster read through NRPS.
func TestAdvantageEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "tool.db")
	n := startNode(t, dir, "--addr", "127.0.0.1:0", "--sandbox", "--db", db)

	kids := fetchJWKS(t, n.url)
	if len(kids) != 1 {
		t.Fatalf("the key set has %d keys, want 1: %v", len(kids), kids)
	}
	if !strings.Contains(n.stdout.String(), "JWKS URL:      "+n.url+pathJWKS) {
		t.Errorf("the startup text lacks the JWKS URL:\n%s", n.stdout.String())
	}
	scoreOpts := cmpopts.IgnoreFields(sandboxScore{}, "Score.Timestamp", "LineItem")

	t.Run("learner sends their own grade", func(t *testing.T) {
		browser := ltitest.NewBrowser()
		r := browseSandbox(t, browser, n.url+"/sandbox/launch?role=learner")
		page := string(r.body)
		if r.status != http.StatusOK || !strings.Contains(page, `id="link-grade"`) || strings.Contains(page, `id="link-roster"`) {
			t.Fatalf("learner launch page: %d, want a grade link and no roster link\n%s", r.status, page)
		}
		var sc *http.Cookie
		u, _ := url.Parse(n.url)
		for _, c := range browser.Jar.Cookies(u) {
			if c.Name == session.DefaultCookieName {
				sc = c
			}
		}
		if sc == nil {
			t.Fatal("the launch set no session cookie")
		}
		if !strings.Contains(linkHref(t, r.body, "link-grade"), "lti_session="+sc.Value) {
			t.Error("the grade link does not carry the session's token")
		}

		gp, fields := openGradePage(t, browser, n.url)
		if !strings.Contains(string(gp.body), "ltitest activity") || strings.Contains(string(gp.body), `name="user_id"`) {
			t.Errorf("the learner's grade page lacks the line item or offers a user choice:\n%s", gp.body)
		}
		if csp := gp.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") {
			t.Errorf("grade page CSP %q", csp)
		}
		form := url.Values{"score_given": {"7.5"}, "score_maximum": {"10"},
			"activity_progress": {"Completed"}, "grading_progress": {"FullyGraded"}, "comment": {"Well <b>done</b>"},
			// A learner grades only themselves: a user id in the form is ignored.
			"user_id": {ltitest.DefaultInstructor.Sub}}

		// A post that only the cookie authenticates (as another site's
		// form would be) needs the session's CSRF token.
		for name, csrf := range map[string][]string{"forged": {"forged"}, "missing": nil} {
			bad := withFields(url.Values{session.CSRFFieldName: csrf}, form)
			resp, err := browser.PostForm(n.url+pathGrade, bad)
			if r := readResponse(t, resp, err); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "invalid_request") ||
				!strings.Contains(string(r.body), "CSRF") {
				t.Fatalf("cookie-only post with a %s CSRF token: %d\n%s", name, r.status, r.body)
			}
		}
		// A forged session field is not the session, whatever the cookie.
		resp, err := browser.PostForm(n.url+pathGrade, withFields(url.Values{session.ParamName: {forged(fields.Get(session.ParamName))}}, form))
		if r := readResponse(t, resp, err); r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "no_session") {
			t.Fatalf("post with a forged session field: %d\n%s", r.status, r.body)
		}
		if got := sandboxScores(t, n.url); len(got) != 0 {
			t.Fatalf("scores recorded before any valid post: %+v", got)
		}

		resp, err = browser.PostForm(n.url+pathGrade, withFields(fields, form))
		r = readResponse(t, resp, err)
		page = string(r.body)
		if r.status != http.StatusOK || !strings.Contains(page, `id="grade-result"`) {
			t.Fatalf("post grade: %d\n%s\nlogs:\n%s", r.status, page, n.logs.String())
		}
		// The result read back through the AGS results endpoint, on the
		// line item's scale (scoreMaximum 100).
		if !strings.Contains(page, `id="platform-results"`) || !strings.Contains(page, `<td class="user"><span class="name">Stu Dent</span><span class="sub">1002</span></td><td class="nowrap">75</td><td class="nowrap">100</td>`) {
			t.Errorf("the result page does not show the platform's result 75/100:\n%s", page)
		}
		if strings.Contains(page, "<b>done</b>") {
			t.Error("the comment is echoed unescaped")
		}
		want := []sandboxScore{{Label: "ltitest activity", Score: ltitest.Score{UserID: ltitest.DefaultLearner.Sub, ScoreGiven: ptr(7.5),
			ScoreMaximum: ptr(10), Comment: "Well <b>done</b>", ActivityProgress: "Completed", GradingProgress: "FullyGraded"}}}
		got := sandboxScores(t, n.url)
		if diff := cmp.Diff(want, got, scoreOpts); diff != "" {
			t.Fatalf("recorded scores (-want +got):\n%s", diff)
		}
		if !strings.HasPrefix(got[0].LineItem, n.url+"/sandbox/ags/lineitems/") || got[0].Timestamp == "" {
			t.Errorf("score line item %q, timestamp %q", got[0].LineItem, got[0].Timestamp)
		}
		// The sandbox page's gradebook lists it.
		if sp := get(t, http.DefaultClient, n.url+"/sandbox/"); !strings.Contains(string(sp.body), `<span class="name">Stu Dent</span><span class="sub">1002</span>`) ||
			!strings.Contains(string(sp.body), "7.5 / 10") {
			t.Errorf("the sandbox gradebook does not show the score:\n%s", sp.body)
		}
	})

	t.Run("instructor grades a learner of the roster", func(t *testing.T) {
		browser := ltitest.NewBrowser()
		if r := browseSandbox(t, browser, n.url+"/sandbox/launch?role=instructor"); r.status != http.StatusOK ||
			!strings.Contains(string(r.body), `id="link-roster"`) {
			t.Fatalf("instructor launch: %d\n%s", r.status, r.body)
		}
		gp, fields := openGradePage(t, browser, n.url)
		if !strings.Contains(string(gp.body), `<option value="ltitest-user-3">Learner 3 (ltitest-user-3)</option>`) ||
			!strings.Contains(string(gp.body), `value="1002"`) || strings.Contains(string(gp.body), `<option value="1001"`) {
			t.Fatalf("the instructor's learner choice is not the roster's learners:\n%s", gp.body)
		}
		// Cookie and CSRF token, without the session field: as a script
		// would post.
		resp, err := browser.PostForm(n.url+pathGrade, url.Values{session.CSRFFieldName: fields[session.CSRFFieldName], "user_id": {"ltitest-user-3"},
			"score_given": {"9"}, "score_maximum": {"10"}, "activity_progress": {"Submitted"}, "grading_progress": {"PendingManual"}})
		if r := readResponse(t, resp, err); r.status != http.StatusOK || !strings.Contains(string(r.body), `id="grade-result"`) {
			t.Fatalf("post grade: %d\n%s", r.status, r.body)
		}
		got := sandboxScores(t, n.url)
		want := sandboxScore{Label: "ltitest activity", Score: ltitest.Score{UserID: "ltitest-user-3", ScoreGiven: ptr(9), ScoreMaximum: ptr(10),
			ActivityProgress: "Submitted", GradingProgress: "PendingManual", ScoringUserID: ltitest.DefaultInstructor.Sub}}
		if len(got) != 2 {
			t.Fatalf("%d scores recorded, want 2: %+v", len(got), got)
		}
		if diff := cmp.Diff(want, got[1], scoreOpts); diff != "" {
			t.Errorf("recorded score (-want +got):\n%s", diff)
		}

		// An invalid score is refused before anything is sent.
		resp, err = browser.PostForm(n.url+pathGrade, withFields(fields, url.Values{"user_id": {"ltitest-user-3"},
			"score_given": {"-1"}, "score_maximum": {"10"}, "activity_progress": {"Completed"}, "grading_progress": {"FullyGraded"}}))
		if r := readResponse(t, resp, err); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `id="grade-error"`) {
			t.Errorf("negative score: %d\n%s", r.status, r.body)
		}
		if got := sandboxScores(t, n.url); len(got) != 2 {
			t.Errorf("an invalid score was sent: %+v", got)
		}
	})

	t.Run("roster", func(t *testing.T) {
		browser := ltitest.NewBrowser()
		browseSandbox(t, browser, n.url+"/sandbox/launch?role=instructor")
		r := get(t, browser, n.url+pathRoster)
		page := string(r.body)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", pathRoster, r.status, page)
		}
		if got := len(memberRowRe.FindAllString(page, -1)); got != sandboxLearners+2 {
			t.Errorf("the roster lists %d members, want %d", got, sandboxLearners+2)
		}
		for _, s := range []string{
			"Tea Cher", "teacher@example.com", "Stu Dent", "Learner 1", "Learner 25", "learner25@example.com",
			`title="` + ltitest.RoleInstructor + `">Instructor</span>`, `title="` + ltitest.RoleLearner + `">Learner</span>`,
			fmt.Sprintf("%d members: 1 instructor, %d learners.", sandboxLearners+2, sandboxLearners+1),
			"LTI Test Course",
		} {
			if !strings.Contains(page, s) {
				t.Errorf("the roster page lacks %q", s)
			}
		}
		if !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
			t.Error("the streamed roster page is not complete")
		}

		// A learner's launch has the NRPS claim, but the roster is for staff.
		learner := ltitest.NewBrowser()
		browseSandbox(t, learner, n.url+"/sandbox/launch?role=learner")
		if r := get(t, learner, n.url+pathRoster); r.status != http.StatusForbidden {
			t.Errorf("the roster for a learner: %d", r.status)
		}
	})

	t.Run("the token alone carries the session", func(t *testing.T) {
		// A browser that keeps no cookie of the tool after the launch, as
		// one that blocks third-party cookies in the platform's iframe:
		// only the launch page's links and forms name the session.
		noCookies := &http.Client{Timeout: 30 * time.Second}
		for _, tc := range []struct {
			role   string
			link   string // the launch page's link to follow
			want   string // on the page it opens
			other  string // the page's link to the other page, "" for none
			grader string // the user the grade is for
		}{
			{role: "instructor", link: "link-roster", want: fmt.Sprintf("%d members", sandboxLearners+2), other: "nav-grade", grader: "ltitest-user-7"},
			{role: "learner", link: "link-grade", want: `id="grade-form"`, grader: ltitest.DefaultLearner.Sub},
		} {
			t.Run(tc.role, func(t *testing.T) {
				lp := browseSandbox(t, ltitest.NewBrowser(), n.url+"/sandbox/launch?role="+tc.role)
				if lp.status != http.StatusOK {
					t.Fatalf("launch: %d\n%s", lp.status, lp.body)
				}
				link := linkHref(t, lp.body, tc.link)
				token := tokenOf(t, link)
				if !strings.HasPrefix(link, n.url+"/") {
					t.Errorf("link %s is not the tool's", link)
				}
				r := get(t, noCookies, link)
				if r.status != http.StatusOK || !strings.Contains(string(r.body), tc.want) {
					t.Fatalf("GET %s with the token alone: %d\n%s", tc.link, r.status, r.body)
				}
				for h, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "same-origin"} {
					if got := r.header.Get(h); got != want {
						t.Errorf("%s: %q, want %q", h, got, want)
					}
				}
				if len(r.header.Values("Set-Cookie")) != 0 {
					t.Errorf("a page after the launch sets cookies: %q", r.header.Values("Set-Cookie"))
				}
				gp := r
				if tc.other != "" {
					if gp = get(t, noCookies, linkHref(t, r.body, tc.other)); gp.status != http.StatusOK {
						t.Fatalf("GET %s with the token alone: %d\n%s", tc.other, gp.status, gp.body)
					}
				}
				fields := sessionFields(t, gp.body)
				if fields.Get(session.ParamName) != token {
					t.Error("the grade form's session field is not the links' token")
				}
				before := len(sandboxScores(t, n.url))
				resp, err := noCookies.PostForm(n.url+pathGrade, withFields(fields, url.Values{"user_id": {tc.grader},
					"score_given": {"5"}, "score_maximum": {"10"}, "activity_progress": {"Completed"}, "grading_progress": {"FullyGraded"}}))
				r = readResponse(t, resp, err)
				if r.status != http.StatusOK || !strings.Contains(string(r.body), `id="grade-result"`) {
					t.Fatalf("post grade with the form's fields alone: %d\n%s\nlogs:\n%s", r.status, r.body, n.logs.String())
				}
				scores := sandboxScores(t, n.url)
				if len(scores) != before+1 || scores[len(scores)-1].UserID != tc.grader {
					t.Errorf("recorded scores %+v, want one more for %s", scores, tc.grader)
				}
				// The CSRF token alone is no session.
				resp, err = noCookies.PostForm(n.url+pathGrade, url.Values{session.CSRFFieldName: fields[session.CSRFFieldName]})
				if r := readResponse(t, resp, err); r.status != http.StatusUnauthorized {
					t.Errorf("post with the CSRF token alone: %d", r.status)
				}
				// A token in the query of a post is refused: it would leak.
				resp, err = noCookies.PostForm(n.url+pathGrade+"?lti_session="+token, url.Values{})
				if r := readResponse(t, resp, err); r.status != http.StatusBadRequest {
					t.Errorf("post with the token in the query: %d", r.status)
				}
				if strings.Contains(n.logs.String(), token) {
					t.Error("the session token is logged")
				}
			})
		}
	})

	t.Run("no session", func(t *testing.T) {
		for _, path := range []string{pathGrade, pathRoster, pathGrade + "?lti_session=" + strings.Repeat("A", 43)} {
			r := get(t, jsonBrowser(), n.url+path)
			wantError(t, path+" without a launch", r, http.StatusUnauthorized, "no_session")
			if !strings.Contains(r.json(t)["error_description"].(string), "no launch session") {
				t.Errorf("%s without a launch: %s", path, r.body)
			}
		}
		r := get(t, http.DefaultClient, n.url+pathRoster)
		page := string(r.body)
		if r.status != http.StatusUnauthorized || !strings.Contains(page, "No launch session") ||
			!strings.Contains(page, "start the tool again from the platform") || !strings.Contains(page, "30 minutes unused and 2 hours at most") {
			t.Errorf("the roster page without a launch: %d\n%s", r.status, page)
		}
		for _, path := range []string{pathGrade, pathDeepLinking} {
			resp, err := http.PostForm(n.url+path, url.Values{session.CSRFFieldName: {"x"}})
			if r := readResponse(t, resp, err); r.status != http.StatusUnauthorized {
				t.Errorf("post %s without a launch: %d", path, r.status)
			}
		}
	})

	t.Run("restart keeps the key", func(t *testing.T) {
		n.stop()
		n2 := startNode(t, dir, "--addr", "127.0.0.1:0", "--sandbox", "--db", db)
		if got := fetchJWKS(t, n2.url); !cmp.Equal(got, kids) {
			t.Fatalf("after a restart the key set has kids %v, want %v", got, kids)
		}
		// The new sandbox verifies the tool's client assertion with the
		// same key.
		browser := ltitest.NewBrowser()
		browseSandbox(t, browser, n2.url+"/sandbox/launch?role=learner")
		_, fields := openGradePage(t, browser, n2.url)
		resp, err := browser.PostForm(n2.url+pathGrade, withFields(fields, url.Values{"score_given": {"3"}, "score_maximum": {"4"},
			"activity_progress": {"Completed"}, "grading_progress": {"FullyGraded"}}))
		if r := readResponse(t, resp, err); r.status != http.StatusOK {
			t.Fatalf("post grade after a restart: %d\n%s\nlogs:\n%s", r.status, r.body, n2.logs.String())
		}
		if got := sandboxScores(t, n2.url); len(got) != 1 || *got[0].ScoreGiven != 3 {
			t.Errorf("scores after a restart: %+v", got)
		}
	})
}

// TestAdvantageExternalPlatform runs the grade and roster pages against a
// platform in another process, registered with the CLI (token URL
// included) as a real LMS is: its token endpoint fetches the tool's key
// set from the tool's JWKS URL over HTTP.
func TestAdvantageExternalPlatform(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.platform.SetToolJWKSURL(e.node.url + pathJWKS)
	e.platform.AddMembers(3)

	learner := ltitest.NewBrowser()
	if r := e.launch(t, learner, ltitest.AsLearner(), e.platform.WithAGS(), e.platform.WithNRPS()); r.status != http.StatusOK {
		t.Fatalf("launch: %d\n%s", r.status, r.body)
	}
	_, fields := openGradePage(t, learner, e.node.url)
	resp, err := learner.PostForm(e.node.url+pathGrade, withFields(fields, url.Values{"score_given": {"42"}, "score_maximum": {"50"},
		"activity_progress": {"Completed"}, "grading_progress": {"FullyGraded"}}))
	if r := readResponse(t, resp, err); r.status != http.StatusOK {
		t.Fatalf("post grade: %d\n%s\nlogs:\n%s", r.status, r.body, e.node.logs.String())
	}
	scores := e.platform.Scores()
	if len(scores) != 1 || scores[0].UserID != ltitest.DefaultLearner.Sub || *scores[0].ScoreGiven != 42 || *scores[0].ScoreMaximum != 50 {
		t.Fatalf("the platform recorded %+v", scores)
	}
	// The client assertion was signed with the published key.
	kids := fetchJWKS(t, e.node.url)
	log := e.platform.TokenLog()
	if len(log) == 0 || log[0].Status != http.StatusOK || log[0].Header["kid"] != kids[0] {
		t.Errorf("token requests %+v, want one signed with kid %s", log, kids[0])
	}

	instructor := ltitest.NewBrowser()
	e.launch(t, instructor, e.platform.WithNRPS())
	r := get(t, instructor, e.node.url+pathRoster)
	// The 3 members added and the 2 users who launched: a platform's
	// roster has everyone it launches.
	if r.status != http.StatusOK || len(memberRowRe.FindAll(r.body, -1)) != 5 || !strings.Contains(string(r.body), "Learner 3") ||
		!strings.Contains(string(r.body), ltitest.DefaultInstructor.Name) || !strings.Contains(string(r.body), ltitest.DefaultLearner.Name) {
		t.Errorf("roster: %d\n%s", r.status, r.body)
	}
}
