package main

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

// The sandbox platform's registration with the tool.
const (
	sandboxClientID     = "demo-tool-sandbox"
	sandboxDeploymentID = "sandbox-deployment-1"
)

// sandboxCustom are the extra custom parameters of the "with custom
// parameters" launch, besides the platform's course_ctx. Custom parameter
// values are strings (LTI 1.3 Core §5.4.6); the markup shows that the
// launch page escapes what it displays.
var sandboxCustom = map[string]any{
	"chapter":       "3",
	"difficulty":    "advanced",
	"due_at":        "2026-12-01T23:59:00Z",
	"greeting_html": `<b>Hello</b> & "welcome"`,
}

// newSandbox returns the sandbox platform, served at cfg.SandboxURL and
// pointed at this tool.
func newSandbox(cfg serveConfig) (*ltitest.Platform, error) {
	return ltitest.NewHandler(cfg.SandboxURL, ltitest.Config{
		ClientID:         sandboxClientID,
		DeploymentID:     sandboxDeploymentID,
		ToolLoginURL:     cfg.BaseURL + "/lti/login",
		ToolRedirectURIs: []string{cfg.BaseURL + "/lti/launch"},
		TargetLinkURI:    cfg.BaseURL + "/lti/launch",
	})
}

// mountSandbox serves the sandbox at /sandbox/: this tool's page of launch
// links at /sandbox/, the custom-parameter launch at /sandbox/custom, and
// the platform's own endpoints (/auth, /jwks, /launch, …) below.
func (a *app) mountSandbox(e *echo.Echo) {
	platform := echo.WrapHandler(http.StripPrefix("/sandbox", a.sandbox))
	e.GET("/sandbox", func(c echo.Context) error {
		return c.Redirect(http.StatusFound, a.cfg.SandboxURL+"/")
	})
	e.GET("/sandbox/", a.sandboxPage)
	e.GET("/sandbox/custom", a.sandboxCustomLaunch)
	e.Any("/sandbox/*", platform)
}

// sandboxLink is one launch link of the sandbox page.
type sandboxLink struct {
	ID, Title, Description, URL string
}

func (a *app) sandboxLinks() []sandboxLink {
	launchURL := a.cfg.SandboxURL + ltitest.PathLaunch
	in, le := ltitest.DefaultInstructor, ltitest.DefaultLearner
	return []sandboxLink{
		{"launch-instructor", "Launch as instructor", in.Name + " (sub " + in.Sub + "), role Instructor", launchURL + "?role=instructor"},
		{"launch-learner", "Launch as learner", le.Name + " (sub " + le.Sub + "), role Learner", launchURL + "?role=learner"},
		{"launch-anonymous", "Anonymous launch", "no sub, name or email (LTI 1.3 Core §5.3.6)", launchURL + "?role=learner&anonymous=1"},
		{"launch-custom", "Launch with custom parameters", "as instructor, with custom parameters chapter, difficulty, due_at and greeting_html", a.cfg.SandboxURL + "/custom"},
		{"launch-deep-linking", "Deep linking request", "LtiDeepLinkingRequest as instructor, with deep_linking_settings", launchURL + "?role=instructor&message=deep_linking"},
		{"launch-instructor-get", "Launch as instructor, login by GET", "the login initiation as a redirect instead of a form post", launchURL + "?role=instructor&login_method=get"},
	}
}

func (a *app) sandboxPage(c echo.Context) error {
	reg := a.sandbox.Registration()
	return a.renderPage(c, http.StatusOK, "sandbox", map[string]any{
		"Links":        a.sandboxLinks(),
		"Issuer":       reg.Issuer,
		"ClientID":     reg.ClientID,
		"DeploymentID": a.sandbox.DeploymentID(),
		"AuthURL":      reg.AuthEndpoint,
		"JWKSURL":      reg.KeySetURL,
		"LoginURL":     a.toolURL("/lti/login"),
		"RedirectURI":  a.toolURL("/lti/launch"),
	})
}

// sandboxCustomLaunch starts an instructor launch whose custom claim
// carries sandboxCustom besides the platform's defaults.
func (a *app) sandboxCustomLaunch(c echo.Context) error {
	a.sandbox.StartBrowserLaunch(c.Response(), c.Request(), ltitest.AsInstructor(),
		ltitest.WithClaims(func(claims map[string]any) {
			custom, _ := claims[lti.ClaimCustom].(map[string]any)
			if custom == nil {
				custom = map[string]any{}
			}
			for k, v := range sandboxCustom {
				custom[k] = v
			}
			claims[lti.ClaimCustom] = custom
		}))
	return nil
}
