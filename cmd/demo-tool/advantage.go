package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/deeplink"
	"github.com/ltikit/ltikit/echolti"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/ags"
	"github.com/ltikit/ltikit/services/nrps"
	"github.com/ltikit/ltikit/services/token"
	"github.com/ltikit/ltikit/toolkey"
)

// The tool's LTI Advantage endpoints.
const (
	// pathJWKS is the tool's public key set: register <base-url>/.well-known/jwks.json
	// with platforms as the tool's JWKS URL.
	pathJWKS = "/.well-known/jwks.json"
	// pathGrade is the send-a-grade page (GET) and its form's target (POST).
	pathGrade = "/grade"
	// pathRoster is the roster page.
	pathRoster = "/roster"
	// pathDeepLinking is the deep linking picker's form target.
	pathDeepLinking = "/deep-linking"
	// pathLaunchPage shows the launch page again for the launch session:
	// the pages after the launch link back to it (the launch itself is a
	// one-time post to pathLaunch).
	pathLaunchPage = "/launch"
)

// serviceTimeout bounds one call to a platform's token endpoint or services;
// serviceCallTimeout bounds the platform calls of one page.
const (
	serviceTimeout     = 15 * time.Second
	serviceCallTimeout = 25 * time.Second
)

// setUpAdvantage makes what the LTI Advantage pages need: the keyring over
// the database's key store, the token client and deep linking responder
// that sign with it, and the marks of answered deep linking requests in
// the database.
func (a *app) setUpAdvantage() error {
	var err error
	a.keys, err = toolkey.NewKeyring(a.store.ToolKeys())
	if err != nil {
		return err
	}
	a.tokens, err = token.New(token.Config{Signer: a.keys},
		token.WithLogger(a.log), token.WithHTTPClient(&http.Client{Timeout: serviceTimeout}), token.WithMeterProvider(a.meters))
	if err != nil {
		return err
	}
	a.responder, err = deeplink.New(deeplink.Config{Signer: a.keys}, deeplink.WithMeterProvider(a.meters))
	if err != nil {
		return err
	}
	a.dlAnswers = newMarks(a.store.recordsDB(), "dl-answer", dlAnswerTTL)
	return nil
}

// mountAdvantage serves the tool's key set, and the pages after a launch
// behind the launch session (sessions.Require): a request without a
// usable session is refused before it reaches them.
func (a *app) mountAdvantage(e *echo.Echo) {
	jwks := echo.WrapHandler(a.keys)
	e.GET(pathJWKS, jwks)
	e.HEAD(pathJWKS, jwks)
	requireSession := echolti.Middleware(a.sessions.Require)
	e.GET(pathLaunchPage, a.launchPage, requireSession)
	e.GET(pathGrade, a.gradePage, requireSession)
	e.POST(pathGrade, a.postGrade, requireSession)
	e.GET(pathRoster, a.rosterPage, requireSession)
	e.POST(pathDeepLinking, a.respondDeepLinking, requireSession)
}

// agsClient is the AGS client for the launch's claim, with the
// registration the session's launch was restored with: looked up again
// as launches do (through --lookup-cache), so a registration changed or
// removed since the launch is seen within the same time.
func (a *app) agsClient(l *launch.Launch) (*ags.Client, error) {
	return ags.New(ags.Config{Registration: l.Registration, Endpoint: *l.Claims.AGS, Source: a.tokens}, ags.WithMeterProvider(a.meters))
}

// nrpsClient is the NRPS client for the launch's claim.
func (a *app) nrpsClient(l *launch.Launch) (*nrps.Client, error) {
	return nrps.New(nrps.Config{Registration: l.Registration, Endpoint: *l.Claims.NRPS, Source: a.tokens}, nrps.WithMeterProvider(a.meters))
}

// serviceFailure is a failed service call as shown to the user: a status,
// a code and a description that say what failed and, when the platform
// said why, its words (bounded and cleaned by the services packages, and
// escaped by the page's template). The error itself goes to the log.
type serviceFailure struct {
	Status      int
	Code        string
	Description string
}

// oauthCodes are the token endpoint error codes of RFC 6749 §5.2.
var oauthCodes = []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
	"unsupported_grant_type", "invalid_scope"}

// platformWords is what the platform said in an error answer: its RFC 6749
// §5.2 description (or code), else the excerpt of its body.
func platformWords(code, description, excerpt string) string {
	switch {
	case description != "":
		return description
	case code != "":
		return code
	}
	return excerpt
}

// describeServiceError logs err and says what failed, for the page. The
// status and code are lti.Classify's (docs/errors.md); the description
// says what the tool knows, with the platform's words when it said why.
func (a *app) describeServiceError(ctx context.Context, what string, err error) serviceFailure {
	var (
		te *token.RetrieveError
		he *ags.HTTPError
		le *lti.Error
	)
	attrs := []slog.Attr{slog.String("error", err.Error())}
	switch {
	case errors.As(err, &te):
		attrs = append(attrs, te.LogAttrs()...)
	case errors.As(err, &he):
		attrs = append(attrs, he.LogAttrs()...)
	}
	a.log.LogAttrs(ctx, slog.LevelWarn, what+" failed", attrs...)
	class := lti.Classify(err)
	fail := func(desc string) serviceFailure { return serviceFailure{class.Status, string(class.Code), desc} }
	switch {
	case errors.Is(err, registration.ErrNotFound):
		return fail("the platform of this launch is no longer registered with the tool")
	case te != nil && class.Code == lti.CodeTokenRefused:
		desc := fmt.Sprintf("the platform's token endpoint refused the tool's request (HTTP %d)", te.Status)
		if slices.Contains(oauthCodes, te.ErrorCode) {
			desc = fmt.Sprintf("the platform's token endpoint refused the tool's request: %s (HTTP %d)", te.ErrorCode, te.Status)
		}
		if words := platformWords("", te.ErrorDescription, te.Excerpt); words != "" {
			desc += "; the platform said: " + words
		}
		// The tool signs its token requests with its own key (te.KeyID):
		// a platform that does not know the key, or the tool, says so in
		// one of these ways (Moodle: "kid" invalid, unable to lookup
		// correct key).
		if te.ErrorCode == "invalid_client" || strings.Contains(strings.ToLower(te.ErrorDescription+te.Excerpt), "kid") {
			desc += fmt.Sprintf(". Check that the platform has the tool's JWKS URL (%s) and can reach it; the request was signed with key %q", a.toolURL(pathJWKS), te.KeyID)
		}
		return fail(desc)
	case te != nil:
		return fail(fmt.Sprintf("the platform's token endpoint answered something the tool cannot use (HTTP %d)", te.Status))
	case errors.Is(err, token.ErrNoTokenEndpoint):
		return fail("the platform's registration has no token endpoint: add one with 'demo-tool platform add --token-url'")
	case he != nil:
		desc := fmt.Sprintf("the platform answered HTTP %d", he.StatusCode)
		if words := platformWords(he.ErrorCode, he.ErrorDescription, he.Body); words != "" {
			desc += "; it said: " + words
		}
		return fail(desc)
	case class.Code == lti.CodeForeignHost:
		return fail("a service URL the platform sent is not on the platform's host; no token was sent there")
	case class.Code == lti.CodeMalformedResponse, class.Code == lti.CodeResponseTooLarge:
		return fail("the platform's answer could not be read")
	case class.Code == lti.CodeServiceUnavailable:
		return fail("the platform could not be reached, or did not answer in time")
	case errors.As(err, &le):
		return fail(le.Description())
	}
	return fail("the call to the platform failed")
}

// writeServiceError answers a failed service call with the error page.
func (a *app) writeServiceError(c echo.Context, what string, err error) error {
	f := a.describeServiceError(c.Request().Context(), what, err)
	a.writeSessionErrorPage(c.Response(), c.Request(), what+" failed", f.Status, f.Code, f.Description, "")
	return nil
}
