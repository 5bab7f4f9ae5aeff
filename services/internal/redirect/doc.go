// Package redirect is the redirect policy of the service clients' HTTP
// calls: follow a few redirects, only to the request's own origin, never
// from https to http, unless the host opts in to other origins, in which
// case the bearer token is taken off the redirected request.
package redirect
