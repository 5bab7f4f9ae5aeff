package nonce_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
)

// A state or nonce is 256 random bits in base64url: 43 characters that
// need no escaping in a URL, a form or a cookie.
func ExampleNewValue() {
	v := nonce.NewValue()
	raw, err := base64.RawURLEncoding.DecodeString(v)
	fmt.Println(len(v), len(raw) == nonce.ValueBytes, err)
	fmt.Println(v == nonce.NewValue())
	// Output:
	// 43 true <nil>
	// false
}

// Bind seals a login record's fields: the launch recomputes it on the
// record its state store returns, so a record that comes back with any
// field changed (a store fault, rows mixed up) is refused.
func ExampleLogin_Bind() {
	l := nonce.Login{
		State:         "state-1",
		Nonce:         "nonce-1",
		Issuer:        "https://moodle.example",
		ClientID:      "abc123",
		TargetLinkURI: "https://tool.example.com/lti/launch",
		ExpiresAt:     time.Now().Add(10 * time.Minute),
	}
	l.Binding = l.Bind()
	fmt.Println(len(l.Binding))

	// The binding covers the fields up to DeploymentID (not ExpiresAt).
	stored := l
	stored.TargetLinkURI = "https://other.example/"
	fmt.Println(stored.Bind() == l.Binding)
	stored = l
	stored.ExpiresAt = stored.ExpiresAt.Add(time.Minute)
	fmt.Println(stored.Bind() == l.Binding)
	// Output:
	// 64
	// false
	// true
}

// A state store hands a login record back exactly once: the second
// TakeState of the same state is refused with one of the package's
// errors, whose code is invalid_state. The memory adapter stands in for a
// database here.
func ExampleStateStore() {
	ctx := context.Background()
	var states nonce.StateStore = memory.New()
	l := nonce.Login{
		State:     nonce.NewValue(),
		Nonce:     nonce.NewValue(),
		Issuer:    "https://moodle.example",
		ClientID:  "abc123",
		ExpiresAt: time.Now().Add(10 * time.Minute),
	}
	l.Binding = l.Bind()
	if err := states.PutState(ctx, l); err != nil {
		fmt.Println(err)
		return
	}

	got, err := states.TakeState(ctx, l.State)
	fmt.Println(err, got.Nonce == l.Nonce, got.Bind() == got.Binding)

	_, err = states.TakeState(ctx, l.State)
	fmt.Println(errors.Is(err, nonce.ErrConsumed) || errors.Is(err, nonce.ErrNotFound), lti.Classify(err).Code)

	_, err = states.TakeState(ctx, nonce.NewValue())
	fmt.Println(errors.Is(err, nonce.ErrNotFound))
	// Output:
	// <nil> true true
	// true invalid_state
	// true
}

// A state store that carries the nonce inside the login record consumes
// both at once, and the tool needs no nonce Store: launch.Config's Nonces
// may stay nil.
func ExampleCarrier() {
	var states nonce.StateStore = memory.New()
	c, ok := states.(nonce.Carrier)
	fmt.Println(ok && c.CarriesNonce())
	// Output: true
}
