package ags_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/services/ags"
	"github.com/ltikit/ltikit/services/internal/moodlereplay"
	"github.com/ltikit/ltikit/services/token"
)

// TestMoodleReplay runs the client, with the real token client, against
// Moodle 4.5's recorded answers: the line item URL with "?type_id=1" (the
// score and results paths go before the query), the score POST answered
// 200 with an empty body, Moodle's extra members.
func TestMoodleReplay(t *testing.T) {
	srv := moodlereplay.Start(t, filepath.Join(moodleDir, "ags_nrps_calls.json"))
	src, err := token.New(token.Config{Signer: newKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	l := &launch.Launch{
		Claims:       srv.Claims(t, filepath.Join(moodleDir, "idtoken_student_resource_link.json")),
		Registration: srv.Registration(),
	}
	now := time.Date(2026, 11, 22, 5, 18, 43, 120_000_000, time.UTC)
	c, err := ags.FromLaunch(l, src, nil, ags.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}

	var items []ags.LineItem
	for li, err := range c.LineItems(t.Context(), ags.LineItemsQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, li)
	}
	golden(t, srv, "ags_lineitems.json", items)
	if len(items) != 1 || items[0].ID != c.LineItemURL() {
		t.Fatalf("line items %+v, want the launch's line item %s", items, c.LineItemURL())
	}
	if !strings.HasSuffix(items[0].ID, "/lineitem?type_id=1") {
		t.Fatalf("the recorded line item URL lost its query: %s", items[0].ID)
	}
	if got := string(items[0].Extensions["ltiLinkId"]); got != `"1"` {
		t.Errorf("Moodle's ltiLinkId extension = %s", got)
	}

	// The launch's line item, coupled: lineItemURL "" means the claim's.
	score := ags.Score{
		UserID:           *l.Claims.Subject,
		Comment:          "from stub tool",
		ActivityProgress: ags.ActivityCompleted,
		GradingProgress:  ags.GradingFullyGraded,
	}.WithScore(7, 10)
	if err := c.PostScore(t.Context(), "", score); err != nil {
		t.Fatal(err)
	}

	var results []ags.Result
	for r, err := range c.Results(t.Context(), "", ags.ResultsQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
	}
	golden(t, srv, "ags_results.json", results)
	if len(results) != 1 || results[0].ResultScore == nil || *results[0].ResultScore != 7 || results[0].UserID != "3" {
		t.Fatalf("results %+v", results)
	}

	// What went over the wire.
	reqs := srv.Requests()
	var paths []string
	tokens := 0
	for _, r := range reqs {
		if strings.HasSuffix(r.URI, "/token.php") {
			tokens++
			continue
		}
		paths = append(paths, r.Method+" "+r.URI)
		if r.Authorization != "Bearer "+srv.AccessToken() {
			t.Errorf("%s %s: Authorization %q", r.Method, r.URI, r.Authorization)
		}
	}
	want := []string{
		"GET /mod/lti/services.php/2/lineitems?type_id=1",
		"POST /mod/lti/services.php/2/lineitems/2/lineitem/scores?type_id=1",
		"GET /mod/lti/services.php/2/lineitems/2/lineitem/results?type_id=1",
	}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	if tokens != 1 {
		t.Errorf("%d token requests, want 1 (one cached token for every AGS call)", tokens)
	}
	for _, r := range reqs {
		switch {
		case strings.Contains(r.URI, "/scores"):
			if r.ContentType != ags.MediaTypeScore {
				t.Errorf("score Content-Type %q", r.ContentType)
			}
			var body any
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			golden(t, srv, "ags_score_request.json", body)
		case strings.Contains(r.URI, "/results"):
			if r.Accept != ags.MediaTypeResultContainer {
				t.Errorf("results Accept %q", r.Accept)
			}
		case strings.Contains(r.URI, "/lineitems?"):
			if r.Accept != ags.MediaTypeLineItemContainer {
				t.Errorf("line items Accept %q", r.Accept)
			}
		}
	}
}

// golden compares v, encoded as indented JSON with the replay server's
// origin put back to Moodle's, with testdata/moodle-4.5/golden/name;
// -update rewrites the file.
func golden(t *testing.T, srv *moodlereplay.Server, name string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got := []byte(srv.Unrewrite(string(b)) + "\n")
	path := filepath.Join(moodleDir, "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (-want +got):\n%s", name, cmp.Diff(string(want), string(got)))
	}
}
