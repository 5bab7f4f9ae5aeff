package deeplink

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParseClaims: the settings parser never panics on untrusted claims;
// what it accepts has an http(s) return URL, types and targets, data that
// is a JSON string, survives a session round trip, and builds a response
// whose claims marshal, with data echoed and a form free of script.
func FuzzParseClaims(f *testing.F) {
	f.Add(moodleClaims(f))
	f.Add(withSettings(okSettings + `}`))
	f.Add(withSettings(okSettings + `,"accept_media_types":"image/*","accept_multiple":true,"accept_lineitem":false,"auto_create":true,"data":"{\"x\":\"\u00e9\ud800\"}","title":"t","text":"x"}`))
	f.Add(withSettings(`{"deep_link_return_url":"javascript:alert(1)","accept_types":["link"],"accept_presentation_document_targets":["iframe"]}`))
	f.Add(withSettings(`{"deep_link_return_url":"https://a.example/\"><script>","accept_types":[""],"accept_presentation_document_targets":[""],"data":null}`))
	f.Add([]byte(`{"` + "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings" + `":{"data":1}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, claims []byte) {
		req, err := parseClaims(claims)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not an *Error", err)
			}
			return
		}
		if !webURL(req.ReturnURL) || len(req.AcceptTypes) == 0 || len(req.AcceptPresentationDocumentTargets) == 0 {
			t.Fatalf("accepted %+v", req)
		}
		if req.Data != nil {
			if _, ok := req.DataString(); !ok {
				t.Fatalf("data %s is not a JSON string", req.Data)
			}
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var back Request
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		wantData, _ := req.DataString()
		gotData, _ := back.DataString()
		if wantData != gotData || back.ReturnURL != req.ReturnURL || !cmp.Equal(back.AcceptTypes, req.AcceptTypes) {
			t.Fatalf("session round trip changed the request: %+v → %+v", req, &back)
		}

		req.Issuer, req.ClientID, req.DeploymentID = "https://lms.example", "c", "d"
		r, err := New(Config{Signer: noSigner{}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.Claims(&Response{Request: req})
		if err != nil {
			t.Fatalf("an empty response to an accepted request is refused: %v", err)
		}
		payload, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("claims do not marshal: %v", err)
		}
		var decoded map[string]any
		if err := json.Unmarshal(payload, &decoded); err != nil {
			t.Fatal(err)
		}
		if req.Data != nil && decoded[ClaimData] != wantData {
			t.Fatalf("data %q echoed as %q", wantData, decoded[ClaimData])
		}

		rec := httptest.NewRecorder()
		if err := (&Response{Request: req}).WriteForm(rec, "a.b.c"); err == nil {
			checkPage(t, rec.Body.String())
		}
	})
}

// checkPage asserts a form page has its one script and nothing injected.
func checkPage(t *testing.T, body string) {
	t.Helper()
	if n := strings.Count(strings.ToLower(body), "<script"); n != 1 {
		t.Fatalf("%d script tags in %s", n, body)
	}
	if n := strings.Count(strings.ToLower(body), "<form"); n != 1 {
		t.Fatalf("%d forms in %s", n, body)
	}
	if strings.Contains(strings.ToLower(body), "javascript:") {
		t.Fatalf("javascript: in %s", body)
	}
}

// FuzzItemJSON: any JSON decoded into an item either fails validation or
// marshals to an object of the item's type whose URLs are all http(s), and
// that decodes back to the same item.
func FuzzItemJSON(f *testing.F) {
	f.Add(uint8(0), []byte(`{"url":"https://tool.example/q","title":"Q","lineItem":{"scoreMaximum":10,"label":"L"},"custom":{"a":"b"},"available":{"startDateTime":"2026-01-01T00:00:00Z"},"window":{"targetName":"w"},"iframe":{"width":1}}`))
	f.Add(uint8(1), []byte(`{"url":"https://example.org","embed":{"html":"<b>"},"iframe":{"src":"https://example.org/e"},"icon":{"url":"https://example.org/i.png","width":1,"height":2}}`))
	f.Add(uint8(2), []byte(`{"url":"https://tool.example/a.pdf","mediaType":"application/pdf","expiresAt":"2026-01-01T00:00:00+02:00"}`))
	f.Add(uint8(3), []byte(`{"html":"<script>alert(1)</script>","title":"\u2028"}`))
	f.Add(uint8(4), []byte(`{"url":"javascript:alert(1)","width":-1}`))
	f.Add(uint8(0), []byte(`{"url":"https://user@tool.example","lineItem":{"scoreMaximum":-0}}`))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		newItem := []func() any{
			func() any { return &LTIResourceLink{} },
			func() any { return &Link{} },
			func() any { return &File{} },
			func() any { return &HTML{} },
			func() any { return &Image{} },
		}[int(kind)%5]
		v := newItem()
		if json.Unmarshal(data, v) != nil {
			return
		}
		item := v.(Item)
		req := &Request{
			ReturnURL: "https://lms.example/dl", AcceptTypes: []string{TypeLTIResourceLink, TypeLink, TypeFile, TypeHTML, TypeImage},
			AcceptPresentationDocumentTargets: []string{TargetIframe, TargetWindow, TargetEmbed},
			Issuer:                            "i", ClientID: "c", DeploymentID: "d",
		}
		items, err := (&Response{Request: req, Items: []Item{item}}).validate()
		if err != nil {
			return
		}
		var arr []map[string]any
		if err := json.Unmarshal(items, &arr); err != nil || len(arr) != 1 {
			t.Fatalf("content_items %s: %v", items, err)
		}
		if arr[0]["type"] != item.ItemType() {
			t.Fatalf("type %v; want %s", arr[0]["type"], item.ItemType())
		}
		checkURLs(t, arr[0], "")

		back := newItem()
		dec := json.NewDecoder(bytes.NewReader(items[1 : len(items)-1]))
		if err := dec.Decode(back); err != nil {
			t.Fatalf("%s does not decode back: %v", items, err)
		}
		// An empty map or list is omitted when marshalled (omitempty) and
		// comes back nil: for an item that is the same as absent.
		if diff := cmp.Diff(v, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// checkURLs asserts every url or src property in an item is http(s).
func checkURLs(t *testing.T, m map[string]any, path string) {
	t.Helper()
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any:
			if path == "" && k == "custom" {
				continue
			}
			checkURLs(t, x, path+k+".")
		case string:
			if (k == "url" || k == "src") && !webURL(x) {
				t.Fatalf("%s%s = %q passed validation", path, k, x)
			}
		}
	}
}
