package ags_test

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ltikit/ltikit/internal/errbody"
	"github.com/ltikit/ltikit/internal/errbody/errbodytest"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/ags"
)

// TestHTTPErrorKeepsPlatformWords: whatever the platform answers, the
// *HTTPError keeps the request, the status, the Content-Type and the
// platform's words (§5.2 members and a bounded one-line excerpt), never the
// bearer token; an error body is read only as far as needed.
func TestHTTPErrorKeepsPlatformWords(t *testing.T) {
	reg := registration.Registration{Issuer: "https://lms.example", ClientID: "tool", TokenEndpoint: "https://lms.example/token"}
	ep := lti.AGSEndpoint{Scope: allScopes(), LineItem: "https://lms.example/lineitems/1?type_id=2&flag"}
	score := ags.Score{UserID: "3", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}
	for _, tc := range errbodytest.Cases() {
		for _, call := range []struct {
			method, url string
			do          func(*ags.Client) error
		}{
			{http.MethodGet, ep.LineItem, func(c *ags.Client) error { _, err := c.LineItem(t.Context(), ""); return err }},
			{http.MethodPost, "https://lms.example/lineitems/1/scores?type_id=2&flag", func(c *ags.Client) error { return c.PostScore(t.Context(), "", score) }},
		} {
			t.Run(tc.Name+"/"+call.method, func(t *testing.T) {
				tr := &errbodytest.Transport{Case: tc}
				c, err := ags.New(ags.Config{Registration: reg, Endpoint: ep, Source: &fakeSource{}, HTTPClient: &http.Client{Transport: tr}})
				if err != nil {
					t.Fatal(err)
				}
				err = call.do(c)
				var he *ags.HTTPError
				if !errors.As(err, &he) {
					t.Fatalf("%T %v; want an *HTTPError", err, err)
				}
				if c := lti.Classify(err); c.Code != lti.CodeServiceError || c.Status != http.StatusBadGateway || he.Code() != lti.CodeServiceError {
					t.Errorf("Classify = %+v, Code() = %q; want service_error, 502", c, he.Code())
				}
				if he.StatusCode != tc.Status || he.ContentType != tc.ContentType || he.Method != call.method || he.URL != call.url {
					t.Errorf("%d %q %s %s", he.StatusCode, he.ContentType, he.Method, he.URL)
				}
				if he.ErrorCode != tc.Code || he.ErrorDescription != tc.Description {
					t.Errorf("error=%q error_description=%q; want %q, %q", he.ErrorCode, he.ErrorDescription, tc.Code, tc.Description)
				}
				errbodytest.CheckExcerpt(t, tc, he.Body)
				msg := err.Error()
				errbodytest.CheckLine(t, "Error()", msg)
				errbodytest.CheckNoSecrets(t, "Error()", msg)
				words := tc.Code
				if words == "" {
					words = tc.InExcerpt
				}
				if !strings.Contains(msg, strconv.Itoa(tc.Status)) || !strings.Contains(msg, words) || strings.Contains(msg, "tok-") {
					t.Errorf("Error() = %q; want the status and %q, and no token", msg, words)
				}
				for _, a := range he.LogAttrs() {
					errbodytest.CheckLine(t, a.Key, a.Value.String())
				}
				if n := tr.Read.Load(); tc.Status != http.StatusUnauthorized && n > errbody.ReadLimit {
					t.Errorf("read %d bytes of the error body; the bound is %d", n, errbody.ReadLimit)
				}
			})
		}
	}
}

// TestRegisteredQueryKept: the claim's URLs are used as given, their
// query byte for byte (bare keys, encodings, repeated keys, order); the
// scores and results paths go before the query (AGS 2.0 §3.3.1, §3.4.1);
// the call's own parameters are added at the end, replacing a parameter of
// the same name; next links are followed as written.
func TestRegisteredQueryKept(t *testing.T) {
	var (
		mu   sync.Mutex
		uris []string
	)
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uris = append(uris, r.Method+" "+r.RequestURI)
		mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/scores"):
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == "/lineitems" && !strings.Contains(r.RequestURI, "page=2"):
			w.Header().Set("Link", "<http://"+r.Host+`/lineitems?type_id=2&page=2&flag&x=%7E>; rel="next"`)
			io.WriteString(w, `[]`)
		case r.URL.Path == "/lineitems" || strings.HasSuffix(r.URL.Path, "/results"):
			io.WriteString(w, `[]`)
		default:
			io.WriteString(w, `{"id":"x","label":"L","scoreMaximum":1}`)
		}
	})
	const q = "?type_id=2&flag&x=%7e%2F&a=1&a=2"
	ep := lti.AGSEndpoint{Scope: allScopes(), LineItems: srv.URL + "/lineitems" + q, LineItem: srv.URL + "/lineitems/1" + q}
	c := srv.client(t, &fakeSource{}, ep)
	ctx := t.Context()
	score := ags.Score{UserID: "3", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}
	if _, err := c.LineItem(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.PostScore(ctx, "", score); err != nil {
		t.Fatal(err)
	}
	if _, err := collect(c.Results(ctx, "", ags.ResultsQuery{UserID: "u 1", Limit: 3})); err != nil {
		t.Fatal(err)
	}
	other := srv.URL + "/lineitems/a%2Fb/?user_id=old&flag&user_id=older#frag"
	if err := c.PostScore(ctx, other, score); err != nil {
		t.Fatal(err)
	}
	if _, err := collect(c.Results(ctx, other, ags.ResultsQuery{UserID: "new"})); err != nil {
		t.Fatal(err)
	}
	if _, err := collect(c.LineItems(ctx, ags.LineItemsQuery{Tag: "t"})); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /lineitems/1" + q,
		"POST /lineitems/1/scores" + q,
		"GET /lineitems/1/results" + q + "&user_id=u+1&limit=3",
		"POST /lineitems/a%2Fb/scores?user_id=old&flag&user_id=older",
		"GET /lineitems/a%2Fb/results?flag&user_id=new",
		"GET /lineitems" + q + "&tag=t",
		"GET /lineitems?type_id=2&page=2&flag&x=%7E",
	}
	if strings.Join(uris, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests\n got %s\nwant %s", strings.Join(uris, "\n     "), strings.Join(want, "\n     "))
	}
}
