package ltitest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ltikit/ltikit/lti"
)

// HTTP plumbing shared by the AGS (ags.go) and NRPS (nrps.go) endpoints:
// routing, bearer and media type checks, paging.

// Scopes of the services, as the platform checks them in access tokens.
const (
	scopeLineItem         = lti.ScopeAGSLineItem
	scopeLineItemReadOnly = lti.ScopeAGSLineItemReadOnly
	scopeResultReadOnly   = lti.ScopeAGSResultReadOnly
	scopeScore            = lti.ScopeAGSScore
	scopeMembership       = lti.ScopeNRPSMembership
)

// AGSScopes are the four Assignment and Grade Services scopes, which
// [Platform.WithAGS] grants when given none.
var AGSScopes = []string{scopeLineItem, scopeLineItemReadOnly, scopeResultReadOnly, scopeScore}

// Media types of the services (AGS 2.0 §3.2–3.4, NRPS 2.0 §2.2).
const (
	mediaLineItem          = "application/vnd.ims.lis.v2.lineitem+json"
	mediaLineItemContainer = "application/vnd.ims.lis.v2.lineitemcontainer+json"
	mediaScore             = "application/vnd.ims.lis.v1.score+json"
	mediaResultContainer   = "application/vnd.ims.lis.v2.resultcontainer+json"
	mediaMembership        = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
)

// svcState is the state of the AGS and NRPS endpoints; its zero value is
// ready.
type svcState struct {
	mu       sync.Mutex
	pageSize int
	ags      agsData
	nrps     nrpsData
}

// maxServiceBody bounds the request bodies the service endpoints read.
const maxServiceBody = 1 << 20

// serveServices serves the AGS and NRPS endpoints; it reports false for a
// path that is neither's.
func (p *Platform) serveServices(w http.ResponseWriter, r *http.Request, path string) bool {
	switch {
	case path == PathLineItems || strings.HasPrefix(path, PathLineItems+"/"):
		p.serveAGS(w, r, strings.TrimPrefix(path, PathLineItems))
	case path == PathMemberships:
		p.serveMemberships(w, r)
	default:
		return false
	}
	return true
}

// svcAuthorize checks the bearer token: 401 without a valid token issued
// by the platform's token endpoint (or [Platform.MintAccessToken]), 403
// when it grants none of scopes. It reports whether the request may go on.
func (p *Platform) svcAuthorize(w http.ResponseWriter, r *http.Request, scopes ...string) bool {
	if !p.ValidateBearer(r, "") {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		svcError(w, http.StatusUnauthorized, "the access token is missing, unknown, expired or revoked")
		return false
	}
	granted, _ := p.GrantedScopes(r)
	for _, s := range scopes {
		if slices.Contains(granted, s) {
			return true
		}
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope=%q`, strings.Join(scopes, " ")))
	svcError(w, http.StatusForbidden, "the access token does not grant "+strings.Join(scopes, " or "))
	return false
}

// svcAccepts answers 406 unless the Accept header lists want (parameters
// ignored). With required false, a missing Accept header or */* passes.
func svcAccepts(w http.ResponseWriter, r *http.Request, want string, required bool) bool {
	accept := r.Header.Values("Accept")
	if len(accept) == 0 && !required {
		return true
	}
	for _, h := range accept {
		for part := range strings.SplitSeq(h, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if mt == want || (!required && (mt == "*/*" || mt == "application/*")) {
				return true
			}
		}
	}
	svcError(w, http.StatusNotAcceptable, "the Accept header must list "+want)
	return false
}

// svcContentType answers 415 unless the Content-Type is want.
func svcContentType(w http.ResponseWriter, r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != want {
		svcError(w, http.StatusUnsupportedMediaType, "the Content-Type must be "+want)
		return false
	}
	return true
}

// svcMethod answers 405 unless r's method is one of allowed.
func svcMethod(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	if slices.Contains(allowed, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	svcError(w, http.StatusMethodNotAllowed, "use "+strings.Join(allowed, " or "))
	return false
}

// svcReadJSON decodes the request body (at most 1 MiB) into v; 400 when
// it cannot.
func svcReadJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxServiceBody))
	if err := dec.Decode(v); err != nil {
		svcError(w, http.StatusBadRequest, "the body is not valid JSON: "+err.Error())
		return false
	}
	if dec.More() {
		svcError(w, http.StatusBadRequest, "trailing data after the JSON body")
		return false
	}
	return true
}

// svcError writes a small JSON error body, as Moodle does.
func svcError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "reason": msg})
}

// svcWrite writes v as JSON with media type mt.
func svcWrite(w http.ResponseWriter, status int, mt string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		svcError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", mt)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// svcPage reads the page (1-based) and limit parameters; the limit is
// capped by the service page size (0: unlimited). 400 on bad values.
func (p *Platform) svcPage(w http.ResponseWriter, q url.Values) (page, limit int, ok bool) {
	page, limit = 1, 0
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			svcError(w, http.StatusBadRequest, "page must be a positive integer")
			return 0, 0, false
		}
		page = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			svcError(w, http.StatusBadRequest, "limit must be a positive integer")
			return 0, 0, false
		}
		limit = n
	}
	p.svc.mu.Lock()
	max := p.svc.pageSize
	p.svc.mu.Unlock()
	if max > 0 && (limit == 0 || limit > max) {
		limit = max
	}
	return page, limit, true
}

// svcSlice returns the page's part of n items and whether more follow.
func svcSlice(n, page, limit int) (from, to int, more bool) {
	if limit == 0 {
		if page > 1 {
			return n, n, false
		}
		return 0, n, false
	}
	from = min((page-1)*limit, n)
	to = min(from+limit, n)
	return from, to, to < n
}

// svcLink returns the absolute URL of path with q, page set to page.
func (p *Platform) svcLink(path string, q url.Values, page int) string {
	q = cloneValues(q)
	q.Set("page", strconv.Itoa(page))
	return p.base + path + "?" + q.Encode()
}

// SetServicePageSize sets the largest page the AGS and NRPS list endpoints
// answer: the page size when a request has no limit parameter, and the cap
// of the limit it has. 0 (the default) means no cap: without a limit
// parameter a list is one page, as Moodle answers.
func (p *Platform) SetServicePageSize(n int) {
	p.svc.mu.Lock()
	defer p.svc.mu.Unlock()
	p.svc.pageSize = max(n, 0)
}
