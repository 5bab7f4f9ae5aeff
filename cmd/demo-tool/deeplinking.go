package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/deeplink"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/session"
)

// Deep linking: a deep linking launch shows a picker of content items; its
// form posts the chosen ones to pathDeepLinking, which answers with the
// signed LtiDeepLinkingResponse in a form that posts itself to the
// platform's deep_link_return_url.
//
// The answer runs behind sessions.Require, like every page after the
// launch: the picker's form carries the launch session's hidden fields
// (lti_session, csrf_token), so it works in an iframe whose cookies the
// browser blocks, and the answer reads the deep linking settings (return
// URL, accepted types, opaque data) from the launch the session restores.
// Nothing of the request passes through the browser.
//
// A deep linking request must be answered at most once. Ending the
// session after the answer (Manager.End) would not ensure it: two answers
// racing on two nodes would both find the session before either ended it,
// and deleting a session that is already gone is no error. So the answer
// claims a single-use mark under the session's id (session.IDOf of its
// token) in the shared database (records.go) with one conditional insert,
// of which exactly one of racing answers, on any node, succeeds. The mark
// costs the launch no write: only the answer writes it, after the picked
// items are checked, so a refused pick costs nothing and may be corrected.
// If the response cannot be signed, the mark is released and the user may
// try again. The session itself is left to expire: the answer's page
// leaves the tool for the platform, and the mark refuses any later answer.

// dlAnswerTTL is how long an answer's mark lasts: as long as the session
// it marks can, so no live session is ever answered twice.
const dlAnswerTTL = sessionMax

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
	launchURL := a.toolURL(pathLaunch)
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
	Action    string
	Session   template.HTML // the launch session's hidden form fields
	Multiple  bool
	Items     []pickerItem
	Accepts   []string
	ReturnURL string
	Error     string
}

func (a *app) newPicker(req *deeplink.Request, s *session.Session) *picker {
	p := &picker{Action: a.toolURL(pathDeepLinking), Session: s.FormFields(), Multiple: req.AcceptMultiple,
		Accepts: req.AcceptTypes, ReturnURL: req.ReturnURL}
	for _, o := range a.dlCatalog() {
		_, note, ok := offerFor(req, o)
		p.Items = append(p.Items, pickerItem{ID: o.ID, Type: o.Item.ItemType(), Title: o.Title,
			Description: o.Description, Note: note, Accepted: ok})
	}
	return p
}

// newDeepLinking returns the picker of a deep linking launch, or a message
// saying why the request cannot be answered.
func (a *app) newDeepLinking(ctx context.Context, l *launch.Launch, s *session.Session) (*picker, string) {
	req, err := deeplink.ParseRequest(l)
	if err != nil {
		a.log.WarnContext(ctx, "deep linking request unusable", slog.String("error", err.Error()))
		return nil, "This deep linking request cannot be answered: " + lti.AsError(err).Description() + "."
	}
	return a.newPicker(req, s), ""
}

// respondDeepLinking answers the picker's form: it signs a deep linking
// response with the chosen items (none when cancelled) and answers the
// page that posts it to the platform. It runs behind sessions.Require.
func (a *app) respondDeepLinking(c echo.Context) error {
	l, s, err := current(c)
	if err != nil {
		return err
	}
	if !l.IsDeepLinking() {
		a.writeSessionErrorPage(c.Response(), c.Request(), "Deep linking failed", http.StatusBadRequest, "not_deep_linking",
			"this launch is not a deep linking request", "Start the deep linking from the platform.")
		return nil
	}
	req, err := deeplink.ParseRequest(l)
	if err != nil {
		e := lti.AsError(err)
		a.writeSessionErrorPage(c.Response(), c.Request(), "Deep linking failed", http.StatusBadRequest, string(e.Code()),
			"this deep linking request cannot be answered: "+e.Description(), "")
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
				return a.repick(c, req, s, picked, "The platform does not accept "+o.Item.ItemType()+" items.")
			}
			resp.Items = append(resp.Items, item)
		}
		switch {
		case len(resp.Items) == 0:
			return a.repick(c, req, s, picked, "Pick at least one item, or cancel.")
		case len(resp.Items) == 1:
			resp.Message = "demo-tool added 1 item."
		default:
			resp.Message = fmt.Sprintf("demo-tool added %d items.", len(resp.Items))
		}
	}
	resp.Log = fmt.Sprintf("demo-tool deep linking response: %d item(s)", len(resp.Items))
	if err := resp.Validate(); err != nil {
		a.log.WarnContext(c.Request().Context(), "deep linking response refused", slog.String("error", err.Error()))
		msg := "The platform would not accept this choice."
		if errors.Is(err, deeplink.ErrMultipleNotAccepted) {
			msg = "The platform accepts one item only."
		}
		return a.repick(c, req, s, picked, msg)
	}
	ctx := c.Request().Context()
	mark := session.IDOf(s.Token())
	first, err := a.dlAnswers.claim(ctx, mark)
	if err != nil {
		a.writeStorageError(c, err)
		return nil
	}
	if !first {
		a.writeSessionErrorPage(c.Response(), c.Request(), "Deep linking failed", http.StatusBadRequest, "already_answered",
			"this deep linking request was already answered",
			"A deep linking request is answered once: start the deep linking again from the platform.")
		return nil
	}
	if err := a.responder.Respond(ctx, c.Response(), resp); err != nil {
		// The keys are unavailable: the user may try again.
		if rerr := a.dlAnswers.release(ctx, mark); rerr != nil {
			a.log.ErrorContext(ctx, "deep linking answer mark not released", slog.String("error", rerr.Error()))
		}
		return a.writeServiceError(c, "Signing the deep linking response", err)
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "deep linking response sent",
		slog.String("iss", req.Issuer), slog.String("client_id", req.ClientID), slog.Int("items", len(resp.Items)))
	return nil
}

// repick shows the picker again with msg, the picked items ticked.
func (a *app) repick(c echo.Context, req *deeplink.Request, s *session.Session, picked []string, msg string) error {
	p := a.newPicker(req, s)
	p.Error = msg
	for i, it := range p.Items {
		p.Items[i].Checked = it.Accepted && slices.Contains(picked, it.ID)
	}
	return a.renderPageCSP(c, http.StatusBadRequest, "picker", formCSP, p)
}
