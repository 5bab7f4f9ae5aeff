package ltitest

import (
	"fmt"
	"maps"
	"math"
	"net/http"

	"github.com/ltikit/ltikit/lti"
)

// StartBrowserLaunch answers a real browser's request with the start of a
// launch, as GET /launch does (see [Platform.ServeHTTP]), but configured by
// opts instead of query parameters: an auto-submitting login initiation
// form to the tool (or a redirect, with WithLoginMethod("GET")), after which
// the tool's auth request reaches /auth and the launch proceeds as usual.
// A host that mounts the platform with [NewHandler] uses it to offer
// launches the query parameters of /launch cannot describe, such as extra
// custom claims ([WithClaims]) or a given user ([WithUser]). It does not
// check r's method; that is the caller's route.
func (p *Platform) StartBrowserLaunch(w http.ResponseWriter, r *http.Request, opts ...LaunchOption) {
	lc, err := p.newLaunchConfig(opts)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	loginURL := lc.cfg.ToolLoginURL
	if loginURL == "" {
		http.Error(w, "ltitest: no tool login URL is configured", http.StatusNotFound)
		return
	}
	params := p.startLogin(lc)
	w.Header().Set("Cache-Control", "no-store")
	if lc.loginMethod == http.MethodGet {
		u, err := withQuery(loginURL, params)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
		return
	}
	writeAutoSubmitForm(w, loginURL, orderedFields(params, loginParamOrder))
}

// ErrNotLaunchable is the error of [Platform.ContentItemLaunch] for a
// content item that cannot be launched: not an ltiResourceLink (a link,
// a file or an HTML fragment is shown by the platform, not launched), or
// one whose url, custom parameters or lineItem are unusable. Its code is
// invalid_request.
var ErrNotLaunchable = lti.NewSentinel(lti.CodeInvalidRequest, "ltitest: the content item cannot be launched")

// ItemLaunch is how the platform launches a content item it received by
// deep linking; see [Platform.ContentItemLaunch].
type ItemLaunch struct {
	// Options start the launch: pass them to [Platform.Launch] or
	// [Platform.StartBrowserLaunch], before [Platform.WithAGS] when the
	// launch carries the AGS claim.
	Options []LaunchOption
	// LineItem is the gradebook column the platform made for the item's
	// lineItem, bound to the resource link; nil when the item has none.
	LineItem *LineItem
}

// ContentItemLaunch returns the launch of item, a content item of an
// accepted deep linking response ([Platform.DeepLinkingResults]), as an
// LMS launches the resource link it placed in the course for it (LTI Deep
// Linking 2.0 §3.2, LTI Resource Link): a resource link launch of the link
// resourceLinkID, with the item's title and text as the resource_link
// claim's title and description, the item's url as target_link_uri (the
// configured TargetLinkURI when it has none) and its custom parameters
// over the platform's custom claim.
//
// When the item has a lineItem, the platform adds the line item (its
// label, or the item's title, its scoreMaximum, resourceId and tag) bound
// to resourceLinkID, once per resource link, as a platform that accepts
// line items does on receiving the item; [Platform.WithAGS] after the
// options then names it in the AGS claim. An item without one gets no line
// item: put the AGS claim without a lineitem URL,
// WithClaim(lti.ClaimAGSEndpoint, p.AGSClaim("")), rather than WithAGS,
// which would create the default column.
//
// It fails with [ErrNotLaunchable] (wrapped, with the reason) for an item
// that is not an ltiResourceLink, an empty resourceLinkID, a url that is
// not an absolute http(s) URL, custom values that are not strings (LTI 1.3
// Core §5.4.6), or a lineItem without a positive scoreMaximum.
func (p *Platform) ContentItemLaunch(item DeepLinkingItem, resourceLinkID string) (*ItemLaunch, error) {
	notLaunchable := func(reason string) error { return fmt.Errorf("%w: %s", ErrNotLaunchable, reason) }
	if item.Type != "ltiResourceLink" {
		return nil, notLaunchable(fmt.Sprintf("its type is %q, not ltiResourceLink", item.Type))
	}
	if resourceLinkID == "" || len(resourceLinkID) > 255 {
		return nil, notLaunchable("the resource link id must have 1 to 255 characters")
	}
	var it struct {
		URL      string            `json:"url"`
		Title    string            `json:"title"`
		Text     string            `json:"text"`
		Custom   map[string]string `json:"custom"`
		LineItem *struct {
			Label        string  `json:"label"`
			ScoreMaximum float64 `json:"scoreMaximum"`
			ResourceID   string  `json:"resourceId"`
			Tag          string  `json:"tag"`
		} `json:"lineItem"`
	}
	if err := item.Decode(&it); err != nil {
		return nil, notLaunchable("its url, title, text, custom or lineItem property has the wrong JSON type")
	}
	if it.URL != "" {
		if err := checkToolURL("content item url", it.URL); err != nil {
			return nil, notLaunchable("its url is not an absolute http(s) URL")
		}
	}
	il := &ItemLaunch{}
	if li := it.LineItem; li != nil {
		if !(li.ScoreMaximum > 0) || math.IsInf(li.ScoreMaximum, 0) {
			return nil, notLaunchable("its lineItem has no positive scoreMaximum")
		}
		label := li.Label
		if label == "" {
			label = it.Title
		}
		if label == "" {
			label = "ltitest activity"
		}
		stored := p.ensureLineItem(LineItem{Label: label, ScoreMaximum: li.ScoreMaximum, ResourceID: li.ResourceID,
			Tag: li.Tag, ResourceLinkID: resourceLinkID})
		il.LineItem = &stored
	}
	if it.URL != "" {
		il.Options = append(il.Options, WithTargetLinkURI(it.URL))
	}
	il.Options = append(il.Options, WithClaims(func(c map[string]any) {
		rl := map[string]any{"id": resourceLinkID}
		if it.Title != "" {
			rl["title"] = it.Title
		}
		if it.Text != "" {
			rl["description"] = it.Text
		}
		c[lti.ClaimResourceLink] = rl
		if len(it.Custom) > 0 {
			custom, _ := c[lti.ClaimCustom].(map[string]any)
			merged := make(map[string]any, len(custom)+len(it.Custom))
			maps.Copy(merged, custom)
			for k, v := range it.Custom {
				merged[k] = v
			}
			c[lti.ClaimCustom] = merged
		}
	}))
	return il, nil
}

// ensureLineItem returns the line item bound to li.ResourceLinkID, adding
// li when there is none.
func (p *Platform) ensureLineItem(li LineItem) LineItem {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	for _, rec := range p.svc.ags.items {
		if rec.li.ResourceLinkID == li.ResourceLinkID {
			return rec.li
		}
	}
	return p.addLineItemLocked(li)
}
