package dynreg_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/dynreg"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

// A tool that platforms register with by URL. Registration is an admin
// act: here the Approve hook accepts only initiation URLs that carry the
// tool's own invitation code, which the tool's admin hands out with the
// registration URL.
func Example() {
	mux := http.NewServeMux()
	tool := httptest.NewServer(mux)
	defer tool.Close()
	store := memory.New() // also the launch's storage.Adapter

	reg, err := dynreg.New(dynreg.Config{
		BaseURL:        tool.URL, // login, launch and JWKS URLs default from it
		ClientName:     "Quiz tool",
		Scopes:         []string{lti.ScopeAGSLineItem, lti.ScopeAGSScore},
		DeepLinkingURL: tool.URL + "/lti/launch",
		Registrar:      store,
		Approve: func(ctx context.Context, req *dynreg.Request) (dynreg.Decision, error) {
			if req.HTTPRequest.URL.Query().Get("invite") != "b7f3" {
				return dynreg.Decision{Verdict: dynreg.Refuse, Reason: "ask the tool's administrator for a registration link"}, nil
			}
			return dynreg.Decision{Verdict: dynreg.Approve}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/lti/register", reg)

	// The LMS admin pastes the registration URL; the platform opens it
	// with its openid_configuration and a registration token.
	platform, err := ltitest.NewPlatform(ltitest.Config{RequireRegistrationToken: true})
	if err != nil {
		log.Fatal(err)
	}
	defer platform.Close()
	initiation, err := platform.RegistrationInitiationURL(tool.URL + "/lti/register?invite=b7f3")
	if err != nil {
		log.Fatal(err)
	}
	resp, err := http.Get(initiation)
	if err != nil {
		log.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Contains(string(page), "Registration complete"))

	// The tool stored the platform's registration and deployment.
	entries, err := store.Registrations(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.Registration.ClientID, e.Deployments)
	}
	// Output:
	// 200 true
	// ltitest-client [ltitest-deployment]
}

// A precheck that refuses, before anything is fetched, the registrations
// that do not come with the tool's invitation code: NotAllowed carries the
// words shown to the administrator, and the refusal is classified like any
// ltikit error.
func ExampleNotAllowed() {
	precheck := func(r *http.Request) error {
		if r.URL.Query().Get("invite") != "b7f3" {
			return dynreg.NotAllowed("ask the tool's administrator for a registration link")
		}
		return nil
	}
	_ = dynreg.WithPrecheck(precheck) // an Option of dynreg.New

	err := precheck(httptest.NewRequest(http.MethodGet, "/lti/register", nil))
	c := lti.Classify(err)
	fmt.Println(c.Code, c.Kind, c.Status, errors.Is(err, dynreg.ErrNotAllowed))
	var e *dynreg.Error
	if errors.As(err, &e) {
		fmt.Println(e.Description())
	}
	// Output:
	// registration_not_allowed configuration 403 true
	// ask the tool's administrator for a registration link
}
