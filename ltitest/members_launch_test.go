package ltitest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/ltikit/ltikit/lti"
)

// TestLaunchedUsersJoinRoster: every user the platform launches is a
// member of its context, with the launch's roles, names and email; an
// anonymous launch adds no one, and a repeated launch changes nothing.
func TestLaunchedUsersJoinRoster(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	p.AddMembers(2)
	launch := func(opts ...LaunchOption) {
		t.Helper()
		if _, err := p.Authorize(t.Context(), NewBrowser(), opts...); err != nil {
			t.Fatal(err)
		}
	}
	launch()            // the default instructor
	launch(AsLearner()) // the default learner
	launch(AsLearner(), WithUser("u9", "Ada Lovelace", "ada@example.com"))
	launch(AsLearner(), Anonymous())

	byID := map[string]Member{}
	for _, m := range p.Members() {
		byID[m.UserID] = m
	}
	if len(byID) != 5 {
		t.Fatalf("%d members, want 2 added and 3 launched: %+v", len(byID), p.Members())
	}
	for _, want := range []Member{
		{UserID: DefaultInstructor.Sub, Roles: []string{RoleInstructor}, Status: "Active", Name: "Tea Cher", GivenName: "Tea", FamilyName: "Cher", Email: DefaultInstructor.Email},
		{UserID: DefaultLearner.Sub, Roles: []string{RoleLearner}, Status: "Active", Name: "Stu Dent", GivenName: "Stu", FamilyName: "Dent", Email: DefaultLearner.Email},
		{UserID: "u9", Roles: []string{RoleLearner}, Status: "Active", Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace", Email: "ada@example.com"},
	} {
		got := byID[want.UserID]
		if !slices.Equal(got.Roles, want.Roles) || got.Name != want.Name || got.GivenName != want.GivenName ||
			got.FamilyName != want.FamilyName || got.Email != want.Email || got.Status != want.Status {
			t.Errorf("member %s = %+v, want %+v", want.UserID, got, want)
		}
	}

	// The same launch again is no change (no differences entry) ...
	p.svc.mu.Lock()
	seq := p.svc.nrps.seq
	p.svc.mu.Unlock()
	launch()
	p.svc.mu.Lock()
	again := p.svc.nrps.seq
	p.svc.mu.Unlock()
	if again != seq {
		t.Errorf("a repeated launch bumped the differences mark %d → %d", seq, again)
	}
	// ... a new role is added to the member's.
	launch(AsInstructor(), WithUser(DefaultLearner.Sub, "", ""))
	for _, m := range p.Members() {
		if m.UserID == DefaultLearner.Sub &&
			(!slices.Equal(m.Roles, []string{RoleLearner, RoleInstructor}) || m.Name != "Stu Dent" || m.Email != DefaultLearner.Email) {
			t.Errorf("after a launch as instructor: %+v", m)
		}
	}
}

func TestContentItemLaunch(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	item := func(typ, js string) DeepLinkingItem {
		return DeepLinkingItem{Type: typ, JSON: json.RawMessage(js)}
	}
	quiz := item("ltiResourceLink", `{"type":"ltiResourceLink","url":"https://tool.example/quiz","title":"Quiz","text":"Ten questions",
		"custom":{"activity":"quiz-1"},"lineItem":{"scoreMaximum":10,"label":"Quiz column","resourceId":"q1","tag":"grade"}}`)

	il, err := p.ContentItemLaunch(quiz, "dl-1")
	if err != nil {
		t.Fatal(err)
	}
	if il.LineItem == nil || il.LineItem.Label != "Quiz column" || il.LineItem.ScoreMaximum != 10 ||
		il.LineItem.ResourceLinkID != "dl-1" || il.LineItem.ResourceID != "q1" || il.LineItem.Tag != "grade" {
		t.Fatalf("line item %+v", il.LineItem)
	}
	ar, err := p.Authorize(t.Context(), NewBrowser(), append(il.Options, p.WithAGS(), AsLearner())...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ar.Claims()
	if err != nil {
		t.Fatal(err)
	}
	rl, _ := c[lti.ClaimResourceLink].(map[string]any)
	custom, _ := c[lti.ClaimCustom].(map[string]any)
	agsClaim, _ := c[lti.ClaimAGSEndpoint].(map[string]any)
	switch {
	case c[lti.ClaimTargetLinkURI] != "https://tool.example/quiz" || ar.Login.Get("target_link_uri") != "https://tool.example/quiz":
		t.Errorf("target_link_uri %v, login %q", c[lti.ClaimTargetLinkURI], ar.Login.Get("target_link_uri"))
	case rl["id"] != "dl-1" || rl["title"] != "Quiz" || rl["description"] != "Ten questions":
		t.Errorf("resource_link %v", rl)
	case custom["activity"] != "quiz-1" || custom["course_ctx"] != DefaultContextID:
		t.Errorf("custom %v", custom)
	case agsClaim["lineitem"] != il.LineItem.ID:
		t.Errorf("AGS claim %v, want the item's line item %s", agsClaim, il.LineItem.ID)
	case c[lti.ClaimMessageType] != lti.MessageResourceLink:
		t.Errorf("message_type %v", c[lti.ClaimMessageType])
	}
	// A second launch of the same link keeps its one column.
	if again, err := p.ContentItemLaunch(quiz, "dl-1"); err != nil || again.LineItem.ID != il.LineItem.ID || len(p.LineItems()) != 1 {
		t.Errorf("second launch: %+v, %v, %d line items", again, err, len(p.LineItems()))
	}

	// An item without url or line item: the configured target, no column.
	plain, err := p.ContentItemLaunch(item("ltiResourceLink", `{"type":"ltiResourceLink","title":"Reading"}`), "dl-2")
	if err != nil || plain.LineItem != nil {
		t.Fatalf("plain item: %+v, %v", plain, err)
	}
	ar, err = p.Authorize(t.Context(), NewBrowser(), plain.Options...)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := ar.Claims(); c[lti.ClaimTargetLinkURI] != p.Config().TargetLinkURI {
		t.Errorf("target_link_uri %v, want the configured %s", c[lti.ClaimTargetLinkURI], p.Config().TargetLinkURI)
	}

	for _, tc := range []struct {
		name, rlid string
		item       DeepLinkingItem
	}{
		{"a link", "dl-3", item("link", `{"type":"link","url":"https://example.com/"}`)},
		{"an HTML fragment", "dl-3", item("html", `{"type":"html","html":"<p>x</p>"}`)},
		{"no resource link id", "", quiz},
		{"a relative url", "dl-3", item("ltiResourceLink", `{"type":"ltiResourceLink","url":"/quiz"}`)},
		{"a javascript url", "dl-3", item("ltiResourceLink", `{"type":"ltiResourceLink","url":"javascript:alert(1)"}`)},
		{"a number custom value", "dl-3", item("ltiResourceLink", `{"type":"ltiResourceLink","custom":{"n":1}}`)},
		{"a line item without maximum", "dl-3", item("ltiResourceLink", `{"type":"ltiResourceLink","lineItem":{"label":"x"}}`)},
		{"a negative maximum", "dl-3", item("ltiResourceLink", `{"type":"ltiResourceLink","lineItem":{"scoreMaximum":-1}}`)},
		{"JSON that is not an object", "dl-3", item("ltiResourceLink", `[1]`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			il, err := p.ContentItemLaunch(tc.item, tc.rlid)
			if il != nil || !errors.Is(err, ErrNotLaunchable) || lti.AsError(err).Code() != lti.CodeInvalidRequest {
				t.Fatalf("got %+v, %v; want ErrNotLaunchable", il, err)
			}
		})
	}
	if n := len(p.LineItems()); n != 1 {
		t.Errorf("%d line items after the refused items, want 1", n)
	}
}
