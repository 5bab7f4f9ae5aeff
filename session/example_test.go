package session_test

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/session"
)

// A tool whose pages after the launch know the launch, with or without
// cookies: the launch starts a session, the first page links to /grade with
// the session in the URL and posts to it with the session in the form, and
// /grade requires a session.
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
	store := memory.New() // the launch's storage and the session store
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
	sessions, err := session.New(session.Config{Store: store, Tool: tool, BaseURL: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	page := template.Must(template.New("page").Parse(
		`<a href="{{.URL "/grade"}}">grade</a><form method="post" action="/grade">{{.FormFields}}<button>save</button></form>`))
	mux.Handle("/lti/login", tool.LoginHandler())
	mux.Handle("/lti/launch", tool.LaunchHandler(sessions.Start(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			s, _ := session.FromContext(r.Context())
			_ = page.Execute(w, s)
		}))))
	mux.Handle("/grade", sessions.Require(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			lc, _ := launch.FromContext(r.Context()) // the launch, as in the launch itself
			fmt.Fprintf(w, "%s grades as %s", r.Method, lc.Subject())
		})))

	// The launch, in a browser that keeps cookies.
	jar, _ := cookiejar.New(nil)
	browser := srv.Client()
	browser.Jar = jar
	resp, err := platform.Launch(context.Background(), browser, ltitest.WithUser("user-42", "Ada", "ada@example.com"))
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("launch:", resp.StatusCode)
	link := string(body[strings.Index(string(body), `href="`)+6 : strings.Index(string(body), `">grade`)])
	token := link[strings.Index(link, "lti_session=")+len("lti_session="):]

	show := func(what string, resp *http.Response, err error) {
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			b = nil
		}
		fmt.Printf("%s: %d %s\n", what, resp.StatusCode, b)
	}
	// The same browser, by its cookie.
	resp, err = browser.Get(srv.URL + "/grade")
	show("cookie", resp, err)
	// A framed page whose browser blocks the cookie: the link and the form
	// carry the session.
	noCookies := &http.Client{Transport: srv.Client().Transport}
	resp, err = noCookies.Get(srv.URL + link)
	show("link", resp, err)
	resp, err = noCookies.PostForm(srv.URL+"/grade", url.Values{session.ParamName: {token}})
	show("form", resp, err)
	// No session at all.
	resp, err = noCookies.Get(srv.URL + "/grade")
	show("none", resp, err)
	// Output:
	// launch: 200
	// cookie: 200 GET grades as user-42
	// link: 200 GET grades as user-42
	// form: 200 POST grades as user-42
	// none: 401
}
