package main

import (
	"net/http"
	"strings"

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

// sandboxLearners is how many learners the sandbox's course has besides
// its default instructor and learner: the roster the tool reads.
const sandboxLearners = 25

// newSandbox returns the sandbox platform, served at cfg.SandboxURL and
// pointed at this tool: its launch and redirect URLs, and its key set URL,
// which the sandbox's token endpoint and deep_link_return_url verify the
// tool's signatures with. Its course has the default instructor and
// learner and sandboxLearners more learners.
func newSandbox(cfg serveConfig) (*ltitest.Platform, error) {
	p, err := ltitest.NewHandler(cfg.SandboxURL, ltitest.Config{
		ClientID:         sandboxClientID,
		DeploymentID:     sandboxDeploymentID,
		ToolLoginURL:     cfg.BaseURL + pathLogin,
		ToolRedirectURIs: []string{cfg.BaseURL + pathLaunch},
		TargetLinkURI:    cfg.BaseURL + pathLaunch,
		ToolJWKSURL:      cfg.BaseURL + pathJWKS,
		// The sandbox can be reachable by others: it signs with keys of
		// its own, never ltitest's built-in test keys.
		GenerateKeys: true,
	})
	if err != nil {
		return nil, err
	}
	for _, u := range []struct {
		user ltitest.User
		role string
	}{{ltitest.DefaultInstructor, ltitest.RoleInstructor}, {ltitest.DefaultLearner, ltitest.RoleLearner}} {
		given, family, _ := strings.Cut(u.user.Name, " ")
		p.AddMember(ltitest.Member{UserID: u.user.Sub, Name: u.user.Name, GivenName: given, FamilyName: family,
			Email: u.user.Email, Roles: []string{u.role}})
	}
	p.AddMembers(sandboxLearners)
	return p, nil
}

// mountSandbox serves the sandbox at /sandbox/: this tool's page of launch
// links at /sandbox/, the launches (with the AGS and NRPS claims) at
// /sandbox/launch and /sandbox/custom, the deep linking return page at
// /sandbox/deep_links, the launch of a returned content item at
// /sandbox/item, the recorded scores at /sandbox/scores, and the
// platform's own endpoints (/auth, /jwks, /token, /ags/…, /nrps/…, and
// the framed launch page /frame, which frames /sandbox/launch, with its
// platform storage frame /storage) below.
func (a *app) mountSandbox(e *echo.Echo) {
	platform := echo.WrapHandler(http.StripPrefix("/sandbox", a.sandbox))
	e.GET("/sandbox", func(c echo.Context) error {
		return c.Redirect(http.StatusFound, a.cfg.SandboxURL+"/")
	})
	e.GET("/sandbox/", a.sandboxPage)
	e.GET("/sandbox"+ltitest.PathLaunch, a.sandboxLaunch)
	e.GET("/sandbox/custom", a.sandboxCustomLaunch)
	e.POST("/sandbox"+ltitest.PathDeepLinks, a.sandboxDeepLinks)
	e.GET("/sandbox/scores", a.sandboxScores)
	e.GET("/sandbox/item", a.sandboxItemLaunch)
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
		{"launch-deep-linking", "Deep linking request", "LtiDeepLinkingRequest as instructor: pick content items, the sandbox verifies the signed response", launchURL + "?role=instructor&message=deep_linking"},
		{"launch-deep-linking-one", "Deep linking request, one item", "accept_multiple false, accept_lineitem false, accept_types ltiResourceLink, link and html", launchURL + "?role=instructor&message=deep_linking&settings=one"},
		{"launch-instructor-get", "Launch as instructor, login by GET", "the login initiation as a redirect instead of a form post", launchURL + "?role=instructor&login_method=get"},
	}
}

// sandboxFramedLinks are the sandbox page's framed launches: the sandbox's
// course page (ltitest's /frame) runs the launch in an iframe and answers
// the tool's LTI Client Side postMessages, as Canvas and Moodle do.
func (a *app) sandboxFramedLinks() []sandboxLink {
	frameURL := a.cfg.SandboxURL + ltitest.PathFrame
	return []sandboxLink{
		{"frame-instructor", "Framed launch as instructor (platform storage, _parent)", "in an iframe of the sandbox's course page, which keeps platform storage itself: lti_storage_target=_parent", frameURL + "?role=instructor&storage=parent"},
		{"frame-instructor-storage-frame", "Framed launch as instructor (platform storage frame)", "platform storage in a hidden frame of the course page: lti_storage_target=lti_storage", frameURL + "?role=instructor&storage=frame"},
		{"frame-instructor-no-storage", "Framed launch as instructor (no platform storage)", "no lti_storage_target and no postMessage answers: the tool has its cookies only", frameURL + "?role=instructor&storage=off"},
		{"frame-instructor-blackboard", "Framed launch as instructor (Blackboard Learn style)", "platform storage frame, lti_storage_target in the login initiation only, not in the launch form post", frameURL + "?role=instructor&storage=frame&storage_target_at_launch=0"},
		{"frame-deep-linking", "Framed deep linking request", "LtiDeepLinkingRequest as instructor in an iframe, platform storage _parent", frameURL + "?role=instructor&message=deep_linking&storage=parent"},
	}
}

func (a *app) sandboxPage(c echo.Context) error {
	reg := a.sandbox.Registration()
	return a.renderPage(c, http.StatusOK, "sandbox", map[string]any{
		"Links":        a.sandboxLinks(),
		"FramedLinks":  a.sandboxFramedLinks(),
		"Scores":       a.sandboxGradebook(maxSandboxRows),
		"ScoresURL":    a.cfg.SandboxURL + "/scores",
		"ContentItems": itemTable{Items: a.sandboxContentItems(maxSandboxRows)},
		"Members":      len(a.sandbox.Members()),
		"TokenURL":     reg.TokenEndpoint,
		"ToolJWKSURL":  a.toolURL(pathJWKS),
		"Issuer":       reg.Issuer,
		"ClientID":     reg.ClientID,
		"DeploymentID": a.sandbox.DeploymentID(),
		"AuthURL":      reg.AuthEndpoint,
		"JWKSURL":      reg.KeySetURL,
		"LoginURL":     a.toolURL(pathLogin),
		"RedirectURI":  a.toolURL(pathLaunch),
	})
}

// sandboxServices are the service claims of every sandbox launch: AGS
// (with the resource link's line item) and NRPS.
func (a *app) sandboxServices() []ltitest.LaunchOption {
	return []ltitest.LaunchOption{a.sandbox.WithAGS(), a.sandbox.WithNRPS()}
}

// sandboxLaunch starts a launch from the sandbox page's links, as the
// platform's own GET /launch does (the same query parameters, platform
// storage's storage_target and storage_target_at_launch included, which
// the framed launch page /sandbox/frame sets), with the service claims
// added. settings=one (with message=deep_linking) asks for one item at
// most, no line items, and accepts html items too.
func (a *app) sandboxLaunch(c echo.Context) error {
	q := c.QueryParams()
	opts := a.sandboxServices()
	switch q.Get("role") {
	case "", "instructor":
		opts = append(opts, ltitest.AsInstructor())
	case "learner":
		opts = append(opts, ltitest.AsLearner())
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "role must be instructor or learner")
	}
	switch q.Get("message") {
	case "", "resource_link":
	case "deep_linking":
		opts = append(opts, ltitest.DeepLinking())
		switch q.Get("settings") {
		case "":
		case "one":
			opts = append(opts, ltitest.WithClaims(oneItemSettings))
		default:
			return echo.NewHTTPError(http.StatusBadRequest, "settings must be one")
		}
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "message must be resource_link or deep_linking")
	}
	if q.Get("anonymous") == "1" {
		opts = append(opts, ltitest.Anonymous())
	}
	switch m := q.Get("login_method"); m {
	case "":
	case "get", "post":
		opts = append(opts, ltitest.WithLoginMethod(m))
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "login_method must be get or post")
	}
	storage, err := ltitest.StorageLaunchOptions(q)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "storage_target_at_launch must be 0 or 1")
	}
	opts = append(opts, storage...)
	a.sandbox.StartBrowserLaunch(c.Response(), c.Request(), opts...)
	return nil
}

// oneItemSettings changes a deep linking request's settings to accept one
// item at most, no line items, and html items besides resource links and
// links.
func oneItemSettings(claims map[string]any) {
	if dl, ok := claims[lti.ClaimDeepLinking].(map[string]any); ok {
		dl["accept_types"] = []string{"ltiResourceLink", "link", "html"}
		dl["accept_multiple"] = false
		dl["accept_lineitem"] = false
	}
}

// sandboxCustomLaunch starts an instructor launch whose custom claim
// carries sandboxCustom besides the platform's defaults.
func (a *app) sandboxCustomLaunch(c echo.Context) error {
	a.sandbox.StartBrowserLaunch(c.Response(), c.Request(), append(a.sandboxServices(), ltitest.AsInstructor(),
		ltitest.WithClaims(func(claims map[string]any) {
			custom, _ := claims[lti.ClaimCustom].(map[string]any)
			if custom == nil {
				custom = map[string]any{}
			}
			for k, v := range sandboxCustom {
				custom[k] = v
			}
			claims[lti.ClaimCustom] = custom
		}))...)
	return nil
}

// sandboxItemLaunch launches a content item the tool returned by deep
// linking, as an LMS launches the resource link it placed for it
// (ltitest's ContentItemLaunch): item= names it (sandboxItemKey), role=
// is instructor (the default) or learner. The launch carries NRPS and the
// AGS claim, with the item's own gradebook column when it asked for one
// and without a lineitem otherwise.
func (a *app) sandboxItemLaunch(c echo.Context) error {
	key := c.QueryParam("item")
	item, ok := a.sandboxItem(key)
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	var opts []ltitest.LaunchOption
	switch c.QueryParam("role") {
	case "", "instructor":
		opts = append(opts, ltitest.AsInstructor())
	case "learner":
		opts = append(opts, ltitest.AsLearner())
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "role must be instructor or learner")
	}
	il, err := a.sandbox.ContentItemLaunch(item, "dl-"+key)
	if err != nil {
		writeErrorPageFull(c.Response(), c.Request(), "Launch failed", http.StatusBadRequest, string(lti.CodeInvalidRequest),
			strings.TrimPrefix(err.Error(), "ltitest: "), "The sandbox launches ltiResourceLink items only.")
		return nil
	}
	opts = append(opts, il.Options...)
	if il.LineItem != nil {
		opts = append(opts, a.sandbox.WithAGS())
	} else {
		opts = append(opts, ltitest.WithClaim(lti.ClaimAGSEndpoint, a.sandbox.AGSClaim("")))
	}
	opts = append(opts, a.sandbox.WithNRPS())
	a.sandbox.StartBrowserLaunch(c.Response(), c.Request(), opts...)
	return nil
}
