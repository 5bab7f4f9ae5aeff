package deeplink

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/url"
	"slices"
	"strings"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
)

// Request is what a tool needs from an LtiDeepLinkingRequest to answer it:
// the deep_linking_settings claim (Deep Linking 2.0 §4.4.1) and the
// identities the response is addressed with. Get one with [ParseRequest].
//
// A Request is plain data with JSON tags, so a tool can keep it in its
// session while the user picks content, and answer later.
type Request struct {
	// ReturnURL is the deep_link_return_url: where the response is posted.
	// Always an absolute http(s) URL.
	ReturnURL string `json:"deep_link_return_url"`
	// AcceptTypes are the content item types the platform accepts
	// (accept_types), e.g. "ltiResourceLink", "link", "file", "html",
	// "image". Never empty.
	AcceptTypes []string `json:"accept_types"`
	// AcceptPresentationDocumentTargets are the presentations the platform
	// accepts (accept_presentation_document_targets): "iframe", "window",
	// "embed". Never empty.
	AcceptPresentationDocumentTargets []string `json:"accept_presentation_document_targets"`
	// AcceptMediaTypes is accept_media_types as sent: a comma-separated list
	// of media types (wildcards like "image/*" allowed) that file items must
	// match. Empty: no restriction.
	AcceptMediaTypes string `json:"accept_media_types,omitempty"`
	// AcceptMultiple is accept_multiple. The specification gives no default
	// for an absent accept_multiple; it only says the claim tells "whether
	// the platform allows multiple content items". A platform that did not
	// say it does gets at most one item: absent is false (fail closed).
	// Moodle 4.5 sends true explicitly.
	AcceptMultiple bool `json:"accept_multiple"`
	// AcceptLineItem is accept_lineitem: true when the platform creates a
	// line item for an ltiResourceLink's lineItem, false when it would
	// ignore it (line items are then refused), nil when the platform did not
	// say. The specification says no assumption may be made when it is
	// absent, so nil does not refuse line items; Moodle 4.5 does not send
	// the claim and creates the line item.
	AcceptLineItem *bool `json:"accept_lineitem,omitempty"`
	// AutoCreate is auto_create: whether the platform persists the returned
	// items without letting the user cancel. The specification's default
	// is false.
	AutoCreate bool `json:"auto_create"`
	// AcceptCopyAdvice is accept_copy_advice (sent by Moodle 4.5); absent is
	// false.
	AcceptCopyAdvice bool `json:"accept_copy_advice"`
	// Title and Text are the platform's default title and text for the
	// content item (title, text).
	Title string `json:"title,omitempty"`
	// Text: see Title.
	Text string `json:"text,omitempty"`
	// Data is the opaque data value exactly as the platform sent it: its
	// raw JSON text, a JSON string. Nil when the platform sent none. The
	// response echoes it unchanged (Deep Linking 2.0 §4.4.1, §4.5).
	Data json.RawMessage `json:"data,omitempty"`

	// Issuer is the platform's issuer: the aud of the response.
	Issuer string `json:"issuer"`
	// ClientID is the tool's client_id on the platform: the iss of the
	// response.
	ClientID string `json:"client_id"`
	// DeploymentID is the deployment_id the response echoes.
	DeploymentID string `json:"deployment_id"`
}

// ParseRequest reads the deep linking request of a validated launch: the
// deep_linking_settings claim, the registration's issuer and client_id and
// the deployment_id. Settings are read from the raw claims, so absent and
// empty values stay apart and data keeps the platform's exact bytes; a
// Context without raw claims (one a host made by hand) falls back to the
// typed Claims.DeepLinking, where an empty data counts as absent.
//
// Errors: a launch that is not an LtiDeepLinkingRequest is
// [ErrNotDeepLinking]; settings that are missing, not an object, of the
// wrong JSON type or without accept_types or
// accept_presentation_document_targets are [ErrInvalidSettings]; a
// deep_link_return_url that is not an absolute http(s) URL is
// [ErrInvalidReturnURL]; a context without issuer, client_id or
// deployment_id is [ErrInvalidRequest]. All wrap lti.ErrInvalidClaims.
func ParseRequest(l *launch.Launch) (*Request, error) {
	if l == nil || l.Claims == nil {
		return nil, requestErr(ReasonNotDeepLinking, "", "no launch")
	}
	if l.Claims.MessageType != lti.MessageDeepLinking {
		return nil, requestErr(ReasonNotDeepLinking, "", "the launch is not an LtiDeepLinkingRequest")
	}
	var (
		req *Request
		err error
	)
	if raw := l.RawClaims(); len(raw) > 0 {
		req, err = parseClaims(raw)
	} else {
		req, err = fromTyped(l.Claims.DeepLinking)
	}
	if err != nil {
		return nil, err
	}
	req.Issuer = l.Registration.Issuer
	req.ClientID = l.Registration.ClientID
	req.DeploymentID = l.Claims.DeploymentID
	if req.Issuer == "" || req.ClientID == "" || req.DeploymentID == "" {
		return nil, requestErr(ReasonInvalidRequest, "", "the launch has no issuer, client_id or deployment_id")
	}
	return req, nil
}

// parseClaims reads the deep_linking_settings of an id_token payload.
// Top-level and settings property names match exactly (JWT claim names are
// case-sensitive); a repeated name keeps its last value, as in
// lti.DecodeClaims.
func parseClaims(payload []byte) (*Request, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil || top == nil {
		return nil, requestErr(ReasonInvalidSettings, "", "the claims are not a JSON object")
	}
	raw, ok := top[lti.ClaimDeepLinking]
	if !ok || isNull(raw) {
		return nil, requestErr(ReasonInvalidSettings, "deep_linking_settings", "the claim is missing")
	}
	return parseSettings(raw)
}

// parseSettings reads a deep_linking_settings object.
func parseSettings(raw []byte) (*Request, error) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(raw, &f); err != nil || f == nil {
		return nil, requestErr(ReasonInvalidSettings, "deep_linking_settings", "the claim is not a JSON object")
	}
	r := &Request{}
	bad := func(name string) error {
		return requestErr(ReasonInvalidSettings, name, "the property has the wrong JSON type")
	}
	for _, s := range []struct {
		name string
		dst  *string
	}{
		{"deep_link_return_url", &r.ReturnURL},
		{"accept_media_types", &r.AcceptMediaTypes},
		{"title", &r.Title},
		{"text", &r.Text},
	} {
		if v, ok := f[s.name]; ok && !isNull(v) {
			if json.Unmarshal(v, s.dst) != nil {
				return nil, bad(s.name)
			}
		}
	}
	for _, l := range []struct {
		name string
		dst  *[]string
	}{
		{"accept_types", &r.AcceptTypes},
		{"accept_presentation_document_targets", &r.AcceptPresentationDocumentTargets},
	} {
		if v, ok := f[l.name]; ok && !isNull(v) {
			if json.Unmarshal(v, l.dst) != nil {
				return nil, bad(l.name)
			}
		}
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{
		{"accept_multiple", &r.AcceptMultiple},
		{"auto_create", &r.AutoCreate},
		{"accept_copy_advice", &r.AcceptCopyAdvice},
	} {
		if v, ok := f[b.name]; ok && !isNull(v) {
			if json.Unmarshal(v, b.dst) != nil {
				return nil, bad(b.name)
			}
		}
	}
	if v, ok := f["accept_lineitem"]; ok && !isNull(v) {
		var b bool
		if json.Unmarshal(v, &b) != nil {
			return nil, bad("accept_lineitem")
		}
		r.AcceptLineItem = &b
	}
	if v, ok := f["data"]; ok && !isNull(v) {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, bad("data")
		}
		r.Data = bytes.Clone(v)
	}
	return r, r.check()
}

// fromTyped builds a Request from the typed settings claim.
func fromTyped(dl *lti.DeepLinkingSettings) (*Request, error) {
	if dl == nil {
		return nil, requestErr(ReasonInvalidSettings, "deep_linking_settings", "the claim is missing")
	}
	r := &Request{
		ReturnURL:                         dl.DeepLinkReturnURL,
		AcceptTypes:                       slices.Clone(dl.AcceptTypes),
		AcceptPresentationDocumentTargets: slices.Clone(dl.AcceptPresentationDocumentTargets),
		AcceptMediaTypes:                  dl.AcceptMediaTypes,
		AcceptMultiple:                    dl.AcceptMultiple != nil && *dl.AcceptMultiple,
		AutoCreate:                        dl.AutoCreate != nil && *dl.AutoCreate,
		AcceptCopyAdvice:                  dl.AcceptCopyAdvice != nil && *dl.AcceptCopyAdvice,
		Title:                             dl.Title,
		Text:                              dl.Text,
	}
	if dl.AcceptLineItem != nil {
		b := *dl.AcceptLineItem
		r.AcceptLineItem = &b
	}
	if dl.Data != "" {
		r.Data, _ = json.Marshal(dl.Data)
	}
	return r, r.check()
}

// check validates the settings Deep Linking 2.0 §4.4.1 requires.
func (r *Request) check() error {
	if r.ReturnURL == "" {
		return requestErr(ReasonInvalidSettings, "deep_link_return_url", "the return URL is missing")
	}
	if !webURL(r.ReturnURL) {
		return requestErr(ReasonInvalidReturnURL, "deep_link_return_url", "the return URL is not an absolute http(s) URL")
	}
	if len(r.AcceptTypes) == 0 {
		return requestErr(ReasonInvalidSettings, "accept_types", "accept_types is missing or empty")
	}
	if len(r.AcceptPresentationDocumentTargets) == 0 {
		return requestErr(ReasonInvalidSettings, "accept_presentation_document_targets", "accept_presentation_document_targets is missing or empty")
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// AcceptsType reports whether the platform accepts content items of type t
// (exact, case-sensitive match with accept_types).
func (r *Request) AcceptsType(t string) bool { return slices.Contains(r.AcceptTypes, t) }

// AcceptsTarget reports whether the platform accepts the presentation
// document target t ("iframe", "window", "embed").
func (r *Request) AcceptsTarget(t string) bool {
	return slices.Contains(r.AcceptPresentationDocumentTargets, t)
}

// AcceptsMediaType reports whether a file of media type mt may be
// returned: true when accept_media_types is empty, otherwise when mt (its
// parameters ignored, case-insensitive) matches one of the listed types
// exactly, by a "type/*" wildcard or by "*/*". A malformed or empty mt
// matches only when there is no restriction.
func (r *Request) AcceptsMediaType(mt string) bool {
	if strings.TrimSpace(r.AcceptMediaTypes) == "" {
		return true
	}
	want, ok := baseMediaType(mt)
	if !ok {
		return false
	}
	major, _, _ := strings.Cut(want, "/")
	for _, part := range strings.Split(r.AcceptMediaTypes, ",") {
		acc, ok := baseMediaType(part)
		if !ok {
			continue
		}
		if acc == want || acc == "*/*" || acc == major+"/*" {
			return true
		}
	}
	return false
}

// baseMediaType returns the lower-case type/subtype of a media type,
// without parameters.
func baseMediaType(s string) (string, bool) {
	mt, _, err := mime.ParseMediaType(strings.TrimSpace(s))
	if err != nil {
		return "", false
	}
	major, minor, ok := strings.Cut(mt, "/")
	if !ok || major == "" || minor == "" {
		return "", false
	}
	return mt, true
}

// DataString returns the data value the platform sent, decoded, and
// whether it sent one.
func (r *Request) DataString() (string, bool) {
	if r.Data == nil {
		return "", false
	}
	var s string
	if json.Unmarshal(r.Data, &s) != nil {
		return "", false
	}
	return s, true
}

// webURL reports whether s is an absolute http(s) URL with a host and
// without user info.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil && u.Opaque == ""
}
