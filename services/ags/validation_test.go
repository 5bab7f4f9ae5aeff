package ags_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/ags"
)

// stub is a platform answering every request with handler, counting the
// requests and recording the bearer tokens it saw.
type stub struct {
	*httptest.Server
	requests atomic.Int64
	bearers  chan string
}

func newStub(t *testing.T, handler http.HandlerFunc) *stub {
	t.Helper()
	s := &stub{bearers: make(chan string, 100)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		select {
		case s.bearers <- r.Header.Get("Authorization"):
		default:
		}
		handler(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *stub) reg() registration.Registration {
	return registration.Registration{Issuer: s.URL, ClientID: "tool", AuthEndpoint: s.URL + "/auth", TokenEndpoint: s.URL + "/token", KeySetURL: s.URL + "/jwks"}
}

// client returns an AGS client for the stub with the given claim.
func (s *stub) client(t *testing.T, src *fakeSource, ep lti.AGSEndpoint, opts ...ags.Option) *ags.Client {
	t.Helper()
	c, err := ags.New(ags.Config{Registration: s.reg(), Endpoint: ep, Source: src, HTTPClient: s.Client()}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func allScopes() []string {
	return []string{ags.ScopeLineItem, ags.ScopeLineItemReadOnly, ags.ScopeResultReadOnly, ags.ScopeScore}
}

func (s *stub) endpoint(scopes ...string) lti.AGSEndpoint {
	if scopes == nil {
		scopes = allScopes()
	}
	return lti.AGSEndpoint{Scope: scopes, LineItems: s.URL + "/lineitems?type_id=1", LineItem: s.URL + "/lineitems/1/lineitem?type_id=1"}
}

func ok204(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

func collect[T any](seq func(func(T, error) bool)) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

func TestScoreValidation(t *testing.T) {
	valid := ags.Score{UserID: "3", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name   string
		change func(*ags.Score)
	}{
		{"no user id", func(s *ags.Score) { s.UserID = "" }},
		{"empty activityProgress", func(s *ags.Score) { s.ActivityProgress = "" }},
		{"unknown activityProgress", func(s *ags.Score) { s.ActivityProgress = "Done" }},
		{"lower-case activityProgress", func(s *ags.Score) { s.ActivityProgress = "completed" }},
		{"empty gradingProgress", func(s *ags.Score) { s.GradingProgress = "" }},
		{"unknown gradingProgress", func(s *ags.Score) { s.GradingProgress = "Graded" }},
		{"negative scoreGiven", func(s *ags.Score) { *s = s.WithScore(-1, 10) }},
		{"NaN scoreGiven", func(s *ags.Score) { *s = s.WithScore(math.NaN(), 10) }},
		{"infinite scoreGiven", func(s *ags.Score) { *s = s.WithScore(math.Inf(1), 10) }},
		{"scoreGiven without scoreMaximum", func(s *ags.Score) { s.ScoreGiven = f(5) }},
		{"zero scoreMaximum", func(s *ags.Score) { *s = s.WithScore(0, 0) }},
		{"negative scoreMaximum", func(s *ags.Score) { *s = s.WithScore(1, -10) }},
		{"NaN scoreMaximum", func(s *ags.Score) { *s = s.WithScore(1, math.NaN()) }},
	}
	srv := newStub(t, ok204)
	src := &fakeSource{}
	c := srv.client(t, src, srv.endpoint())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := valid
			tc.change(&s)
			if err := s.Validate(); !errors.Is(err, ags.ErrInvalidScore) {
				t.Fatalf("Validate = %v, want ErrInvalidScore", err)
			}
			if err := c.PostScore(t.Context(), "", s); !errors.Is(err, ags.ErrInvalidScore) {
				t.Fatalf("PostScore = %v, want ErrInvalidScore", err)
			}
		})
	}
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("%d requests sent for invalid scores", n)
	}
	if n := src.Requests(); n != 0 {
		t.Errorf("%d tokens requested for invalid scores", n)
	}
	// The valid values all pass.
	for _, a := range []ags.ActivityProgress{ags.ActivityInitialized, ags.ActivityStarted, ags.ActivityInProgress, ags.ActivitySubmitted, ags.ActivityCompleted} {
		for _, g := range []ags.GradingProgress{ags.GradingFullyGraded, ags.GradingPending, ags.GradingPendingManual, ags.GradingFailed, ags.GradingNotReady} {
			s := ags.Score{UserID: "u", ActivityProgress: a, GradingProgress: g}.WithScore(0, 1)
			if err := s.Validate(); err != nil {
				t.Errorf("%s/%s: %v", a, g, err)
			}
		}
	}
}

func TestScoreJSON(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600))
	s := ags.Score{
		UserID: "u1", ActivityProgress: ags.ActivitySubmitted, GradingProgress: ags.GradingPendingManual,
		Timestamp:  ts,
		Submission: &ags.Submission{StartedAt: ts.Add(-time.Hour), SubmittedAt: ts.Add(123456 * time.Microsecond)},
		Extensions: map[string]json.RawMessage{
			"https://canvas.instructure.com/lti/submission": json.RawMessage(`{"new_submission": true}`),
			"userId": json.RawMessage(`"evil"`), // a field's name: ignored
		},
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"userId":"u1","timestamp":"2026-01-02T03:04:05.000+01:00","activityProgress":"Submitted","gradingProgress":"PendingManual",` +
		`"submission":{"startedAt":"2026-01-02T02:04:05.000+01:00","submittedAt":"2026-01-02T03:04:05.123+01:00"},` +
		`"https://canvas.instructure.com/lti/submission":{"new_submission":true}}`
	if string(b) != want {
		t.Fatalf("score JSON\n got %s\nwant %s", b, want)
	}
}

// TestPostScoreAnswers: every success status, with or without a body.
func TestPostScoreAnswers(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
	}{{200, ""}, {200, "{}"}, {201, `{"id":"x"}`}, {202, ""}, {204, ""}} {
		srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/lineitems/1/lineitem/scores" || r.URL.RawQuery != "type_id=1" {
				t.Errorf("score posted to %s", r.URL)
			}
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		})
		c := srv.client(t, &fakeSource{}, srv.endpoint())
		s := ags.Score{UserID: "u", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}
		if err := c.PostScore(t.Context(), "", s); err != nil {
			t.Errorf("%d %q: %v", tc.status, tc.body, err)
		}
	}
}

func TestScopes(t *testing.T) {
	srv := newStub(t, ok204)
	ctx := t.Context()
	score := ags.Score{UserID: "u", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}
	calls := map[string]func(*ags.Client) error{
		"list line items": func(c *ags.Client) error {
			_, err := collect(c.LineItems(ctx, ags.LineItemsQuery{}))
			return err
		},
		"get line item": func(c *ags.Client) error { _, err := c.LineItem(ctx, ""); return err },
		"create line item": func(c *ags.Client) error {
			_, err := c.CreateLineItem(ctx, ags.LineItem{Label: "x", ScoreMaximum: 1})
			return err
		},
		"update line item": func(c *ags.Client) error {
			_, err := c.UpdateLineItem(ctx, ags.LineItem{ID: srv.URL + "/lineitems/1/lineitem", Label: "x", ScoreMaximum: 1})
			return err
		},
		"delete line item": func(c *ags.Client) error { return c.DeleteLineItem(ctx, srv.URL+"/lineitems/1/lineitem") },
		"post score":       func(c *ags.Client) error { return c.PostScore(ctx, "", score) },
		"results": func(c *ags.Client) error {
			_, err := collect(c.Results(ctx, "", ags.ResultsQuery{}))
			return err
		},
	}
	tests := []struct {
		granted []string
		denied  []string
	}{
		{[]string{ags.ScopeScore}, []string{"list line items", "get line item", "create line item", "update line item", "delete line item", "results"}},
		{[]string{ags.ScopeLineItemReadOnly}, []string{"create line item", "update line item", "delete line item", "post score", "results"}},
		{[]string{ags.ScopeResultReadOnly}, []string{"list line items", "get line item", "create line item", "update line item", "delete line item", "post score"}},
		{[]string{ags.ScopeLineItem}, []string{"post score", "results"}},
	}
	for _, tc := range tests {
		src := &fakeSource{}
		c := srv.client(t, src, srv.endpoint(tc.granted...))
		if got := c.Scopes(); len(got) != 1 || got[0] != tc.granted[0] {
			t.Errorf("granted %v: token scopes %v", tc.granted, got)
		}
		for _, name := range tc.denied {
			before := srv.requests.Load()
			if err := calls[name](c); !errors.Is(err, ags.ErrScopeNotGranted) {
				t.Errorf("granted %v: %s = %v, want ErrScopeNotGranted", tc.granted, name, err)
			}
			if srv.requests.Load() != before {
				t.Errorf("granted %v: %s sent a request", tc.granted, name)
			}
		}
		if src.Requests() != 0 {
			t.Errorf("granted %v: a token was requested for refused calls", tc.granted)
		}
	}
	// Only AGS scopes of the claim are requested; vendor scopes are not.
	src := &fakeSource{}
	c := srv.client(t, src, srv.endpoint(ags.ScopeScore, "https://canvas.instructure.com/lti-ags/progress/scope/show", ags.ScopeLineItem))
	if err := c.PostScore(ctx, "", score); err != nil {
		t.Fatal(err)
	}
	if got := src.scopes[0]; len(got) != 2 || got[0] != ags.ScopeLineItem || got[1] != ags.ScopeScore {
		t.Errorf("token requested for %v", got)
	}
	// A claim granting no AGS scope.
	if _, err := ags.New(ags.Config{Registration: srv.reg(), Endpoint: srv.endpoint("x"), Source: src}); !errors.Is(err, ags.ErrScopeNotGranted) {
		t.Errorf("New without scopes = %v", err)
	}
}

func TestFromLaunch(t *testing.T) {
	srv := newStub(t, ok204)
	l := &launch.Launch{Claims: &lti.Claims{}, Registration: srv.reg()}
	if _, err := ags.FromLaunch(l, &fakeSource{}, nil); !errors.Is(err, ags.ErrNoAGS) {
		t.Fatalf("no AGS claim: %v", err)
	}
	if _, err := ags.FromLaunch(nil, &fakeSource{}, nil); err == nil {
		t.Fatal("nil launch accepted")
	}
	ep := srv.endpoint()
	l.Claims.AGS = &ep
	if _, err := ags.FromLaunch(l, nil, nil); err == nil {
		t.Fatal("nil source accepted")
	}
	c, err := ags.FromLaunch(l, &fakeSource{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.LineItemURL() != ep.LineItem || c.LineItemsURL() != ep.LineItems || !c.Granted(ags.ScopeScore) {
		t.Fatalf("client %+v", c.Endpoint())
	}
}

// TestForeignHost: docs/security.md, case 47. A service URL or a Link rel="next"
// off the registration's platform gets no bearer token: no request at all.
func TestForeignHost(t *testing.T) {
	evil := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the foreign host got a request with Authorization %q", r.Header.Get("Authorization"))
		io.WriteString(w, "[]")
	})
	var srv *stub
	srv = newStub(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/lineitems":
			w.Header().Set("Link", `<`+evil.URL+`/lineitems?page=2>; rel="next"`)
			io.WriteString(w, `[{"id":"`+srv.URL+`/lineitems/1/lineitem","label":"a","scoreMaximum":1}]`)
		case "/redirect":
			http.Redirect(w, r, evil.URL+"/lineitems/1/lineitem", http.StatusTemporaryRedirect)
		default:
			http.NotFound(w, r)
		}
	})
	ctx := t.Context()

	t.Run("claim URL", func(t *testing.T) {
		for _, ep := range []lti.AGSEndpoint{
			{Scope: allScopes(), LineItems: evil.URL + "/lineitems"},
			{Scope: allScopes(), LineItem: evil.URL + "/lineitems/1/lineitem"},
			{Scope: allScopes(), LineItem: strings.Replace(srv.URL, "http://", "https://", 1) + "/x"}, // another scheme
			{Scope: allScopes(), LineItem: strings.Replace(srv.URL, "http://", "http://user:pw@", 1) + "/x"},
		} {
			_, err := ags.New(ags.Config{Registration: srv.reg(), Endpoint: ep, Source: &fakeSource{}})
			if !errors.Is(err, ags.ErrForeignHost) {
				t.Errorf("%+v: %v, want ErrForeignHost", ep, err)
			}
		}
	})
	t.Run("next link", func(t *testing.T) {
		src := &fakeSource{}
		c := srv.client(t, src, srv.endpoint())
		items, err := collect(c.LineItems(ctx, ags.LineItemsQuery{}))
		if !errors.Is(err, ags.ErrForeignHost) || len(items) != 1 {
			t.Fatalf("items %v, err %v; want one item then ErrForeignHost", items, err)
		}
	})
	t.Run("given URL", func(t *testing.T) {
		c := srv.client(t, &fakeSource{}, srv.endpoint())
		if _, err := c.LineItem(ctx, evil.URL+"/lineitems/1/lineitem"); !errors.Is(err, ags.ErrForeignHost) {
			t.Errorf("LineItem: %v", err)
		}
		if err := c.PostScore(ctx, evil.URL+"/lineitems/1/lineitem", ags.Score{UserID: "u", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}); !errors.Is(err, ags.ErrForeignHost) {
			t.Errorf("PostScore: %v", err)
		}
		if err := c.DeleteLineItem(ctx, evil.URL+"/x"); !errors.Is(err, ags.ErrForeignHost) {
			t.Errorf("DeleteLineItem: %v", err)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		c := srv.client(t, &fakeSource{}, srv.endpoint())
		if _, err := c.LineItem(ctx, srv.URL+"/redirect"); !errors.Is(err, ags.ErrForeignHost) {
			t.Errorf("redirect off the platform: %v", err)
		}
	})
	t.Run("host policy", func(t *testing.T) {
		_, err := ags.New(ags.Config{Registration: srv.reg(), Endpoint: lti.AGSEndpoint{Scope: allScopes(), LineItem: evil.URL + "/x"}, Source: &fakeSource{}},
			ags.WithHostPolicy(func(_ registration.Registration, u *url.URL) bool { return u.Host == "nowhere.example" }))
		if !errors.Is(err, ags.ErrForeignHost) {
			t.Errorf("a policy naming another host: %v", err)
		}
	})
	if n := evil.requests.Load(); n != 0 {
		t.Fatalf("the foreign host got %d requests", n)
	}
}

func TestResponseTooLarge(t *testing.T) {
	// A page just over the default limit (4 MiB), made of 256 KiB line
	// items: the limit is what is tested, and decoding a few large items
	// costs a fraction of the 135,000 small ones a 10 MiB page of 31-byte
	// items took under the race detector (the bytes read are the same).
	item := `{"label":"` + strings.Repeat("x", 256<<10) + `","scoreMaximum":1}`
	n := ags.DefaultMaxResponseBytes/len(item) + 1
	big := `[` + strings.TrimSuffix(strings.Repeat(item+`,`, n), ",") + `]`
	if len(big) <= ags.DefaultMaxResponseBytes || len(big) > ags.DefaultMaxResponseBytes+len(item)+2 {
		t.Fatalf("page of %d bytes; want just over %d", len(big), ags.DefaultMaxResponseBytes)
	}
	for _, chunked := range []bool{false, true} {
		srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
			if chunked {
				w.(http.Flusher).Flush() // no Content-Length
			} else {
				// Announced: a body this large would otherwise be sent
				// chunked too, and the announced length never checked.
				w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			}
			io.WriteString(w, big)
		})
		c := srv.client(t, &fakeSource{}, srv.endpoint())
		items, err := collect(c.LineItems(t.Context(), ags.LineItemsQuery{}))
		if !errors.Is(err, ags.ErrResponseTooLarge) {
			t.Fatalf("chunked %v: %d items, err %v; want ErrResponseTooLarge", chunked, len(items), err)
		}
		// Streamed, the items within the limit come first; announced,
		// the page is refused before any is read.
		if chunked && (len(items) == 0 || len(items) >= n) || !chunked && len(items) != 0 {
			t.Fatalf("chunked %v: %d of %d items before ErrResponseTooLarge", chunked, len(items), n)
		}
		// A smaller limit applies too.
		c = srv.client(t, &fakeSource{}, srv.endpoint(), ags.WithMaxResponseBytes(1000))
		if _, err := c.LineItem(t.Context(), ""); !errors.Is(err, ags.ErrResponseTooLarge) {
			t.Fatalf("chunked %v, 1000 bytes: %v", chunked, err)
		}
	}
}

func TestCancellation(t *testing.T) {
	release := make(chan struct{})
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"label":"a","scoreMaximum":1},`)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	src := &fakeSource{}
	c := srv.client(t, src, srv.endpoint())

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.LineItem(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("done context: %v", err)
	}
	if srv.requests.Load() != 0 {
		t.Fatal("a request was sent with a done context")
	}

	// Cancelled in the middle of a page.
	ctx, cancel = context.WithCancel(t.Context())
	var n int
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, e := range c.LineItems(ctx, ags.LineItemsQuery{}) {
			if e != nil {
				err = e
				return
			}
			n++
			cancel() // after the first item
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("iteration did not stop after cancellation")
	}
	if n != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("%d items, err %v; want 1 and context.Canceled", n, err)
	}

	// A deadline while the platform is slow to answer.
	slow := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	c = slow.client(t, src, slow.endpoint())
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := c.PostScore(ctx, "", ags.Score{UserID: "u", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
}

func TestRetryOn401(t *testing.T) {
	var calls atomic.Int64
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "expired", http.StatusUnauthorized)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(b), `"userId":"u"`) {
			t.Errorf("the retry lost the body: %s", b)
		}
		w.WriteHeader(http.StatusOK)
	})
	src := &fakeSource{}
	c := srv.client(t, src, srv.endpoint())
	s := ags.Score{UserID: "u", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}
	if err := c.PostScore(t.Context(), "", s); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || len(src.invalidated) != 1 || src.invalidated[0] != "tok-1" {
		t.Fatalf("%d calls, invalidated %v", calls.Load(), src.invalidated)
	}

	// Only one retry: a second 401 is the answer.
	srv2 := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "nope", http.StatusUnauthorized)
	})
	src = &fakeSource{}
	c = srv2.client(t, src, srv2.endpoint())
	err := c.PostScore(t.Context(), "", s)
	var he *ags.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 401 || he.WWWAuthenticate == "" || srv2.requests.Load() != 2 {
		t.Fatalf("err %v (%+v), %d requests", err, he, srv2.requests.Load())
	}
}

func TestHTTPError(t *testing.T) {
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"status":404,"reason":"no such line item`+strings.Repeat(".", 5000)+`"}`)
	})
	c := srv.client(t, &fakeSource{}, srv.endpoint())
	_, err := c.LineItem(t.Context(), "")
	var he *ags.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("%T %v, want *ags.HTTPError", err, err)
	}
	if he.StatusCode != 404 || he.Method != "GET" || !strings.HasPrefix(he.Body, `{"status":404,"reason":"no such line item`) ||
		len(he.Body) > 1024 || he.ContentType != "application/json" || !strings.Contains(he.URL, "/lineitems/1/lineitem") {
		t.Fatalf("%+v", he)
	}
}

func TestMalformed(t *testing.T) {
	for _, body := range []string{`{}`, `[{"label":1}]`, `[{"label":"a"}`, `[] []`, `<html>`} {
		srv := newStub(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
		c := srv.client(t, &fakeSource{}, srv.endpoint())
		if _, err := collect(c.LineItems(t.Context(), ags.LineItemsQuery{})); !errors.Is(err, ags.ErrMalformedResponse) {
			t.Errorf("%s: %v", body, err)
		}
	}
	// An empty body, or null, is an empty page.
	for _, body := range []string{``, `null`, `[]`} {
		srv := newStub(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
		c := srv.client(t, &fakeSource{}, srv.endpoint())
		if items, err := collect(c.LineItems(t.Context(), ags.LineItemsQuery{})); err != nil || len(items) != 0 {
			t.Errorf("%q: %v %v", body, items, err)
		}
	}
}

func TestPagingLoop(t *testing.T) {
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `</lineitems?type_id=1>; rel="next"`) // relative, back to itself
		io.WriteString(w, `[{"label":"a","scoreMaximum":1}]`)
	})
	c := srv.client(t, &fakeSource{}, srv.endpoint())
	items, err := collect(c.LineItems(t.Context(), ags.LineItemsQuery{}))
	if !errors.Is(err, ags.ErrPagingLoop) || len(items) != 1 {
		t.Fatalf("%v %v", items, err)
	}
}

func TestQueryAndPaths(t *testing.T) {
	var got []string
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Accept")+" "+r.Header.Get("Content-Type"))
		switch r.Method {
		case http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"`+"http://"+r.Host+`/lineitems/9/lineitem","label":"L","scoreMaximum":5}`)
		case http.MethodPut:
			w.WriteHeader(http.StatusNoContent)
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			io.WriteString(w, `[]`)
		}
	})
	c := srv.client(t, &fakeSource{}, srv.endpoint())
	ctx := t.Context()
	if _, err := collect(c.LineItems(ctx, ags.LineItemsQuery{ResourceLinkID: "rl 1", ResourceID: "r&1", Tag: "grade", Limit: 5})); err != nil {
		t.Fatal(err)
	}
	li, err := c.CreateLineItem(ctx, ags.LineItem{ID: "ignored", Label: "L", ScoreMaximum: 5})
	if err != nil || li.ID != srv.URL+"/lineitems/9/lineitem" {
		t.Fatalf("%+v %v", li, err)
	}
	li.Label = "M"
	upd, err := c.UpdateLineItem(ctx, *li)
	if err != nil || upd.Label != "M" {
		t.Fatalf("update without a body: %+v %v", upd, err)
	}
	if err := c.DeleteLineItem(ctx, li.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := collect(c.Results(ctx, "", ags.ResultsQuery{UserID: "u 1", Limit: 2})); err != nil {
		t.Fatal(err)
	}
	want := []string{
		// The claim's query first, as given, then the filters (svchttp.AddQuery).
		"GET /lineitems?type_id=1&resource_link_id=rl+1&resource_id=r%261&tag=grade&limit=5 " + ags.MediaTypeLineItemContainer + " ",
		"POST /lineitems?type_id=1 " + ags.MediaTypeLineItem + " " + ags.MediaTypeLineItem,
		"PUT /lineitems/9/lineitem " + ags.MediaTypeLineItem + " " + ags.MediaTypeLineItem,
		"DELETE /lineitems/9/lineitem  ",
		"GET /lineitems/1/lineitem/results?type_id=1&user_id=u+1&limit=2 " + ags.MediaTypeResultContainer + " ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Invalid line items are refused before sending.
	for _, li := range []ags.LineItem{{ScoreMaximum: 1}, {Label: "x"}, {Label: "x", ScoreMaximum: -1}, {Label: "x", ScoreMaximum: math.Inf(1)}} {
		if _, err := c.CreateLineItem(ctx, li); !errors.Is(err, ags.ErrInvalidLineItem) {
			t.Errorf("%+v: %v", li, err)
		}
	}
	if _, err := c.UpdateLineItem(ctx, ags.LineItem{Label: "x", ScoreMaximum: 1}); !errors.Is(err, ags.ErrInvalidLineItem) {
		t.Errorf("update without id: %v", err)
	}
	if err := c.DeleteLineItem(ctx, ""); !errors.Is(err, ags.ErrInvalidLineItem) {
		t.Errorf("delete without URL: %v", err)
	}
	// No lineitem in the claim.
	c2 := srv.client(t, &fakeSource{}, lti.AGSEndpoint{Scope: allScopes(), LineItems: srv.URL + "/lineitems"})
	if err := c2.PostScore(ctx, "", ags.Score{UserID: "u", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}); !errors.Is(err, ags.ErrNoLineItem) {
		t.Errorf("no lineitem: %v", err)
	}
	c3 := srv.client(t, &fakeSource{}, lti.AGSEndpoint{Scope: allScopes(), LineItem: srv.URL + "/lineitems/1/lineitem"})
	if _, err := collect(c3.LineItems(ctx, ags.LineItemsQuery{})); !errors.Is(err, ags.ErrNoLineItemsURL) {
		t.Errorf("no lineitems: %v", err)
	}
}

func TestLineItemExtensionsRoundTrip(t *testing.T) {
	in := `{"id":"https://lms.example/li/1","scoreMaximum":60,"label":"Quiz","resourceId":"q1","tag":"grade","resourceLinkId":"rl",` +
		`"startDateTime":"2026-03-06T20:05:02Z","endDateTime":"2026-04-06T22:05:03Z","gradesReleased":true,` +
		`"submissionReview":{"reviewableStatus":["Submitted"],"label":"Open","url":"https://tool.example/review","custom":{"a":"b"}},` +
		`"https://canvas.instructure.com/lti/submission_type":{"type":"external_tool","external_tool_url":"https://tool.example"}}`
	var li ags.LineItem
	if err := json.Unmarshal([]byte(in), &li); err != nil {
		t.Fatal(err)
	}
	if li.GradesReleased == nil || !*li.GradesReleased || li.SubmissionReview == nil || li.SubmissionReview.Custom["a"] != "b" || len(li.Extensions) != 1 {
		t.Fatalf("%+v", li)
	}
	out, err := json.Marshal(li)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal([]byte(in), &a)
	_ = json.Unmarshal(out, &b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip\n in %s\nout %s", in, out)
	}
}

// TestHostPolicy: a platform serving AGS from another host (Canvas) works
// once the host policy allows that host.
func TestHostPolicy(t *testing.T) {
	institution := newStub(t, ok204)
	platform := newStub(t, ok204)
	instURL, _ := url.Parse(institution.URL)
	src := &fakeSource{}
	c, err := ags.New(ags.Config{
		Registration: platform.reg(),
		Endpoint:     lti.AGSEndpoint{Scope: allScopes(), LineItem: institution.URL + "/courses/1/line_items/2"},
		Source:       src,
		HTTPClient:   institution.Client(),
	}, ags.WithHostPolicy(func(_ registration.Registration, u *url.URL) bool { return u.Host == instURL.Host }))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PostScore(t.Context(), "", ags.Score{UserID: "u", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}); err != nil {
		t.Fatal(err)
	}
	if got := <-institution.bearers; got != "Bearer tok-1" {
		t.Fatalf("Authorization %q", got)
	}
}
