package deeplink

import (
	"encoding/json"
	"math"
	"time"
)

// Content item types (Deep Linking 2.0 §3).
const (
	// TypeLink is a link to a web resource (§3.1).
	TypeLink = "link"
	// TypeLTIResourceLink is a link that launches the tool (§3.2).
	TypeLTIResourceLink = "ltiResourceLink"
	// TypeFile is a file the platform downloads (§3.3).
	TypeFile = "file"
	// TypeHTML is an HTML fragment (§3.4).
	TypeHTML = "html"
	// TypeImage is an image (§3.5).
	TypeImage = "image"
)

// Presentation document targets (Deep Linking 2.0 §4.4.1,
// accept_presentation_document_targets).
const (
	// TargetIframe: the item is shown in an iframe (an item's iframe property).
	TargetIframe = "iframe"
	// TargetWindow: the item opens in a new window (an item's window property).
	TargetWindow = "window"
	// TargetEmbed: the item is embedded (a link's embed property).
	TargetEmbed = "embed"
)

// Item is a content item of a deep linking response. The five types of
// Deep Linking 2.0 §3 are [LTIResourceLink], [Link], [File], [HTML] and
// [Image]; pass them as values or pointers. They marshal to the exact JSON
// of the specification: a "type" property, empty properties omitted.
//
// A host may add its own (extension) type: any value whose JSON is an
// object with a "type" property equal to ItemType. Such items are checked
// against accept_types and accept_multiple only.
type Item interface {
	// ItemType returns the item's type, the value of its "type" property.
	ItemType() string
}

// Icon is an icon or thumbnail image of an item (Deep Linking 2.0 §3).
type Icon struct {
	// URL is the image's absolute http(s) URL. Required.
	URL string `json:"url"`
	// Width and Height are the image's size in pixels; 0 leaves them out.
	Width int `json:"width,omitempty"`
	// Height: see Width.
	Height int `json:"height,omitempty"`
}

// Window asks the platform to open the item in a new window or tab
// (presentation target "window").
type Window struct {
	// TargetName is the name of the window to open the item in.
	TargetName string `json:"targetName,omitempty"`
	// Width and Height are the window's size in pixels.
	Width int `json:"width,omitempty"`
	// Height: see Width.
	Height int `json:"height,omitempty"`
	// WindowFeatures is the features argument of window.open, e.g.
	// "menubar=no,toolbar=no".
	WindowFeatures string `json:"windowFeatures,omitempty"`
}

// Iframe asks the platform to show the item in an iframe (presentation
// target "iframe").
type Iframe struct {
	// Src is the URL the iframe loads (link items); when set it must be an
	// absolute http(s) URL. ltiResourceLink items leave it empty: the
	// platform launches the link.
	Src string `json:"src,omitempty"`
	// Width and Height are the iframe's size in pixels.
	Width int `json:"width,omitempty"`
	// Height: see Width.
	Height int `json:"height,omitempty"`
}

// Embed asks the platform to embed the link's HTML (presentation target
// "embed").
type Embed struct {
	// HTML is the markup to embed. Required. The platform, not the tool,
	// decides whether and how to sanitise it.
	HTML string `json:"html"`
}

// LineItem asks the platform to create a gradebook column for an
// ltiResourceLink item (Deep Linking 2.0 §3.2, AGS 2.0).
type LineItem struct {
	// ScoreMaximum is the maximum score, a positive number. Required.
	ScoreMaximum float64 `json:"scoreMaximum"`
	// Label is the column's label; the platform uses the item's title when
	// it is empty.
	Label string `json:"label,omitempty"`
	// ResourceID is the tool's identifier for the graded resource.
	ResourceID string `json:"resourceId,omitempty"`
	// Tag qualifies the line item (e.g. "grade", "originality").
	Tag string `json:"tag,omitempty"`
	// GradesReleased says whether the platform releases grades to learners;
	// nil leaves it to the platform.
	GradesReleased *bool `json:"gradesReleased,omitempty"`
}

// TimeSpan is an available or submission window of an ltiResourceLink
// item. Zero times are left out; times are written as ISO 8601 (RFC 3339).
type TimeSpan struct {
	// StartDateTime is when the span starts.
	StartDateTime time.Time `json:"startDateTime,omitzero"`
	// EndDateTime is when the span ends; not before StartDateTime.
	EndDateTime time.Time `json:"endDateTime,omitzero"`
}

// LTIResourceLink is an ltiResourceLink item (Deep Linking 2.0 §3.2): a
// link the platform launches the tool with.
type LTIResourceLink struct {
	// URL is the launch URL; empty means the tool's default target link
	// URI. When set, an absolute http(s) URL.
	URL string `json:"url,omitempty"`
	// Title is the link's title.
	Title string `json:"title,omitempty"`
	// Text is a plain-text description.
	Text string `json:"text,omitempty"`
	// Icon is an icon image.
	Icon *Icon `json:"icon,omitempty"`
	// Thumbnail is a thumbnail image.
	Thumbnail *Icon `json:"thumbnail,omitempty"`
	// Window opens the launch in a new window (target "window").
	Window *Window `json:"window,omitempty"`
	// Iframe shows the launch in an iframe (target "iframe").
	Iframe *Iframe `json:"iframe,omitempty"`
	// Custom are custom parameters sent with every launch of the link.
	Custom map[string]string `json:"custom,omitempty"`
	// LineItem asks for a gradebook column; refused when the platform sent
	// accept_lineitem false.
	LineItem *LineItem `json:"lineItem,omitempty"`
	// Available is when learners may launch the link.
	Available *TimeSpan `json:"available,omitempty"`
	// Submission is when learners may submit.
	Submission *TimeSpan `json:"submission,omitempty"`
}

// Link is a link item (Deep Linking 2.0 §3.1): a web resource.
type Link struct {
	// URL is the resource's absolute http(s) URL. Required.
	URL string `json:"url"`
	// Title is the link's title.
	Title string `json:"title,omitempty"`
	// Text is a plain-text description.
	Text string `json:"text,omitempty"`
	// Icon is an icon image.
	Icon *Icon `json:"icon,omitempty"`
	// Thumbnail is a thumbnail image.
	Thumbnail *Icon `json:"thumbnail,omitempty"`
	// Embed embeds the resource's HTML (target "embed").
	Embed *Embed `json:"embed,omitempty"`
	// Window opens the resource in a new window (target "window").
	Window *Window `json:"window,omitempty"`
	// Iframe shows the resource in an iframe (target "iframe").
	Iframe *Iframe `json:"iframe,omitempty"`
}

// File is a file item (Deep Linking 2.0 §3.3): a file the platform
// downloads from URL, usually soon, as the URL may be short-lived.
type File struct {
	// URL is the download's absolute http(s) URL. Required.
	URL string `json:"url"`
	// Title is the file's title.
	Title string `json:"title,omitempty"`
	// Text is a plain-text description.
	Text string `json:"text,omitempty"`
	// Icon is an icon image.
	Icon *Icon `json:"icon,omitempty"`
	// Thumbnail is a thumbnail image.
	Thumbnail *Icon `json:"thumbnail,omitempty"`
	// MediaType is the file's media type, e.g. "application/pdf". It must
	// match accept_media_types when the platform sent one.
	MediaType string `json:"mediaType,omitempty"`
	// ExpiresAt is when URL stops working; zero leaves it out.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// HTML is an html item (Deep Linking 2.0 §3.4): a fragment the platform
// embeds.
type HTML struct {
	// HTML is the fragment. Required.
	HTML string `json:"html"`
	// Title is the fragment's title.
	Title string `json:"title,omitempty"`
	// Text is a plain-text description.
	Text string `json:"text,omitempty"`
}

// Image is an image item (Deep Linking 2.0 §3.5).
type Image struct {
	// URL is the image's absolute http(s) URL. Required.
	URL string `json:"url"`
	// Title is the image's title.
	Title string `json:"title,omitempty"`
	// Text is a plain-text description (alternative text).
	Text string `json:"text,omitempty"`
	// Icon is an icon image.
	Icon *Icon `json:"icon,omitempty"`
	// Thumbnail is a thumbnail image.
	Thumbnail *Icon `json:"thumbnail,omitempty"`
	// Width and Height are the image's size in pixels.
	Width int `json:"width,omitempty"`
	// Height: see Width.
	Height int `json:"height,omitempty"`
}

// ItemType returns "ltiResourceLink".
func (LTIResourceLink) ItemType() string { return TypeLTIResourceLink }

// ItemType returns "link".
func (Link) ItemType() string { return TypeLink }

// ItemType returns "file".
func (File) ItemType() string { return TypeFile }

// ItemType returns "html".
func (HTML) ItemType() string { return TypeHTML }

// ItemType returns "image".
func (Image) ItemType() string { return TypeImage }

// marshalTyped marshals v, a struct without MarshalJSON whose JSON is an
// object, with a leading "type" property.
func marshalTyped(typ string, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	t, err := json.Marshal(typ)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(body)+len(t)+8)
	out = append(out, `{"type":`...)
	out = append(out, t...)
	if len(body) > 2 { // body is {…}
		out = append(out, ',')
		return append(out, body[1:]...), nil
	}
	return append(out, '}'), nil
}

// The plain types have no methods, so marshaling them does not recurse.
type (
	plainResourceLink LTIResourceLink
	plainLink         Link
	plainFile         File
	plainHTML         HTML
	plainImage        Image
)

// MarshalJSON writes the item with "type":"ltiResourceLink".
func (l LTIResourceLink) MarshalJSON() ([]byte, error) {
	return marshalTyped(TypeLTIResourceLink, plainResourceLink(l))
}

// MarshalJSON writes the item with "type":"link".
func (l Link) MarshalJSON() ([]byte, error) {
	return marshalTyped(TypeLink, plainLink(l))
}

// MarshalJSON writes the item with "type":"file".
func (f File) MarshalJSON() ([]byte, error) {
	return marshalTyped(TypeFile, plainFile(f))
}

// MarshalJSON writes the item with "type":"html".
func (h HTML) MarshalJSON() ([]byte, error) {
	return marshalTyped(TypeHTML, plainHTML(h))
}

// MarshalJSON writes the item with "type":"image".
func (i Image) MarshalJSON() ([]byte, error) {
	return marshalTyped(TypeImage, plainImage(i))
}

// validator collects the first refusal while items are checked.
type validator struct {
	req   *Request
	index int
	err   *Error
}

func (v *validator) fail(reason Reason, field, detail string) {
	if v.err == nil {
		v.err = refusal(reason, v.index, field, detail, specItems)
	}
}

// url checks an item URL; required URLs must be present.
func (v *validator) url(field, u string, required bool) {
	switch {
	case u == "" && required:
		v.fail(ReasonInvalidItem, field, "the URL is required")
	case u != "" && !webURL(u):
		v.fail(ReasonInvalidURL, field, "the URL is not an absolute http(s) URL")
	}
}

func (v *validator) icon(field string, i *Icon) {
	if i == nil {
		return
	}
	v.url(field+".url", i.URL, true)
	v.size(field, i.Width, i.Height)
}

func (v *validator) size(field string, w, h int) {
	if w < 0 || h < 0 {
		v.fail(ReasonInvalidItem, field, "a width or height is negative")
	}
}

func (v *validator) target(field, target string) {
	if !v.req.AcceptsTarget(target) {
		v.fail(ReasonTargetNotAccepted, field, "the platform does not accept the presentation target "+target)
	}
}

func (v *validator) window(w *Window) {
	if w == nil {
		return
	}
	v.target("window", TargetWindow)
	v.size("window", w.Width, w.Height)
}

func (v *validator) iframe(f *Iframe) {
	if f == nil {
		return
	}
	v.target("iframe", TargetIframe)
	v.url("iframe.src", f.Src, false)
	v.size("iframe", f.Width, f.Height)
}

func (v *validator) span(field string, s *TimeSpan) {
	if s != nil && !s.StartDateTime.IsZero() && !s.EndDateTime.IsZero() && s.EndDateTime.Before(s.StartDateTime) {
		v.fail(ReasonInvalidItem, field, "the span ends before it starts")
	}
}

// checker is implemented by the item types of this package.
type checker interface {
	check(v *validator)
}

func (l LTIResourceLink) check(v *validator) {
	v.url("url", l.URL, false)
	v.icon("icon", l.Icon)
	v.icon("thumbnail", l.Thumbnail)
	v.window(l.Window)
	v.iframe(l.Iframe)
	if li := l.LineItem; li != nil {
		if v.req.AcceptLineItem != nil && !*v.req.AcceptLineItem {
			v.fail(ReasonLineItemNotAccepted, "lineItem", "the platform sent accept_lineitem false")
		}
		if !(li.ScoreMaximum > 0) || math.IsInf(li.ScoreMaximum, 0) {
			v.fail(ReasonInvalidItem, "lineItem.scoreMaximum", "scoreMaximum must be a positive number")
		}
	}
	v.span("available", l.Available)
	v.span("submission", l.Submission)
}

func (l Link) check(v *validator) {
	v.url("url", l.URL, true)
	v.icon("icon", l.Icon)
	v.icon("thumbnail", l.Thumbnail)
	if l.Embed != nil {
		v.target("embed", TargetEmbed)
		if l.Embed.HTML == "" {
			v.fail(ReasonInvalidItem, "embed.html", "the embed has no HTML")
		}
	}
	v.window(l.Window)
	v.iframe(l.Iframe)
}

func (f File) check(v *validator) {
	v.url("url", f.URL, true)
	v.icon("icon", f.Icon)
	v.icon("thumbnail", f.Thumbnail)
	if f.MediaType != "" {
		if _, ok := baseMediaType(f.MediaType); !ok {
			v.fail(ReasonInvalidItem, "mediaType", "the media type is malformed")
		}
	}
	if !v.req.AcceptsMediaType(f.MediaType) {
		v.fail(ReasonMediaTypeNotAccepted, "mediaType", "the media type is not in accept_media_types")
	}
}

func (h HTML) check(v *validator) {
	if h.HTML == "" {
		v.fail(ReasonInvalidItem, "html", "the html item has no HTML")
	}
}

func (i Image) check(v *validator) {
	v.url("url", i.URL, true)
	v.icon("icon", i.Icon)
	v.icon("thumbnail", i.Thumbnail)
	v.size("", i.Width, i.Height)
}
