package deeplink_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/ltikit/ltikit/deeplink"
	"github.com/ltikit/ltikit/toolkey"
)

// benchResponse is a typical answer: one graded resource link.
func benchResponse() *deeplink.Response {
	return &deeplink.Response{Request: baseRequest(), Message: "Added", Items: []deeplink.Item{deeplink.LTIResourceLink{
		URL: "https://tool.example/quiz/7", Title: "Quiz 7", Custom: map[string]string{"quiz": "7"},
		LineItem: &deeplink.LineItem{ScoreMaximum: 10, Label: "Quiz 7", ResourceID: "quiz-7"},
	}}}
}

// BenchmarkSign: validate, build and sign a response with the toolkey
// Keyring (RSA-2048, RS256).
func BenchmarkSign(b *testing.B) {
	store, err := toolkey.NewMemoryStore(toolkey.StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	keyring, err := toolkey.NewKeyring(store)
	if err != nil {
		b.Fatal(err)
	}
	r := newResponder(b, keyring)
	resp := benchResponse()
	ctx := context.Background()
	if _, err := r.Sign(ctx, resp); err != nil { // first key generation outside the loop
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Sign(ctx, resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaims: validate and build the claims, without signing.
func BenchmarkClaims(b *testing.B) {
	r := newResponder(b, newSigner(b))
	resp := benchResponse()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Claims(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteForm: render the auto-submitting page.
func BenchmarkWriteForm(b *testing.B) {
	resp := benchResponse()
	jwt, err := newResponder(b, newSigner(b)).Sign(context.Background(), resp)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := resp.WriteForm(httptest.NewRecorder(), jwt); err != nil {
			b.Fatal(err)
		}
	}
}
