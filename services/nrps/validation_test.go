package nrps_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/nrps"
)

type stub struct {
	*httptest.Server
	requests atomic.Int64
}

func newStub(t *testing.T, handler http.HandlerFunc) *stub {
	t.Helper()
	s := &stub{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		handler(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *stub) reg() registration.Registration {
	return registration.Registration{Issuer: s.URL, ClientID: "tool", AuthEndpoint: s.URL + "/auth", TokenEndpoint: s.URL + "/token", KeySetURL: s.URL + "/jwks"}
}

func (s *stub) client(t *testing.T, src *fakeSource, opts ...nrps.Option) *nrps.Client {
	t.Helper()
	c, err := nrps.New(nrps.Config{
		Registration: s.reg(),
		Endpoint:     lti.NRPSEndpoint{ContextMembershipsURL: s.URL + "/memberships", ServiceVersions: []string{"2.0"}},
		Source:       src, HTTPClient: s.Client(),
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readAll(ms *nrps.Members) ([]nrps.Member, error) {
	var out []nrps.Member
	for m, err := range ms.All() {
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
	return out, nil
}

func member(id string) string {
	return `{"user_id":"` + id + `","roles":["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],"name":"N ` + id + `"}`
}

func TestNew(t *testing.T) {
	srv := newStub(t, nil)
	l := &launch.Launch{Claims: &lti.Claims{}, Registration: srv.reg()}
	if _, err := nrps.FromLaunch(l, &fakeSource{}, nil); !errors.Is(err, nrps.ErrNoNRPS) {
		t.Fatalf("no claim: %v", err)
	}
	for _, tc := range []struct {
		ep   lti.NRPSEndpoint
		want error
	}{
		{lti.NRPSEndpoint{ContextMembershipsURL: srv.URL + "/m", ServiceVersions: []string{"1.0"}}, nrps.ErrUnsupportedVersion},
		{lti.NRPSEndpoint{}, nrps.ErrNoMembershipsURL},
		{lti.NRPSEndpoint{ContextMembershipsURL: "https://elsewhere.example/m"}, nrps.ErrForeignHost},
		{lti.NRPSEndpoint{ContextMembershipsURL: "/relative"}, nrps.ErrBadURL},
	} {
		if _, err := nrps.New(nrps.Config{Registration: srv.reg(), Endpoint: tc.ep, Source: &fakeSource{}}); !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.ep, err, tc.want)
		}
	}
	// No service_versions at all is accepted.
	l.Claims.NRPS = &lti.NRPSEndpoint{ContextMembershipsURL: srv.URL + "/m"}
	if _, err := nrps.FromLaunch(l, &fakeSource{}, nil); err != nil {
		t.Fatal(err)
	}
	if srv.requests.Load() != 0 {
		t.Fatal("New made a request")
	}
}

func TestQuery(t *testing.T) {
	var uris []string
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		uris = append(uris, r.URL.RequestURI()+" "+r.Header.Get("Accept"))
		io.WriteString(w, `{"members":[]}`)
	})
	c := srv.client(t, &fakeSource{})
	if _, err := readAll(c.Members(t.Context(), nrps.Query{Role: lti.RoleContextLearner, Limit: 50, ResourceLinkID: "rl 1"})); err != nil {
		t.Fatal(err)
	}
	want := "/memberships?role=http%3A%2F%2Fpurl.imsglobal.org%2Fvocab%2Flis%2Fv2%2Fmembership%23Learner&limit=50&rlid=rl+1 " + nrps.MediaTypeMembershipContainer
	if len(uris) != 1 || uris[0] != want {
		t.Fatalf("requests %q\nwant %q", uris, want)
	}
}

// TestContainerShapes: members before or after context and id, unknown
// members skipped, null members, an empty body.
func TestContainerShapes(t *testing.T) {
	for _, tc := range []struct {
		body    string
		members int
		ctxID   string
	}{
		{`{"id":"x","context":{"id":"c"},"members":[` + member("1") + `,` + member("2") + `]}`, 2, "c"},
		{`{"members":[` + member("1") + `],"context":{"id":"c"},"id":"x"}`, 1, "c"},
		{`{"vendor":{"a":[1,{"b":null}]},"members":null,"context":{"id":"c"}}`, 0, "c"},
		{`{}`, 0, ""},
		{``, 0, ""},
	} {
		srv := newStub(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tc.body) })
		ms := srv.client(t, &fakeSource{}).Members(t.Context(), nrps.Query{})
		got, err := readAll(ms)
		if err != nil || len(got) != tc.members || ms.Context().ID != tc.ctxID {
			t.Errorf("%s: %d members, context %q, %v", tc.body, len(got), ms.Context().ID, err)
		}
	}
	for _, body := range []string{`[]`, `{"members":{}}`, `{"members":[{"user_id":1}]}`, `{"members":[` + member("1"), `{} {}`, `{"members":[]`} {
		srv := newStub(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
		if _, err := readAll(srv.client(t, &fakeSource{}).Members(t.Context(), nrps.Query{})); !errors.Is(err, nrps.ErrMalformedResponse) {
			t.Errorf("%s: %v, want ErrMalformedResponse", body, err)
		}
	}
}

// TestForeignNextLink: docs/security.md, case 47 for paging: a next link to another
// host stops the reading with ErrForeignHost, and that host gets nothing.
func TestForeignNextLink(t *testing.T) {
	evil := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the foreign host got a request, Authorization %q", r.Header.Get("Authorization"))
	})
	for _, next := range []string{
		evil.URL + "/memberships?page=2",
		strings.Replace(evil.URL, "127.0.0.1", "localhost", 1) + "/m",
		"//" + strings.TrimPrefix(evil.URL, "http://") + "/m", // scheme-relative
		"ftp://example.com/m",
	} {
		srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "<"+next+`>; rel="next"`)
			io.WriteString(w, `{"members":[`+member("1")+`]}`)
		})
		src := &fakeSource{}
		got, err := readAll(srv.client(t, src).Members(t.Context(), nrps.Query{}))
		if len(got) != 1 || !errors.Is(err, nrps.ErrForeignHost) {
			t.Errorf("next %s: %d members, %v; want 1 and ErrForeignHost", next, len(got), err)
		}
		if src.Requests() != 1 {
			t.Errorf("next %s: %d token requests, want 1 (none for the foreign page)", next, src.Requests())
		}
	}
	if evil.requests.Load() != 0 {
		t.Fatalf("the foreign host got %d requests", evil.requests.Load())
	}
}

func TestPageTooLarge(t *testing.T) {
	// A page just over the default limit (4 MiB) made of members with
	// 64 KiB names: the bytes read are those of the 40,000 small members
	// this test once used, but decoding 65 members instead of 40,000
	// halves the test's CPU under the race detector.
	name := strings.Repeat("n", 64<<10)
	one := `{"user_id":"1","roles":["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],"name":"` + name + `"}`
	count := nrps.DefaultMaxResponseBytes/len(one) + 1
	members := make([]string, 0, count)
	for i := range count {
		members = append(members, `{"user_id":"`+fmt.Sprint(i)+`","roles":["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],"name":"`+name+`"}`)
	}
	big := `{"members":[` + strings.Join(members, ",") + `]}` // over 4 MiB
	if len(big) <= nrps.DefaultMaxResponseBytes {
		t.Fatalf("page of %d bytes", len(big))
	}
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // chunked: the limit trips while streaming
		io.WriteString(w, big)
	})
	got, err := readAll(srv.client(t, &fakeSource{}).Members(t.Context(), nrps.Query{}))
	if !errors.Is(err, nrps.ErrResponseTooLarge) || len(got) == 0 || len(got) == count {
		t.Fatalf("%d members, %v; want some then ErrResponseTooLarge", len(got), err)
	}
	// A 10 MB page announced by Content-Length is refused before reading.
	// The header is set by hand: a body this large written at once is
	// otherwise sent chunked, and the announced length never checked.
	ten := strings.Repeat(" ", 10<<20)
	srv = newStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(ten)))
		io.WriteString(w, ten)
	})
	if _, err := readAll(srv.client(t, &fakeSource{}).Members(t.Context(), nrps.Query{})); !errors.Is(err, nrps.ErrResponseTooLarge) || !strings.Contains(err.Error(), "announced") {
		t.Fatalf("10 MB: %v; want ErrResponseTooLarge on the announced length", err)
	}
	// A configured limit.
	srv = newStub(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"members":[`+member("1")+`]}`) })
	if _, err := readAll(srv.client(t, &fakeSource{}, nrps.WithMaxResponseBytes(20)).Members(t.Context(), nrps.Query{})); !errors.Is(err, nrps.ErrResponseTooLarge) {
		t.Fatalf("20 bytes: %v", err)
	}
}

func TestCancellation(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"members":[`+member("1")+`,`)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	c := srv.client(t, &fakeSource{})
	ctx, cancel := context.WithCancel(t.Context())
	ms := c.Members(ctx, nrps.Query{})
	if !ms.Next() {
		t.Fatal(ms.Err())
	}
	cancel()
	done := make(chan bool)
	go func() { done <- ms.Next() }()
	select {
	case more := <-done:
		if more || !errors.Is(ms.Err(), context.Canceled) {
			t.Fatalf("Next after cancel = %v, %v", more, ms.Err())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after cancellation")
	}
	// A done context sends nothing.
	before := srv.requests.Load()
	if _, err := readAll(c.Members(ctx, nrps.Query{})); !errors.Is(err, context.Canceled) || srv.requests.Load() != before {
		t.Fatalf("%v", err)
	}
}

func TestErrorsAndRetry(t *testing.T) {
	var calls atomic.Int64
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "expired", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"members":[`+member("1")+`]}`)
	})
	src := &fakeSource{}
	if got, err := readAll(srv.client(t, src).Members(t.Context(), nrps.Query{})); err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	if len(src.invalidated) != 1 {
		t.Fatalf("invalidated %v", src.invalidated)
	}
	srv = newStub(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "course gone", http.StatusGone) })
	_, err := readAll(srv.client(t, &fakeSource{}).Members(t.Context(), nrps.Query{}))
	var he *nrps.HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusGone || he.Body != "course gone" {
		t.Fatalf("%v", err)
	}
}

func TestPagingLoopAndClose(t *testing.T) {
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<memberships>; rel="next"`)
		io.WriteString(w, `{"members":[`+member("1")+`]}`)
	})
	c := srv.client(t, &fakeSource{})
	if got, err := readAll(c.Members(t.Context(), nrps.Query{})); !errors.Is(err, nrps.ErrPagingLoop) || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	ms := c.Members(t.Context(), nrps.Query{})
	if !ms.Next() {
		t.Fatal(ms.Err())
	}
	ms.Close()
	ms.Close()
	if ms.Next() || ms.Err() != nil {
		t.Fatalf("Next after Close: err %v", ms.Err())
	}
	if _, err := readAll(c.Differences(t.Context(), "")); !errors.Is(err, nrps.ErrBadURL) {
		t.Fatalf("empty differences URL: %v", err)
	}
}
