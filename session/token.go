package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/ltikit/ltikit/lti"
)

// TokenBytes is the entropy of a session token and of a CSRF token: 256
// bits from crypto/rand.
const TokenBytes = 32

// tokenLen is the length of a token: TokenBytes in base64url without
// padding.
var tokenLen = base64.RawURLEncoding.EncodedLen(TokenBytes)

// newToken returns TokenBytes random bytes, base64url encoded without
// padding.
func newToken() (string, error) {
	var b [TokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("session: random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// wellFormed reports whether tok could be a token this package minted: the
// strict base64url encoding, without padding, of exactly TokenBytes bytes.
// Anything else is refused before the store is asked.
func wellFormed(tok string) bool {
	if len(tok) != tokenLen {
		return false
	}
	var b [TokenBytes + 3]byte
	n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(tok))
	return err == nil && n == TokenBytes
}

// IDOf returns the store key of a session token: its SHA-256, base64url
// encoded without padding. The store holds only this, so a copy of the
// store gives nobody a usable token.
func IDOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// source is where a request's token came from.
type source int

const (
	fromNone source = iota
	// fromBearer: the Authorization header. A cross-site page cannot set
	// it, so the request needs no CSRF token.
	fromBearer
	// fromParam: the lti_session parameter (the query on GET and HEAD,
	// the form body otherwise). The attacker of a cross-site request does
	// not know it, so the request needs no CSRF token.
	fromParam
	// fromCookie: the session cookie, which the browser attaches to
	// cross-site requests too (SameSite=None): unsafe methods need the
	// CSRF token.
	fromCookie
)

// String names the source for the log.
func (s source) String() string {
	switch s {
	case fromBearer:
		return "authorization"
	case fromParam:
		return "parameter"
	case fromCookie:
		return "cookie"
	}
	return "none"
}

// maxCookieTries bounds how many distinct session cookies of one name a
// request may present (a browser may hold a partitioned and an
// unpartitioned one); the first live one is used.
const maxCookieTries = 3

// Refusals of a request's token parameters. Package lti derives the HTTP
// status from the code, so these are invalid_request errors (400) with
// descriptions of their own.
var (
	errTokenInQuery = lti.ErrInvalidRequest.WithDescription(
		"a session token in the URL is accepted only on GET and HEAD requests; send it in the form body or the Authorization header")
	errBadForm = lti.ErrInvalidRequest.WithDescription("the request body is malformed or too large")
	errCSRF    = lti.ErrInvalidRequest.WithDescription("the request's CSRF token is missing or does not match the launch session")
)

// safeMethod reports whether m cannot change state (RFC 9110 §9.2.1), so a
// cookie-authenticated request needs no CSRF token.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// queryMethod reports whether a token is accepted in the URL query.
func queryMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// tokensFrom finds the request's session token, in this order: the
// Authorization header's Bearer token; the lti_session parameter (in the
// query on GET and HEAD, in a form body otherwise); the session cookie.
// The first source present decides: a token there that is not well formed
// is not looked for elsewhere. It returns the candidate tokens of that
// source (several only for cookies, all well formed), or none with a nil
// error when the request presents no token at all.
//
// A form body (application/x-www-form-urlencoded or multipart/form-data)
// is read, bounded to maxForm bytes, only when neither the header nor the
// query decides; r.PostForm then holds it for the handlers after.
func tokensFrom(w http.ResponseWriter, r *http.Request, cookieName string, maxForm int64) ([]string, source, *lti.Error) {
	if tok, ok := bearer(r.Header); ok {
		if !wellFormed(tok) {
			return nil, fromBearer, ErrNoSession
		}
		return []string{tok}, fromBearer, nil
	}
	if vals, ok := r.URL.Query()[ParamName]; ok {
		if !queryMethod(r.Method) {
			return nil, fromParam, errTokenInQuery
		}
		if len(vals) != 1 || !wellFormed(vals[0]) {
			return nil, fromParam, ErrNoSession
		}
		return vals, fromParam, nil
	}
	if !queryMethod(r.Method) && isForm(r) {
		if err := parseForm(w, r, maxForm); err != nil {
			return nil, fromParam, errBadForm.WithCause(err)
		}
		if vals, ok := r.PostForm[ParamName]; ok {
			if len(vals) != 1 || !wellFormed(vals[0]) {
				return nil, fromParam, ErrNoSession
			}
			return vals, fromParam, nil
		}
	}
	var toks []string
	for _, c := range r.CookiesNamed(cookieName) {
		if !wellFormed(c.Value) {
			continue
		}
		dup := false
		for _, t := range toks {
			dup = dup || t == c.Value
		}
		if !dup {
			toks = append(toks, c.Value)
			if len(toks) == maxCookieTries {
				break
			}
		}
	}
	switch {
	case len(toks) > 0:
		return toks, fromCookie, nil
	case len(r.CookiesNamed(cookieName)) > 0:
		return nil, fromCookie, ErrNoSession
	}
	return nil, fromNone, nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header
// (the scheme is case-insensitive, RFC 9110 §11.1; one space, then the
// token and nothing else, RFC 6750 §2.1), and whether the header uses that
// scheme. Other schemes (Basic from a proxy) are not the
// session's and are ignored. Several Authorization headers count as one
// malformed Bearer token.
func bearer(h http.Header) (string, bool) {
	vals := h.Values("Authorization")
	if len(vals) == 0 {
		return "", false
	}
	scheme, tok, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	if len(vals) > 1 {
		return "", true
	}
	return tok, true
}

// isForm reports whether r's body is an HTML form: the only bodies this
// package reads.
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data")
}

// parseForm reads r's form body once, at most maxForm bytes; multipart
// file parts are kept in memory (the whole body fits in maxForm), so
// nothing is left on disk.
func parseForm(w http.ResponseWriter, r *http.Request, maxForm int64) error {
	if r.PostForm != nil {
		return nil
	}
	if r.Body == nil || r.Body == http.NoBody {
		return r.ParseForm()
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		return r.ParseMultipartForm(maxForm)
	}
	return r.ParseForm()
}

// csrfFrom returns the CSRF token a request presents: the X-CSRF-Token
// header, else the csrf_token field of a form body (read as in
// tokensFrom).
func csrfFrom(w http.ResponseWriter, r *http.Request, maxForm int64) (string, error) {
	if vals := r.Header.Values(CSRFHeader); len(vals) > 0 {
		if len(vals) > 1 {
			return "", nil
		}
		return vals[0], nil
	}
	if !isForm(r) {
		return "", nil
	}
	if err := parseForm(w, r, maxForm); err != nil {
		return "", err
	}
	if vals := r.PostForm[CSRFFieldName]; len(vals) == 1 {
		return vals[0], nil
	}
	return "", nil
}
