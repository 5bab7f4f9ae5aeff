package launch

import (
	"encoding/json"
	"errors"
	"html"
	"mime"
	"net/http"
	"strings"

	"github.com/ltikit/ltikit/lti"
)

// LaunchHandler serves the redirect (launch) URI. It validates the launch,
// clears the state cookie, and calls next with the launch in the request
// context (see FromContext). A refused launch is rendered by the error
// handler and next is not called.
func (t *Tool) LaunchHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f facts
		l, err := t.validateLaunch(r.Context(), r, &f)
		var sl *StorageLaunch
		if errors.As(err, &sl) {
			// No cookie came, and the login stored its secret in the
			// platform's storage: the page reads it back and posts again.
			// Nothing was taken.
			sl.ServeHTTP(w, r)
			return
		}
		if r.PostForm != nil {
			// The state is single use whatever the outcome: drop its cookie.
			// (Only the form ValidateLaunch already parsed within the body
			// limit is read here.)
			if state := r.PostForm.Get("state"); state != "" {
				if name := t.cookieName(state); hasCookie(r, name) {
					http.SetCookie(w, t.stateCookie(name, "", -1))
				}
			}
		}
		if err != nil {
			e := errAs(err)
			t.logRefusal(r.Context(), true, e, &f, r)
			if e == errMethod {
				w.Header().Set("Allow", http.MethodPost)
			}
			t.opt.errorHandler(w, r, e)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), l)))
	})
}

func hasCookie(r *http.Request, name string) bool {
	_, err := r.Cookie(name)
	return err == nil
}

// WriteError renders err: JSON {"error": code, "error_description": text}
// when the client accepts application/json, otherwise a small HTML page.
// Only the code and the safe description are written, HTML-escaped; the
// cause never reaches the client.
func WriteError(w http.ResponseWriter, r *http.Request, err *lti.Error) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if wantsJSON(r) {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(err.Status())
		_ = json.NewEncoder(w).Encode(struct {
			Error       lti.Code `json:"error"`
			Description string   `json:"error_description"`
		}{err.Code(), err.Description()})
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(err.Status())
	code, desc := html.EscapeString(string(err.Code())), html.EscapeString(err.Description())
	_, _ = w.Write([]byte("<!doctype html><html><head><meta charset=\"utf-8\"><title>Launch refused</title></head><body><h1>Launch refused</h1><p><code>" +
		code + "</code></p><p>" + desc + "</p></body></html>\n"))
}

// wantsJSON reports whether the Accept header prefers JSON.
func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return true
		}
	}
	return false
}
