package nrps_test

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
	"github.com/ltikit/ltikit/services/nrps"
)

// TestHTTPErrorKeepsPlatformWords: as for AGS, a refused membership
// request keeps the request, status, Content-Type and the platform's words,
// bounded and on one line, never the bearer token.
func TestHTTPErrorKeepsPlatformWords(t *testing.T) {
	reg := registration.Registration{Issuer: "https://lms.example", ClientID: "tool", TokenEndpoint: "https://lms.example/token"}
	ep := lti.NRPSEndpoint{ContextMembershipsURL: "https://lms.example/memberships?context=7&flag", ServiceVersions: []string{"2.0"}}
	for _, tc := range errbodytest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			tr := &errbodytest.Transport{Case: tc}
			c, err := nrps.New(nrps.Config{Registration: reg, Endpoint: ep, Source: &fakeSource{}, HTTPClient: &http.Client{Transport: tr}})
			if err != nil {
				t.Fatal(err)
			}
			var got error
			for _, err := range c.Members(t.Context(), nrps.Query{Limit: 10}).All() {
				got = err
			}
			var he *nrps.HTTPError
			if !errors.As(got, &he) {
				t.Fatalf("%T %v; want an *HTTPError", got, got)
			}
			if c := lti.Classify(got); c.Code != lti.CodeServiceError || c.Status != http.StatusBadGateway || he.Code() != lti.CodeServiceError {
				t.Errorf("Classify = %+v, Code() = %q; want service_error, 502", c, he.Code())
			}
			if he.StatusCode != tc.Status || he.ContentType != tc.ContentType || he.Method != http.MethodGet ||
				he.URL != ep.ContextMembershipsURL+"&limit=10" {
				t.Errorf("%d %q %s %s", he.StatusCode, he.ContentType, he.Method, he.URL)
			}
			if he.ErrorCode != tc.Code || he.ErrorDescription != tc.Description {
				t.Errorf("error=%q error_description=%q; want %q, %q", he.ErrorCode, he.ErrorDescription, tc.Code, tc.Description)
			}
			errbodytest.CheckExcerpt(t, tc, he.Body)
			msg := got.Error()
			errbodytest.CheckLine(t, "Error()", msg)
			errbodytest.CheckNoSecrets(t, "Error()", msg)
			words := tc.Code
			if words == "" {
				words = tc.InExcerpt
			}
			if !strings.Contains(msg, strconv.Itoa(tc.Status)) || !strings.Contains(msg, words) || strings.Contains(msg, "tok-") {
				t.Errorf("Error() = %q; want the status and %q, and no token", msg, words)
			}
			if n := tr.Read.Load(); tc.Status != http.StatusUnauthorized && n > errbody.ReadLimit {
				t.Errorf("read %d bytes of the error body; the bound is %d", n, errbody.ReadLimit)
			}
		})
	}
}

// TestRegisteredQueryKept: the claim's context_memberships_url keeps its
// query byte for byte, the filters are added at its end, and rel="next"
// URLs are requested as written (NRPS 2.0 §2.4.2).
func TestRegisteredQueryKept(t *testing.T) {
	var (
		mu   sync.Mutex
		uris []string
	)
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uris = append(uris, r.RequestURI)
		mu.Unlock()
		switch {
		case strings.Contains(r.RequestURI, "page=2"):
			w.Header().Set("Link", `<?context=7&page=3&flag&y=%2f>; rel="next"`) // relative
		case !strings.Contains(r.RequestURI, "page="):
			w.Header().Set("Link", "<http://"+r.Host+`/memberships?context=7&page=2&flag&x=%7E&a=2&a=1>; rel="next"`)
		}
		io.WriteString(w, `{"members":[`+member("1")+`]}`)
	})
	const q = "?context=7&flag&x=%7e%2F&a=1&a=2&role=old"
	c, err := nrps.New(nrps.Config{
		Registration: srv.reg(),
		Endpoint:     lti.NRPSEndpoint{ContextMembershipsURL: srv.URL + "/memberships" + q},
		Source:       &fakeSource{}, HTTPClient: srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := readAll(c.Members(t.Context(), nrps.Query{Role: lti.RoleContextLearner, Limit: 50}))
	if err != nil || len(ms) != 3 {
		t.Fatalf("%d members, %v", len(ms), err)
	}
	want := []string{
		"/memberships?context=7&flag&x=%7e%2F&a=1&a=2&role=http%3A%2F%2Fpurl.imsglobal.org%2Fvocab%2Flis%2Fv2%2Fmembership%23Learner&limit=50",
		"/memberships?context=7&page=2&flag&x=%7E&a=2&a=1",
		"/memberships?context=7&page=3&flag&y=%2f",
	}
	if strings.Join(uris, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests\n got %s\nwant %s", strings.Join(uris, "\n     "), strings.Join(want, "\n     "))
	}
}
