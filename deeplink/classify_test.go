package deeplink_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/ltikit/ltikit/deeplink"
	"github.com/ltikit/ltikit/internal/errortest"
	"github.com/ltikit/ltikit/lti"
)

// sentinels lists every exported error of the package with its reason.
var sentinels = map[string]struct {
	err    error
	reason deeplink.Reason
}{
	"ErrNotDeepLinking":       {deeplink.ErrNotDeepLinking, deeplink.ReasonNotDeepLinking},
	"ErrInvalidSettings":      {deeplink.ErrInvalidSettings, deeplink.ReasonInvalidSettings},
	"ErrInvalidReturnURL":     {deeplink.ErrInvalidReturnURL, deeplink.ReasonInvalidReturnURL},
	"ErrInvalidRequest":       {deeplink.ErrInvalidRequest, deeplink.ReasonInvalidRequest},
	"ErrTypeNotAccepted":      {deeplink.ErrTypeNotAccepted, deeplink.ReasonTypeNotAccepted},
	"ErrMultipleNotAccepted":  {deeplink.ErrMultipleNotAccepted, deeplink.ReasonMultipleNotAccepted},
	"ErrLineItemNotAccepted":  {deeplink.ErrLineItemNotAccepted, deeplink.ReasonLineItemNotAccepted},
	"ErrTargetNotAccepted":    {deeplink.ErrTargetNotAccepted, deeplink.ReasonTargetNotAccepted},
	"ErrMediaTypeNotAccepted": {deeplink.ErrMediaTypeNotAccepted, deeplink.ReasonMediaTypeNotAccepted},
	"ErrInvalidURL":           {deeplink.ErrInvalidURL, deeplink.ReasonInvalidURL},
	"ErrInvalidItem":          {deeplink.ErrInvalidItem, deeplink.ReasonInvalidItem},
}

// sentinelOf returns the sentinel of reason.
func sentinelOf(t *testing.T, reason deeplink.Reason) error {
	t.Helper()
	for _, s := range sentinels {
		if s.reason == reason {
			return s.err
		}
	}
	t.Fatalf("no sentinel for reason %q", reason)
	return nil
}

// TestErrorsClassify: every exported error of the package is in the table,
// and lti.Classify gives it the code invalid_deep_linking (400, input),
// bare or wrapped; its reason is the one of its name; errors.Is matches it
// by reason.
func TestErrorsClassify(t *testing.T) {
	errortest.CheckDeclared(t, "deeplink", ".", sentinels)
	for name, s := range sentinels {
		for _, err := range []error{s.err, fmt.Errorf("wrapped: %w", s.err)} {
			c := lti.Classify(err)
			if c.Code != lti.CodeInvalidDeepLinking || c.Kind != lti.KindInput || c.Status != 400 {
				t.Errorf("Classify(%s) = %+v; want invalid_deep_linking, input, 400", name, c)
			}
			var de *deeplink.Error
			if !errors.As(err, &de) || de.Reason() != s.reason || de.Item() != -1 || de.Field() != "" || de.Detail() != "" {
				t.Errorf("%s: reason %q item %d; want %q, -1", name, de.Reason(), de.Item(), s.reason)
			}
			if !errors.Is(err, s.err) {
				t.Errorf("%s does not match itself with errors.Is", name)
			}
		}
		for other, o := range sentinels {
			if other != name && errors.Is(s.err, o.err) {
				t.Errorf("%s matches %s", name, other)
			}
		}
	}
}

// TestSentinelsCannotBeModified: no exported sentinel has an exported
// field that code outside the package could set (the Reason, Item, Field
// and Detail are read with methods).
func TestSentinelsCannotBeModified(t *testing.T) {
	for name, s := range sentinels {
		if got := errortest.SettableFields("deeplink."+name, reflect.ValueOf(s.err)); len(got) > 0 {
			t.Errorf("settable exported fields: %v", got)
		}
	}
	// A refusal returned by the package is just as closed.
	err := (&deeplink.Response{Request: baseRequest(), Items: []deeplink.Item{deeplink.Link{URL: "javascript:x"}}}).Validate()
	var de *deeplink.Error
	if !errors.As(err, &de) {
		t.Fatalf("err = %v; want a *deeplink.Error", err)
	}
	if got := errortest.SettableFields("refusal", reflect.ValueOf(de)); len(got) > 0 {
		t.Errorf("settable exported fields: %v", got)
	}
	if de.Reason() != deeplink.ReasonInvalidURL || de.Item() != 0 || de.Field() != "url" || de.Detail() == "" || de.Code() != lti.CodeInvalidDeepLinking {
		t.Errorf("refusal %v: reason %q item %d field %q detail %q code %q", de, de.Reason(), de.Item(), de.Field(), de.Detail(), de.Code())
	}
}
