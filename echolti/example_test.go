package echolti_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/echolti"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
)

// An Echo application with the two LTI endpoints, launched by the test
// platform.
func Example() {
	e := echo.New()
	srv := httptest.NewServer(e)
	defer srv.Close()

	// A platform (an LMS) and its registration in the tool's storage.
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     srv.URL + "/lti/login",
		ToolRedirectURIs: []string{srv.URL + "/lti/launch"},
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

	e.Match([]string{http.MethodGet, http.MethodPost}, "/lti/login", echolti.LoginHandler(tool))
	e.POST("/lti/launch", func(c echo.Context) error {
		l, ok := echolti.Launch(c)
		if !ok {
			return echo.ErrUnauthorized
		}
		return c.String(http.StatusOK, fmt.Sprintf("%s for %s (%s), instructor: %v",
			l.MessageType(), l.Subject(), l.Claims.Name, l.Roles().IsInstructor()))
	}, echolti.LaunchMiddleware(tool))

	// A browser: the platform drives login, auth and the form post.
	resp, err := platform.Launch(context.Background(), ltitest.NewBrowser())
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 LtiResourceLinkRequest for 1001 (Tea Cher), instructor: true
}

// Reading the launch in a handler: without LaunchMiddleware in front there
// is none.
func ExampleLaunch() {
	e := echo.New()
	e.GET("/app", func(c echo.Context) error {
		l, ok := echolti.Launch(c)
		if !ok {
			return c.String(http.StatusUnauthorized, "not launched")
		}
		return c.String(http.StatusOK, "hello "+l.Subject())
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/app", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 401 not launched
}
