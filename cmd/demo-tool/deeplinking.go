package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/deeplink"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
)

// Deep linking: a deep linking launch shows a picker of content items; its
// form posts the chosen ones to pathDeepLinking, which answers with the
// signed LtiDeepLinkingResponse in a form that posts itself to the
// platform's deep_link_return_url.
//
// Between the two, the deep linking request (its return URL, settings and
// opaque data) waits in the shared database (records.go) under a random
// id, which the picker's form carries in a hidden field: the request never
// passes through the browser, the answer may reach any node, and the id is
// good for one answer within pendingDLTTL. The form does not need the
// session cookie, so picking works in an iframe whose cookies the browser
// blocks.
const (
	// pendingDLTTL is how long the user may take to pick.
	pendingDLTTL = 30 * time.Minute
	// formFieldDL is the picker form's field with the request's id.
	formFieldDL = "dl"
)

// dlOffer is a content item the picker offers.
type dlOffer struct {
	ID          string // the form value
	Title       string
	Description string
	Item        deeplink.Item
}

// dlCatalog is what the picker offers: one item of each kind demo-tool
// can return, built from the tool's base URL.
func (a *app) dlCatalog() []dlOffer {
	launchURL := a.toolURL("/lti/launch")
	return []dlOffer{
		{ID: "quiz", Title: "Quiz: LTI 1.3 basics", Description: "an activity launched in demo-tool, with a gradebook column (scoreMaximum 10)",
			Item: deeplink.LTIResourceLink{
				URL: launchURL, Title: "Quiz: LTI 1.3 basics", Text: "Ten questions on launches, roles and claims.",
				Custom:   map[string]string{"activity": "quiz-1"},
				LineItem: &deeplink.LineItem{ScoreMaximum: 10, Label: "Quiz: LTI 1.3 basics", ResourceID: "quiz-1", Tag: "grade"},
			}},
		{ID: "reading", Title: "Reading: the LTI security model", Description: "an ungraded activity launched in demo-tool",
			Item: deeplink.LTIResourceLink{
				URL: launchURL, Title: "Reading: the LTI security model", Text: "OIDC login, signed id_tokens and service tokens.",
				Custom: map[string]string{"activity": "reading-1"},
			}},
		{ID: "spec", Title: "LTI 1.3 Core specification", Description: "a link to a web page",
			Item: deeplink.Link{URL: "https://www.imsglobal.org/spec/lti/v1p3/", Title: "LTI 1.3 Core specification",
				Text: "The 1EdTech specification this course is about."}},
		{ID: "welcome", Title: "Welcome note", Description: "an HTML fragment the platform embeds",
			Item: deeplink.HTML{HTML: "<p>Welcome to the course! Start with the <strong>quiz</strong>.</p>", Title: "Welcome note"}},
	}
}

// offerFor adapts an offer to the request: ok is false when the platform
// does not accept its type; note says what was changed or why it is not
// offered.
func offerFor(req *deeplink.Request, o dlOffer) (item deeplink.Item, note string, ok bool) {
	if !req.AcceptsType(o.Item.ItemType()) {
		return nil, "the platform does not accept " + o.Item.ItemType() + " items", false
	}
	if rl, isRL := o.Item.(deeplink.LTIResourceLink); isRL && rl.LineItem != nil &&
		req.AcceptLineItem != nil && !*req.AcceptLineItem {
		rl.LineItem = nil
		return rl, "without its gradebook column: the platform does not accept line items", true
	}
	return o.Item, "", true
}

// pickerItem is an offer as the picker shows it.
type pickerItem struct {
	ID, Type, Title, Description, Note string
	Accepted, Checked                  bool
}

// picker is the data of the picker form.
type picker struct {
	ID        string // the pending request's id
	Action    string
	Multiple  bool
	Items     []pickerItem
	Accepts   []string
	ReturnURL string
	Error     string
}

func (a *app) newPicker(req *deeplink.Request, id string) *picker {
	p := &picker{ID: id, Action: a.toolURL(pathDeepLinking), Multiple: req.AcceptMultiple,
		Accepts: req.AcceptTypes, ReturnURL: req.ReturnURL}
	for _, o := range a.dlCatalog() {
		_, note, ok := offerFor(req, o)
		p.Items = append(p.Items, pickerItem{ID: o.ID, Type: o.Item.ItemType(), Title: o.Title,
			Description: o.Description, Note: note, Accepted: ok})
	}
	return p
}

// startDeepLinking keeps the launch's deep linking request for the picker
// and returns the picker, or a message saying why the request cannot be
// answered.
func (a *app) startDeepLinking(ctx context.Context, lc *launch.Context) (*picker, string) {
	req, err := deeplink.ParseRequest(lc)
	if err != nil {
		a.log.Warn("deep linking request unusable", slog.String("error", err.Error()))
		return nil, "This deep linking request cannot be answered: " + lti.AsError(err).Description + "."
	}
	id, err := a.pendingDL.put(ctx, req)
	if err != nil {
		a.log.ErrorContext(ctx, "deep linking request not stored", slog.String("error", err.Error()))
		return nil, "This deep linking request cannot be answered now: the tool's database is unavailable."
	}
	return a.newPicker(req, id), ""
}

// respondDeepLinking answers the picker's form: it signs a deep linking
// response with the chosen items (none when cancelled) and answers the
// page that posts it to the platform.
func (a *app) respondDeepLinking(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.FormValue(formFieldDL)
	req, expires, ok, err := a.pendingDL.take(ctx, id)
	if err != nil {
		a.writeStorageError(c, err)
		return nil
	}
	if !ok {
		writeErrorPageFull(c.Response(), c.Request(), "Deep linking failed", http.StatusBadRequest, "unknown_request",
			"this deep linking request has expired or was already answered",
			"Start the deep linking again from the platform: a request can be answered once, within 30 minutes.")
		return nil
	}
	form, _ := c.FormParams()
	picked := form["item"]
	resp := &deeplink.Response{Request: req}
	if c.FormValue("action") == "cancel" {
		resp.Message = "Nothing was added."
	} else {
		// Items in the catalog's order, each once; anything else is a
		// forged form.
		for _, o := range a.dlCatalog() {
			if !slices.Contains(picked, o.ID) {
				continue
			}
			item, _, ok := offerFor(req, o)
			if !ok {
				return a.repick(c, id, req, expires, picked, "The platform does not accept "+o.Item.ItemType()+" items.")
			}
			resp.Items = append(resp.Items, item)
		}
		switch {
		case len(resp.Items) == 0:
			return a.repick(c, id, req, expires, picked, "Pick at least one item, or cancel.")
		case len(resp.Items) == 1:
			resp.Message = "demo-tool added 1 item."
		default:
			resp.Message = fmt.Sprintf("demo-tool added %d items.", len(resp.Items))
		}
	}
	resp.Log = fmt.Sprintf("demo-tool deep linking response: %d item(s)", len(resp.Items))
	if err := resp.Validate(); err != nil {
		a.log.Warn("deep linking response refused", slog.String("error", err.Error()))
		msg := "The platform would not accept this choice."
		if errors.Is(err, deeplink.ErrMultipleNotAccepted) {
			msg = "The platform accepts one item only."
		}
		return a.repick(c, id, req, expires, picked, msg)
	}
	if err := a.responder.Respond(ctx, c.Response(), resp); err != nil {
		// The keys are unavailable: the user may try again.
		a.restorePending(ctx, id, req, expires)
		return a.writeServiceError(c, "Signing the deep linking response", err)
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "deep linking response sent",
		slog.String("iss", req.Issuer), slog.String("client_id", req.ClientID), slog.Int("items", len(resp.Items)))
	return nil
}

// repick puts the request back and shows the picker again with msg.
func (a *app) repick(c echo.Context, id string, req *deeplink.Request, expires time.Time, picked []string, msg string) error {
	a.restorePending(c.Request().Context(), id, req, expires)
	p := a.newPicker(req, id)
	p.Error = msg
	for i, it := range p.Items {
		p.Items[i].Checked = it.Accepted && slices.Contains(picked, it.ID)
	}
	return a.renderPageCSP(c, http.StatusBadRequest, "picker", formCSP, p)
}

// restorePending puts a taken deep linking request back so the user may
// answer again. If that fails the request is gone, and the user starts the
// deep linking again from the platform.
func (a *app) restorePending(ctx context.Context, id string, req *deeplink.Request, expires time.Time) {
	if err := a.pendingDL.restore(ctx, id, req, expires); err != nil {
		a.log.ErrorContext(ctx, "deep linking request not restored", slog.String("error", err.Error()))
	}
}
