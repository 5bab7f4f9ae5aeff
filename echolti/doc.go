// Package echolti mounts the launch pipeline of package launch in an Echo
// (github.com/labstack/echo/v4) application.
//
// It is a thin adapter and owns no LTI logic: [LoginHandler] and
// [LaunchMiddleware] wrap the net/http handlers of a [launch.Tool], so the
// login initiation, the id_token validation, the state cookie and the error
// rendering are exactly the library's. After a successful launch the
// validated [launch.Launch] travels in the request's context.Context, where
// [Launch] reads it with [launch.FromContext]; nothing is stored under an
// echo.Context key, so there is no c.Get("…").(T) cast to get wrong.
//
//	tool, _ := launch.New(launch.Config{Storage: store, BaseURL: "https://tool.example.com"})
//	e := echo.New()
//	e.Match([]string{http.MethodGet, http.MethodPost}, "/lti/login", echolti.LoginHandler(tool))
//	e.POST("/lti/launch", func(c echo.Context) error {
//		l, _ := echolti.Launch(c)
//		return c.String(http.StatusOK, "hello "+l.Subject())
//	}, echolti.LaunchMiddleware(tool))
//
// # Errors
//
// A refused login or launch is answered by the tool's error handler
// ([launch.WriteError] unless [launch.WithErrorHandler] replaced it) with
// the pipeline's HTTP status and error code; the next handler is not
// called and Echo's HTTPErrorHandler is not involved. An error returned by
// the next handler after a successful launch is returned to Echo as usual.
package echolti
