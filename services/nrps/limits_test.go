package nrps_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/services/nrps"
)

// TestTimeout: a platform that never answers ends the reading with
// ErrTimeout once the timeout has passed, with a host client without one.
// The timeout is DefaultTimeout, 10 s, unless WithTimeout sets a positive
// one: the default is read off the client, and the wait uses a short
// timeout instead of waiting 10 s.
func TestTimeout(t *testing.T) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	if nrps.DefaultTimeout != 10*time.Second {
		t.Fatalf("DefaultTimeout = %s; want 10 s", nrps.DefaultTimeout)
	}
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		opts []nrps.Option
		want time.Duration
	}{
		{nil, nrps.DefaultTimeout},
		{[]nrps.Option{nrps.WithTimeout(0)}, nrps.DefaultTimeout},
		{[]nrps.Option{nrps.WithTimeout(-time.Second)}, nrps.DefaultTimeout},
		{[]nrps.Option{nrps.WithTimeout(timeout)}, timeout},
	} {
		if got := nrps.CallTimeout(srv.client(t, &fakeSource{}, tc.opts...)); got != tc.want {
			t.Fatalf("%d options: timeout %s; want %s", len(tc.opts), got, tc.want)
		}
	}
	c := srv.client(t, &fakeSource{}, nrps.WithTimeout(timeout)) // the stub's client has no Timeout
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := readAll(c.Members(t.Context(), nrps.Query{}))
		done <- err
	}()
	select {
	case err := <-done:
		took := time.Since(start)
		if !errors.Is(err, nrps.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || took < timeout {
			t.Fatalf("after %s: %v; want ErrTimeout after the %s timeout", took, err, timeout)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the reading did not end within 15 s")
	}
}

// endless is a platform whose every membership page links to one more.
func endless(t *testing.T, perPage int) *stub {
	var id atomic.Int64
	return newStub(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if n < 2*nrps.DefaultMaxPages { // so that the test ends without a cap
			w.Header().Set("Link", `<memberships?page=`+strconv.Itoa(n+1)+`>; rel="next"`)
		}
		ms := make([]string, perPage)
		for i := range ms {
			ms[i] = member(strconv.FormatInt(id.Add(1), 10))
		}
		io.WriteString(w, `{"id":"x","members":[`+strings.Join(ms, ",")+`]}`)
	})
}

// TestPageCap: an endless Link rel="next" chain stops at the page cap with
// ErrTooManyPages; the page past the cap is not requested.
func TestPageCap(t *testing.T) {
	srv := endless(t, 1)
	got, err := readAll(srv.client(t, &fakeSource{}).Members(t.Context(), nrps.Query{}))
	if want := nrps.DefaultMaxPages; !errors.Is(err, nrps.ErrTooManyPages) || len(got) != want || srv.requests.Load() != int64(want) {
		t.Fatalf("%d members, %d requests, %v; want %d, %d and ErrTooManyPages", len(got), srv.requests.Load(), err, want, want)
	}
	srv = endless(t, 1)
	got, err = readAll(srv.client(t, &fakeSource{}, nrps.WithMaxPages(3)).Members(t.Context(), nrps.Query{}))
	if !errors.Is(err, nrps.ErrTooManyPages) || len(got) != 3 || srv.requests.Load() != 3 {
		t.Fatalf("%d members, %d requests, %v; want 3, 3 and ErrTooManyPages", len(got), srv.requests.Load(), err)
	}
}

// TestItemCap: a roster longer than the item cap ends with ErrTooManyItems.
func TestItemCap(t *testing.T) {
	srv := endless(t, 10)
	got, err := readAll(srv.client(t, &fakeSource{}, nrps.WithMaxItems(25)).Members(t.Context(), nrps.Query{}))
	if !errors.Is(err, nrps.ErrTooManyItems) || len(got) != 25 || srv.requests.Load() != 3 {
		t.Fatalf("%d members, %d requests, %v; want 25, 3 and ErrTooManyItems", len(got), srv.requests.Load(), err)
	}
}

// TestRedirectToOtherOrigin: a redirect to another origin, even the token
// endpoint's, fails with ErrRedirect and the bearer token does not reach it.
func TestRedirectToOtherOrigin(t *testing.T) {
	var auth atomic.Value
	other := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		io.WriteString(w, `{"members":[`+member("1")+`]}`)
	})
	srv := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/memberships", http.StatusFound)
	})
	reg := srv.reg()
	reg.TokenEndpoint = other.URL + "/token"
	c, err := nrps.New(nrps.Config{
		Registration: reg,
		Endpoint:     lti.NRPSEndpoint{ContextMembershipsURL: srv.URL + "/memberships"},
		Source:       &fakeSource{}, HTTPClient: srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = readAll(c.Members(t.Context(), nrps.Query{}))
	if !errors.Is(err, nrps.ErrRedirect) || other.requests.Load() != 0 {
		t.Fatalf("%v, %d requests to the other origin (Authorization %v); want ErrRedirect and none", err, other.requests.Load(), auth.Load())
	}
}
