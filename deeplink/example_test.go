package deeplink_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deeplink"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/toolkey"
)

// A tool answers a deep linking launch with a graded quiz; the test
// platform verifies the signed response.
func Example() {
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     srv.URL + "/lti/login",
		ToolRedirectURIs: []string{srv.URL + "/lti/launch"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer platform.Close()
	store := memory.New()
	_ = store.AddRegistration(platform.Registration())
	_ = store.AddDeployment(platform.Registration().Key(), platform.Deployment())
	tool, err := launch.New(launch.Config{Storage: store, BaseURL: srv.URL})
	if err != nil {
		log.Fatal(err)
	}

	// The tool's signing keys; the platform is given their public half.
	keys, _ := toolkey.NewMemoryStore(toolkey.StoreOptions{})
	keyring, _ := toolkey.NewKeyring(keys)
	publicKeys, _ := keyring.KeySet(context.Background())
	platform.SetToolKeySet(publicKeys)

	responder, err := deeplink.New(deeplink.Config{Signer: keyring})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/lti/login", tool.LoginHandler())
	mux.Handle("/lti/launch", tool.LaunchHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, _ := launch.FromContext(r.Context())
		req, err := deeplink.ParseRequest(l)
		if err != nil {
			http.Error(w, err.Error(), lti.Classify(err).Status)
			return
		}
		// A real tool shows a picker here and answers later.
		resp := &deeplink.Response{Request: req, Items: []deeplink.Item{deeplink.LTIResourceLink{
			URL:      srv.URL + "/quiz/7",
			Title:    "Quiz 7",
			LineItem: &deeplink.LineItem{ScoreMaximum: 10},
		}}}
		if err := responder.Respond(r.Context(), w, resp); err != nil {
			http.Error(w, err.Error(), lti.Classify(err).Status)
		}
	})))

	// The browser: launch, then let the tool's page post to the platform.
	jar, _ := cookiejar.New(nil)
	browser := srv.Client()
	browser.Jar = jar
	page, err := platform.Launch(context.Background(), browser, ltitest.DeepLinking())
	if err != nil {
		log.Fatal(err)
	}
	answer, err := platform.SubmitDeepLinkingForm(context.Background(), browser, page)
	if err != nil {
		log.Fatal(err)
	}
	answer.Body.Close()

	res := platform.DeepLinkingResults()[0]
	fmt.Println(answer.StatusCode, res.Err)
	for _, it := range res.Items {
		fmt.Println(it.Type, it.Title)
	}
	// Output:
	// 200 <nil>
	// ltiResourceLink Quiz 7
}

// A response the platform's settings do not allow is refused before
// anything is signed.
func ExampleResponse_Validate() {
	req := &deeplink.Request{
		ReturnURL:                         "https://lms.example.com/deep_links",
		AcceptTypes:                       []string{deeplink.TypeLTIResourceLink},
		AcceptPresentationDocumentTargets: []string{deeplink.TargetIframe},
		Issuer:                            "https://lms.example.com",
		ClientID:                          "client-1",
		DeploymentID:                      "1",
	}
	for _, items := range [][]deeplink.Item{
		{deeplink.Link{URL: "https://example.org"}},
		{deeplink.LTIResourceLink{}, deeplink.LTIResourceLink{}},
		{deeplink.LTIResourceLink{URL: "javascript:alert(1)"}},
		{deeplink.LTIResourceLink{Window: &deeplink.Window{}}},
		{deeplink.LTIResourceLink{URL: "https://tool.example/quiz/7"}},
	} {
		err := (&deeplink.Response{Request: req, Items: items}).Validate()
		var de *deeplink.Error
		if errors.As(err, &de) {
			fmt.Println(de.Reason(), lti.Classify(err).Code)
			continue
		}
		fmt.Println("ok")
	}
	// Output:
	// type_not_accepted invalid_deep_linking
	// multiple_not_accepted invalid_deep_linking
	// invalid_url invalid_deep_linking
	// target_not_accepted invalid_deep_linking
	// ok
}
