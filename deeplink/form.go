package deeplink

import (
	"bytes"
	"crypto/rand"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
)

// FormField is the name of the form field that carries the response JWT
// (Deep Linking 2.0 §4.5: the tool posts it as "JWT").
const FormField = "JWT"

// formTemplate is the page that posts the response to the platform. The
// values are escaped by html/template; the one inline script runs under a
// CSP nonce; the visible button submits the form when scripts are off.
var formTemplate = template.Must(template.New("deeplink").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Returning to the platform</title></head>
<body>
<form id="ltikit-deep-linking-response" method="post" action="{{.Action}}">
<input type="hidden" name="JWT" value="{{.JWT}}">
<p>Returning your selection to the platform…</p>
<button type="submit">Continue</button>
</form>
<script nonce="{{.Nonce}}">document.getElementById("ltikit-deep-linking-response").submit();</script>
</body></html>
`))

// compactJWS matches a compact JWS: three base64url parts (the last may be
// empty only for unsecured JWTs, which nobody should post, but which are
// harmless in a form).
var compactJWS = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$`)

// cspHost matches the hosts that can be written into a CSP source
// expression as they are.
var cspHost = regexp.MustCompile(`^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)

// WriteForm writes a page that posts jwt to the request's return URL as
// the form field "JWT", submitting itself as soon as it loads (a button
// submits it when scripts are off). The page carries a strict Content
// Security Policy: no resource loads at all, one inline script allowed by
// a fresh nonce, form submission only to the return URL's origin, no
// <base>; it is not cached, and not sniffed as another content type.
//
// The return URL must be an absolute http(s) URL (else
// [ErrInvalidReturnURL]) and jwt a compact JWS (else [ErrInvalidRequest]).
// Nothing is written when WriteForm fails. Use [Responder.Sign] for the
// JWT, or [Responder.Respond] for both steps.
func (r *Response) WriteForm(w http.ResponseWriter, jwt string) error {
	if r == nil || r.Request == nil {
		return refusal(ReasonInvalidRequest, -1, "", "the response has no request", specResponse)
	}
	action := r.Request.ReturnURL
	u, err := url.Parse(action)
	if err != nil || !webURL(action) || !cspHost.MatchString(u.Host) {
		return refusal(ReasonInvalidReturnURL, -1, "deep_link_return_url", "the return URL is not an absolute http(s) URL", specSettings)
	}
	if !compactJWS.MatchString(jwt) {
		return refusal(ReasonInvalidRequest, -1, FormField, "the JWT is not a compact JWS", specResponse)
	}
	nonce := rand.Text()
	var page bytes.Buffer
	if err := formTemplate.Execute(&page, struct{ Action, JWT, Nonce string }{action, jwt, nonce}); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// The POST keeps a correct Origin header (no-referrer would make it
	// "null"), and only the origin leaves as Referer.
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; "+
		"form-action "+u.Scheme+"://"+u.Host+"; base-uri 'none'")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(page.Bytes())
	return err
}
