package ltitest

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// authError is a refused auth request.
type authError struct {
	code, param, desc string
}

// serveAuth is the OIDC authorization endpoint. It checks the tool's auth
// request as 1EdTech Security Framework §5.1.1.2 requires, answers 400
// with a JSON error when it is wrong, and otherwise answers an
// auto-submitting form that posts the id_token and state (or the error of
// WithPlatformError) to the redirect_uri, with the lti_storage_target of
// the login initiation unless WithoutStorageTargetAtLaunch.
func (p *Platform) serveAuth(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	switch r.Method {
	case http.MethodGet:
		params = r.URL.Query()
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			writeJSONError(w, http.StatusBadRequest, "invalid_request", "unreadable form body", "")
			return
		}
		params = r.PostForm
	default:
		w.Header().Set("Allow", "GET, POST")
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request", "the auth endpoint takes GET or POST", "")
		return
	}
	if e := p.checkAuthRequest(params); e != nil {
		writeJSONError(w, http.StatusBadRequest, e.code, e.desc, e.param)
		return
	}
	pl, e := p.takePending(params)
	if e != nil {
		writeJSONError(w, http.StatusBadRequest, e.code, e.desc, e.param)
		return
	}

	redirectURI, state := params.Get("redirect_uri"), params.Get("state")
	lc := pl.lc
	// The platform storage target of the login initiation, repeated in
	// the form post as Canvas and Moodle do (not Blackboard Learn).
	var storage []field
	if pl.storageTarget != "" && !lc.omitStorageTargetAtLaunch {
		storage = []field{{paramStorageTarget, pl.storageTarget}}
	}
	if lc.platformError != nil {
		writeAutoSubmitForm(w, redirectURI, append([]field{
			{"error", lc.platformError.code},
			{"error_description", lc.platformError.description},
			{"state", state},
		}, storage...))
		return
	}
	claims := p.launchClaims(lc, params.Get("nonce"), fmt.Sprintf(`{"ltitest_launch":"%s"}`, pl.id))
	token, err := p.MintIDToken(claims, lc.tokenOpts...)
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "server_error", "minting the id_token: "+err.Error(), "")
		return
	}
	p.recordDeepLinkingRequest(claims) // what a deep linking response must echo (deeplink.go)
	p.recordLaunchedMember(claims)     // the launched user is on the roster (nrps.go)
	writeAutoSubmitForm(w, redirectURI, append([]field{{"id_token", token}, {"state", state}}, storage...))
}

// checkAuthRequest checks the parameters 1EdTech Security Framework
// §5.1.1.2 requires of an auth request, except the hints (see takePending).
func (p *Platform) checkAuthRequest(v url.Values) *authError {
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if len(v[k]) > 1 {
			return &authError{"invalid_request", k, fmt.Sprintf("parameter %s is repeated %d times", k, len(v[k]))}
		}
	}
	exact := []struct{ name, want, code string }{
		{"scope", "openid", "invalid_scope"},
		{"response_type", "id_token", "unsupported_response_type"},
		{"response_mode", "form_post", "invalid_request"},
		{"prompt", "none", "invalid_request"},
	}
	for _, x := range exact {
		got, ok := v[x.name]
		if !ok {
			return &authError{"invalid_request", x.name, fmt.Sprintf("%s is missing; it must be %q", x.name, x.want)}
		}
		if got[0] != x.want {
			return &authError{x.code, x.name, fmt.Sprintf("%s is %q; it must be %q", x.name, got[0], x.want)}
		}
	}
	cfg := p.conf()
	switch id, ok := v["client_id"]; {
	case !ok || id[0] == "":
		return &authError{"invalid_request", "client_id", "client_id is missing"}
	case id[0] != cfg.ClientID:
		return &authError{"unauthorized_client", "client_id", fmt.Sprintf("client_id %q is not the tool's client_id %q", id[0], cfg.ClientID)}
	}
	switch ru := v.Get("redirect_uri"); {
	case ru == "":
		return &authError{"invalid_request", "redirect_uri", "redirect_uri is missing"}
	case !slices.Contains(cfg.ToolRedirectURIs, ru):
		return &authError{"invalid_request", "redirect_uri", fmt.Sprintf("redirect_uri %q is not one of the tool's registered redirect URIs %q", ru, cfg.ToolRedirectURIs)}
	}
	for _, name := range []string{"login_hint", "state", "nonce"} {
		if v.Get(name) == "" {
			return &authError{"invalid_request", name, name + " is missing or empty"}
		}
	}
	return nil
}

// takePending finds and removes the pending launch the auth request
// answers: the one whose login initiation sent the request's
// lti_message_hint (or none, if the request has none) and login_hint.
func (p *Platform) takePending(v url.Values) (*pendingLaunch, *authError) {
	reqHint, reqHas := v["lti_message_hint"]
	loginHint := v.Get("login_hint")

	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	var (
		found     *pendingLaunch
		hintKnown bool
		sentLogin string
	)
	for _, pl := range p.pending {
		if now.Sub(pl.created) > pendingTTL {
			continue
		}
		sentHint, sentHas := pl.login["lti_message_hint"]
		if sentHas != reqHas || (reqHas && sentHint[0] != reqHint[0]) {
			continue
		}
		hintKnown = true
		sentLogin = pl.login.Get("login_hint")
		if sentLogin == loginHint && (found == nil || pl.created.After(found.created)) {
			found = pl
		}
	}
	switch {
	case found != nil:
		delete(p.pending, found.id)
		return found, nil
	case hintKnown && reqHas:
		return nil, &authError{"invalid_request", "login_hint", fmt.Sprintf("login_hint %q is not the login_hint %q of the login initiation", loginHint, sentLogin)}
	case hintKnown:
		return nil, &authError{"invalid_request", "login_hint", fmt.Sprintf("login_hint %q matches no pending launch", loginHint)}
	case reqHas:
		return nil, &authError{"invalid_request", "lti_message_hint", fmt.Sprintf("lti_message_hint %q matches no pending launch: it must be echoed unchanged, and each auth request is answered once", reqHint[0])}
	default:
		return nil, &authError{"invalid_request", "lti_message_hint", "lti_message_hint is missing, and no pending launch was initiated without one"}
	}
}
