package deeplink_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ltikit/ltikit/deeplink"
	"github.com/ltikit/ltikit/lti"
)

func ptr[T any](v T) *T { return &v }

// extItem is a host-defined (extension) content item.
type extItem struct {
	Type string `json:"type"`
	Foo  string `json:"foo,omitempty"`
	typ  string // what ItemType says; Type is what the JSON says
}

func (e extItem) ItemType() string { return e.typ }

// badJSONItem cannot be marshaled.
type badJSONItem struct{ C chan int }

func (badJSONItem) ItemType() string { return "x-bad" }

// TestRefusals: every response the platform would not accept is refused
// with its reason before anything is signed (docs/security.md, case 44).
func TestRefusals(t *testing.T) {
	lr := func(mut func(*deeplink.LTIResourceLink)) deeplink.Item {
		l := deeplink.LTIResourceLink{URL: "https://tool.example/quiz/7", Title: "Quiz 7"}
		if mut != nil {
			mut(&l)
		}
		return l
	}
	link := func(mut func(*deeplink.Link)) deeplink.Item {
		l := &deeplink.Link{URL: "https://example.org/page"}
		if mut != nil {
			mut(l)
		}
		return l
	}
	file := func(url, mt string) deeplink.Item { return deeplink.File{URL: url, MediaType: mt} }
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	cases := []struct {
		name   string
		req    func(*deeplink.Request) // changes the base request
		noReq  bool
		items  []deeplink.Item
		reason deeplink.Reason
		item   int
		field  string
	}{
		// accept_types
		{name: "type not accepted", req: func(r *deeplink.Request) { r.AcceptTypes = []string{"ltiResourceLink"} },
			items: []deeplink.Item{link(nil)}, reason: deeplink.ReasonTypeNotAccepted, item: 0, field: "type"},
		{name: "second item type not accepted", req: func(r *deeplink.Request) { r.AcceptTypes = []string{"ltiResourceLink"} },
			items: []deeplink.Item{lr(nil), deeplink.HTML{HTML: "<p>x</p>"}}, reason: deeplink.ReasonTypeNotAccepted, item: 1, field: "type"},
		{name: "type match is case-sensitive", req: func(r *deeplink.Request) { r.AcceptTypes = []string{"LTIResourceLink"} },
			items: []deeplink.Item{lr(nil)}, reason: deeplink.ReasonTypeNotAccepted, item: 0, field: "type"},
		{name: "extension type not accepted", items: []deeplink.Item{extItem{Type: "x-quiz", typ: "x-quiz"}},
			reason: deeplink.ReasonTypeNotAccepted, item: 0, field: "type"},
		// accept_multiple
		{name: "two items, accept_multiple false", req: func(r *deeplink.Request) { r.AcceptMultiple = false },
			items: []deeplink.Item{lr(nil), lr(nil)}, reason: deeplink.ReasonMultipleNotAccepted, item: -1},
		{name: "two items of accepted types, accept_multiple false", req: func(r *deeplink.Request) { r.AcceptMultiple = false },
			items: []deeplink.Item{lr(nil), link(nil)}, reason: deeplink.ReasonMultipleNotAccepted, item: -1},
		// accept_lineitem
		{name: "lineItem, accept_lineitem false", req: func(r *deeplink.Request) { r.AcceptLineItem = ptr(false) },
			items:  []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) { l.LineItem = &deeplink.LineItem{ScoreMaximum: 10} })},
			reason: deeplink.ReasonLineItemNotAccepted, item: 0, field: "lineItem"},
		// presentation targets
		{name: "window not accepted", req: func(r *deeplink.Request) { r.AcceptPresentationDocumentTargets = []string{"iframe"} },
			items:  []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) { l.Window = &deeplink.Window{TargetName: "w"} })},
			reason: deeplink.ReasonTargetNotAccepted, item: 0, field: "window"},
		{name: "iframe not accepted", req: func(r *deeplink.Request) { r.AcceptPresentationDocumentTargets = []string{"window"} },
			items:  []deeplink.Item{link(func(l *deeplink.Link) { l.Iframe = &deeplink.Iframe{Src: "https://example.org/e"} })},
			reason: deeplink.ReasonTargetNotAccepted, item: 0, field: "iframe"},
		{name: "embed not accepted", req: func(r *deeplink.Request) { r.AcceptPresentationDocumentTargets = []string{"iframe", "window"} },
			items:  []deeplink.Item{link(func(l *deeplink.Link) { l.Embed = &deeplink.Embed{HTML: "<b>x</b>"} })},
			reason: deeplink.ReasonTargetNotAccepted, item: 0, field: "embed"},
		// accept_media_types
		{name: "media type outside the list", req: func(r *deeplink.Request) { r.AcceptMediaTypes = "image/*,text/plain" },
			items: []deeplink.Item{file("https://tool.example/a.pdf", "application/pdf")}, reason: deeplink.ReasonMediaTypeNotAccepted, item: 0, field: "mediaType"},
		{name: "media type missing while restricted", req: func(r *deeplink.Request) { r.AcceptMediaTypes = "application/pdf" },
			items: []deeplink.Item{file("https://tool.example/a.pdf", "")}, reason: deeplink.ReasonMediaTypeNotAccepted, item: 0, field: "mediaType"},
		{name: "malformed media type", items: []deeplink.Item{file("https://tool.example/a.pdf", "pdf")},
			reason: deeplink.ReasonInvalidItem, item: 0, field: "mediaType"},
		// URLs (docs/security.md, case 44: nothing but absolute http(s) is signed)
		{name: "javascript: url", items: []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) { l.URL = "javascript:alert(1)" })},
			reason: deeplink.ReasonInvalidURL, item: 0, field: "url"},
		{name: "upper-case JAVASCRIPT: url", items: []deeplink.Item{link(func(l *deeplink.Link) { l.URL = "JAVASCRIPT:alert(1)" })},
			reason: deeplink.ReasonInvalidURL, item: 0, field: "url"},
		{name: "javascript: url with leading space", items: []deeplink.Item{link(func(l *deeplink.Link) { l.URL = " javascript:alert(1)" })},
			reason: deeplink.ReasonInvalidURL, item: 0, field: "url"},
		{name: "data: url", items: []deeplink.Item{link(func(l *deeplink.Link) { l.URL = "data:text/html,<script>alert(1)</script>" })},
			reason: deeplink.ReasonInvalidURL, item: 0, field: "url"},
		{name: "relative url", items: []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) { l.URL = "/quiz/7" })},
			reason: deeplink.ReasonInvalidURL, item: 0, field: "url"},
		{name: "scheme-relative url", items: []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) { l.URL = "//evil.example/quiz" })},
			reason: deeplink.ReasonInvalidURL, item: 0, field: "url"},
		{name: "url with user info", items: []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) { l.URL = "https://user:pw@tool.example/q" })},
			reason: deeplink.ReasonInvalidURL, item: 0, field: "url"},
		{name: "ftp url", items: []deeplink.Item{file("ftp://tool.example/a.pdf", "application/pdf")},
			reason: deeplink.ReasonInvalidURL, item: 0, field: "url"},
		{name: "opaque https url", items: []deeplink.Item{deeplink.Image{URL: "https:tool.example/a.png"}},
			reason: deeplink.ReasonInvalidURL, item: 0, field: "url"},
		{name: "icon url", items: []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) { l.Icon = &deeplink.Icon{URL: "javascript:x"} })},
			reason: deeplink.ReasonInvalidURL, item: 0, field: "icon.url"},
		{name: "thumbnail url missing", items: []deeplink.Item{link(func(l *deeplink.Link) { l.Thumbnail = &deeplink.Icon{Width: 5} })},
			reason: deeplink.ReasonInvalidItem, item: 0, field: "thumbnail.url"},
		{name: "iframe src", items: []deeplink.Item{link(func(l *deeplink.Link) { l.Iframe = &deeplink.Iframe{Src: "data:text/html,x"} })},
			reason: deeplink.ReasonInvalidURL, item: 0, field: "iframe.src"},
		{name: "image url", items: []deeplink.Item{deeplink.Image{URL: "javascript:alert(1)"}},
			reason: deeplink.ReasonInvalidURL, item: 0, field: "url"},
		// required properties and ranges
		{name: "link without url", items: []deeplink.Item{deeplink.Link{Title: "x"}},
			reason: deeplink.ReasonInvalidItem, item: 0, field: "url"},
		{name: "file without url", items: []deeplink.Item{deeplink.File{Title: "x"}},
			reason: deeplink.ReasonInvalidItem, item: 0, field: "url"},
		{name: "image without url", items: []deeplink.Item{&deeplink.Image{}},
			reason: deeplink.ReasonInvalidItem, item: 0, field: "url"},
		{name: "html without html", items: []deeplink.Item{deeplink.HTML{Title: "x"}},
			reason: deeplink.ReasonInvalidItem, item: 0, field: "html"},
		{name: "embed without html", items: []deeplink.Item{link(func(l *deeplink.Link) { l.Embed = &deeplink.Embed{} })},
			reason: deeplink.ReasonInvalidItem, item: 0, field: "embed.html"},
		{name: "scoreMaximum 0", items: []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) { l.LineItem = &deeplink.LineItem{Label: "x"} })},
			reason: deeplink.ReasonInvalidItem, item: 0, field: "lineItem.scoreMaximum"},
		{name: "scoreMaximum negative", items: []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) { l.LineItem = &deeplink.LineItem{ScoreMaximum: -1} })},
			reason: deeplink.ReasonInvalidItem, item: 0, field: "lineItem.scoreMaximum"},
		{name: "scoreMaximum NaN", items: []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) { l.LineItem = &deeplink.LineItem{ScoreMaximum: math.NaN()} })},
			reason: deeplink.ReasonInvalidItem, item: 0, field: "lineItem.scoreMaximum"},
		{name: "scoreMaximum +Inf", items: []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) { l.LineItem = &deeplink.LineItem{ScoreMaximum: math.Inf(1)} })},
			reason: deeplink.ReasonInvalidItem, item: 0, field: "lineItem.scoreMaximum"},
		{name: "available ends before it starts", items: []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) {
			l.Available = &deeplink.TimeSpan{StartDateTime: start, EndDateTime: start.Add(-time.Hour)}
		})}, reason: deeplink.ReasonInvalidItem, item: 0, field: "available"},
		{name: "negative width", items: []deeplink.Item{deeplink.Image{URL: "https://tool.example/a.png", Width: -1}},
			reason: deeplink.ReasonInvalidItem, item: 0},
		{name: "negative window height", items: []deeplink.Item{lr(func(l *deeplink.LTIResourceLink) { l.Window = &deeplink.Window{Height: -5} })},
			reason: deeplink.ReasonInvalidItem, item: 0, field: "window"},
		{name: "expiresAt not marshalable", items: []deeplink.Item{deeplink.File{URL: "https://tool.example/a", ExpiresAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
			reason: deeplink.ReasonInvalidItem, item: 0},
		{name: "nil item", items: []deeplink.Item{lr(nil), nil}, reason: deeplink.ReasonInvalidItem, item: 1},
		{name: "nil pointer item", items: []deeplink.Item{(*deeplink.Link)(nil)}, reason: deeplink.ReasonInvalidItem, item: 0},
		{name: "extension item with another JSON type", req: func(r *deeplink.Request) { r.AcceptTypes = append(r.AcceptTypes, "x-quiz") },
			items: []deeplink.Item{extItem{Type: "ltiResourceLink", typ: "x-quiz"}}, reason: deeplink.ReasonInvalidItem, item: 0, field: "type"},
		{name: "extension item that does not marshal", req: func(r *deeplink.Request) { r.AcceptTypes = append(r.AcceptTypes, "x-bad") },
			items: []deeplink.Item{badJSONItem{}}, reason: deeplink.ReasonInvalidItem, item: 0},
		// the request itself
		{name: "no request", noReq: true, items: []deeplink.Item{lr(nil)}, reason: deeplink.ReasonInvalidRequest, item: -1},
		{name: "javascript: return URL", req: func(r *deeplink.Request) { r.ReturnURL = "javascript:alert(document.cookie)" },
			items: []deeplink.Item{lr(nil)}, reason: deeplink.ReasonInvalidReturnURL, item: -1, field: "deep_link_return_url"},
		{name: "relative return URL", req: func(r *deeplink.Request) { r.ReturnURL = "/deep_links" },
			items: []deeplink.Item{lr(nil)}, reason: deeplink.ReasonInvalidReturnURL, item: -1, field: "deep_link_return_url"},
		{name: "no return URL", req: func(r *deeplink.Request) { r.ReturnURL = "" },
			items: []deeplink.Item{lr(nil)}, reason: deeplink.ReasonInvalidSettings, item: -1, field: "deep_link_return_url"},
		{name: "no accept_types", req: func(r *deeplink.Request) { r.AcceptTypes = nil },
			items: []deeplink.Item{lr(nil)}, reason: deeplink.ReasonInvalidSettings, item: -1, field: "accept_types"},
		{name: "no client_id", req: func(r *deeplink.Request) { r.ClientID = "" },
			items: []deeplink.Item{lr(nil)}, reason: deeplink.ReasonInvalidRequest, item: -1},
		{name: "no deployment_id", req: func(r *deeplink.Request) { r.DeploymentID = "" },
			items: []deeplink.Item{lr(nil)}, reason: deeplink.ReasonInvalidRequest, item: -1},
		{name: "data not a JSON string", req: func(r *deeplink.Request) { r.Data = json.RawMessage(`{"a":1}`) },
			items: []deeplink.Item{lr(nil)}, reason: deeplink.ReasonInvalidRequest, item: -1, field: "data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			signer := newSigner(t)
			resp := &deeplink.Response{Items: tc.items, Message: "picked"}
			if !tc.noReq {
				resp.Request = baseRequest()
				if tc.req != nil {
					tc.req(resp.Request)
				}
			}
			jwt, err := newResponder(t, signer).Sign(context.Background(), resp)
			if err == nil {
				t.Fatalf("signed %q; want a refusal", jwt)
			}
			if n := signer.calls.Load(); n != 0 {
				t.Fatalf("the signer was called %d times for a refused response", n)
			}
			var de *deeplink.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *deeplink.Error", err, err)
			}
			if de.Reason() != tc.reason || de.Item() != tc.item || (tc.field != "" && de.Field() != tc.field) {
				t.Fatalf("got reason %q item %d field %q; want %q item %d field %q (%v)",
					de.Reason(), de.Item(), de.Field(), tc.reason, tc.item, tc.field, err)
			}
			if !errors.Is(err, sentinelOf(t, tc.reason)) {
				t.Fatalf("errors.Is does not match the reason")
			}
			if c := lti.Classify(err); c.Code != lti.CodeInvalidDeepLinking || c.Status != 400 {
				t.Fatalf("class %+v; want invalid_deep_linking, 400", c)
			}
			if le := lti.AsError(err); le.Code() != lti.CodeInvalidDeepLinking || le.SpecRef() == "" {
				t.Fatalf("lti code %q spec %q; want invalid_deep_linking with a spec section", le.Code(), le.SpecRef())
			}
			if err := resp.Validate(); err == nil || !errors.Is(err, sentinelOf(t, tc.reason)) {
				t.Fatalf("Validate = %v; want the same refusal", err)
			}
		})
	}
}

// TestAccepted: responses within the settings are signed.
func TestAccepted(t *testing.T) {
	cases := []struct {
		name  string
		req   func(*deeplink.Request)
		items []deeplink.Item
	}{
		{name: "no items", items: nil},
		{name: "one item, accept_multiple false", req: func(r *deeplink.Request) { r.AcceptMultiple = false },
			items: []deeplink.Item{deeplink.LTIResourceLink{}}},
		{name: "lineItem, accept_lineitem absent (Moodle)", req: func(r *deeplink.Request) { r.AcceptLineItem = nil },
			items: []deeplink.Item{deeplink.LTIResourceLink{LineItem: &deeplink.LineItem{ScoreMaximum: 10, Label: "x"}}}},
		{name: "lineItem, accept_lineitem true", req: func(r *deeplink.Request) { r.AcceptLineItem = ptr(true) },
			items: []deeplink.Item{&deeplink.LTIResourceLink{LineItem: &deeplink.LineItem{ScoreMaximum: 0.5}}}},
		{name: "no lineItem, accept_lineitem false", req: func(r *deeplink.Request) { r.AcceptLineItem = ptr(false) },
			items: []deeplink.Item{deeplink.LTIResourceLink{Title: "x"}}},
		{name: "media type by wildcard", req: func(r *deeplink.Request) { r.AcceptMediaTypes = "image/*, application/pdf" },
			items: []deeplink.Item{deeplink.File{URL: "https://tool.example/a.png", MediaType: "IMAGE/PNG"}}},
		{name: "media type with parameters", req: func(r *deeplink.Request) { r.AcceptMediaTypes = "text/html" },
			items: []deeplink.Item{deeplink.File{URL: "https://tool.example/a.html", MediaType: "text/html; charset=utf-8"}}},
		{name: "any media type", req: func(r *deeplink.Request) { r.AcceptMediaTypes = "*/*" },
			items: []deeplink.Item{deeplink.File{URL: "https://tool.example/a.bin", MediaType: "application/octet-stream"}}},
		{name: "media type on a link is not checked", req: func(r *deeplink.Request) { r.AcceptMediaTypes = "image/png" },
			items: []deeplink.Item{deeplink.Link{URL: "http://127.0.0.1:9000/page"}}},
		{name: "extension item", req: func(r *deeplink.Request) { r.AcceptTypes = append(r.AcceptTypes, "x-quiz") },
			items: []deeplink.Item{extItem{Type: "x-quiz", Foo: "bar", typ: "x-quiz"}}},
		{name: "every type", items: []deeplink.Item{
			deeplink.LTIResourceLink{URL: "https://tool.example/q"},
			deeplink.Link{URL: "https://example.org", Embed: &deeplink.Embed{HTML: "<iframe></iframe>"}},
			deeplink.File{URL: "https://tool.example/f.pdf", MediaType: "application/pdf"},
			deeplink.HTML{HTML: "<p>hi</p>"},
			deeplink.Image{URL: "https://tool.example/i.png", Width: 10, Height: 10},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			signer := newSigner(t)
			req := baseRequest()
			if tc.req != nil {
				tc.req(req)
			}
			jwt, err := newResponder(t, signer).Sign(context.Background(), &deeplink.Response{Request: req, Items: tc.items})
			if err != nil {
				t.Fatal(err)
			}
			_, claims := signer.verify(t, jwt)
			items, _ := claims[deeplink.ClaimContentItems].([]any)
			if len(items) != len(tc.items) {
				t.Fatalf("content_items has %d items; want %d", len(items), len(tc.items))
			}
		})
	}
}

// TestClaims checks the response claims (docs/security.md, case 43).
func TestClaims(t *testing.T) {
	signer := newSigner(t)
	now := time.Unix(1_795_323_177, 0)
	r := newResponder(t, signer, deeplink.WithClock(func() time.Time { return now }), deeplink.WithLifetime(2*time.Minute))
	req := baseRequest()
	resp := &deeplink.Response{
		Request: req,
		Items:   []deeplink.Item{deeplink.LTIResourceLink{URL: "https://tool.example/q", Title: "Q"}},
		Message: "Added 1 item", Log: "log line", ErrorMessage: "", ErrorLog: "",
	}
	jwt, err := r.Sign(context.Background(), resp)
	if err != nil {
		t.Fatal(err)
	}
	header, claims := signer.verify(t, jwt)
	if header["alg"] != "RS256" || header["kid"] != signer.kid {
		t.Fatalf("header %v; want RS256 and the signer's kid", header)
	}
	want := map[string]any{
		"iss":                 "client-1",
		"aud":                 "https://lms.example.com",
		"iat":                 json.Number("1795323177"),
		"exp":                 json.Number("1795323297"),
		lti.ClaimMessageType:  "LtiDeepLinkingResponse",
		lti.ClaimVersion:      "1.3.0",
		lti.ClaimDeploymentID: "dep-1",
		deeplink.ClaimData:    `opaque "data" <&> é`,
		deeplink.ClaimMsg:     "Added 1 item",
		deeplink.ClaimLog:     "log line",
		deeplink.ClaimContentItems: []any{map[string]any{
			"type": "ltiResourceLink", "url": "https://tool.example/q", "title": "Q",
		}},
	}
	nonce, _ := claims["nonce"].(string)
	delete(claims, "nonce")
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Fatalf("claims (-want +got):\n%s", diff)
	}
	if len(nonce) < 22 {
		t.Fatalf("nonce %q is shorter than 128 bits", nonce)
	}

	// Each response gets a fresh nonce.
	seen := map[string]bool{nonce: true}
	for range 50 {
		c, err := r.Claims(resp)
		if err != nil {
			t.Fatal(err)
		}
		n := c["nonce"].(string)
		if seen[n] {
			t.Fatalf("nonce %q repeated", n)
		}
		seen[n] = true
	}

	// Without data in the request, no data claim; empty messages are left out.
	req2 := baseRequest()
	req2.Data = nil
	c, err := r.Claims(&deeplink.Response{Request: req2})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{deeplink.ClaimData, deeplink.ClaimMsg, deeplink.ClaimLog, deeplink.ClaimErrorMsg, deeplink.ClaimErrorLog} {
		if _, ok := c[name]; ok {
			t.Errorf("claim %s present; want it absent", name)
		}
	}
	b, _ := json.Marshal(c[deeplink.ClaimContentItems])
	if string(b) != "[]" {
		t.Errorf("content_items = %s; want []", b)
	}

	// An empty data string is still echoed.
	req2.Data = json.RawMessage(`""`)
	c, err = r.Claims(&deeplink.Response{Request: req2})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(c[deeplink.ClaimData]); string(b) != `""` {
		t.Errorf("data = %s; want \"\"", b)
	}
}

// TestDataEchoedByteForByte: the data value is the platform's JSON text,
// escapes included, not a re-encoding of its decoded value.
func TestDataEchoedByteForByte(t *testing.T) {
	signer := newSigner(t)
	for _, raw := range []string{
		`"plain"`,
		`"{\"ltitest_launch\":\"42\"}"`,
		`"\u00e9\u2028\ud83d\ude00 tab\there"`,
		`"\ud800 lone surrogate"`,
		`"\/slash"`,
	} {
		req := baseRequest()
		req.Data = json.RawMessage(raw)
		jwt, err := newResponder(t, signer).Sign(context.Background(), &deeplink.Response{Request: req})
		if err != nil {
			t.Fatal(err)
		}
		payload := string(jwsPayload(t, jwt))
		if !strings.Contains(payload, `"`+deeplink.ClaimData+`":`+raw) {
			t.Errorf("data %s not echoed byte for byte in %s", raw, payload)
		}
	}
}

func TestNewOptions(t *testing.T) {
	s := newSigner(t)
	for _, tc := range []struct {
		name string
		cfg  deeplink.Config
		opts []deeplink.Option
	}{
		{"no signer", deeplink.Config{}, nil},
		{"lifetime over five minutes", deeplink.Config{Signer: s}, []deeplink.Option{deeplink.WithLifetime(5*time.Minute + time.Second)}},
		{"lifetime zero", deeplink.Config{Signer: s}, []deeplink.Option{deeplink.WithLifetime(0)}},
		{"negative lifetime", deeplink.Config{Signer: s}, []deeplink.Option{deeplink.WithLifetime(-time.Minute)}},
		{"nil clock", deeplink.Config{Signer: s}, []deeplink.Option{deeplink.WithClock(nil)}},
	} {
		if _, err := deeplink.New(tc.cfg, tc.opts...); err == nil {
			t.Errorf("%s: New succeeded; want an error", tc.name)
		}
	}
	r := newResponder(t, s)
	c, err := r.Claims(&deeplink.Response{Request: baseRequest()})
	if err != nil {
		t.Fatal(err)
	}
	iat, exp := c["iat"].(int64), c["exp"].(int64)
	if exp-iat != int64(deeplink.DefaultLifetime/time.Second) || deeplink.DefaultLifetime > 5*time.Minute {
		t.Fatalf("default lifetime %d s", exp-iat)
	}
}

// TestSignerFailure: a failing signer is not a refusal: the keys are
// unavailable (storage_unavailable), or the signer's own lti error.
func TestSignerFailure(t *testing.T) {
	s := newSigner(t)
	s.fail = errors.New("database down")
	_, err := newResponder(t, s).Sign(context.Background(), &deeplink.Response{Request: baseRequest()})
	if !errors.Is(err, lti.ErrStorageUnavailable) || errors.As(err, new(*deeplink.Error)) {
		t.Fatalf("err = %v; want storage_unavailable and no deeplink.Error", err)
	}
	s.fail = lti.ErrKeysetUnavailable.WithCause(errors.New("x"))
	_, err = newResponder(t, s).Sign(context.Background(), &deeplink.Response{Request: baseRequest()})
	if !errors.Is(err, lti.ErrKeysetUnavailable) {
		t.Fatalf("err = %v; want the signer's lti error", err)
	}
}

// TestItemJSON: each item type marshals to the exact shape of Deep Linking
// 2.0 §3: a type property, the spec's property names, empty ones left out.
func TestItemJSON(t *testing.T) {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		item deeplink.Item
		want string
	}{
		{"empty ltiResourceLink", deeplink.LTIResourceLink{}, `{"type":"ltiResourceLink"}`},
		{"full ltiResourceLink", deeplink.LTIResourceLink{
			URL: "https://tool.example/quiz/7", Title: "Quiz 7", Text: "Seven",
			Icon:       &deeplink.Icon{URL: "https://tool.example/i.png", Width: 16, Height: 16},
			Thumbnail:  &deeplink.Icon{URL: "https://tool.example/t.png"},
			Window:     &deeplink.Window{TargetName: "quiz", Width: 800, Height: 600, WindowFeatures: "menubar=no"},
			Iframe:     &deeplink.Iframe{Width: 800, Height: 600},
			Custom:     map[string]string{"quiz": "7", "mode": "exam"},
			LineItem:   &deeplink.LineItem{ScoreMaximum: 12.5, Label: "Quiz 7", ResourceID: "quiz-7", Tag: "grade", GradesReleased: ptr(false)},
			Available:  &deeplink.TimeSpan{StartDateTime: day, EndDateTime: day.AddDate(0, 1, 0)},
			Submission: &deeplink.TimeSpan{EndDateTime: day.AddDate(0, 0, 14)},
		}, `{"type":"ltiResourceLink","url":"https://tool.example/quiz/7","title":"Quiz 7","text":"Seven",
			"icon":{"url":"https://tool.example/i.png","width":16,"height":16},"thumbnail":{"url":"https://tool.example/t.png"},
			"window":{"targetName":"quiz","width":800,"height":600,"windowFeatures":"menubar=no"},
			"iframe":{"width":800,"height":600},"custom":{"quiz":"7","mode":"exam"},
			"lineItem":{"scoreMaximum":12.5,"label":"Quiz 7","resourceId":"quiz-7","tag":"grade","gradesReleased":false},
			"available":{"startDateTime":"2026-01-01T00:00:00Z","endDateTime":"2026-02-01T00:00:00Z"},
			"submission":{"endDateTime":"2026-01-15T00:00:00Z"}}`},
		{"link", &deeplink.Link{URL: "https://example.org/v", Title: "V", Embed: &deeplink.Embed{HTML: "<iframe src=x></iframe>"},
			Window: &deeplink.Window{TargetName: "_blank"}, Iframe: &deeplink.Iframe{Src: "https://example.org/e", Width: 640, Height: 360}},
			`{"type":"link","url":"https://example.org/v","title":"V","embed":{"html":"<iframe src=x></iframe>"},
			"window":{"targetName":"_blank"},"iframe":{"src":"https://example.org/e","width":640,"height":360}}`},
		{"file", deeplink.File{URL: "https://tool.example/a.pdf", Title: "A", MediaType: "application/pdf", ExpiresAt: day},
			`{"type":"file","url":"https://tool.example/a.pdf","title":"A","mediaType":"application/pdf","expiresAt":"2026-01-01T00:00:00Z"}`},
		{"html", deeplink.HTML{HTML: "<p>Hi & bye</p>", Text: "t"}, `{"type":"html","html":"<p>Hi & bye</p>","text":"t"}`},
		{"image", deeplink.Image{URL: "https://tool.example/i.png", Width: 10, Height: 20, Text: "alt"},
			`{"type":"image","url":"https://tool.example/i.png","text":"alt","width":10,"height":20}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.item)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.want), &w); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Fatalf("JSON (-want +got):\n%s\ngot %s", diff, got)
			}
			if !strings.HasPrefix(string(got), `{"type":`) {
				t.Errorf("type is not the first property: %s", got)
			}
			if err := (&deeplink.Response{Request: baseRequest(), Items: []deeplink.Item{tc.item}}).Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// TestSentinels: the sentinels match by reason and are safe to unwrap.
func TestSentinels(t *testing.T) {
	if errors.Is(deeplink.ErrTypeNotAccepted, lti.ErrInvalidRequest) {
		t.Fatal("a sentinel matches an lti code")
	}
	if !errors.Is(deeplink.ErrTypeNotAccepted, deeplink.ErrTypeNotAccepted) || errors.Is(deeplink.ErrTypeNotAccepted, deeplink.ErrInvalidURL) {
		t.Fatal("sentinels do not match by reason")
	}
	err := (&deeplink.Response{Request: baseRequest(), Items: []deeplink.Item{deeplink.Link{URL: "javascript:x"}}}).Validate()
	if !errors.Is(err, deeplink.ErrInvalidURL) || !strings.Contains(err.Error(), "invalid_url (item 0 url)") {
		t.Fatalf("err = %v", err)
	}
}
