package ags

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ltikit/ltikit/services/internal/svchttp"
)

// FuzzLineItemContainer feeds the line item container parser (the one
// LineItems runs on every page) arbitrary bytes: it must not panic, and
// every line item it returns must encode back to valid JSON.
func FuzzLineItemContainer(f *testing.F) {
	f.Add([]byte(`[{"id":"http://127.0.0.1:8080/mod/lti/services.php/2/lineitems/2/lineitem?type_id=1","label":"Stub activity","ltiLinkId":"1","resourceId":"","resourceLinkId":"1","scoreMaximum":10,"tag":""}]`))
	f.Add([]byte(`[{"scoreMaximum":1e308,"label":"x","submissionReview":{"custom":{"a":"b"}},"gradesReleased":false,"ID":"dup","x":{"y":[1,2,{}]}}]`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Add([]byte(`[] x`))
	f.Add([]byte(`[{"label":"\u0000","tag":"\ud800"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = svchttp.DecodeArray(json.NewDecoder(bytes.NewReader(data)), func(li LineItem) bool {
			out, err := json.Marshal(li)
			if err != nil {
				// Only non-finite numbers cannot be encoded, and JSON has none.
				t.Fatalf("%+v does not encode: %v", li, err)
			}
			if !json.Valid(out) {
				t.Fatalf("invalid JSON %s", out)
			}
			var back LineItem
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatalf("%s does not decode: %v", out, err)
			}
			return true
		})
	})
}

// FuzzResultContainer does the same for result pages.
func FuzzResultContainer(f *testing.F) {
	f.Add([]byte(`[{"comment":"from stub tool","id":"http://127.0.0.1:8080/mod/lti/services.php/2/lineitems/2/lineitem/results?type_id=1\u0026user_id=3","resultMaximum":10,"resultScore":7,"scoreOf":"http://127.0.0.1:8080/mod/lti/services.php/2/lineitems/2/lineitem?type_id=1","timestamp":"2026-11-22T05:18:43+00:00","userId":"3"}]`))
	f.Add([]byte(`[{"resultScore":null,"userId":3}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = svchttp.DecodeArray(json.NewDecoder(bytes.NewReader(data)), func(r Result) bool {
			if out, err := json.Marshal(r); err != nil || !json.Valid(out) {
				t.Fatalf("%+v: %s %v", r, out, err)
			}
			return true
		})
	})
}
