package ltitest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/ltikit/ltikit/lti"
)

// Deep linking response claims and values (LTI Deep Linking 2.0 §4.5).
const (
	// MessageDeepLinkingResponse is the message_type of a deep linking
	// response.
	MessageDeepLinkingResponse = "LtiDeepLinkingResponse"
	// ClaimContentItems is the content_items claim of a deep linking
	// response.
	ClaimContentItems = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
	// ClaimDeepLinkingData is the data claim a deep linking response echoes.
	ClaimDeepLinkingData = "https://purl.imsglobal.org/spec/lti-dl/claim/data"

	claimDLMsg      = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
	claimDLLog      = "https://purl.imsglobal.org/spec/lti-dl/claim/log"
	claimDLErrorMsg = "https://purl.imsglobal.org/spec/lti-dl/claim/errormsg"
	claimDLErrorLog = "https://purl.imsglobal.org/spec/lti-dl/claim/errorlog"
)

const (
	// dlSkew is the tolerance for exp and iat of deep linking responses.
	dlSkew = time.Minute
	// dlRequestTTL is how long a deep linking request can be answered:
	// the user may take a while to pick content.
	dlRequestTTL = time.Hour
	// maxDLRecords bounds the requests, nonces and results kept.
	maxDLRecords = 4096
)

// deepLinkState is the deep linking state of a platform; its zero value is
// ready. Guarded by Platform.mu.
type deepLinkState struct {
	requests []dlRequest          // deep linking requests minted, oldest first
	nonces   map[string]time.Time // response nonces seen → when they may be forgotten
	results  []DeepLinkingResult
}

// dlRequest is a deep linking request the platform sent: what a response
// must match.
type dlRequest struct {
	deploymentID string
	data         *string // nil: no data claim
	settings     dlSettings
	created      time.Time
}

type dlSettings struct {
	AcceptTypes      []string `json:"accept_types"`
	AcceptTargets    []string `json:"accept_presentation_document_targets"`
	AcceptMultiple   *bool    `json:"accept_multiple"`
	AcceptLineItem   *bool    `json:"accept_lineitem"`
	AcceptMediaTypes string   `json:"accept_media_types"`
}

// recordDeepLinkingRequest remembers the deep linking request in claims
// (the id_token the auth endpoint just minted), so the response to it can
// be checked: its deployment_id, its data and its settings.
func (p *Platform) recordDeepLinkingRequest(claims map[string]any) {
	if mt, _ := claims[lti.ClaimMessageType].(string); mt != lti.MessageDeepLinking {
		return
	}
	req := dlRequest{created: time.Now()}
	req.deploymentID, _ = claims[lti.ClaimDeploymentID].(string)
	// The settings are whatever the test made of them: read them back as
	// JSON, the way the tool sees them.
	if raw, err := json.Marshal(claims[lti.ClaimDeepLinking]); err == nil {
		_ = json.Unmarshal(raw, &req.settings)
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) == nil {
			var s string
			if d, ok := fields["data"]; ok && json.Unmarshal(d, &s) == nil && string(d) != "null" {
				req.data = &s
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rs := p.dl.requests[:0]
	for _, r := range p.dl.requests {
		if req.created.Sub(r.created) < dlRequestTTL {
			rs = append(rs, r)
		}
	}
	if len(rs) >= maxDLRecords {
		rs = rs[1:]
	}
	p.dl.requests = append(rs, req)
}

// DeepLinkingResult is one deep linking response posted to /deep_links and
// what the platform made of it.
type DeepLinkingResult struct {
	// JWT is the posted JWT.
	JWT string
	// Err is nil when the response was verified and accepted; otherwise a
	// *[DeepLinkingError] saying why it was refused (the platform answered
	// 400).
	Err error
	// Header and Claims are the JWT's header and claims, numbers as
	// json.Number; nil when the JWT could not be decoded. Claims are
	// trustworthy only when Err is nil.
	Header, Claims map[string]any
	// Items are the content items, in order; empty when refused.
	Items []DeepLinkingItem
	// Data is the echoed data claim, nil when the response had none.
	Data *string
	// Message, Log, ErrorMessage and ErrorLog are the msg, log, errormsg
	// and errorlog claims.
	Message, Log, ErrorMessage, ErrorLog string
}

// DeepLinkingItem is one content item of an accepted response.
type DeepLinkingItem struct {
	// Type is the item's type, e.g. "ltiResourceLink".
	Type string
	// URL, Title and Text are the item's url, title and text properties
	// (empty when absent).
	URL, Title, Text string
	// JSON is the item exactly as the tool sent it.
	JSON json.RawMessage
}

// Decode unmarshals the item's JSON into v.
func (it DeepLinkingItem) Decode(v any) error { return json.Unmarshal(it.JSON, v) }

// DeepLinkingError says why the platform refused a deep linking response.
type DeepLinkingError struct {
	// Claim names what was wrong: a header parameter ("alg", "kid"),
	// "signature", a claim ("iss", "aud", "exp", "iat", "nonce",
	// "message_type", "version", "deployment_id", "data",
	// "content_items", …) or "JWT" for the form field itself.
	Claim string
	// Reason says what was wrong with it.
	Reason string
}

// Error describes the refusal.
func (e *DeepLinkingError) Error() string {
	return "ltitest: deep linking response refused: " + e.Claim + ": " + e.Reason
}

// Code is platform_error: the platform refused the tool's deep linking
// response.
func (e *DeepLinkingError) Code() lti.Code { return lti.CodePlatformError }

// DeepLinkingResults returns every deep linking response posted to
// /deep_links, verified or refused, oldest first (at most the last 4096).
func (p *Platform) DeepLinkingResults() []DeepLinkingResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.dl.results)
}

// serveDeepLinks is the deep_link_return_url. It verifies the posted
// response (see verifyDeepLinkingResponse), records it, and answers an
// HTML page listing the items, or 400 with the reason.
func (p *Platform) serveDeepLinks(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST", "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "unreadable form", "")
		return
	}
	jwt := r.PostForm.Get("JWT")
	if jwt == "" {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "the JWT form field is missing", "JWT")
		return
	}
	p.mu.Lock()
	p.dlPosts = append(p.dlPosts, jwt)
	p.mu.Unlock()

	res := p.verifyDeepLinkingResponse(r.Context(), jwt)
	p.mu.Lock()
	if len(p.dl.results) >= maxDLRecords {
		p.dl.results = slices.Delete(p.dl.results, 0, 1)
	}
	p.dl.results = append(p.dl.results, res)
	p.mu.Unlock()

	var de *DeepLinkingError
	if errors.As(res.Err, &de) {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", de.Reason, de.Claim)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = deepLinksTemplate.Execute(w, res)
}

var deepLinksTemplate = template.Must(template.New("deep_links").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>ltitest</title></head>
<body>
<h1>Deep linking response received</h1>
{{with .Message}}<p>Message: {{.}}</p>{{end}}
{{with .ErrorMessage}}<p>Error: {{.}}</p>{{end}}
<ol>
{{- range .Items}}
<li>{{.Type}}{{with .Title}}: {{.}}{{end}}{{with .URL}} ({{.}}){{end}}</li>
{{- end}}
</ol>
</body></html>
`))

// verifyDeepLinkingResponse checks a deep linking response as a platform
// must (LTI Deep Linking 2.0 §4.5, 1EdTech Security Framework §5.2):
//
//   - an RS256 signature by the key with the header's kid in the tool's
//     key set ([Platform.SetToolKeySet] or Config.ToolJWKSURL);
//   - iss = the client_id, aud = the issuer (a string, or an array that
//     contains it);
//   - exp in the future and iat not in the future (one minute of skew);
//   - a nonce never seen in a response before;
//   - message_type LtiDeepLinkingResponse, version 1.3.0;
//   - data equal to the data of a deep linking request the platform sent
//     (absent when that request had none), and deployment_id equal to that
//     request's;
//   - content_items an array of objects with a type, within that request's
//     accept_types, accept_multiple, accept_lineitem and
//     accept_presentation_document_targets.
func (p *Platform) verifyDeepLinkingResponse(ctx context.Context, token string) DeepLinkingResult {
	res := DeepLinkingResult{JWT: token}
	fail := func(claim, reason string) DeepLinkingResult {
		res.Err = &DeepLinkingError{Claim: claim, Reason: reason}
		res.Items = nil
		return res
	}
	header, claims, err := DecodeUnverified(token)
	if err != nil {
		return fail("JWT", "not a compact JWS with JSON header and claims")
	}
	res.Header, res.Claims = header, claims

	// Signature first: nothing else is trusted before it verifies.
	if alg, _ := header["alg"].(string); alg != jwa.RS256.String() {
		return fail("alg", "the response must be signed with RS256")
	}
	kid, _ := header["kid"].(string)
	if kid == "" {
		return fail("kid", "the header has no kid")
	}
	for _, h := range []string{"jku", "x5u", "jwk", "x5c", "crit"} {
		if _, ok := header[h]; ok {
			return fail(h, "the header parameter is not accepted")
		}
	}
	set, err := p.toolKeySet(ctx)
	if err != nil {
		return fail("kid", "the tool key set is unavailable: "+err.Error())
	}
	key, ok := set.LookupKeyID(kid)
	if !ok {
		return fail("kid", "the tool key set has no key with this kid")
	}
	if key.KeyType() != jwa.RSA {
		return fail("kid", "the tool key is not an RSA key")
	}
	if a := key.Algorithm(); a != nil && a.String() != "" && a.String() != jwa.RS256.String() {
		return fail("alg", "the tool key is not an RS256 key")
	}
	pub, err := key.PublicKey()
	if err != nil {
		return fail("kid", "the tool key has no public key")
	}
	if _, err := jws.Verify([]byte(token), jws.WithKey(jwa.RS256, pub)); err != nil {
		return fail("signature", "the signature does not verify with the tool's key")
	}

	str := func(name string) (string, bool) {
		s, ok := claims[name].(string)
		return s, ok
	}
	if iss, _ := str("iss"); iss != p.conf().ClientID {
		return fail("iss", "iss must be the tool's client_id")
	}
	switch aud := claims["aud"].(type) {
	case string:
		if aud != p.Issuer() {
			return fail("aud", "aud must be the platform's issuer")
		}
	case []any:
		if !slices.Contains(aud, any(p.Issuer())) {
			return fail("aud", "aud must contain the platform's issuer")
		}
	default:
		return fail("aud", "aud is missing or not a string")
	}
	now := time.Now()
	exp, ok := unixClaim(claims["exp"])
	switch {
	case !ok:
		return fail("exp", "exp is missing or not a number")
	case !now.Before(exp.Add(dlSkew)):
		return fail("exp", "the response has expired")
	}
	if iat, ok := unixClaim(claims["iat"]); !ok {
		return fail("iat", "iat is missing or not a number")
	} else if iat.After(now.Add(dlSkew)) {
		return fail("iat", "iat is in the future")
	}
	nonce, _ := str("nonce")
	if nonce == "" {
		return fail("nonce", "the nonce is missing")
	}
	if mt, _ := str(lti.ClaimMessageType); mt != MessageDeepLinkingResponse {
		return fail("message_type", "message_type must be "+MessageDeepLinkingResponse)
	}
	if v, _ := str(lti.ClaimVersion); v != lti.Version {
		return fail("version", "version must be "+lti.Version)
	}
	dep, _ := str(lti.ClaimDeploymentID)
	if dep == "" {
		return fail("deployment_id", "deployment_id is missing")
	}
	if v, present := claims[ClaimDeepLinkingData]; present {
		s, ok := v.(string)
		if !ok {
			return fail("data", "data must be a string")
		}
		res.Data = &s
	}
	for _, m := range []struct {
		name string
		dst  *string
	}{{claimDLMsg, &res.Message}, {claimDLLog, &res.Log}, {claimDLErrorMsg, &res.ErrorMessage}, {claimDLErrorLog, &res.ErrorLog}} {
		if v, present := claims[m.name]; present {
			s, ok := v.(string)
			if !ok {
				return fail(m.name, "the claim must be a string")
			}
			*m.dst = s
		}
	}
	req, claim, reason := p.findDeepLinkingRequest(res.Data, dep)
	if req == nil {
		return fail(claim, reason)
	}
	items, claim, reason := parseContentItems(token)
	if claim != "" {
		return fail(claim, reason)
	}
	if reason := req.settings.check(items); reason != "" {
		return fail("content_items", reason)
	}
	// The nonce is taken last, in one step, so only accepted responses
	// spend one.
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dl.nonces == nil {
		p.dl.nonces = make(map[string]time.Time)
	}
	for n, until := range p.dl.nonces {
		if now.After(until) {
			delete(p.dl.nonces, n)
		}
	}
	if _, seen := p.dl.nonces[nonce]; seen {
		return fail("nonce", "the nonce was already used by another response")
	}
	if len(p.dl.nonces) < maxDLRecords*4 {
		p.dl.nonces[nonce] = exp.Add(dlSkew)
	}
	res.Items = items
	return res
}

// findDeepLinkingRequest finds the deep linking request a response answers:
// the newest one whose data the response echoes (or, for a response without
// data, one that sent none) and whose deployment_id it carries.
func (p *Platform) findDeepLinkingRequest(data *string, deploymentID string) (req *dlRequest, claim, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	dataMatch := false
	for i := len(p.dl.requests) - 1; i >= 0; i-- {
		r := &p.dl.requests[i]
		if now.Sub(r.created) > dlRequestTTL {
			continue
		}
		if (r.data == nil) != (data == nil) || (data != nil && *r.data != *data) {
			continue
		}
		dataMatch = true
		if r.deploymentID == deploymentID {
			c := *r
			return &c, "", ""
		}
	}
	switch {
	case dataMatch:
		return nil, "deployment_id", "deployment_id is not the deep linking request's"
	case data == nil:
		return nil, "data", "the response has no data claim, but the deep linking request sent data, which the response must echo"
	default:
		return nil, "data", "data is not the data of any deep linking request the platform sent"
	}
}

// parseContentItems reads the content_items claim of a verified token from
// its payload, keeping each item's JSON as sent.
func parseContentItems(token string) (items []DeepLinkingItem, claim, reason string) {
	_, payload, _ := bytes.Cut([]byte(token), []byte("."))
	payload, _, _ = bytes.Cut(payload, []byte("."))
	raw, err := b64Decode(payload)
	if err != nil {
		return nil, "JWT", "the payload is not base64url"
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, "JWT", "the payload is not a JSON object"
	}
	ci, present := top[ClaimContentItems]
	if !present || string(ci) == "null" {
		return nil, "", "" // no items: the user picked nothing
	}
	var list []json.RawMessage
	if err := json.Unmarshal(ci, &list); err != nil {
		return nil, "content_items", "content_items must be an array"
	}
	for _, it := range list {
		var head struct {
			Type  *string `json:"type"`
			URL   string  `json:"url"`
			Title string  `json:"title"`
			Text  string  `json:"text"`
		}
		if len(bytes.TrimSpace(it)) == 0 || bytes.TrimSpace(it)[0] != '{' || json.Unmarshal(it, &head) != nil {
			return nil, "content_items", "every content item must be an object with string properties"
		}
		if head.Type == nil || *head.Type == "" {
			return nil, "content_items", "a content item has no type"
		}
		items = append(items, DeepLinkingItem{Type: *head.Type, URL: head.URL, Title: head.Title, Text: head.Text, JSON: it})
	}
	return items, "", ""
}

// check reports what in items the request's settings do not allow, or "".
func (s dlSettings) check(items []DeepLinkingItem) string {
	if len(items) > 1 && (s.AcceptMultiple == nil || !*s.AcceptMultiple) {
		return "more than one item, and the request did not send accept_multiple true"
	}
	for i, it := range items {
		if !slices.Contains(s.AcceptTypes, it.Type) {
			return fmt.Sprintf("item %d has type %q, not in accept_types %q", i, it.Type, s.AcceptTypes)
		}
		var pres map[string]json.RawMessage
		_ = json.Unmarshal(it.JSON, &pres)
		if _, ok := pres["lineItem"]; ok && s.AcceptLineItem != nil && !*s.AcceptLineItem {
			return fmt.Sprintf("item %d has a lineItem, and the request sent accept_lineitem false", i)
		}
		for _, target := range []string{"window", "iframe", "embed"} {
			if _, ok := pres[target]; ok && !slices.Contains(s.AcceptTargets, target) {
				return fmt.Sprintf("item %d asks for presentation %q, not in accept_presentation_document_targets %q", i, target, s.AcceptTargets)
			}
		}
	}
	return ""
}

func b64Decode(b []byte) ([]byte, error) {
	enc := base64.RawURLEncoding
	out := make([]byte, enc.DecodedLen(len(b)))
	n, err := enc.Decode(out, b)
	return out[:n], err
}

// SubmitDeepLinkingForm plays the browser on the tool's deep linking
// response page: it reads page (the tool's answer, whose body it closes),
// finds its form, and posts the form's fields to its action, which must be
// the platform's deep_link_return_url, as the page's auto-submitting
// script would. It returns the platform's answer without following
// redirects; the caller closes its body. The post carries the Origin of
// the page.
func (p *Platform) SubmitDeepLinkingForm(ctx context.Context, client *http.Client, page *http.Response) (*http.Response, error) {
	if client == nil {
		return nil, errors.New("ltitest: nil http.Client; use NewBrowser")
	}
	if page == nil {
		return nil, errors.New("ltitest: nil page")
	}
	body, err := io.ReadAll(io.LimitReader(page.Body, maxFormBytes))
	page.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("ltitest: reading the tool's page: %w", err)
	}
	if page.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ltitest: the tool answered %d, not a form: %.200s", page.StatusCode, snippet(body))
	}
	base := page.Request.URL
	f, ok := parseForm(body, base)
	if !ok {
		return nil, fmt.Errorf("ltitest: the tool's page has no form: %.200s", snippet(body))
	}
	if f.method != http.MethodPost {
		return nil, errors.New("ltitest: the tool's deep linking form does not use POST")
	}
	if !sameOrigin(f.action, p.baseURL) || f.action.EscapedPath() != p.basePath+PathDeepLinks {
		return nil, fmt.Errorf("ltitest: the tool's form posts to %s, not to the deep_link_return_url %s", f.action, p.DeepLinkReturnURL())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.action.String(), bytes.NewReader([]byte(f.values.Encode())))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base.Scheme+"://"+base.Host)
	return noFollow(client).Do(req)
}
