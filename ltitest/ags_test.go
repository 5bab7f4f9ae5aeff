package ltitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/lti"
)

// svcPlatform returns a platform for the service endpoint tests.
func svcPlatform(t *testing.T) *Platform {
	t.Helper()
	p, err := NewPlatform(Config{ToolRedirectURIs: []string{"https://tool.example/launch"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// svcDo sends a service request with the given bearer token (none when
// empty), Accept and Content-Type, and returns the status, headers and body.
func svcDo(t *testing.T, method, url, tok, accept, ctype, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestServiceClaims(t *testing.T) {
	p := svcPlatform(t)
	// DefaultClaims stays as it was: no service claims.
	c := p.DefaultClaims("n")
	if _, ok := c[lti.ClaimAGSEndpoint]; ok {
		t.Fatal("DefaultClaims has an AGS claim")
	}
	if _, ok := c[lti.ClaimNRPS]; ok {
		t.Fatal("DefaultClaims has an NRPS claim")
	}

	lc, err := p.newLaunchConfig([]LaunchOption{p.WithAGS(), p.WithNRPS()})
	if err != nil {
		t.Fatal(err)
	}
	claims := p.launchClaims(lc, "n", "")
	b, _ := json.Marshal(claims)
	decoded, err := lti.DecodeClaims(b)
	if err != nil {
		t.Fatal(err)
	}
	ags := decoded.AGS
	if ags == nil || len(ags.Scope) != 4 || ags.LineItems != p.LineItemsURL() || !strings.HasSuffix(ags.LineItem, "/lineitem?type_id=1") {
		t.Fatalf("AGS claim %+v", ags)
	}
	if li := p.LineItems(); len(li) != 1 || li[0].ID != ags.LineItem || li[0].ResourceLinkID != DefaultResourceLinkID {
		t.Fatalf("line items %+v", li)
	}
	if n := decoded.NRPS; n == nil || n.ContextMembershipsURL != p.MembershipsURL() || len(n.ServiceVersions) != 2 {
		t.Fatalf("NRPS claim %+v", n)
	}

	// A second launch reuses the resource link's line item; a deep linking
	// request gets the lineitems URL only; scopes can be narrowed.
	lc, _ = p.newLaunchConfig([]LaunchOption{p.WithAGS(scopeScore)})
	claims = p.launchClaims(lc, "n", "")
	if a := claims[lti.ClaimAGSEndpoint].(map[string]any); a["lineitem"] != ags.LineItem || len(a["scope"].([]string)) != 1 {
		t.Fatalf("second launch %v", a)
	}
	lc, _ = p.newLaunchConfig([]LaunchOption{DeepLinking(), p.WithAGS()})
	claims = p.launchClaims(lc, "n", "")
	if a := claims[lti.ClaimAGSEndpoint].(map[string]any); a["lineitem"] != nil || a["lineitems"] != p.LineItemsURL() {
		t.Fatalf("deep linking %v", a)
	}
	if n := len(p.LineItems()); n != 1 {
		t.Fatalf("%d line items", n)
	}
}

func TestAGSAuthAndMediaTypes(t *testing.T) {
	p := svcPlatform(t)
	li := p.AddLineItem(LineItem{Label: "Quiz", ScoreMaximum: 10})
	all := p.MintAccessToken(AGSScopes...)
	readonly := p.MintAccessToken(scopeLineItemReadOnly)
	scores := strings.Replace(li.ID, "/lineitem?", "/lineitem/scores?", 1)
	results := strings.Replace(li.ID, "/lineitem?", "/lineitem/results?", 1)
	score := `{"userId":"1","activityProgress":"Completed","gradingProgress":"FullyGraded","timestamp":"2026-01-01T00:00:00.000Z"}`
	tests := []struct {
		name                            string
		method, url, tok, accept, ctype string
		body                            string
		want                            int
	}{
		{"no token", "GET", p.LineItemsURL(), "", mediaLineItemContainer, "", "", 401},
		{"unknown token", "GET", p.LineItemsURL(), "nope", mediaLineItemContainer, "", "", 401},
		{"read-only token creates", "POST", p.LineItemsURL(), readonly, mediaLineItem, mediaLineItem, `{"label":"x","scoreMaximum":1}`, 403},
		{"read-only token posts a score", "POST", scores, readonly, "", mediaScore, score, 403},
		{"read-only token reads results", "GET", results, readonly, mediaResultContainer, "", "", 403},
		{"list without Accept", "GET", p.LineItemsURL(), all, "", "", "", 406},
		{"list accepting JSON", "GET", p.LineItemsURL(), all, "application/json", "", "", 406},
		{"list with the line item type", "GET", p.LineItemsURL(), all, mediaLineItem, "", "", 406},
		{"list", "GET", p.LineItemsURL(), all, "application/json, " + mediaLineItemContainer + ";q=0.9", "", "", 200},
		{"list read-only", "GET", p.LineItemsURL(), readonly, mediaLineItemContainer, "", "", 200},
		{"get with the container type", "GET", li.ID, all, mediaLineItemContainer, "", "", 406},
		{"get", "GET", li.ID, readonly, mediaLineItem, "", "", 200},
		{"create as JSON", "POST", p.LineItemsURL(), all, mediaLineItem, "application/json", `{"label":"x","scoreMaximum":1}`, 415},
		{"create without label", "POST", p.LineItemsURL(), all, mediaLineItem, mediaLineItem, `{"scoreMaximum":1}`, 400},
		{"create with scoreMaximum 0", "POST", p.LineItemsURL(), all, mediaLineItem, mediaLineItem, `{"label":"x","scoreMaximum":0}`, 400},
		{"create not JSON", "POST", p.LineItemsURL(), all, mediaLineItem, mediaLineItem + "; charset=utf-8", `{`, 400},
		{"update as JSON", "PUT", li.ID, all, "", "application/json", `{"label":"x","scoreMaximum":1}`, 415},
		{"update another id", "PUT", li.ID, all, "", mediaLineItem, `{"id":"http://x/1","label":"x","scoreMaximum":1}`, 400},
		{"score as JSON", "POST", scores, all, "", "application/json", score, 415},
		{"results with the wrong Accept", "GET", results, all, mediaLineItemContainer, "", "", 406},
		{"patch", "PATCH", li.ID, all, "", "", "", 405},
		{"get scores", "GET", scores, all, "", "", "", 405},
		{"unknown line item", "GET", strings.Replace(li.ID, "/1/", "/99/", 1), all, mediaLineItem, "", "", 404},
		{"bad path", "GET", p.URL() + PathLineItems + "/x/lineitem", all, mediaLineItem, "", "", 404},
		// A tool that appends /scores after the query reaches the line item, not its scores.
		{"scores after the query", "POST", li.ID + "/scores", all, "", mediaScore, score, 405},
		{"bad page", "GET", p.LineItemsURL() + "&page=0", all, mediaLineItemContainer, "", "", 400},
		{"bad limit", "GET", p.LineItemsURL() + "&limit=x", all, mediaLineItemContainer, "", "", 400},
	}
	for _, tc := range tests {
		status, h, body := svcDo(t, tc.method, tc.url, tc.tok, tc.accept, tc.ctype, tc.body)
		if status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.want)
		}
		if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, h.Get("WWW-Authenticate"))
		}
	}
	if n := len(p.Scores()); n != 0 {
		t.Fatalf("%d scores stored", n)
	}
}

func TestAGSLineItemsAndScores(t *testing.T) {
	p := svcPlatform(t)
	tok := p.MintAccessToken(AGSScopes...)

	// Create: 201, Location, the line item with its id.
	status, h, body := svcDo(t, "POST", p.LineItemsURL(), tok, mediaLineItem, mediaLineItem, `{"label":"Quiz","scoreMaximum":20,"tag":"quiz","resourceId":"q1"}`)
	if status != 201 || h.Get("Content-Type") != mediaLineItem {
		t.Fatalf("create: %d %s", status, body)
	}
	var li LineItem
	if err := json.Unmarshal([]byte(body), &li); err != nil || li.ID == "" || h.Get("Location") != li.ID {
		t.Fatalf("created %s (Location %s)", body, h.Get("Location"))
	}
	for i := range 4 {
		p.AddLineItem(LineItem{Label: "L" + string(rune('a'+i)), ScoreMaximum: 1, Tag: "other"})
	}

	// List with filters and pages.
	status, h, body = svcDo(t, "GET", p.LineItemsURL()+"&tag=quiz", tok, mediaLineItemContainer, "", "")
	if status != 200 || !strings.Contains(body, `"resourceId":"q1"`) || strings.Count(body, `"id"`) != 1 || h.Get("Link") != "" {
		t.Fatalf("filtered: %d %s %v", status, body, h)
	}
	url := p.LineItemsURL() + "&limit=2"
	var pages, items int
	for url != "" {
		status, h, body = svcDo(t, "GET", url, tok, mediaLineItemContainer, "", "")
		if status != 200 {
			t.Fatalf("%s: %d %s", url, status, body)
		}
		var page []LineItem
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		pages++
		items += len(page)
		url = ""
		if l := h.Get("Link"); l != "" {
			if !strings.HasSuffix(l, `>; rel="next"`) || !strings.Contains(l, "limit=2") || !strings.Contains(l, "type_id=1") {
				t.Fatalf("Link %s", l)
			}
			url = l[1:strings.Index(l, ">")]
		}
	}
	if pages != 3 || items != 5 {
		t.Fatalf("%d items in %d pages", items, pages)
	}

	// Update keeps the id.
	status, _, body = svcDo(t, "PUT", li.ID, tok, mediaLineItem, mediaLineItem, `{"label":"Quiz 2","scoreMaximum":40}`)
	if status != 200 || !strings.Contains(body, `"label":"Quiz 2"`) || !strings.Contains(body, li.ID) {
		t.Fatalf("update: %d %s", status, body)
	}

	// Scores: the rules of AGS 2.0 §3.4.
	scores := strings.Replace(li.ID, "/lineitem?", "/lineitem/scores?", 1)
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"userId":"1","activityProgress":"Completed","gradingProgress":"FullyGraded","timestamp":"2026-01-01T00:00:00.100Z","scoreGiven":10,"scoreMaximum":20}`, 204},
		{`{"userId":"1","activityProgress":"Completed","gradingProgress":"FullyGraded","timestamp":"2026-01-01T01:00:01.100+01:00","scoreGiven":15,"scoreMaximum":20,"comment":"better"}`, 204},
		{`{"userId":"1","activityProgress":"Completed","gradingProgress":"FullyGraded","timestamp":"2025-01-01T00:00:00.000Z"}`, 409},
		{`{"userId":"2","activityProgress":"Started","gradingProgress":"NotReady","timestamp":"2026-01-01T00:00:00.5Z"}`, 204},
		{`{"activityProgress":"Completed","gradingProgress":"FullyGraded","timestamp":"2026-01-01T00:00:00.000Z"}`, 400},
		{`{"userId":"3","activityProgress":"Done","gradingProgress":"FullyGraded","timestamp":"2026-01-01T00:00:00.000Z"}`, 400},
		{`{"userId":"3","activityProgress":"Completed","gradingProgress":"Graded","timestamp":"2026-01-01T00:00:00.000Z"}`, 400},
		{`{"userId":"3","activityProgress":"Completed","gradingProgress":"FullyGraded","timestamp":"2026-01-01T00:00:00Z"}`, 400},
		{`{"userId":"3","activityProgress":"Completed","gradingProgress":"FullyGraded","timestamp":"yesterday"}`, 400},
		{`{"userId":"3","activityProgress":"Completed","gradingProgress":"FullyGraded","timestamp":"2026-01-01T00:00:00.000Z","scoreGiven":1}`, 400},
		{`{"userId":"3","activityProgress":"Completed","gradingProgress":"FullyGraded","timestamp":"2026-01-01T00:00:00.000Z","scoreGiven":-1,"scoreMaximum":1}`, 400},
		{`{"userId":"3","activityProgress":"Completed","gradingProgress":"FullyGraded","timestamp":"2026-01-01T00:00:00.000Z","scoreGiven":1,"scoreMaximum":0}`, 400},
	} {
		if status, _, body := svcDo(t, "POST", scores, tok, "", mediaScore, tc.body); status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.body, status, body, tc.want)
		}
	}
	got := p.Scores()
	if len(got) != 3 || got[0].LineItemID != li.ID || !strings.Contains(string(got[1].Raw), `"better"`) {
		t.Fatalf("scores %+v", got)
	}

	// Results: the last score per user, scaled to scoreMaximum 40.
	results := strings.Replace(li.ID, "/lineitem?", "/lineitem/results?", 1)
	status, _, body = svcDo(t, "GET", results, tok, mediaResultContainer, "", "")
	var res []map[string]any
	if err := json.Unmarshal([]byte(body), &res); status != 200 || err != nil || len(res) != 2 {
		t.Fatalf("results: %d %s", status, body)
	}
	if res[0]["userId"] != "1" || res[0]["resultScore"] != 30.0 || res[0]["resultMaximum"] != 40.0 || res[0]["comment"] != "better" ||
		res[0]["scoreOf"] != li.ID || res[1]["resultScore"] != nil {
		t.Fatalf("results %v", res)
	}
	status, h, body = svcDo(t, "GET", results+"&user_id=2&limit=1", tok, mediaResultContainer, "", "")
	if status != 200 || strings.Count(body, `"userId"`) != 1 || !strings.Contains(body, `"userId":"2"`) || h.Get("Link") != "" {
		t.Fatalf("user_id filter: %d %s %v", status, body, h)
	}

	// Delete: 204, then gone with its scores.
	if status, _, body := svcDo(t, "DELETE", li.ID, tok, "", "", ""); status != 204 {
		t.Fatalf("delete: %d %s", status, body)
	}
	if status, _, _ := svcDo(t, "GET", li.ID, tok, mediaLineItem, "", ""); status != 404 {
		t.Fatalf("deleted line item: %d", status)
	}
	if len(p.Scores()) != 0 || len(p.LineItems()) != 4 {
		t.Fatalf("after delete: %d scores, %d line items", len(p.Scores()), len(p.LineItems()))
	}
}

// TestServicesUnderPrefix: a platform mounted under a path serves its
// services there.
func TestServicesUnderPrefix(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p, err := NewHandler(srv.URL+"/sandbox", Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sandbox/", p)
	tok := p.MintAccessToken(AGSScopes...)
	li := p.AddLineItem(LineItem{Label: "x", ScoreMaximum: 1})
	if !strings.HasPrefix(li.ID, srv.URL+"/sandbox/ags/lineitems/") {
		t.Fatalf("id %s", li.ID)
	}
	if status, _, body := svcDo(t, "GET", li.ID, tok, mediaLineItem, "", ""); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	p.AddMembers(3)
	tok = p.MintAccessToken(scopeMembership)
	status, h, body := svcDo(t, "GET", p.MembershipsURL()+"?limit=2", tok, mediaMembership, "", "")
	if status != 200 || !strings.Contains(h.Get("Link"), srv.URL+"/sandbox/nrps/memberships?limit=2&page=2") ||
		!strings.Contains(body, `"id":"`+srv.URL+`/sandbox/nrps/memberships?limit=2"`) {
		t.Fatalf("%d %s %v", status, body, h)
	}
}
