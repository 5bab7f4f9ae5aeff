package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/dynreg"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/storage"
)

// Dynamic Registration (LTI Dynamic Registration 1.0) in the demo tool.
// An LMS administrator pastes a registration URL into the LMS; the LMS
// opens it with its openid_configuration, and package dynreg registers the
// tool with the LMS and stores the registration and its deployment.
//
// Registering a platform is an administrator's act, so the URL alone
// registers nothing. Either the URL is a one-time link made by
// 'demo-tool registration link' (<base-url>/lti/register/<token>: the
// token is checked before the tool fetches anything and spent when the
// registration is approved, so it registers one platform, once), or the
// server runs with --open-registration, which accepts every registration
// and is refused unless the tool's base URL is on a loopback host or the
// sandbox is on. Otherwise the page says that Dynamic Registration is off
// and how to make a link.

// dynregClientName is the client_name the tool registers with.
const dynregClientName = "ltikit demo tool"

// linkTokenKey carries a registration link's token from the route to the
// dynreg hooks.
type linkTokenKey struct{}

// setUpDynreg builds the Dynamic Registration handler.
func (a *app) setUpDynreg() error {
	a.links = newRegLinks(a.store.recordsDB())
	// Canvas Cloud serves its configuration on each school's host under
	// one shared issuer; the link (or --open-registration) still decides
	// whether a registration is approved.
	opts := []dynreg.Option{dynreg.WithLogger(a.log), dynreg.WithPrecheck(a.checkRegistrationLink), dynreg.CanvasCloud()}
	h, err := dynreg.New(dynreg.Config{
		BaseURL:        a.cfg.BaseURL,
		LoginURL:       a.toolURL(pathLogin),
		RedirectURIs:   []string{a.toolURL(pathLaunch)},
		TargetLinkURI:  a.toolURL(pathLaunch),
		JWKSURL:        a.toolURL(pathJWKS),
		DeepLinkingURL: a.toolURL(pathLaunch),
		ClientName:     dynregClientName,
		Description:    "The demo tool of ltikit, an LTI 1.3 tool library for Go: launches, grades, rosters and deep linking.",
		Scopes: []string{lti.ScopeAGSLineItem, lti.ScopeAGSLineItemReadOnly, lti.ScopeAGSResultReadOnly,
			lti.ScopeAGSScore, lti.ScopeNRPSMembership},
		Registrar:    a.store,
		Approve:      a.approveRegistration,
		OnRegistered: a.registered,
	}, opts...)
	if err != nil {
		return err
	}
	a.dynreg = h
	return nil
}

// mountDynreg serves the registration URL, with and without a link token.
func (a *app) mountDynreg(e *echo.Echo) {
	serve := func(c echo.Context) error {
		r := c.Request()
		if tok := c.Param("token"); tok != "" {
			r = r.WithContext(context.WithValue(r.Context(), linkTokenKey{}, tok))
		}
		// The answer is a page for the administrator, never cached.
		c.Response().Header().Set("Cache-Control", "no-store")
		a.dynreg.ServeHTTP(c.Response(), r)
		return nil
	}
	e.GET(pathRegister, serve)
	e.GET(pathRegister+"/:token", serve)
}

// registrationOff is what an administrator reads when the LMS opens a
// registration URL and the tool accepts none through it.
const registrationOff = "Dynamic Registration is off for this URL. Ask the tool's operator for a one-time " +
	"registration link (demo-tool registration link --base-url <the tool's URL>) and paste that into the LMS, " +
	"or register the tool by hand with the values 'demo-tool config' shows."

// checkRegistrationLink runs before the tool fetches anything from the
// platform: a one-time link must be unused and unexpired, and a URL
// without one is accepted only with --open-registration. The link is
// spent only when the registration is approved (approveRegistration).
func (a *app) checkRegistrationLink(r *http.Request) error {
	tok, _ := r.Context().Value(linkTokenKey{}).(string)
	if tok == "" {
		if a.cfg.OpenRegistration {
			return nil
		}
		return notAllowed(registrationOff)
	}
	switch err := a.links.check(r.Context(), tok); {
	case errors.Is(err, errNoLink):
		return notAllowed("This registration link is unknown, used or expired: each link registers one platform, once. Make a new one with 'demo-tool registration link'.")
	case err != nil:
		return err
	}
	return nil
}

// approveRegistration spends the link the registration came with: of two
// registrations racing with one link, on any nodes, one is approved.
func (a *app) approveRegistration(ctx context.Context, req *dynreg.Request) (dynreg.Decision, error) {
	tok, _ := req.HTTPRequest.Context().Value(linkTokenKey{}).(string)
	if tok == "" {
		if a.cfg.OpenRegistration {
			a.log.WarnContext(ctx, "dynreg: approving a registration without a link (--open-registration)",
				slog.String("issuer", req.Platform.Issuer))
			return dynreg.Decision{Verdict: dynreg.Approve}, nil
		}
		return dynreg.Decision{Reason: registrationOff}, nil
	}
	switch err := a.links.use(ctx, tok); {
	case errors.Is(err, errNoLink):
		return dynreg.Decision{Reason: "This registration link was used by another registration a moment ago: make a new one with 'demo-tool registration link'."}, nil
	case err != nil:
		return dynreg.Decision{}, err
	}
	return dynreg.Decision{Verdict: dynreg.Approve}, nil
}

// registered drops any cached lookup of the new registration, so its
// first launch on this node reads it (a miss is never cached, so this only
// matters when an identical registration existed).
func (a *app) registered(_ context.Context, res *dynreg.Result) {
	if c, ok := a.lookups.(*storage.LookupCache); ok {
		c.Forget(res.Registration.Issuer, res.Registration.ClientID)
	}
}

// isRegistrationRequest reports whether a request to a page that is not
// the registration URL carries a registration initiation's parameters:
// an administrator pasted the wrong URL into the LMS.
func isRegistrationRequest(r *http.Request) bool {
	q := r.URL.Query()
	return q.Has("openid_configuration") || strings.Contains(r.URL.RawQuery, "registration_token=")
}

// loopbackBaseURL reports whether the tool is reached on a loopback host:
// base's host, or, before the default base URL is known, the listen
// address's (an unspecified address listens on every interface: not
// loopback).
func loopbackBaseURL(base, addr string) bool {
	if base != "" {
		u, err := url.Parse(base)
		return err == nil && isLoopbackHost(u.Hostname())
	}
	host, _, err := net.SplitHostPort(addr)
	return err == nil && host != "" && isLoopbackHost(host)
}

// notAllowed is a refusal of the registration with words for the
// administrator (dynreg renders it as a 403 page).
func notAllowed(reason string) error {
	return dynreg.NotAllowed(reason)
}

// newDeployment approves recording a new deployment of a registered
// platform (--new-deployments record) and logs it: the launch is verified,
// so the platform itself made the deployment.
func (a *app) newDeployment(ctx context.Context, nd launch.NewDeployment) error {
	reg := nd.Registration.LTIRegistration()
	a.log.InfoContext(ctx, "recording a new deployment", slog.String("iss", reg.Issuer),
		slog.String("client_id", reg.ClientID), slog.String("deployment_id", nd.DeploymentID))
	return nil
}
