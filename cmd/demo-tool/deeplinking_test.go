package main

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/session"
)

var jwtFieldRe = regexp.MustCompile(`name="JWT" value="([^"]+)"`)

// TestDeepLinking runs deep linking launches of the sandbox against the
// application in process: the picker, the signed response, and the
// sandbox's verification of it.
func TestDeepLinking(t *testing.T) {
	t.Parallel()
	a, srv := newTestApp(t)
	kid := func() string {
		k, err := a.keys.ActiveKey(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return k.KID()
	}

	// open launches a deep linking request and returns the browser, the
	// launch page and the picker form's session fields.
	open := func(t *testing.T, opts ...ltitest.LaunchOption) (*http.Client, string, url.Values) {
		t.Helper()
		browser := ltitest.NewBrowser()
		resp, err := a.sandbox.Launch(t.Context(), browser, append([]ltitest.LaunchOption{ltitest.DeepLinking()}, opts...)...)
		r := readResponse(t, resp, err)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `id="deep-linking-picker"`) {
			t.Fatalf("deep linking launch: %d, no picker:\n%s", r.status, r.body)
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") {
			t.Errorf("launch page CSP %q", csp)
		}
		return browser, string(r.body), sessionFields(t, r.body)
	}
	// pick posts the picker's form with the session fields.
	pick := func(t *testing.T, browser *http.Client, fields url.Values, action string, items ...string) *http.Response {
		t.Helper()
		form := withFields(fields, url.Values{"item": items, "action": {action}})
		resp, err := browser.PostForm(srv.URL+pathDeepLinking, form)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// submit posts the tool's auto-submitting response page to the
	// sandbox and returns the sandbox's page and its newest result.
	submit := func(t *testing.T, browser *http.Client, page *http.Response) (response, ltitest.DeepLinkingResult) {
		t.Helper()
		if page.StatusCode != http.StatusOK {
			r := readResponse(t, page, nil)
			t.Fatalf("picker post: %d\n%s", r.status, r.body)
		}
		if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action "+srv.URL) {
			t.Errorf("response page CSP %q does not restrict form-action to the platform", csp)
		}
		resp, err := a.sandbox.SubmitDeepLinkingForm(t.Context(), browser, page)
		r := readResponse(t, resp, err)
		results := a.sandbox.DeepLinkingResults()
		return r, results[len(results)-1]
	}

	t.Run("several items, verified by the platform", func(t *testing.T) {
		browser, page, id := open(t)
		for _, s := range []string{`type="checkbox" name="item" value="quiz"`, `id="item-welcome" disabled`,
			"the platform does not accept html items"} {
			if !strings.Contains(page, s) {
				t.Errorf("the picker lacks %q", s)
			}
		}
		r, res := submit(t, browser, pick(t, browser, id, "add", "spec", "quiz"))
		if res.Err != nil || r.status != http.StatusOK {
			t.Fatalf("the sandbox refused the response: %v\n%s", res.Err, r.body)
		}
		if got := res.Header["kid"]; got != kid() {
			t.Errorf("signed with kid %v, want the tool's %s", got, kid())
		}
		// Catalog order, whatever the form's.
		if len(res.Items) != 2 || res.Items[0].Type != "ltiResourceLink" || res.Items[1].Type != "link" {
			t.Fatalf("items %+v", res.Items)
		}
		var quiz struct {
			URL      string
			Custom   map[string]string
			LineItem struct {
				ScoreMaximum float64
				ResourceID   string
			}
		}
		if err := res.Items[0].Decode(&quiz); err != nil {
			t.Fatal(err)
		}
		if quiz.URL != srv.URL+"/lti/launch" || quiz.Custom["activity"] != "quiz-1" || quiz.LineItem.ScoreMaximum != 10 {
			t.Errorf("quiz item %+v", quiz)
		}
		if res.Message != "demo-tool added 2 items." {
			t.Errorf("msg %q", res.Message)
		}
		for _, s := range []string{"Deep linking response verified", "Quiz: LTI 1.3 basics", "LTI 1.3 Core specification",
			"gradebook column &#34;Quiz: LTI 1.3 basics&#34;, maximum 10", kid()} {
			if !strings.Contains(string(r.body), s) {
				t.Errorf("the sandbox's return page lacks %q", s)
			}
		}
		// The sandbox page lists the returned items.
		if sp := get(t, http.DefaultClient, srv.URL+"/sandbox/"); !strings.Contains(string(sp.body), "Quiz: LTI 1.3 basics") {
			t.Error("the sandbox page does not list the returned items")
		}

		// The request is answered: a second answer is refused, with the
		// session's fields or its cookie alone.
		resp := pick(t, browser, id, "add", "quiz")
		if r := readResponse(t, resp, nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "already_answered") {
			t.Errorf("second answer: %d\n%s", r.status, r.body)
		}
		resp = pick(t, browser, url.Values{session.CSRFFieldName: id[session.CSRFFieldName]}, "add", "quiz")
		if r := readResponse(t, resp, nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "already_answered") {
			t.Errorf("second answer with the cookie: %d\n%s", r.status, r.body)
		}
	})

	t.Run("one item, no line items", func(t *testing.T) {
		browser, page, id := open(t, ltitest.WithClaims(oneItemSettings))
		for _, s := range []string{`type="radio" name="item" value="welcome"`,
			"without its gradebook column: the platform does not accept line items"} {
			if !strings.Contains(page, s) {
				t.Errorf("the picker lacks %q", s)
			}
		}
		// Two items: the picker comes back with an error, the request kept.
		resp := pick(t, browser, id, "add", "quiz", "welcome")
		r := readResponse(t, resp, nil)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "The platform accepts one item only.") ||
			!strings.Contains(string(r.body), `value="quiz" id="item-quiz" checked`) {
			t.Fatalf("two items for one: %d\n%s", r.status, r.body)
		}
		r, res := submit(t, browser, pick(t, browser, id, "add", "quiz"))
		if res.Err != nil || len(res.Items) != 1 {
			t.Fatalf("one item: %v %+v\n%s", res.Err, res.Items, r.body)
		}
		if strings.Contains(string(res.Items[0].JSON), "lineItem") {
			t.Errorf("the item has a line item though accept_lineitem is false: %s", res.Items[0].JSON)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		browser, _, id := open(t)
		r, res := submit(t, browser, pick(t, browser, id, "cancel", "quiz"))
		if res.Err != nil || len(res.Items) != 0 || res.Message != "Nothing was added." {
			t.Fatalf("cancel: %v %+v %q", res.Err, res.Items, res.Message)
		}
		if !strings.Contains(string(r.body), "No items") {
			t.Errorf("the return page:\n%s", r.body)
		}
	})

	t.Run("refused picks", func(t *testing.T) {
		browser, _, id := open(t)
		for _, tc := range []struct {
			items []string
			want  string
		}{
			{nil, "Pick at least one item, or cancel."},
			{[]string{"nope"}, "Pick at least one item, or cancel."},
			{[]string{"quiz", "welcome"}, "The platform does not accept html items."}, // a forged form
		} {
			r := readResponse(t, pick(t, browser, id, "add", tc.items...), nil)
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), tc.want) {
				t.Errorf("items %q: %d, want 400 with %q\n%s", tc.items, r.status, tc.want, r.body)
			}
		}
		if r := readResponse(t, pick(t, &http.Client{}, url.Values{session.ParamName: {forged(id.Get(session.ParamName))}}, "add", "quiz"), nil); r.status != http.StatusUnauthorized {
			t.Errorf("unknown session: %d", r.status)
		}
		// A cookie-only answer without the CSRF token is another site's
		// form.
		if r := readResponse(t, pick(t, browser, url.Values{}, "add", "quiz"), nil); r.status != http.StatusBadRequest ||
			!strings.Contains(string(r.body), "CSRF") {
			t.Errorf("cookie-only answer without CSRF token: %d\n%s", r.status, r.body)
		}
		// The request survived the refusals.
		if _, res := submit(t, browser, pick(t, browser, id, "add", "reading")); res.Err != nil {
			t.Errorf("after refusals: %v", res.Err)
		}
	})

	t.Run("racing answers: one wins", func(t *testing.T) {
		_, _, id := open(t)
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			wg.Go(func() {
				// No cookies: the session fields alone, as from a framed page.
				resp, err := http.PostForm(srv.URL+pathDeepLinking, withFields(id, url.Values{"item": {"spec"}, "action": {"add"}}))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		if ok := len(slices.DeleteFunc(slices.Clone(statuses), func(s int) bool { return s != http.StatusOK })); ok != 1 {
			t.Errorf("%d of %d racing answers were sent (statuses %v), want 1", ok, len(statuses), statuses)
		}
	})

	t.Run("a resource link launch's session has no request to answer", func(t *testing.T) {
		resp, err := a.sandbox.Launch(t.Context(), ltitest.NewBrowser(), a.sandbox.WithNRPS())
		r := readResponse(t, resp, err)
		if r.status != http.StatusOK {
			t.Fatalf("launch: %d", r.status)
		}
		resp, err = http.PostForm(srv.URL+pathDeepLinking, withFields(url.Values{session.ParamName: {tokenOf(t, linkHref(t, r.body, "link-roster"))}},
			url.Values{"item": {"spec"}, "action": {"add"}}))
		if r := readResponse(t, resp, err); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "not_deep_linking") {
			t.Errorf("answer in a resource link launch's session: %d\n%s", r.status, r.body)
		}
	})

	t.Run("replayed response refused by the sandbox", func(t *testing.T) {
		browser, _, id := open(t)
		page := readResponse(t, pick(t, browser, id, "add", "spec"), nil)
		m := jwtFieldRe.FindSubmatch(page.body)
		if m == nil {
			t.Fatalf("no JWT in the response page:\n%s", page.body)
		}
		jwt := html.UnescapeString(string(m[1]))
		for i, want := range []int{http.StatusOK, http.StatusBadRequest} {
			resp, err := browser.PostForm(a.sandbox.DeepLinkReturnURL(), url.Values{"JWT": {jwt}})
			r := readResponse(t, resp, err)
			if r.status != want {
				t.Fatalf("post %d: %d, want %d\n%s", i+1, r.status, want, r.body)
			}
			if i == 1 && (!strings.Contains(string(r.body), "Deep linking response refused") || !strings.Contains(string(r.body), "<code>nonce</code>")) {
				t.Errorf("the refusal page:\n%s", r.body)
			}
		}
	})
}
