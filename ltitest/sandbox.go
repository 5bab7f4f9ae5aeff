package ltitest

import "net/http"

// StartBrowserLaunch answers a real browser's request with the start of a
// launch, as GET /launch does (see [Platform.ServeHTTP]), but configured by
// opts instead of query parameters: an auto-submitting login initiation
// form to the tool (or a redirect, with WithLoginMethod("GET")), after which
// the tool's auth request reaches /auth and the launch proceeds as usual.
// A host that mounts the platform with [NewHandler] uses it to offer
// launches the query parameters of /launch cannot describe, such as extra
// custom claims ([WithClaims]) or a given user ([WithUser]). It does not
// check r's method; that is the caller's route.
func (p *Platform) StartBrowserLaunch(w http.ResponseWriter, r *http.Request, opts ...LaunchOption) {
	lc, err := p.newLaunchConfig(opts)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	loginURL := lc.cfg.ToolLoginURL
	if loginURL == "" {
		http.Error(w, "ltitest: no tool login URL is configured", http.StatusNotFound)
		return
	}
	params := p.startLogin(lc)
	w.Header().Set("Cache-Control", "no-store")
	if lc.loginMethod == http.MethodGet {
		u, err := withQuery(loginURL, params)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
		return
	}
	writeAutoSubmitForm(w, loginURL, orderedFields(params, loginParamOrder))
}
