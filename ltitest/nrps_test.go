package ltitest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/lti"
)

type membershipPage struct {
	ID      string `json:"id"`
	Context struct {
		ID, Label, Title string
	} `json:"context"`
	Members []struct {
		Member
		Message []map[string]any `json:"message"`
	} `json:"members"`
}

func getMembers(t *testing.T, p *Platform, url, tok string) (membershipPage, string, string) {
	t.Helper()
	status, h, body := svcDo(t, "GET", url, tok, mediaMembership, "", "")
	if status != 200 || h.Get("Content-Type") != mediaMembership {
		t.Fatalf("%s: %d %s", url, status, body)
	}
	var page membershipPage
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	var next, diff string
	for _, l := range h.Values("Link") {
		u := l[1:strings.Index(l, ">")]
		switch {
		case strings.HasSuffix(l, `rel="next"`):
			next = u
		case strings.HasSuffix(l, `rel="differences"`):
			diff = u
		}
	}
	return page, next, diff
}

func TestMemberships(t *testing.T) {
	p := svcPlatform(t)
	tok := p.MintAccessToken(scopeMembership)
	learners := p.AddMembers(5)
	p.AddMember(Member{UserID: "t1", Name: "Tea Cher", Roles: []string{"Instructor"}})
	p.AddMember(Member{UserID: "ta", Roles: []string{lti.RoleContextInstructor, lti.RoleContextTeachingAssistant}})
	if learners[0].UserID == "" || learners[0].Status != "Active" || learners[0].Roles[0] != RoleLearner || learners[4].Email != "learner5@example.com" {
		t.Fatalf("seeded %+v", learners)
	}

	// Auth and media types.
	for _, tc := range []struct {
		tok, accept string
		want        int
	}{
		{"", mediaMembership, 401},
		{p.MintAccessToken(AGSScopes...), mediaMembership, 403},
		{tok, "application/json", 406},
		{tok, "", 406},
	} {
		if status, _, body := svcDo(t, "GET", p.MembershipsURL(), tc.tok, tc.accept, "", ""); status != tc.want {
			t.Errorf("%+v: %d %s", tc, status, body)
		}
	}
	if status, _, _ := svcDo(t, "POST", p.MembershipsURL(), tok, mediaMembership, "", ""); status != 405 {
		t.Errorf("POST: %d", status)
	}

	// Paging across 3 pages, with the differences link on each.
	var ids []string
	url := p.MembershipsURL() + "?limit=3"
	var diff string
	for pages := 0; url != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		page, next, d := getMembers(t, p, url, tok)
		if page.Context.ID != DefaultContextID || page.Context.Title == "" || d == "" {
			t.Fatalf("page %+v, differences %q", page, d)
		}
		for _, m := range page.Members {
			ids = append(ids, m.UserID)
		}
		url, diff = next, d
	}
	if len(ids) != 7 || ids[5] != "t1" {
		t.Fatalf("ids %v", ids)
	}

	// The role filter understands every spelling.
	for role, want := range map[string]int{
		lti.RoleContextInstructor:        2,
		"Instructor":                     2,
		"Learner":                        5,
		lti.RoleContextTeachingAssistant: 1,
		lti.RoleContextMentor:            0,
	} {
		page, _, _ := getMembers(t, p, p.MembershipsURL()+"?role="+strings.ReplaceAll(strings.ReplaceAll(role, ":", "%3A"), "#", "%23"), tok)
		if len(page.Members) != want {
			t.Errorf("role %s: %d members, want %d", role, len(page.Members), want)
		}
	}

	// rlid: members carry the message claims of the link.
	page, _, _ := getMembers(t, p, p.MembershipsURL()+"?rlid="+DefaultResourceLinkID, tok)
	if len(page.Members) != 7 || len(page.Members[0].Message) != 1 || page.Members[0].Message[0][lti.ClaimMessageType] != lti.MessageResourceLink {
		t.Fatalf("rlid page %+v", page.Members[0])
	}

	// Differences: changes since the mark, deleted members included.
	if !p.RemoveMember(learners[1].UserID) || p.RemoveMember("nobody") {
		t.Fatal("RemoveMember")
	}
	p.AddMember(Member{UserID: "t1", Name: "Tea Cher-Renamed", Roles: []string{"Instructor"}}) // an update
	page, _, _ = getMembers(t, p, diff, tok)
	if len(page.Members) != 2 || page.Members[0].UserID != learners[1].UserID || page.Members[0].Status != "Deleted" ||
		page.Members[1].Name != "Tea Cher-Renamed" {
		t.Fatalf("differences %+v", page.Members)
	}
	page, _, _ = getMembers(t, p, p.MembershipsURL(), tok)
	if len(page.Members) != 6 {
		t.Fatalf("roster after removal: %d", len(page.Members))
	}
	if all := p.Members(); len(all) != 7 || all[1].Status != "Deleted" {
		t.Fatalf("Members() %+v", all)
	}
	if status, _, _ := svcDo(t, "GET", p.MembershipsURL()+"?since=x", tok, mediaMembership, "", ""); status != 400 {
		t.Fatalf("bad since: %d", status)
	}

	// The platform's page size caps limit.
	p.SetServicePageSize(4)
	_, next, _ := getMembers(t, p, p.MembershipsURL()+"?limit=100", tok)
	if next == "" {
		t.Fatal("no next page under a page size of 4")
	}
}
