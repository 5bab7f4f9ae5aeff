package redirect

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ltikit/ltikit/lti"
)

// ErrRedirect is a redirect the policy refuses to follow. Its code is
// foreign_host: the bearer token is not sent to the redirect's target.
var ErrRedirect = lti.NewSentinel(lti.CodeForeignHost, "token: redirect refused")

// Check is the policy as an http.Client.CheckRedirect step for r, the
// redirected request, after via: http.ErrUseLastResponse when max is 0
// (the 3xx is the answer); an error wrapping ErrRedirect past max
// redirects, from https to http, or to an origin other than via[0]'s
// unless crossOrigin; with crossOrigin, the Authorization header is
// removed from a request to another origin. sameOrigin compares origins.
func Check(r *http.Request, via []*http.Request, max int, crossOrigin bool, sameOrigin func(a, b *url.URL) bool) error {
	if max <= 0 {
		return http.ErrUseLastResponse
	}
	if len(via) == 0 {
		return nil
	}
	if len(via) > max {
		return fmt.Errorf("%w: more than %d redirects", ErrRedirect, max)
	}
	for _, v := range via {
		if strings.EqualFold(v.URL.Scheme, "https") && !strings.EqualFold(r.URL.Scheme, "https") {
			return fmt.Errorf("%w: from https to %s://%s", ErrRedirect, r.URL.Scheme, r.URL.Host)
		}
	}
	if !sameOrigin(via[0].URL, r.URL) {
		if !crossOrigin {
			return fmt.Errorf("%w: to another origin, %s://%s", ErrRedirect, r.URL.Scheme, r.URL.Host)
		}
		r.Header.Del("Authorization")
	}
	return nil
}
