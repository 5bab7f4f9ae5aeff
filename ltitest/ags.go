package ltitest

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ltikit/ltikit/lti"
)

// Service endpoint paths, relative to the platform's base URL.
const (
	// PathLineItems is the Assignment and Grade Services line item
	// container of the platform's one context. Its URL, like every line
	// item URL, carries Moodle's query "?type_id=1", so a tool must put
	// "/scores" and "/results" on the path, before the query.
	PathLineItems = "/ags/lineitems"
	// PathMemberships is the Names and Role Provisioning Services
	// membership container of the platform's one context.
	PathMemberships = "/nrps/memberships"
)

// lineItemQuery is the query Moodle puts on its AGS URLs.
const lineItemQuery = "type_id=1"

// LineItem is a line item (gradebook column) of the platform (AGS 2.0
// §3.2), as it stores and sends it.
type LineItem struct {
	// ID is the line item's URL, set by the platform:
	// <base>/ags/lineitems/<n>/lineitem?type_id=1.
	ID string `json:"id"`
	// ScoreMaximum is scoreMaximum: the maximum score of the column,
	// greater than 0.
	ScoreMaximum float64 `json:"scoreMaximum"`
	// Label is label: the column's title in the gradebook.
	Label string `json:"label"`
	// ResourceID is resourceId: the tool's own identifier of the activity.
	// Empty when the tool set none.
	ResourceID string `json:"resourceId,omitempty"`
	// ResourceLinkID is resourceLinkId: the resource link the line item is
	// attached to. Empty when it is attached to none.
	ResourceLinkID string `json:"resourceLinkId,omitempty"`
	// Tag is tag: the tool's own qualifier of the line item (such as
	// "final"). Empty when the tool set none.
	Tag string `json:"tag,omitempty"`
	// StartDateTime is startDateTime: when submissions open, ISO 8601 with
	// a time zone, as the tool sent it. Empty when not set.
	StartDateTime string `json:"startDateTime,omitempty"`
	// EndDateTime is endDateTime: when submissions close, as the tool sent
	// it. Empty when not set.
	EndDateTime string `json:"endDateTime,omitempty"`
	// GradesReleased is gradesReleased: whether learners see the grades.
	// Nil when not set.
	GradesReleased *bool `json:"gradesReleased,omitempty"`
}

// Score is a score the platform accepted (AGS 2.0 §3.4), as posted.
type Score struct {
	// LineItemID is the URL of the line item the score was posted to.
	LineItemID string `json:"-"`
	// UserID is userId: the learner's sub, whom the score is for.
	UserID string `json:"userId"`
	// ScoreGiven is scoreGiven: the score, 0 or more. Nil when the tool
	// posted progress without a score.
	ScoreGiven *float64 `json:"scoreGiven,omitempty"`
	// ScoreMaximum is scoreMaximum: the maximum the score is out of;
	// present whenever ScoreGiven is. Nil otherwise.
	ScoreMaximum *float64 `json:"scoreMaximum,omitempty"`
	// Comment is comment: the tool's comment for the learner. Empty when
	// none.
	Comment string `json:"comment,omitempty"`
	// Timestamp is timestamp: when the score was set, ISO 8601 with
	// sub-second precision, as posted.
	Timestamp string `json:"timestamp"`
	// ActivityProgress is activityProgress: "Initialized", "Started",
	// "InProgress", "Submitted" or "Completed".
	ActivityProgress string `json:"activityProgress"`
	// GradingProgress is gradingProgress: "FullyGraded", "Pending",
	// "PendingManual", "Failed" or "NotReady".
	GradingProgress string `json:"gradingProgress"`
	// ScoringUserID is scoringUserId: the sub of the user who scored, when
	// it was not the tool. Empty when absent.
	ScoringUserID string `json:"scoringUserId,omitempty"`
	// Raw is the body as the tool posted it, extensions included.
	Raw json.RawMessage `json:"-"`
}

// agsData is the AGS endpoints' state, guarded by svcState.mu.
type agsData struct {
	seq    int
	items  []*lineItemRec // creation order
	scores []Score
}

type lineItemRec struct {
	n  int
	li LineItem
}

// LineItemsURL returns the lineitems URL of the AGS claim:
// <base>/ags/lineitems?type_id=1.
func (p *Platform) LineItemsURL() string { return p.base + PathLineItems + "?" + lineItemQuery }

func (p *Platform) lineItemURL(n int) string {
	return p.base + PathLineItems + "/" + strconv.Itoa(n) + "/lineitem?" + lineItemQuery
}

// AddLineItem adds a line item, as an instructor or the platform itself
// would, and returns it with its ID set.
func (p *Platform) AddLineItem(li LineItem) LineItem {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	return p.addLineItemLocked(li)
}

func (p *Platform) addLineItemLocked(li LineItem) LineItem {
	p.svc.ags.seq++
	n := p.svc.ags.seq
	li.ID = p.lineItemURL(n)
	p.svc.ags.items = append(p.svc.ags.items, &lineItemRec{n: n, li: li})
	return li
}

// LineItems returns the line items, oldest first.
func (p *Platform) LineItems() []LineItem {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	out := make([]LineItem, 0, len(p.svc.ags.items))
	for _, rec := range p.svc.ags.items {
		out = append(out, rec.li)
	}
	return out
}

// Scores returns every score accepted, oldest first.
func (p *Platform) Scores() []Score {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	return slices.Clone(p.svc.ags.scores)
}

// AGSClaim returns an AGS endpoint claim (AGS 2.0 §3.1) pointing at the
// platform: the given scopes (all of [AGSScopes] when none), the lineitems
// URL and, when resourceLinkID is not empty, the lineitem URL of that
// resource link's line item, created (label "ltitest activity",
// scoreMaximum 100) if it has none — as Moodle creates one per graded
// activity. Put it in a claim set under lti.ClaimAGSEndpoint.
func (p *Platform) AGSClaim(resourceLinkID string, scopes ...string) map[string]any {
	if len(scopes) == 0 {
		scopes = AGSScopes
	}
	c := map[string]any{
		"scope":     slices.Clone(scopes),
		"lineitems": p.LineItemsURL(),
	}
	if resourceLinkID != "" {
		c["lineitem"] = p.resourceLinkLineItem(resourceLinkID).ID
	}
	return c
}

// resourceLinkLineItem returns the first line item bound to the resource
// link, creating one.
func (p *Platform) resourceLinkLineItem(id string) LineItem {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	for _, rec := range p.svc.ags.items {
		if rec.li.ResourceLinkID == id {
			return rec.li
		}
	}
	return p.addLineItemLocked(LineItem{Label: "ltitest activity", ScoreMaximum: 100, ResourceLinkID: id})
}

// WithAGS adds the AGS endpoint claim to the launch (see
// [Platform.AGSClaim]): the given scopes, all four when none, and the line
// item of the launch's resource link. A deep linking request gets the
// lineitems URL only.
func (p *Platform) WithAGS(scopes ...string) LaunchOption {
	return WithClaims(func(c map[string]any) {
		rl, _ := c[lti.ClaimResourceLink].(map[string]any)
		id, _ := rl["id"].(string)
		c[lti.ClaimAGSEndpoint] = p.AGSClaim(id, scopes...)
	})
}

// serveAGS serves the line item container (rest ""), a line item
// ("/<n>/lineitem"), its scores and its results.
func (p *Platform) serveAGS(w http.ResponseWriter, r *http.Request, rest string) {
	if rest == "" || rest == "/" {
		p.serveLineItems(w, r)
		return
	}
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	n, err := strconv.Atoi(parts[0])
	if err != nil || len(parts) < 2 || parts[1] != "lineitem" || len(parts) > 3 {
		http.NotFound(w, r)
		return
	}
	sub := ""
	if len(parts) == 3 {
		sub = parts[2]
	}
	switch sub {
	case "":
		p.serveLineItem(w, r, n)
	case "scores":
		p.serveScores(w, r, n)
	case "results":
		p.serveResults(w, r, n)
	default:
		http.NotFound(w, r)
	}
}

// serveLineItems lists (GET, filters resource_link_id, resource_id, tag,
// paged with limit and page) and creates (POST) line items (AGS 2.0
// §3.2.4).
func (p *Platform) serveLineItems(w http.ResponseWriter, r *http.Request) {
	if !svcMethod(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	if r.Method == http.MethodPost {
		if !p.svcAuthorize(w, r, scopeLineItem) || !svcContentType(w, r, mediaLineItem) || !svcAccepts(w, r, mediaLineItem, false) {
			return
		}
		var li LineItem
		if !svcReadJSON(w, r, &li) || !checkLineItem(w, li) {
			return
		}
		li = p.AddLineItem(li)
		w.Header().Set("Location", li.ID)
		svcWrite(w, http.StatusCreated, mediaLineItem, li)
		return
	}
	if !p.svcAuthorize(w, r, scopeLineItem, scopeLineItemReadOnly) || !svcAccepts(w, r, mediaLineItemContainer, true) {
		return
	}
	q := r.URL.Query()
	page, limit, ok := p.svcPage(w, q)
	if !ok {
		return
	}
	var all []LineItem
	for _, li := range p.LineItems() {
		if v := q.Get("resource_link_id"); v != "" && li.ResourceLinkID != v {
			continue
		}
		if v := q.Get("resource_id"); v != "" && li.ResourceID != v {
			continue
		}
		if v := q.Get("tag"); v != "" && li.Tag != v {
			continue
		}
		all = append(all, li)
	}
	from, to, more := svcSlice(len(all), page, limit)
	if more {
		w.Header().Add("Link", "<"+p.svcLink(PathLineItems, q, page+1)+`>; rel="next"`)
	}
	items := all[from:to]
	if items == nil {
		items = []LineItem{}
	}
	svcWrite(w, http.StatusOK, mediaLineItemContainer, items)
}

func checkLineItem(w http.ResponseWriter, li LineItem) bool {
	switch {
	case li.Label == "":
		svcError(w, http.StatusBadRequest, "label is required")
	case !(li.ScoreMaximum > 0) || math.IsInf(li.ScoreMaximum, 0):
		svcError(w, http.StatusBadRequest, "scoreMaximum must be a number > 0")
	default:
		return true
	}
	return false
}

// findLineItem returns the record of line item n, or nil.
func (p *Platform) findLineItemLocked(n int) (int, *lineItemRec) {
	for i, rec := range p.svc.ags.items {
		if rec.n == n {
			return i, rec
		}
	}
	return -1, nil
}

func (p *Platform) lineItem(n int) (LineItem, bool) {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	_, rec := p.findLineItemLocked(n)
	if rec == nil {
		return LineItem{}, false
	}
	return rec.li, true
}

// serveLineItem reads (GET), replaces (PUT) and deletes (DELETE) a line
// item (AGS 2.0 §3.2.5).
func (p *Platform) serveLineItem(w http.ResponseWriter, r *http.Request, n int) {
	if !svcMethod(w, r, http.MethodGet, http.MethodPut, http.MethodDelete) {
		return
	}
	scopes := []string{scopeLineItem}
	if r.Method == http.MethodGet {
		scopes = append(scopes, scopeLineItemReadOnly)
	}
	if !p.svcAuthorize(w, r, scopes...) {
		return
	}
	li, ok := p.lineItem(n)
	if !ok {
		svcError(w, http.StatusNotFound, "no such line item")
		return
	}
	switch r.Method {
	case http.MethodGet:
		if svcAccepts(w, r, mediaLineItem, true) {
			svcWrite(w, http.StatusOK, mediaLineItem, li)
		}
	case http.MethodPut:
		if !svcContentType(w, r, mediaLineItem) || !svcAccepts(w, r, mediaLineItem, false) {
			return
		}
		var upd LineItem
		if !svcReadJSON(w, r, &upd) || !checkLineItem(w, upd) {
			return
		}
		if upd.ID != "" && upd.ID != li.ID {
			svcError(w, http.StatusBadRequest, "the id does not match the line item's URL")
			return
		}
		upd.ID = li.ID
		p.svc.mu.Lock()
		_, rec := p.findLineItemLocked(n)
		if rec != nil {
			rec.li = upd
		}
		p.svc.mu.Unlock()
		if rec == nil {
			svcError(w, http.StatusNotFound, "no such line item")
			return
		}
		svcWrite(w, http.StatusOK, mediaLineItem, upd)
	case http.MethodDelete:
		p.svc.mu.Lock()
		i, rec := p.findLineItemLocked(n)
		if rec != nil {
			p.svc.ags.items = slices.Delete(p.svc.ags.items, i, i+1)
			p.svc.ags.scores = slices.DeleteFunc(p.svc.ags.scores, func(s Score) bool { return s.LineItemID == li.ID })
		}
		p.svc.mu.Unlock()
		if rec == nil {
			svcError(w, http.StatusNotFound, "no such line item")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

var (
	activityProgress = []string{"Initialized", "Started", "InProgress", "Submitted", "Completed"}
	gradingProgress  = []string{"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}
)

// serveScores accepts a score (AGS 2.0 §3.4) and answers 204. It checks
// what the specification requires: userId, the activityProgress and
// gradingProgress vocabularies, a timestamp in RFC 3339 with sub-second
// precision, scoreGiven ≥ 0 only with scoreMaximum > 0 (400 otherwise),
// and answers 409 to a score older than the last one for the user.
func (p *Platform) serveScores(w http.ResponseWriter, r *http.Request, n int) {
	if !svcMethod(w, r, http.MethodPost) || !p.svcAuthorize(w, r, scopeScore) || !svcContentType(w, r, mediaScore) {
		return
	}
	li, ok := p.lineItem(n)
	if !ok {
		svcError(w, http.StatusNotFound, "no such line item")
		return
	}
	var raw json.RawMessage
	if !svcReadJSON(w, r, &raw) {
		return
	}
	var s Score
	if err := json.Unmarshal(raw, &s); err != nil {
		svcError(w, http.StatusBadRequest, "not a score: "+err.Error())
		return
	}
	s.LineItemID, s.Raw = li.ID, raw
	ts, msg := checkScore(s)
	if msg != "" {
		svcError(w, http.StatusBadRequest, msg)
		return
	}
	p.svc.mu.Lock()
	if _, rec := p.findLineItemLocked(n); rec == nil {
		p.svc.mu.Unlock()
		svcError(w, http.StatusNotFound, "no such line item")
		return
	}
	for _, old := range slices.Backward(p.svc.ags.scores) {
		if old.LineItemID == li.ID && old.UserID == s.UserID {
			if prev, _ := time.Parse(time.RFC3339Nano, old.Timestamp); ts.Before(prev) {
				p.svc.mu.Unlock()
				svcError(w, http.StatusConflict, "the score is older than the last one for the user")
				return
			}
			break
		}
	}
	p.svc.ags.scores = append(p.svc.ags.scores, s)
	p.svc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func checkScore(s Score) (time.Time, string) {
	switch {
	case s.UserID == "":
		return time.Time{}, "userId is required"
	case !slices.Contains(activityProgress, s.ActivityProgress):
		return time.Time{}, "activityProgress is not one of " + strings.Join(activityProgress, ", ")
	case !slices.Contains(gradingProgress, s.GradingProgress):
		return time.Time{}, "gradingProgress is not one of " + strings.Join(gradingProgress, ", ")
	}
	ts, err := time.Parse(time.RFC3339Nano, s.Timestamp)
	if err != nil || !strings.Contains(s.Timestamp, ".") {
		return time.Time{}, "timestamp must be RFC 3339 with sub-second precision"
	}
	if s.ScoreMaximum != nil && (!(*s.ScoreMaximum > 0) || math.IsInf(*s.ScoreMaximum, 0)) {
		return time.Time{}, "scoreMaximum must be a number > 0"
	}
	if s.ScoreGiven != nil {
		if !(*s.ScoreGiven >= 0) || math.IsInf(*s.ScoreGiven, 0) {
			return time.Time{}, "scoreGiven must be a number >= 0"
		}
		if s.ScoreMaximum == nil {
			return time.Time{}, "scoreGiven needs scoreMaximum"
		}
	}
	return ts, ""
}

// result is a result as the platform answers it, with Moodle's extra
// timestamp.
type result struct {
	ID            string   `json:"id"`
	ScoreOf       string   `json:"scoreOf"`
	UserID        string   `json:"userId"`
	ResultScore   *float64 `json:"resultScore,omitempty"`
	ResultMaximum float64  `json:"resultMaximum"`
	Comment       string   `json:"comment,omitempty"`
	Timestamp     string   `json:"timestamp,omitempty"`
}

// serveResults lists a line item's results (AGS 2.0 §3.3): one per user,
// from the user's last score, scaled to the line item's scoreMaximum;
// user_id filters, limit and page page.
func (p *Platform) serveResults(w http.ResponseWriter, r *http.Request, n int) {
	if !svcMethod(w, r, http.MethodGet) || !p.svcAuthorize(w, r, scopeResultReadOnly) || !svcAccepts(w, r, mediaResultContainer, true) {
		return
	}
	li, ok := p.lineItem(n)
	if !ok {
		svcError(w, http.StatusNotFound, "no such line item")
		return
	}
	q := r.URL.Query()
	page, limit, ok := p.svcPage(w, q)
	if !ok {
		return
	}
	var users []string
	last := map[string]Score{}
	for _, s := range p.Scores() {
		if s.LineItemID != li.ID {
			continue
		}
		if v := q.Get("user_id"); v != "" && s.UserID != v {
			continue
		}
		if _, seen := last[s.UserID]; !seen {
			users = append(users, s.UserID)
		}
		last[s.UserID] = s
	}
	base := strings.TrimSuffix(li.ID, "?"+lineItemQuery)
	all := make([]result, 0, len(users))
	for _, u := range users {
		s := last[u]
		res := result{
			ID:            base + "/results?" + lineItemQuery + "&user_id=" + url.QueryEscape(u),
			ScoreOf:       li.ID,
			UserID:        u,
			ResultMaximum: li.ScoreMaximum,
			Comment:       s.Comment,
			Timestamp:     s.Timestamp,
		}
		if s.ScoreGiven != nil && s.ScoreMaximum != nil {
			v := *s.ScoreGiven * li.ScoreMaximum / *s.ScoreMaximum
			res.ResultScore = &v
		}
		all = append(all, res)
	}
	from, to, more := svcSlice(len(all), page, limit)
	if more {
		w.Header().Add("Link", "<"+p.svcLink(PathLineItems+"/"+strconv.Itoa(n)+"/lineitem/results", q, page+1)+`>; rel="next"`)
	}
	svcWrite(w, http.StatusOK, mediaResultContainer, all[from:to])
}
