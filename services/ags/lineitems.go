package ags

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"net/http"
	"strconv"

	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/services/internal/svchttp"
)

// LineItem is a gradebook column (AGS 2.0 §3.2).
type LineItem struct {
	// ID is the line item's URL, set by the platform.
	ID string `json:"id,omitempty"`
	// ScoreMaximum is the maximum score of the column; it must be > 0.
	ScoreMaximum float64 `json:"scoreMaximum"`
	// Label is the column's title; it must not be empty.
	Label string `json:"label"`
	// ResourceID is the tool's own id for the activity.
	ResourceID string `json:"resourceId,omitempty"`
	// ResourceLinkID binds the line item to a resource link.
	ResourceLinkID string `json:"resourceLinkId,omitempty"`
	// Tag qualifies the line item (e.g. "grade", "originality").
	Tag string `json:"tag,omitempty"`
	// StartDateTime is when submissions open: an ISO 8601 date-time with
	// a time zone, kept as sent. Empty when not set.
	StartDateTime string `json:"startDateTime,omitempty"`
	// EndDateTime is when submissions close, like StartDateTime. Empty
	// when not set.
	EndDateTime string `json:"endDateTime,omitempty"`
	// GradesReleased tells whether the platform shows grades to learners.
	GradesReleased *bool `json:"gradesReleased,omitempty"`
	// SubmissionReview declares the line item's submission review (AGS
	// 2.0 §3.2.8, LTI Submission Review 1.0).
	SubmissionReview *SubmissionReview `json:"submissionReview,omitempty"`
	// Extensions holds the members no field above claims, as sent: vendor
	// extensions such as Moodle's "ltiLinkId" or Canvas's
	// "https://canvas.instructure.com/lti/submission_type". They are sent
	// back by UpdateLineItem.
	Extensions map[string]json.RawMessage `json:"-"`
}

// SubmissionReview is the submissionReview of a line item.
type SubmissionReview struct {
	// ReviewableStatus lists the activityProgress values a learner's
	// submission can be reviewed in.
	ReviewableStatus []string `json:"reviewableStatus,omitempty"`
	// Label is the review launch's link text. Empty: the platform's own.
	Label string `json:"label,omitempty"`
	// URL is where the review launch lands (its target_link_uri). Empty:
	// the platform's default, the resource link's or the tool's URL.
	URL string `json:"url,omitempty"`
	// Custom are custom parameters added to the review launch's custom
	// claim. Nil when none.
	Custom map[string]string `json:"custom,omitempty"`
}

type lineItemFields LineItem

var lineItemKnown = svchttp.KnownNames[lineItemFields]()

// UnmarshalJSON decodes a line item, keeping unknown members in Extensions.
func (li *LineItem) UnmarshalJSON(b []byte) error {
	var f lineItemFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	f.Extensions = lineItemKnown.Extensions(b)
	*li = LineItem(f)
	return nil
}

// MarshalJSON encodes a line item with its Extensions.
func (li LineItem) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(lineItemFields(li))
	if err != nil {
		return nil, err
	}
	return lineItemKnown.AppendExtensions(b, li.Extensions)
}

// Validate checks the rules of AGS 2.0 §3.2 a platform enforces on create
// and update: a label and a finite scoreMaximum > 0.
func (li LineItem) Validate() error {
	switch {
	case li.Label == "":
		return fmt.Errorf("%w: label is empty", ErrInvalidLineItem)
	case !(li.ScoreMaximum > 0) || math.IsInf(li.ScoreMaximum, 0):
		return fmt.Errorf("%w: scoreMaximum must be a number > 0", ErrInvalidLineItem)
	}
	return nil
}

// LineItemsQuery filters a line item list (AGS 2.0 §3.2.4). Empty fields
// do not filter.
type LineItemsQuery struct {
	// ResourceLinkID keeps the line items bound to this resource link
	// (resource_link_id).
	ResourceLinkID string
	// ResourceID keeps the line items with this resourceId (resource_id).
	ResourceID string
	// Tag keeps the line items with this tag (tag).
	Tag string
	// Limit asks the platform for at most this many line items per page
	// (limit); 0 leaves the page size to the platform.
	Limit int
}

// LineItems lists the context's line items: GET on the claim's lineitems
// URL with Accept application/vnd.ims.lis.v2.lineitemcontainer+json and
// q's filters, following Link rel="next" from page to page. It needs the
// lineitem or lineitem.readonly scope.
//
// Nothing is requested until the sequence is ranged over; each page is
// fetched when the previous one is used up and decoded item by item.
// Iteration stops at the first error, yielded with a zero LineItem:
// [ErrScopeNotGranted] or [ErrNoLineItemsURL] before any request, an
// *[HTTPError], [ErrForeignHost] for a next link off the platform (no
// token sent), [ErrResponseTooLarge], [ErrMalformedResponse], or the
// context's error.
func (c *Client) LineItems(ctx context.Context, q LineItemsQuery) iter.Seq2[LineItem, error] {
	return func(yield func(LineItem, error) bool) {
		first, err := c.lineItemsURL(q)
		if err != nil {
			yield(LineItem{}, err)
			return
		}
		for li, err := range svchttp.ArrayPages[LineItem](ctx, c.caller, first, MediaTypeLineItemContainer, telemetry.OpLineItemsList) {
			if !yield(li, err) || err != nil {
				return
			}
		}
	}
}

func (c *Client) lineItemsURL(q LineItemsQuery) (string, error) {
	if err := c.need("listing line items", ScopeLineItem, ScopeLineItemReadOnly); err != nil {
		return "", err
	}
	if c.ep.LineItems == "" {
		return "", ErrNoLineItemsURL
	}
	limit := ""
	if q.Limit > 0 {
		limit = strconv.Itoa(q.Limit)
	}
	return withQuery(c.ep.LineItems,
		"resource_link_id", q.ResourceLinkID,
		"resource_id", q.ResourceID,
		"tag", q.Tag,
		"limit", limit)
}

// LineItem reads one line item: GET on its URL (the claim's lineitem URL
// when lineItemURL is empty) with Accept
// application/vnd.ims.lis.v2.lineitem+json (AGS 2.0 §3.2.5). It needs the
// lineitem or lineitem.readonly scope.
func (c *Client) LineItem(ctx context.Context, lineItemURL string) (*LineItem, error) {
	if err := c.need("reading a line item", ScopeLineItem, ScopeLineItemReadOnly); err != nil {
		return nil, err
	}
	target, err := c.lineItemURL(lineItemURL)
	if err != nil {
		return nil, err
	}
	resp, err := c.caller.Do(ctx, svchttp.Request{Method: http.MethodGet, URL: target, Accept: MediaTypeLineItem, Operation: telemetry.OpLineItemGet}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var li LineItem
	ok, err := readJSON(resp, &li)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: empty line item", ErrMalformedResponse)
	}
	return &li, nil
}

// CreateLineItem adds a line item to the context: POST of li (without id)
// to the claim's lineitems URL with Content-Type
// application/vnd.ims.lis.v2.lineitem+json (AGS 2.0 §3.2.4). It returns
// the platform's line item, id included. It needs the lineitem scope; li
// must pass [LineItem.Validate].
func (c *Client) CreateLineItem(ctx context.Context, li LineItem) (*LineItem, error) {
	if err := c.need("creating a line item", ScopeLineItem); err != nil {
		return nil, err
	}
	if c.ep.LineItems == "" {
		return nil, ErrNoLineItemsURL
	}
	if err := li.Validate(); err != nil {
		return nil, err
	}
	li.ID = ""
	return c.sendLineItem(ctx, telemetry.OpLineItemCreate, http.MethodPost, c.ep.LineItems, li, http.StatusCreated, http.StatusOK)
}

// UpdateLineItem replaces a line item: PUT of li to li.ID with
// Content-Type application/vnd.ims.lis.v2.lineitem+json (AGS 2.0 §3.2.5).
// It returns the platform's line item (li itself when the platform answers
// without a body). It needs the lineitem scope; li must have an ID and
// pass [LineItem.Validate]. Extensions are sent back as they came.
func (c *Client) UpdateLineItem(ctx context.Context, li LineItem) (*LineItem, error) {
	if err := c.need("updating a line item", ScopeLineItem); err != nil {
		return nil, err
	}
	if li.ID == "" {
		return nil, fmt.Errorf("%w: no id", ErrInvalidLineItem)
	}
	if err := li.Validate(); err != nil {
		return nil, err
	}
	return c.sendLineItem(ctx, telemetry.OpLineItemUpdate, http.MethodPut, li.ID, li, http.StatusOK, http.StatusNoContent)
}

func (c *Client) sendLineItem(ctx context.Context, op, method, target string, li LineItem, ok ...int) (*LineItem, error) {
	body, err := json.Marshal(li)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidLineItem, err)
	}
	resp, err := c.caller.Do(ctx, svchttp.Request{
		Method: method, URL: target, Body: body,
		ContentType: MediaTypeLineItem, Accept: MediaTypeLineItem, Operation: op,
	}, ok...)
	if err != nil {
		return nil, err
	}
	out := li
	if _, err := readJSON(resp, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteLineItem removes a line item: DELETE on its URL (AGS 2.0 §3.2.5).
// lineItemURL must not be empty: deleting the launch's own line item is
// never implied. It needs the lineitem scope; 200, 202 and 204 are success.
func (c *Client) DeleteLineItem(ctx context.Context, lineItemURL string) error {
	if err := c.need("deleting a line item", ScopeLineItem); err != nil {
		return err
	}
	if lineItemURL == "" {
		return fmt.Errorf("%w: no line item URL", ErrInvalidLineItem)
	}
	resp, err := c.caller.Do(ctx, svchttp.Request{Method: http.MethodDelete, URL: lineItemURL, Operation: telemetry.OpLineItemDelete},
		http.StatusOK, http.StatusAccepted, http.StatusNoContent)
	if err != nil {
		return err
	}
	drainClose(resp)
	return nil
}
