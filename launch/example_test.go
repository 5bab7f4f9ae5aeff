package launch_test

import (
	"context"
	"errors"
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
		l, _ := launch.FromContext(r.Context())
		fmt.Fprintf(w, "%s for %s, instructor: %v", l.MessageType(), l.Subject(), l.Roles().IsInstructor())
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

// Each store in its own place: registrations and deployments in the host's
// database, login states in a cache the tool's nodes share. New names every
// store a Config lacks.
func ExampleConfig() {
	db := memory.New()    // stands for the host's SQL database
	cache := memory.New() // stands for a shared cache
	_, err := launch.New(launch.Config{
		Registrations: db,
		Deployments:   db,
		// memory.Store carries the nonce in its state records
		// (nonce.Carrier), so no Nonces store is needed.
		States:  cache,
		BaseURL: "https://tool.example.com",
	})
	fmt.Println(err)

	_, err = launch.New(launch.Config{Registrations: db, BaseURL: "https://tool.example.com"})
	fmt.Println(err)
	// Output:
	// <nil>
	// launch: Config has no store for Deployments, States, Nonces (not needed with a States that carries the nonce); set them, or Config.Storage for all
}

// Reading the launch from a handler further down the chain.
func ExampleFromContext() {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, ok := launch.FromContext(r.Context())
		if !ok {
			http.Error(w, "not launched", http.StatusUnauthorized)
			return
		}
		if l.Roles().IsInstructor() {
			fmt.Fprintln(w, "teacher view for", l.Subject())
			return
		}
		fmt.Fprintln(w, "student view")
	})
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 401 not launched
}

// Recording the new deployments of a known platform: a course that
// installs the tool gets a deployment_id the tool has never seen, and its
// first launch records it.
func ExampleRecordDeployments() {
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     srv.URL + "/lti/login",
		ToolRedirectURIs: []string{srv.URL + "/lti/launch"},
		TargetLinkURI:    srv.URL + "/lti/launch",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer platform.Close()
	// The registration is known; none of its deployments is.
	store := memory.New()
	if err := store.AddRegistration(platform.Registration()); err != nil {
		log.Fatal(err)
	}

	// Accept new deployments of registered platforms, except from one
	// issuer the host has blocked.
	approve := func(ctx context.Context, nd launch.NewDeployment) error {
		if nd.Registration.LTIRegistration().Issuer == "https://blocked.example" {
			return errors.New("new deployments of this platform need an administrator")
		}
		return nil
	}
	tool, err := launch.New(launch.Config{Storage: store, BaseURL: srv.URL},
		launch.WithDeploymentPolicy(launch.RecordDeployments(store, approve)))
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/lti/login", tool.LoginHandler())
	mux.Handle("/lti/launch", tool.LaunchHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, _ := launch.FromContext(r.Context())
		fmt.Fprintf(w, "launched in deployment %s", l.DeploymentID())
	})))

	jar, _ := cookiejar.New(nil)
	browser := srv.Client()
	browser.Jar = jar
	resp, err := platform.Launch(context.Background(), browser, ltitest.WithDeploymentID("course-7"))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))

	entries, _ := store.Registrations(context.Background())
	fmt.Println("recorded:", entries[0].Deployments)
	// Output:
	// 200 launched in deployment course-7
	// recorded: [course-7]
}
