package ltitest

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/ltikit/ltikit/lti"
)

// Member is a membership of the platform's context (NRPS 2.0 §2.3), as
// the memberships endpoint sends it.
type Member struct {
	// UserID is user_id: the member's sub, as in their launches.
	UserID string `json:"user_id"`
	// Roles are sent as they are: full URIs (the default) or short names
	// such as Moodle's "Learner".
	Roles []string `json:"roles"`
	// Status is status: "Active", "Inactive" or "Deleted" (the last only
	// in a differences page). Empty: not sent, which means Active.
	Status string `json:"status,omitempty"`
	// Name is name: the member's full name. Empty when not sent.
	Name string `json:"name,omitempty"`
	// GivenName is given_name. Empty when not sent.
	GivenName string `json:"given_name,omitempty"`
	// FamilyName is family_name. Empty when not sent.
	FamilyName string `json:"family_name,omitempty"`
	// Email is email. Empty when not sent.
	Email string `json:"email,omitempty"`
	// Picture is picture: the URL of the member's picture. Empty when not
	// sent.
	Picture string `json:"picture,omitempty"`
	// LISPersonSourcedID is lis_person_sourcedid: the member's identifier
	// in the student information system. Empty when not sent.
	LISPersonSourcedID string `json:"lis_person_sourcedid,omitempty"`
}

// nrpsData is the memberships endpoint's state, guarded by svcState.mu.
type nrpsData struct {
	seq     int64 // bumped by every change; differences links carry it
	next    int   // user number of the next generated member
	members []*memberRec
}

type memberRec struct {
	m       Member
	changed int64
}

// MembershipsURL returns the context_memberships_url of the NRPS claim.
func (p *Platform) MembershipsURL() string { return p.base + PathMemberships }

// NRPSClaim returns a namesroleservice claim (NRPS 2.0 §3.6.1.1) pointing
// at the platform, with Moodle's service_versions ["1.0","2.0"]. Put it in
// a claim set under lti.ClaimNRPS.
func (p *Platform) NRPSClaim() map[string]any {
	return map[string]any{
		"context_memberships_url": p.MembershipsURL(),
		"service_versions":        []string{"1.0", "2.0"},
	}
}

// WithNRPS adds the namesroleservice claim to the launch (see
// [Platform.NRPSClaim]).
func (p *Platform) WithNRPS() LaunchOption {
	return WithClaims(func(c map[string]any) { c[lti.ClaimNRPS] = p.NRPSClaim() })
}

// AddMember adds m to the context, or replaces the member with the same
// UserID. An empty UserID gets a generated one, empty Roles the context
// role Learner, an empty Status "Active". It returns the member as stored.
// Every user the platform launches is made a member too, with the
// launch's roles, names and email (see the auth endpoint): a test adds
// only the members who never launch.
func (p *Platform) AddMember(m Member) Member {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	return p.addMemberLocked(m)
}

func (p *Platform) addMemberLocked(m Member) Member {
	d := &p.svc.nrps
	if m.UserID == "" {
		d.next++
		m.UserID = "ltitest-user-" + strconv.Itoa(d.next)
	}
	if len(m.Roles) == 0 {
		m.Roles = []string{RoleLearner}
	} else {
		m.Roles = slices.Clone(m.Roles)
	}
	if m.Status == "" {
		m.Status = "Active"
	}
	d.seq++
	for _, rec := range d.members {
		if rec.m.UserID == m.UserID {
			rec.m, rec.changed = m, d.seq
			return m
		}
	}
	d.members = append(d.members, &memberRec{m: m, changed: d.seq})
	return m
}

// recordLaunchedMember makes the user of a launch a member of the context,
// as an LMS launches only its course's members: the id_token's sub, with
// its roles, name, given_name, family_name and email, is added to the
// roster, or merged into the member with that user id (the launch's roles
// are added to theirs, its names and email fill in or replace theirs; a
// removed member stays removed). An anonymous launch (no sub) adds no one.
// A launch that changes nothing leaves the differences mark alone.
func (p *Platform) recordLaunchedMember(claims map[string]any) {
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return
	}
	str := func(name string) string { s, _ := claims[name].(string); return s }
	var roles []string
	switch rs := claims[lti.ClaimRoles].(type) {
	case []string:
		roles = rs
	case []any:
		for _, r := range rs {
			if s, ok := r.(string); ok {
				roles = append(roles, s)
			}
		}
	}
	m := Member{UserID: sub, Roles: roles, Name: str("name"), GivenName: str("given_name"),
		FamilyName: str("family_name"), Email: str("email")}

	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	for _, rec := range p.svc.nrps.members {
		if rec.m.UserID != sub {
			continue
		}
		merged := rec.m
		merged.Roles = slices.Clone(rec.m.Roles)
		for _, r := range roles {
			if !slices.Contains(merged.Roles, r) {
				merged.Roles = append(merged.Roles, r)
			}
		}
		for _, f := range []struct {
			dst *string
			v   string
		}{
			{&merged.Name, m.Name}, {&merged.GivenName, m.GivenName}, {&merged.FamilyName, m.FamilyName}, {&merged.Email, m.Email},
		} {
			if f.v != "" {
				*f.dst = f.v
			}
		}
		if !slices.Equal(merged.Roles, rec.m.Roles) || merged.Name != rec.m.Name || merged.GivenName != rec.m.GivenName ||
			merged.FamilyName != rec.m.FamilyName || merged.Email != rec.m.Email {
			p.svc.nrps.seq++
			rec.m, rec.changed = merged, p.svc.nrps.seq
		}
		return
	}
	p.addMemberLocked(m)
}

// AddMembers adds n learners ("Learner <k>", learner<k>@example.com, the
// Learner role) with generated user ids and returns them.
func (p *Platform) AddMembers(n int) []Member {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	out := make([]Member, 0, n)
	for range n {
		k := strconv.Itoa(p.svc.nrps.next + 1)
		out = append(out, p.addMemberLocked(Member{
			Name: "Learner " + k, GivenName: "Learner", FamilyName: k,
			Email: "learner" + k + "@example.com",
		}))
	}
	return out
}

// RemoveMember marks the member Deleted: the roster no longer lists them,
// a differences read does (NRPS 2.0 §2.4.3). It reports whether there was
// such a member.
func (p *Platform) RemoveMember(userID string) bool {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	d := &p.svc.nrps
	for _, rec := range d.members {
		if rec.m.UserID == userID {
			d.seq++
			rec.m.Status, rec.changed = "Deleted", d.seq
			return true
		}
	}
	return false
}

// Members returns every member, deleted ones included, in the order added.
func (p *Platform) Members() []Member {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	out := make([]Member, 0, len(p.svc.nrps.members))
	for _, rec := range p.svc.nrps.members {
		m := rec.m
		m.Roles = slices.Clone(m.Roles)
		out = append(out, m)
	}
	return out
}

// memberOut is a member as sent, with the message claims of a resource
// link request.
type memberOut struct {
	Member
	Message []map[string]any `json:"message,omitempty"`
}

// serveMemberships serves the membership container (NRPS 2.0 §2.4): GET
// with Accept application/vnd.ims.lti-nrps.v2.membershipcontainer+json;
// role filters (any spelling lti.Roles understands), limit and page page
// (Link rel="next"), rlid scopes to a resource link (members carry a
// message), since=<n> answers the changes since a Link rel="differences",
// deleted members included.
func (p *Platform) serveMemberships(w http.ResponseWriter, r *http.Request) {
	if !svcMethod(w, r, http.MethodGet) || !p.svcAuthorize(w, r, scopeMembership) || !svcAccepts(w, r, mediaMembership, true) {
		return
	}
	q := r.URL.Query()
	page, limit, ok := p.svcPage(w, q)
	if !ok {
		return
	}
	since := int64(-1)
	if s := q.Get("since"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			svcError(w, http.StatusBadRequest, "since must be a differences mark")
			return
		}
		since = n
	}
	role, rlid := q.Get("role"), q.Get("rlid")

	p.svc.mu.Lock()
	seq := p.svc.nrps.seq
	var all []Member
	for _, rec := range p.svc.nrps.members {
		switch {
		case since >= 0 && rec.changed <= since:
			continue
		case since < 0 && rec.m.Status == "Deleted":
			continue
		case role != "" && !lti.Roles(rec.m.Roles).Has(role):
			continue
		}
		all = append(all, rec.m)
	}
	p.svc.mu.Unlock()

	from, to, more := svcSlice(len(all), page, limit)
	if more {
		w.Header().Add("Link", "<"+p.svcLink(PathMemberships, q, page+1)+`>; rel="next"`)
	}
	w.Header().Add("Link", "<"+p.MembershipsURL()+"?since="+strconv.FormatInt(seq, 10)+`>; rel="differences"`)
	members := make([]memberOut, 0, to-from)
	for _, m := range all[from:to] {
		mo := memberOut{Member: m}
		if rlid != "" {
			mo.Message = []map[string]any{{
				lti.ClaimMessageType:  lti.MessageResourceLink,
				lti.ClaimResourceLink: map[string]any{"id": rlid},
				lti.ClaimCustom:       map[string]any{"course_ctx": DefaultContextID},
			}}
		}
		members = append(members, mo)
	}
	id := p.MembershipsURL()
	if r.URL.RawQuery != "" {
		id += "?" + r.URL.RawQuery
	}
	svcWrite(w, http.StatusOK, mediaMembership, map[string]any{
		"id":      id,
		"context": map[string]any{"id": DefaultContextID, "label": "LTI101", "title": "LTI Test Course"},
		"members": members,
	})
}
