package launch_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
)

// A tool with the two LTI endpoints, launched by the test platform.
func Example() {
	// The tool's HTTPS server: the state cookie is Secure.
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	// A platform (an LMS) and its registration in the tool's storage.
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     srv.URL + "/lti/login",
		ToolRedirectURIs: []string{srv.URL + "/lti/launch"},
		TargetLinkURI:    srv.URL + "/lti/launch",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer platform.Close()
	store := memory.New()
	if err := store.AddRegistration(platform.Registration()); err != nil {
		log.Fatal(err)
	}
	if err := store.AddDeployment(platform.Registration().Key(), platform.Deployment()); err != nil {
		log.Fatal(err)
	}

	tool, err := launch.New(launch.Config{Storage: store, BaseURL: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/lti/login", tool.LoginHandler())
	mux.Handle("/lti/launch", tool.LaunchHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lc, _ := launch.FromContext(r.Context())
		fmt.Fprintf(w, "%s for %s, instructor: %v", lc.MessageType(), lc.Subject(), lc.Roles().IsInstructor())
	})))

	// A browser: the platform drives login, auth and the form post.
	jar, _ := cookiejar.New(nil)
	browser := srv.Client()
	browser.Jar = jar
	resp, err := platform.Launch(context.Background(), browser, ltitest.WithUser("user-42", "Ada", "ada@example.com"))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 LtiResourceLinkRequest for user-42, instructor: true
}

// Reading the launch from a handler further down the chain.
func ExampleFromContext() {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lc, ok := launch.FromContext(r.Context())
		if !ok {
			http.Error(w, "not launched", http.StatusUnauthorized)
			return
		}
		if lc.Roles().IsInstructor() {
			fmt.Fprintln(w, "teacher view for", lc.Subject())
			return
		}
		fmt.Fprintln(w, "student view")
	})
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 401 not launched
}
