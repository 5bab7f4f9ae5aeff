package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ltikit/ltikit/internal/errbody"
	"github.com/ltikit/ltikit/lti"
)

// Errors of a Client. Those about the token endpoint's answer come wrapped
// in a *[RetrieveError]; match them with errors.Is. Each carries a stable
// code (lti.Classify; docs/errors.md).
var (
	// ErrNoTokenEndpoint means the registration has no usable token
	// endpoint or client_id, so no token can be requested
	// (no_token_endpoint).
	ErrNoTokenEndpoint = lti.NewSentinel(lti.CodeNoTokenEndpoint, "token: the registration has no token endpoint")
	// ErrRejected means the token endpoint answered with an error status
	// (RFC 6749 §5.2); RetrieveError.ErrorCode says which error when the
	// answer said (token_refused).
	ErrRejected = lti.NewSentinel(lti.CodeTokenRefused, "token: the token endpoint refused the request")
	// ErrMalformedResponse means the answer is not a JSON object, or a
	// member has the wrong type (malformed_response).
	ErrMalformedResponse = lti.NewSentinel(lti.CodeMalformedResponse, "token: the token response is not a valid JSON object")
	// ErrResponseTooLarge means the answer is larger than the limit
	// ([WithMaxBytes]); it was not parsed (response_too_large).
	ErrResponseTooLarge = lti.NewSentinel(lti.CodeResponseTooLarge, "token: the token response is too large")
	// ErrNoAccessToken means a success answer has no access_token
	// (malformed_response).
	ErrNoAccessToken = lti.NewSentinel(lti.CodeMalformedResponse, "token: the token response has no access_token")
	// ErrUnsupportedTokenType means token_type is not "Bearer"
	// (compared case-insensitively, RFC 6749 §7.1; malformed_response).
	ErrUnsupportedTokenType = lti.NewSentinel(lti.CodeMalformedResponse, "token: the token type is not Bearer")
)

// RetrieveError is the error for an unusable answer of a token endpoint
// (the name x/oauth2 gives its equivalent). It carries what the platform
// said and wraps one of [ErrRejected], [ErrMalformedResponse],
// [ErrResponseTooLarge], [ErrNoAccessToken] or [ErrUnsupportedTokenType];
// its [RetrieveError.Code] is that sentinel's code. Get it with errors.As.
//
// ErrorCode, ErrorDescription and ErrorURI are the RFC 6749 §5.2 members, when the body
// is such a JSON object (whatever its Content-Type); Excerpt is the start
// of the body otherwise. They come from the platform, unverified: they are
// cut short, stripped of line breaks, control and format characters, and
// what looks like a token or JWT in them is masked, so they are safe for
// logs, but they should not be shown to end users as they are. A
// RetrieveError never contains the access token, the client assertion or
// an Authorization header. Values are made per call, never shared.
type RetrieveError struct {
	// Status is the HTTP status of the answer.
	Status int
	// ErrorCode is the answer's "error" member, e.g. "invalid_client";
	// empty when there was none.
	ErrorCode string
	// ErrorDescription is the answer's "error_description" member.
	ErrorDescription string
	// ErrorURI is the answer's "error_uri" member.
	ErrorURI string

	// Method and URL are the token request's ("POST" and the registered
	// token endpoint, without user info); empty when the error comes from
	// [ParseResponse] alone.
	Method, URL string
	// ContentType is the Content-Type header of the answer, cleaned; empty
	// when the error comes from [ParseResponse] alone.
	ContentType string
	// KeyID is the kid of the client assertion the request was signed
	// with (the tool's key; not a secret): the platform must find it in
	// the key set it holds for the tool. Empty when the error comes from
	// [ParseResponse] alone.
	KeyID string
	// Excerpt is the start of the body (at most 512 bytes and an
	// ellipsis, on one line, valid UTF-8, secrets masked) when it is not
	// an RFC 6749 §5.2 JSON object: an HTML error page, plain text, or
	// malformed JSON such as Moodle's answer to an unknown kid. It is
	// empty for a success status whose body is JSON (it could hold the
	// token under another name) and for an empty body.
	Excerpt string

	cause error
}

// Error implements error: the kind of failure, the request, the HTTP
// status and Content-Type, the client assertion's kid, then the platform's
// words: the §5.2 members
// when there are some, else the body excerpt.
func (e *RetrieveError) Error() string {
	var b strings.Builder
	b.WriteString(e.cause.Error())
	b.WriteString(" (")
	if e.Method != "" || e.URL != "" {
		b.WriteString(strings.TrimSpace(e.Method + " " + e.URL))
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	if e.ContentType != "" {
		b.WriteString(", Content-Type ")
		b.WriteString(e.ContentType)
	}
	if e.KeyID != "" {
		b.WriteString(", assertion kid ")
		b.WriteString(strconv.Quote(e.KeyID))
	}
	if e.ErrorCode != "" {
		b.WriteString(", error=")
		b.WriteString(strconv.Quote(e.ErrorCode))
	}
	if e.ErrorDescription != "" {
		b.WriteString(", error_description=")
		b.WriteString(strconv.Quote(e.ErrorDescription))
	}
	if e.ErrorURI != "" {
		b.WriteString(", error_uri=")
		b.WriteString(strconv.Quote(e.ErrorURI))
	}
	b.WriteString(")")
	if e.ErrorCode == "" && e.ErrorDescription == "" && e.Excerpt != "" {
		b.WriteString(": the platform said: ")
		b.WriteString(e.Excerpt)
	}
	return b.String()
}

// LogAttrs returns the error's fields as slog attributes, the ones a
// token refusal is logged with: http_status, content_type, method, url,
// kid (of the client assertion), and error_code, error_description and error_uri, or body_excerpt.
func (e *RetrieveError) LogAttrs() []slog.Attr {
	return errbody.LogAttrs(e.Status, errbody.OAuth{Error: e.ErrorCode, Description: e.ErrorDescription, URI: e.ErrorURI},
		e.Excerpt, "content_type", e.ContentType, "method", e.Method, "url", e.URL, "kid", e.KeyID)
}

// Unwrap returns the kind of failure: ErrRejected, ErrMalformedResponse,
// ErrResponseTooLarge, ErrNoAccessToken or ErrUnsupportedTokenType.
func (e *RetrieveError) Unwrap() error { return e.cause }

// Code returns the stable code of the failure, the code of the sentinel it
// wraps: token_refused for [ErrRejected], response_too_large for
// [ErrResponseTooLarge], malformed_response for the others.
func (e *RetrieveError) Code() lti.Code {
	var c lti.Coded
	if errors.As(e.cause, &c) {
		return c.Code()
	}
	return lti.CodeTokenRefused
}

// Response is a successful token answer (RFC 6749 §5.1).
type Response struct {
	// AccessToken is the bearer token. Never log it.
	AccessToken string
	// TokenType is the answer's token_type as sent ("Bearer" in any case).
	TokenType string
	// ExpiresIn is the token's lifetime; meaningful only if HasExpiresIn.
	ExpiresIn time.Duration
	// HasExpiresIn reports whether the answer had expires_in.
	HasExpiresIn bool
	// Scope is the granted scope, space-separated, when the answer says.
	Scope string
}

// String redacts the access token, so a Response can be printed.
func (r Response) String() string {
	return fmt.Sprintf("token.Response{TokenType:%q ExpiresIn:%s Scope:%q AccessToken:[redacted]}", r.TokenType, r.ExpiresIn, r.Scope)
}

// GoString redacts the access token for %#v.
func (r Response) GoString() string { return r.String() }

// ParseResponse interprets a token endpoint answer with HTTP status and
// body (RFC 6749 §5.1, §5.2). Any error is a *[RetrieveError]. It is exported
// for hosts that send the token request themselves; the body's size must
// already be bounded.
func ParseResponse(status int, body []byte) (*Response, error) {
	var raw struct {
		AccessToken json.RawMessage `json:"access_token"`
		TokenType   json.RawMessage `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Scope       json.RawMessage `json:"scope"`
		Error       json.RawMessage `json:"error"`
		Description json.RawMessage `json:"error_description"`
		URI         json.RawMessage `json:"error_uri"`
	}
	body = bytes.TrimSpace(body)
	isObject := len(body) > 0 && body[0] == '{' && json.Unmarshal(body, &raw) == nil
	ok := status >= 200 && status < 300

	if !ok || (isObject && len(raw.Error) > 0 && len(raw.AccessToken) == 0) {
		e := &RetrieveError{Status: status, cause: ErrRejected}
		if isObject {
			e.ErrorCode = errbody.Field(raw.Error)
			e.ErrorDescription = errbody.Field(raw.Description)
			e.ErrorURI = errbody.Field(raw.URI)
		}
		if e.ErrorCode == "" && e.ErrorDescription == "" {
			e.Excerpt = excerpt(status, body)
		}
		return nil, e
	}
	if !isObject {
		return nil, &RetrieveError{Status: status, Excerpt: excerpt(status, body), cause: ErrMalformedResponse}
	}
	var r Response
	if !stringField(raw.AccessToken, &r.AccessToken) || !stringField(raw.TokenType, &r.TokenType) || !stringField(raw.Scope, &r.Scope) {
		return nil, &RetrieveError{Status: status, cause: ErrMalformedResponse}
	}
	if r.AccessToken == "" {
		return nil, &RetrieveError{Status: status, cause: ErrNoAccessToken}
	}
	if !strings.EqualFold(r.TokenType, "bearer") {
		return nil, &RetrieveError{Status: status, cause: ErrUnsupportedTokenType}
	}
	if len(raw.ExpiresIn) > 0 && string(raw.ExpiresIn) != "null" {
		d, ok := seconds(raw.ExpiresIn)
		if !ok {
			return nil, &RetrieveError{Status: status, cause: ErrMalformedResponse}
		}
		r.ExpiresIn, r.HasExpiresIn = d, true
	}
	return &r, nil
}

// stringField decodes a JSON string member; absent and null give "".
func stringField(m json.RawMessage, dst *string) bool {
	if len(m) == 0 || string(m) == "null" {
		return true
	}
	return json.Unmarshal(m, dst) == nil
}

// seconds decodes expires_in: a JSON number, or a string holding one (some
// platforms quote it). Fractions are dropped; the value is clamped to
// [math.MinInt32, maxLifetime].
func seconds(m json.RawMessage) (time.Duration, bool) {
	s := string(m)
	if len(m) > 0 && m[0] == '"' {
		if json.Unmarshal(m, &s) != nil {
			return 0, false
		}
		s = strings.TrimSpace(s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	if f > maxLifetime.Seconds() {
		return maxLifetime, true
	}
	if f < math.MinInt32 {
		f = math.MinInt32
	}
	return time.Duration(int64(f)) * time.Second, true
}

// excerpt is what a RetrieveError keeps of a body that is not an RFC 6749
// §5.2 answer. A success answer that looks like JSON may hold the access
// token under a name the masking does not know: nothing is kept of it.
func excerpt(status int, body []byte) string {
	if b := bytes.TrimSpace(body); status >= 200 && status < 300 && len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		return ""
	}
	return errbody.Excerpt(body)
}
