package echolti

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/launch"
)

// LoginHandler returns the tool's login initiation endpoint (GET and POST,
// LTI 1.3 Core §4.1) as an Echo handler: [launch.Tool.LoginHandler],
// wrapped. Route both methods to it, e.g. with e.Match.
func LoginHandler(t *launch.Tool) echo.HandlerFunc {
	return echo.WrapHandler(t.LoginHandler())
}

// LaunchMiddleware returns middleware for the tool's redirect (launch) URI.
// It runs [launch.Tool.LaunchHandler]: a valid launch reaches next with the
// [launch.Launch] in the request context (read it with [Launch]); a
// refused one is answered by the tool's error handler and next is not
// called. next's error, if any, is returned to Echo.
func LaunchMiddleware(t *launch.Tool) echo.MiddlewareFunc {
	return Middleware(t.LaunchHandler)
}

// Middleware adapts one of ltikit's net/http middlewares (such as
// [launch.Tool.LaunchHandler], or a launch session manager's Start and
// Require) to Echo: when m calls its next handler, the request it passes
// on, with its context, becomes the Echo context's and next runs; next's
// error, if any, is returned to Echo. When m answers itself (a refusal),
// next is not called.
func Middleware(m func(http.Handler) http.Handler) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var nextErr error
			h := m(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// r carries what m added to the context. w is
				// c.Response() unless m wrapped it; then next must write
				// through w.
				if rw, ok := w.(*echo.Response); !ok || rw != c.Response() {
					c.SetResponse(echo.NewResponse(w, c.Echo()))
				}
				c.SetRequest(r)
				nextErr = next(c)
			}))
			h.ServeHTTP(c.Response(), c.Request())
			return nextErr
		}
	}
}

// LaunchHandler is LaunchMiddleware(t)(next): the redirect URI endpoint
// with next as the application's launch handler.
func LaunchHandler(t *launch.Tool, next echo.HandlerFunc) echo.HandlerFunc {
	return LaunchMiddleware(t)(next)
}

// Launch returns the validated launch of the request, stored by
// [LaunchMiddleware]. ok is false when the request did not pass through it
// (or it refused the launch).
func Launch(c echo.Context) (l *launch.Launch, ok bool) {
	return launch.FromContext(c.Request().Context())
}
