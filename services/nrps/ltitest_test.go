package nrps_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/services/nrps"
	"github.com/ltikit/ltikit/services/token"
)

// countingPlatform serves an ltitest platform behind a handler that counts
// membership page requests.
func countingPlatform(t testing.TB) (*ltitest.Platform, *token.Client, *atomic.Int64) {
	t.Helper()
	var pages atomic.Int64
	srv := httptest.NewUnstartedServer(nil)
	p, err := ltitest.NewHandler("http://"+srv.Listener.Addr().String(), ltitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == ltitest.PathMemberships {
			pages.Add(1)
		}
		p.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return p, trust(t, p), &pages
}

func TestAgainstPlatform(t *testing.T) {
	p, src, pages := countingPlatform(t)
	c, err := nrps.FromLaunch(launchWithNRPS(t, p), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	learners := p.AddMembers(7)
	teacher := p.AddMember(ltitest.Member{UserID: "t1", Name: "Tea Cher", Roles: []string{"Instructor"}}) // Moodle's short name

	// Three pages of three, lazily.
	ms := c.Members(ctx, nrps.Query{Limit: 3})
	var ids []string
	for ms.Next() {
		ids = append(ids, ms.Member().UserID)
		if want := int64((len(ids)-1)/3 + 1); pages.Load() != want {
			t.Fatalf("after %d members, %d pages requested, want %d", len(ids), pages.Load(), want)
		}
	}
	if ms.Err() != nil || len(ids) != 8 || ms.Pages() != 3 || pages.Load() != 3 {
		t.Fatalf("%v: %d members in %d pages", ms.Err(), len(ids), ms.Pages())
	}
	if ids[0] != learners[0].UserID || ids[7] != "t1" || ms.Context().ID != ltitest.DefaultContextID {
		t.Fatalf("ids %v, context %+v", ids, ms.Context())
	}
	diff := ms.DifferencesURL()
	if diff == "" {
		t.Fatal("no differences link")
	}

	// The role filter: the full URI matches the short name.
	got, err := readAll(c.Members(ctx, nrps.Query{Role: lti.RoleContextInstructor}))
	if err != nil || len(got) != 1 || got[0].UserID != teacher.UserID || !got[0].Roles.IsInstructor() || got[0].Roles[0] != "Instructor" {
		t.Fatalf("instructors %+v %v", got, err)
	}
	got, err = readAll(c.Members(ctx, nrps.Query{Role: "Learner"}))
	if err != nil || len(got) != 7 {
		t.Fatalf("%d learners, %v", len(got), err)
	}

	// A resource link's members carry their message claims.
	got, err = readAll(c.Members(ctx, nrps.Query{ResourceLinkID: ltitest.DefaultResourceLinkID, Limit: 100}))
	if err != nil || len(got) != 8 || len(got[0].Message) != 1 {
		t.Fatalf("rlid: %+v %v", got, err)
	}
	var msg map[string]any
	if err := json.Unmarshal(got[0].Message[0], &msg); err != nil || msg[lti.ClaimMessageType] != lti.MessageResourceLink {
		t.Fatalf("message %s", got[0].Message[0])
	}

	// Differences: one learner left, one joined.
	p.RemoveMember(learners[2].UserID)
	p.AddMember(ltitest.Member{UserID: "new", Name: "New Comer"})
	got, err = readAll(c.Differences(ctx, diff))
	if err != nil || len(got) != 2 {
		t.Fatalf("differences %+v %v", got, err)
	}
	if got[0].UserID != learners[2].UserID || got[0].Status != nrps.StatusDeleted || got[0].Active() ||
		got[1].UserID != "new" || !got[1].Active() {
		t.Fatalf("differences %+v", got)
	}
	// The roster itself no longer lists the deleted member.
	got, _ = readAll(c.Members(ctx, nrps.Query{}))
	for _, m := range got {
		if m.UserID == learners[2].UserID {
			t.Fatal("a deleted member is still on the roster")
		}
	}
	if p.TokenRequests() != 1 {
		t.Errorf("%d token requests, want 1", p.TokenRequests())
	}
}

// TestLargeRoster streams a 10,000-member course: page by page (lazily)
// and member by member, with a live heap that does not grow with the
// number of members read.
func TestLargeRoster(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 members")
	}
	p, src, pages := countingPlatform(t)
	p.AddMembers(10000)
	c, err := nrps.FromLaunch(launchWithNRPS(t, p), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{500, 0} { // 20 pages, then one page of 10,000
		pages.Store(0)
		ms := c.Members(t.Context(), nrps.Query{Limit: limit})
		var base, peak uint64
		n := 0
		for ms.Next() {
			n++
			if m := ms.Member(); m.UserID == "" || !m.Roles.IsLearner() {
				t.Fatalf("member %d: %+v", n, m)
			}
			if limit > 0 && pages.Load() != int64((n-1)/limit+1) {
				t.Fatalf("limit %d: after %d members, %d pages requested", limit, n, pages.Load())
			}
			if n == 1 || n%1000 == 0 {
				runtime.GC()
				var st runtime.MemStats
				runtime.ReadMemStats(&st)
				if n == 1 {
					base = st.HeapAlloc
				} else if st.HeapAlloc > base {
					peak = max(peak, st.HeapAlloc-base)
				}
			}
		}
		if err := ms.Err(); err != nil {
			t.Fatal(err)
		}
		if n != 10000 {
			t.Fatalf("limit %d: %d members", limit, n)
		}
		// 10,000 decoded members held at once would take several MiB.
		t.Logf("limit %d: %d pages, live heap growth while streaming %d KiB", limit, ms.Pages(), peak>>10)
		if peak > 1<<20 {
			t.Errorf("limit %d: the live heap grew by %d KiB while streaming", limit, peak>>10)
		}
	}
}

func TestPlatformRefusesForeignToken(t *testing.T) {
	p, _, _ := countingPlatform(t)
	// A token for AGS only: the membership endpoint answers 403.
	src := &staticSource{tok: p.MintAccessToken(ltitest.AGSScopes...)}
	c, err := nrps.FromLaunch(launchWithNRPS(t, p), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = readAll(c.Members(t.Context(), nrps.Query{}))
	var he *nrps.HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden || !strings.Contains(he.WWWAuthenticate, "insufficient_scope") {
		t.Fatalf("%v", err)
	}
}
