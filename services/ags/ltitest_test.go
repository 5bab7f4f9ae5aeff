package ags_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/ags"
	"github.com/ltikit/ltikit/services/token"
)

// TestAgainstPlatform runs line item CRUD, scores and results over real
// HTTP against the ltitest platform, with tokens from its token endpoint.
func TestAgainstPlatform(t *testing.T) {
	e := newEnv(t)
	l := e.launch(t)
	c, err := ags.FromLaunch(l, e.src, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if !strings.HasSuffix(c.LineItemURL(), "/lineitem?type_id=1") {
		t.Fatalf("the launch's line item URL %q has no Moodle query", c.LineItemURL())
	}

	// The launch's own line item.
	own, err := c.LineItem(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if own.ResourceLinkID != ltitest.DefaultResourceLinkID || own.ScoreMaximum != 100 {
		t.Fatalf("own line item %+v", own)
	}

	// Create, read back, list with filters, update, delete.
	quiz, err := c.CreateLineItem(ctx, ags.LineItem{Label: "Quiz 1", ScoreMaximum: 20, ResourceID: "quiz-1", Tag: "grade"})
	if err != nil {
		t.Fatal(err)
	}
	if quiz.ID == "" || quiz.Label != "Quiz 1" {
		t.Fatalf("created %+v", quiz)
	}
	got, err := c.LineItem(ctx, quiz.ID)
	if err != nil || got.ResourceID != "quiz-1" {
		t.Fatalf("read back %+v %v", got, err)
	}
	var tagged []ags.LineItem
	for li, err := range c.LineItems(ctx, ags.LineItemsQuery{Tag: "grade", ResourceID: "quiz-1"}) {
		if err != nil {
			t.Fatal(err)
		}
		tagged = append(tagged, li)
	}
	if len(tagged) != 1 || tagged[0].ID != quiz.ID {
		t.Fatalf("filtered list %+v", tagged)
	}
	if items, _ := collect(c.LineItems(ctx, ags.LineItemsQuery{ResourceLinkID: ltitest.DefaultResourceLinkID})); len(items) != 1 || items[0].ID != own.ID {
		t.Fatalf("resource link filter %+v", items)
	}
	quiz.Label, quiz.ScoreMaximum = "Quiz one", 25
	upd, err := c.UpdateLineItem(ctx, *quiz)
	if err != nil || upd.Label != "Quiz one" || upd.ScoreMaximum != 25 {
		t.Fatalf("update %+v %v", upd, err)
	}
	if pl := e.p.LineItems(); len(pl) != 2 || pl[1].Label != "Quiz one" {
		t.Fatalf("platform line items %+v", pl)
	}

	// Scores to the new line item and results.
	base := time.Now()
	for i, u := range []string{"1002", "1003", "1004"} {
		s := ags.Score{UserID: u, ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded,
			Timestamp: base.Add(time.Duration(i) * time.Millisecond), Comment: "well done"}.WithScore(float64(i+1), 10)
		if err := c.PostScore(ctx, quiz.ID, s); err != nil {
			t.Fatal(err)
		}
	}
	// A later score for 1002 replaces the result; an older one is refused.
	if err := c.PostScore(ctx, quiz.ID, ags.Score{UserID: "1002", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded, Timestamp: base.Add(time.Second)}.WithScore(8, 10)); err != nil {
		t.Fatal(err)
	}
	err = c.PostScore(ctx, quiz.ID, ags.Score{UserID: "1002", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded, Timestamp: base.Add(-time.Hour)}.WithScore(0, 10))
	var he *ags.HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusConflict {
		t.Fatalf("an older score: %v", err)
	}
	if n := len(e.p.Scores()); n != 4 {
		t.Fatalf("the platform kept %d scores, want 4", n)
	}
	results, err := collect(c.Results(ctx, quiz.ID, ags.ResultsQuery{}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"1002": 20, "1003": 5, "1004": 7.5} // scaled to scoreMaximum 25
	if len(results) != 3 {
		t.Fatalf("results %+v", results)
	}
	for _, r := range results {
		if r.ResultScore == nil || *r.ResultScore != want[r.UserID] || r.ScoreOf != quiz.ID || r.Comment == "" && r.UserID != "1002" {
			t.Errorf("result %+v, want score %v", r, want[r.UserID])
		}
	}
	one, err := collect(c.Results(ctx, quiz.ID, ags.ResultsQuery{UserID: "1003"}))
	if err != nil || len(one) != 1 || one[0].UserID != "1003" {
		t.Fatalf("user_id filter %+v %v", one, err)
	}

	if err := c.DeleteLineItem(ctx, quiz.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.LineItem(ctx, quiz.ID)
	if !errors.As(err, &he) || he.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted line item: %v", err)
	}
	if n := e.p.TokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// TestPaging reads line items and results across several pages; pages are
// fetched only as the loop goes on.
func TestPaging(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewUnstartedServer(nil)
	p, err := ltitest.NewHandler("http://"+srv.Listener.Addr().String(), ltitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, ltitest.PathLineItems) {
			requests.Add(1)
		}
		p.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	// The platform trusts the token client's keyring.
	kr := newKeyring(t)
	set, err := kr.KeySet(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p.SetToolKeySet(set)
	src, err := token.New(token.Config{Signer: kr})
	if err != nil {
		t.Fatal(err)
	}
	claims := p.DefaultClaims("n")
	claims[lti.ClaimAGSEndpoint] = p.AGSClaim("")
	c, err := ags.FromLaunch(launchOf(t, claims, p.Registration()), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		p.AddLineItem(ltitest.LineItem{Label: fmt.Sprintf("Item %d", i), ScoreMaximum: 10})
	}
	n := 0
	for li, err := range c.LineItems(t.Context(), ags.LineItemsQuery{Limit: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		if li.Label != fmt.Sprintf("Item %d", n) {
			t.Fatalf("item %d: %+v", n, li)
		}
		n++
		// Lazy: page k+1 is requested only after page k is used up.
		if wantPages := int64((n-1)/3 + 1); requests.Load() != wantPages {
			t.Fatalf("after %d items, %d page requests, want %d", n, requests.Load(), wantPages)
		}
	}
	if n != 7 || requests.Load() != 3 {
		t.Fatalf("%d items in %d pages, want 7 in 3", n, requests.Load())
	}

	// Stopping early requests no more pages.
	requests.Store(0)
	for range c.LineItems(t.Context(), ags.LineItemsQuery{Limit: 3}) {
		break
	}
	if requests.Load() != 1 {
		t.Fatalf("an early break made %d requests", requests.Load())
	}

	// Results across pages, and the platform's own page size.
	li := p.LineItems()[0]
	for i := range 8 {
		s := ags.Score{UserID: fmt.Sprint(i), ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}.WithScore(1, 1)
		if err := c.PostScore(t.Context(), li.ID, s); err != nil {
			t.Fatal(err)
		}
	}
	p.SetServicePageSize(3)
	requests.Store(0)
	results, err := collect(c.Results(t.Context(), li.ID, ags.ResultsQuery{}))
	if err != nil || len(results) != 8 || requests.Load() != 3 {
		t.Fatalf("%d results in %d pages (%v), want 8 in 3", len(results), requests.Load(), err)
	}
}

// TestConcurrentOneToken: 50 concurrent AGS calls share one token request
// (the token client's cache and single flight).
func TestConcurrentOneToken(t *testing.T) {
	e := newEnv(t)
	c, err := ags.FromLaunch(e.launch(t), e.src, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	start := make(chan struct{})
	ts := time.Now()
	for i := range 50 {
		wg.Go(func() {
			<-start
			s := ags.Score{UserID: fmt.Sprint(i), ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded, Timestamp: ts}.WithScore(float64(i), 50)
			errs <- c.PostScore(t.Context(), "", s)
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.p.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for 50 concurrent calls, want 1", n)
	}
	if n := len(e.p.Scores()); n != 50 {
		t.Fatalf("%d scores", n)
	}
}

// TestRevokedToken: the platform revokes the token; the next call gets a
// 401, invalidates it, fetches a new one and succeeds.
// Both ways of sending: the token client's Do (no HTTP client given) and
// the package's own path (an HTTP client given).
func TestRevokedToken(t *testing.T) {
	for _, hc := range []*http.Client{nil, {Timeout: 10 * time.Second}} {
		e := newEnv(t)
		c, err := ags.FromLaunch(e.launch(t), e.src, hc)
		if err != nil {
			t.Fatal(err)
		}
		s := ags.Score{UserID: "1002", ActivityProgress: ags.ActivityStarted, GradingProgress: ags.GradingNotReady}
		if err := c.PostScore(t.Context(), "", s); err != nil {
			t.Fatal(err)
		}
		e.p.RevokeTokens()
		s.ActivityProgress = ags.ActivityInProgress
		if err := c.PostScore(t.Context(), "", s); err != nil {
			t.Fatal(err)
		}
		if n := e.p.TokenRequests(); n != 2 {
			t.Fatalf("HTTP client %v: %d token requests, want 2", hc != nil, n)
		}
		if n := len(e.p.Scores()); n != 2 {
			t.Fatalf("HTTP client %v: %d scores", hc != nil, n)
		}
	}
}

// TestPlatformRefusals: what the platform refuses comes back as an
// *HTTPError carrying its status and body.
func TestPlatformRefusals(t *testing.T) {
	e := newEnv(t)
	// The claim says score, but the token only grants what the client
	// asks for: a token minted without the score scope is refused 403.
	tok := e.p.MintAccessToken(ags.ScopeLineItemReadOnly)
	src := &staticSource{tok: tok}
	c, err := ags.FromLaunch(e.launch(t), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.PostScore(t.Context(), "", ags.Score{UserID: "u", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded})
	var he *ags.HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden || !strings.Contains(he.WWWAuthenticate, "insufficient_scope") {
		t.Fatalf("%v", err)
	}
}

// staticSource always hands out one token.
type staticSource struct{ tok string }

func (s *staticSource) Token(context.Context, registration.Registration, []string) (string, error) {
	return s.tok, nil
}

func (s *staticSource) Invalidate(registration.Registration, []string, string) {}
