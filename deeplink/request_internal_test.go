package deeplink

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
)

func boolp(b bool) *bool { return &b }

// moodleClaims returns the claims of Moodle 4.5's deep linking request.
func moodleClaims(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/moodle-4.5/idtoken_teacher_deep_linking_request.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Claims json.RawMessage `json:"claims"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Claims
}

// withSettings wraps a deep_linking_settings value in a claims object.
func withSettings(settings string) []byte {
	return []byte(`{"iss":"https://lms.example.com","` + lti.ClaimDeepLinking + `":` + settings + `}`)
}

const okSettings = `{"deep_link_return_url":"https://lms.example.com/dl","accept_types":["link"],"accept_presentation_document_targets":["iframe"]`

func TestParseClaims(t *testing.T) {
	moodle := &Request{
		ReturnURL:                         "http://127.0.0.1:8080/mod/lti/contentitem_return.php?course=2&id=1&sesskey=24857jlapE",
		AcceptTypes:                       []string{"ltiResourceLink"},
		AcceptPresentationDocumentTargets: []string{"frame", "iframe", "window"},
		AcceptMultiple:                    true,
		Title:                             "DLtest",
		Text:                              "hello",
	}
	base := &Request{ReturnURL: "https://lms.example.com/dl", AcceptTypes: []string{"link"}, AcceptPresentationDocumentTargets: []string{"iframe"}}
	with := func(f func(r *Request)) *Request {
		r := *base
		f(&r)
		return &r
	}
	cases := []struct {
		name   string
		claims []byte
		want   *Request
		reason Reason
		field  string
	}{
		{name: "Moodle 4.5", claims: moodleClaims(t), want: moodle},
		{name: "minimal: accept_multiple absent is false, accept_lineitem absent is unknown", claims: withSettings(okSettings + `}`), want: base},
		{name: "every setting", claims: withSettings(okSettings + `,"accept_media_types":"image/*,text/html","accept_multiple":true,"accept_lineitem":false,
			"auto_create":true,"accept_copy_advice":true,"title":"T","text":"X","data":"{\"ltitest_launch\":\"7\"}"}`),
			want: with(func(r *Request) {
				r.AcceptMediaTypes, r.AcceptMultiple, r.AcceptLineItem = "image/*,text/html", true, boolp(false)
				r.AutoCreate, r.AcceptCopyAdvice, r.Title, r.Text = true, true, "T", "X"
				r.Data = json.RawMessage(`"{\"ltitest_launch\":\"7\"}"`)
			})},
		{name: "accept_lineitem true", claims: withSettings(okSettings + `,"accept_lineitem":true}`), want: with(func(r *Request) { r.AcceptLineItem = boolp(true) })},
		{name: "null values are absent", claims: withSettings(okSettings + `,"data":null,"accept_multiple":null,"accept_lineitem":null,"title":null}`), want: base},
		{name: "empty data is echoed", claims: withSettings(okSettings + `,"data":""}`), want: with(func(r *Request) { r.Data = json.RawMessage(`""`) })},
		{name: "data keeps its escapes", claims: withSettings(okSettings + `,"data":"\u00e9\/\ud800"}`), want: with(func(r *Request) { r.Data = json.RawMessage(`"\u00e9\/\ud800"`) })},
		{name: "repeated data keeps the last", claims: withSettings(okSettings + `,"data":"a","data":"b"}`), want: with(func(r *Request) { r.Data = json.RawMessage(`"b"`) })},
		{name: "names are case-sensitive", claims: withSettings(okSettings + `,"Data":"x","ACCEPT_MULTIPLE":true}`), want: base},
		{name: "unknown settings ignored", claims: withSettings(okSettings + `,"accept_unsigned":false,"can_confirm":false}`), want: base},

		{name: "no settings", claims: []byte(`{"iss":"x"}`), reason: ReasonInvalidSettings, field: "deep_linking_settings"},
		{name: "settings null", claims: withSettings(`null`), reason: ReasonInvalidSettings, field: "deep_linking_settings"},
		{name: "settings a string", claims: withSettings(`"x"`), reason: ReasonInvalidSettings, field: "deep_linking_settings"},
		{name: "settings an array", claims: withSettings(`[]`), reason: ReasonInvalidSettings, field: "deep_linking_settings"},
		{name: "claims an array", claims: []byte(`[]`), reason: ReasonInvalidSettings},
		{name: "claims not JSON", claims: []byte(`{`), reason: ReasonInvalidSettings},
		{name: "settings name in another case", claims: []byte(`{"` + "HTTPS://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings" + `":` + okSettings + `}}`),
			reason: ReasonInvalidSettings, field: "deep_linking_settings"},
		{name: "no return URL", claims: withSettings(`{"accept_types":["link"],"accept_presentation_document_targets":["iframe"]}`),
			reason: ReasonInvalidSettings, field: "deep_link_return_url"},
		{name: "javascript: return URL", claims: withSettings(`{"deep_link_return_url":"javascript:alert(1)","accept_types":["link"],"accept_presentation_document_targets":["iframe"]}`),
			reason: ReasonInvalidReturnURL, field: "deep_link_return_url"},
		{name: "data: return URL", claims: withSettings(`{"deep_link_return_url":"data:text/html,x","accept_types":["link"],"accept_presentation_document_targets":["iframe"]}`),
			reason: ReasonInvalidReturnURL, field: "deep_link_return_url"},
		{name: "relative return URL", claims: withSettings(`{"deep_link_return_url":"/dl","accept_types":["link"],"accept_presentation_document_targets":["iframe"]}`),
			reason: ReasonInvalidReturnURL, field: "deep_link_return_url"},
		{name: "return URL with user info", claims: withSettings(`{"deep_link_return_url":"https://a:b@lms.example.com/","accept_types":["link"],"accept_presentation_document_targets":["iframe"]}`),
			reason: ReasonInvalidReturnURL, field: "deep_link_return_url"},
		{name: "no accept_types", claims: withSettings(`{"deep_link_return_url":"https://x.example/","accept_presentation_document_targets":["iframe"]}`),
			reason: ReasonInvalidSettings, field: "accept_types"},
		{name: "empty accept_types", claims: withSettings(`{"deep_link_return_url":"https://x.example/","accept_types":[],"accept_presentation_document_targets":["iframe"]}`),
			reason: ReasonInvalidSettings, field: "accept_types"},
		{name: "no targets", claims: withSettings(`{"deep_link_return_url":"https://x.example/","accept_types":["link"]}`),
			reason: ReasonInvalidSettings, field: "accept_presentation_document_targets"},
		{name: "accept_types a string", claims: withSettings(`{"deep_link_return_url":"https://x.example/","accept_types":"link","accept_presentation_document_targets":["iframe"]}`),
			reason: ReasonInvalidSettings, field: "accept_types"},
		{name: "return URL a number", claims: withSettings(`{"deep_link_return_url":7}`), reason: ReasonInvalidSettings, field: "deep_link_return_url"},
		{name: "accept_multiple a string", claims: withSettings(okSettings + `,"accept_multiple":"true"}`), reason: ReasonInvalidSettings, field: "accept_multiple"},
		{name: "accept_lineitem a number", claims: withSettings(okSettings + `,"accept_lineitem":1}`), reason: ReasonInvalidSettings, field: "accept_lineitem"},
		{name: "auto_create a string", claims: withSettings(okSettings + `,"auto_create":"no"}`), reason: ReasonInvalidSettings, field: "auto_create"},
		{name: "accept_media_types an array", claims: withSettings(okSettings + `,"accept_media_types":["image/png"]}`), reason: ReasonInvalidSettings, field: "accept_media_types"},
		{name: "data an object", claims: withSettings(okSettings + `,"data":{"a":1}}`), reason: ReasonInvalidSettings, field: "data"},
		{name: "data a number", claims: withSettings(okSettings + `,"data":42}`), reason: ReasonInvalidSettings, field: "data"},
		{name: "title a number", claims: withSettings(okSettings + `,"title":5}`), reason: ReasonInvalidSettings, field: "title"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseClaims(tc.claims)
			if tc.want != nil {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Fatalf("request (-want +got):\n%s", diff)
				}
				return
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("err = %v; want a *Error", err)
			}
			if de.Reason() != tc.reason || (tc.field != "" && de.Field() != tc.field) {
				t.Fatalf("got %q %q; want %q %q (%v)", de.Reason(), de.Field(), tc.reason, tc.field, err)
			}
			if c := lti.Classify(err); c.Code != lti.CodeInvalidDeepLinking || lti.AsError(err).Code() != lti.CodeInvalidDeepLinking {
				t.Fatalf("%v: class %+v, lti.AsError code %q; want invalid_deep_linking", err, c, lti.AsError(err).Code())
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	reg := registration.Registration{Issuer: "https://lms.example.com", ClientID: "c1"}
	settings := &lti.DeepLinkingSettings{
		DeepLinkReturnURL: "https://lms.example.com/dl", AcceptTypes: []string{"ltiResourceLink"},
		AcceptPresentationDocumentTargets: []string{"iframe"}, AcceptMultiple: boolp(true), AcceptLineItem: boolp(false),
		Data: "d",
	}
	dl := func(mut func(c *lti.Claims)) *launch.Launch {
		c := &lti.Claims{MessageType: lti.MessageDeepLinking, DeploymentID: "dep", DeepLinking: settings}
		if mut != nil {
			mut(c)
		}
		return &launch.Launch{Claims: c, Registration: reg, Deployment: deployment.Deployment{DeploymentID: "dep"}}
	}

	// A Context without raw claims falls back to the typed settings.
	got, err := ParseRequest(dl(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &Request{
		ReturnURL: "https://lms.example.com/dl", AcceptTypes: []string{"ltiResourceLink"},
		AcceptPresentationDocumentTargets: []string{"iframe"}, AcceptMultiple: true, AcceptLineItem: boolp(false),
		Data: json.RawMessage(`"d"`), Issuer: "https://lms.example.com", ClientID: "c1", DeploymentID: "dep",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("request (-want +got):\n%s", diff)
	}
	if s, ok := got.DataString(); !ok || s != "d" {
		t.Fatalf("DataString = %q, %v", s, ok)
	}

	for _, tc := range []struct {
		name   string
		l      *launch.Launch
		reason Reason
	}{
		{"nil launch", nil, ReasonNotDeepLinking},
		{"no claims", &launch.Launch{}, ReasonNotDeepLinking},
		{"resource link launch", dl(func(c *lti.Claims) { c.MessageType = lti.MessageResourceLink }), ReasonNotDeepLinking},
		{"no settings", dl(func(c *lti.Claims) { c.DeepLinking = nil }), ReasonInvalidSettings},
		{"javascript: return URL", dl(func(c *lti.Claims) {
			s := *settings
			s.DeepLinkReturnURL = "javascript:alert(1)"
			c.DeepLinking = &s
		}), ReasonInvalidReturnURL},
		{"no deployment_id", dl(func(c *lti.Claims) { c.DeploymentID = "" }), ReasonInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRequest(tc.l)
			if !errors.Is(err, &Error{reason: tc.reason}) || !errors.Is(err, lti.NewError(lti.CodeInvalidDeepLinking, "")) {
				t.Fatalf("err = %v; want %s wrapping invalid_deep_linking", err, tc.reason)
			}
		})
	}
}

func TestAcceptsMediaType(t *testing.T) {
	cases := []struct {
		accept, mt string
		want       bool
	}{
		{"", "application/pdf", true},
		{"", "", true},
		{"  ", "garbage", true},
		{"application/pdf", "application/pdf", true},
		{"application/pdf", "Application/PDF", true},
		{"application/pdf", "application/pdf; name=x", true},
		{"application/pdf", "application/json", false},
		{"image/*", "image/png", true},
		{"image/*", "imagex/png", false},
		{"image/*", "text/png", false},
		{"*/*", "text/plain", true},
		{"text/html;level=1, image/png", "image/png", true},
		{"text/html;level=1, image/png", "text/html", true},
		{"application/pdf", "", false},
		{"application/pdf", "pdf", false},
		{"application/pdf", "*/*", false},
		{"garbage, ,application/pdf", "application/pdf", true},
	}
	for _, tc := range cases {
		r := &Request{AcceptMediaTypes: tc.accept}
		if got := r.AcceptsMediaType(tc.mt); got != tc.want {
			t.Errorf("accept %q, media type %q: %v; want %v", tc.accept, tc.mt, got, tc.want)
		}
	}
}

// TestRequestSessionRoundTrip: a Request survives JSON, as a tool keeps it
// in its session while the user picks content.
func TestRequestSessionRoundTrip(t *testing.T) {
	r, err := parseClaims(withSettings(okSettings + `,"accept_lineitem":false,"data":"\u00e9\ud800"}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Issuer, r.ClientID, r.DeploymentID = "i", "c", "d"
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Request
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, &back); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
}
