package ltitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Token endpoint defaults and limits.
const (
	// DefaultTokenLifetime is the expires_in of issued access tokens.
	DefaultTokenLifetime = time.Hour
	// MaxAssertionLifetime is how far in the future a client assertion's
	// exp may be (docs/security.md, case 45: a short exp).
	MaxAssertionLifetime = 10 * time.Minute
	// assertionSkew is the tolerance for exp and iat.
	assertionSkew = time.Minute
	// maxToolJWKSBytes bounds the tool's key set.
	maxToolJWKSBytes = 1 << 20
	// clientAssertionType is RFC 7523's client_assertion_type.
	clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// tokenState is the token endpoint's state; its zero value is ready.
type tokenState struct {
	jwksURL    string  // overrides Config.ToolJWKSURL
	keySet     jwk.Set // static tool keys; wins over any URL
	lifetime   time.Duration
	now        func() time.Time
	failStatus int
	failBody   string
	jtis       map[string]time.Time    // seen jti → when it may be forgotten
	issued     map[string]*issuedToken // access token → grant
	log        []TokenRecord
	requests   int64
}

type issuedToken struct {
	scopes  []string
	expires time.Time
}

// TokenRecord is what the token endpoint saw in one request: the client
// assertion's header and claims (decoded whether or not they verified),
// the requested scopes and the answer.
type TokenRecord struct {
	// GrantType and AssertionType are the grant_type and
	// client_assertion_type form values.
	GrantType, AssertionType string
	// Header and Claims are the client assertion's, numbers as
	// json.Number; nil when it could not be decoded.
	Header, Claims map[string]any
	// Scopes are the requested scopes, in the order sent.
	Scopes []string
	// Status is the HTTP status of the answer.
	Status int
	// Error is the RFC 6749 §5.2 error code of a refusal, "" on success.
	Error string
	// Description is the error_description of a refusal.
	Description string
	// AccessToken is the token issued, "" on a refusal.
	AccessToken string
}

// SetToolKeySet makes the token endpoint verify client assertions with a
// static key set instead of fetching Config.ToolJWKSURL; nil goes back to
// the URL.
func (p *Platform) SetToolKeySet(set jwk.Set) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens.keySet = set
}

// SetToolJWKSURL changes the tool key set URL the token endpoint fetches
// (Config.ToolJWKSURL); "" goes back to the configured one.
func (p *Platform) SetToolJWKSURL(url string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens.jwksURL = url
}

// SetTokenLifetime sets the expires_in of access tokens issued from now on
// (default [DefaultTokenLifetime]). A lifetime under a second issues
// tokens with expires_in 0.
func (p *Platform) SetTokenLifetime(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens.lifetime = d
	if d == 0 {
		p.tokens.lifetime = -1 // explicit zero, not "default"
	}
}

// SetTokenClock sets the clock the token endpoint judges assertion and
// token expiry with (default time.Now), for tests with a fake clock on the
// tool side too. nil restores time.Now.
func (p *Platform) SetTokenClock(now func() time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens.now = now
}

// SetTokenFailure makes the token endpoint answer every request with
// status and body as they are (Content-Type application/json when body
// starts with "{", text/plain otherwise), before looking at the request;
// status 0 restores normal service. Requests are still counted.
func (p *Platform) SetTokenFailure(status int, body string) {
	if status != 0 && (status < 100 || status > 999) {
		panic(fmt.Sprintf("ltitest: SetTokenFailure: invalid HTTP status %d", status))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens.failStatus, p.tokens.failBody = status, body
}

// RevokeTokens invalidates every access token issued so far: services
// checking them with [Platform.ValidateBearer] answer as for an unknown
// token (a 401 test).
func (p *Platform) RevokeTokens() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.tokens.issued)
}

// TokenRequests returns how many requests the token endpoint has received,
// refused and failed ones included. Tests use it to assert a tool caches
// its tokens.
func (p *Platform) TokenRequests() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens.requests
}

// TokenLog returns a record of every token request that got past failure
// injection, oldest first.
func (p *Platform) TokenLog() []TokenRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.tokens.log)
}

// MintAccessToken issues an access token granting scopes without a token
// request, for service tests that do not exercise the grant. It expires
// after the token lifetime.
func (p *Platform) MintAccessToken(scopes ...string) string {
	tok := randomHex(16)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens.store(tok, scopes)
	return tok
}

// ValidateBearer reports whether r carries "Authorization: Bearer <token>"
// with an access token this platform issued, not expired or revoked, that
// grants scope ("" accepts any scope). Service endpoints answer 401 when it
// is false.
func (p *Platform) ValidateBearer(r *http.Request, scope string) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	it := p.tokens.lookup(tok)
	if it == nil || !p.tokens.clock().Before(it.expires) {
		return false
	}
	return scope == "" || slices.Contains(it.scopes, scope)
}

// GrantedScopes returns the scopes the access token in r's Authorization
// header grants, and whether it is a valid token at all.
func (p *Platform) GrantedScopes(r *http.Request) ([]string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	it := p.tokens.lookup(tok)
	if it == nil || !p.tokens.clock().Before(it.expires) {
		return nil, false
	}
	return slices.Clone(it.scopes), true
}

func (t *tokenState) clock() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
}

func (t *tokenState) tokenLifetime() time.Duration {
	switch {
	case t.lifetime == 0:
		return DefaultTokenLifetime
	case t.lifetime < 0:
		return 0
	}
	return t.lifetime
}

// lookup finds an issued token.
func (t *tokenState) lookup(tok string) *issuedToken { return t.issued[tok] }

// store records an issued token. p.mu is held.
func (t *tokenState) store(tok string, scopes []string) time.Duration {
	if t.issued == nil {
		t.issued = make(map[string]*issuedToken)
	}
	now, life := t.clock(), t.tokenLifetime()
	for k, it := range t.issued {
		if !now.Before(it.expires) {
			delete(t.issued, k)
		}
	}
	t.issued[tok] = &issuedToken{scopes: slices.Clone(scopes), expires: now.Add(life)}
	return life
}

// tokenRefusal is a §5.2 error answer.
type tokenRefusal struct {
	status     int
	code, desc string
	param      string
}

func refuse(status int, code, param, desc string) *tokenRefusal {
	return &tokenRefusal{status: status, code: code, param: param, desc: desc}
}

// serveToken is the token endpoint: the client credentials grant with a
// JWT client assertion (RFC 6749 §4.4, RFC 7523, 1EdTech Security
// Framework §4.1), checked the way docs/security.md, case 45 asks.
func (p *Platform) serveToken(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.tokens.requests++
	failStatus, failBody := p.tokens.failStatus, p.tokens.failBody
	p.mu.Unlock()
	if failStatus != 0 {
		ct := "text/plain; charset=utf-8"
		if strings.HasPrefix(failBody, "{") {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(failStatus)
		_, _ = io.WriteString(w, failBody)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST", "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "unreadable form", "")
		return
	}
	f := r.PostForm
	rec := TokenRecord{
		GrantType:     f.Get("grant_type"),
		AssertionType: f.Get("client_assertion_type"),
		Scopes:        strings.Fields(f.Get("scope")),
	}
	assertion := f.Get("client_assertion")
	if assertion != "" {
		rec.Header, rec.Claims, _ = DecodeUnverified(assertion)
	}
	ref := p.checkTokenRequest(r.Context(), f.Get("grant_type"), f.Get("client_assertion_type"), assertion)
	p.mu.Lock()
	if ref == nil {
		rec.AccessToken = randomHex(16)
		life := p.tokens.store(rec.AccessToken, rec.Scopes)
		rec.Status = http.StatusOK
		p.tokens.log = append(p.tokens.log, rec)
		p.mu.Unlock()
		body := map[string]any{
			"access_token": rec.AccessToken,
			"token_type":   "Bearer",
			"expires_in":   int64(life / time.Second),
		}
		if len(rec.Scopes) > 0 {
			body["scope"] = strings.Join(rec.Scopes, " ")
		}
		writeJSON(w, body)
		return
	}
	rec.Status, rec.Error, rec.Description = ref.status, ref.code, ref.desc
	p.tokens.log = append(p.tokens.log, rec)
	p.mu.Unlock()
	writeJSONError(w, ref.status, ref.code, ref.desc, ref.param)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(v)
}

// checkTokenRequest verifies the grant and the client assertion; nil means
// a token may be issued.
func (p *Platform) checkTokenRequest(ctx context.Context, grantType, assertionType, assertion string) *tokenRefusal {
	switch {
	case grantType == "":
		return refuse(http.StatusBadRequest, "invalid_request", "grant_type", "grant_type is missing")
	case grantType != "client_credentials":
		return refuse(http.StatusBadRequest, "unsupported_grant_type", "grant_type", "only client_credentials is supported")
	case assertionType != clientAssertionType:
		return refuse(http.StatusBadRequest, "invalid_request", "client_assertion_type", "client_assertion_type must be "+clientAssertionType)
	case assertion == "":
		return refuse(http.StatusBadRequest, "invalid_request", "client_assertion", "client_assertion is missing")
	}
	msg, err := jws.Parse([]byte(assertion))
	if err != nil || len(msg.Signatures()) != 1 {
		return refuse(http.StatusBadRequest, "invalid_client", "client_assertion", "the client assertion is not a compact JWS")
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	if h.Algorithm() != jwa.RS256 {
		return refuse(http.StatusBadRequest, "invalid_client", "client_assertion", "the client assertion must be signed with RS256")
	}
	kid := h.KeyID()
	if kid == "" {
		return refuse(http.StatusBadRequest, "invalid_client", "client_assertion", "the client assertion has no kid")
	}
	set, err := p.toolKeySet(ctx)
	if err != nil {
		return refuse(http.StatusBadRequest, "invalid_client", "client_assertion", "the tool key set is unavailable: "+err.Error())
	}
	key, ok := set.LookupKeyID(kid)
	if !ok {
		return refuse(http.StatusBadRequest, "invalid_client", "client_assertion", "no tool key with the assertion's kid")
	}
	if _, err := jws.Verify([]byte(assertion), jws.WithKey(jwa.RS256, key)); err != nil {
		return refuse(http.StatusBadRequest, "invalid_client", "client_assertion", "the client assertion's signature does not verify")
	}
	_, claims, err := DecodeUnverified(assertion) // verified just above
	if err != nil {
		return refuse(http.StatusBadRequest, "invalid_client", "client_assertion", "the client assertion's payload is not a JSON object")
	}
	return p.checkAssertionClaims(claims)
}

// checkAssertionClaims applies RFC 7523 §3 and 1EdTech Security
// Framework §4.1.1 to the verified claims, and records the jti.
func (p *Platform) checkAssertionClaims(c map[string]any) *tokenRefusal {
	bad := func(param, desc string) *tokenRefusal {
		return refuse(http.StatusBadRequest, "invalid_client", param, desc)
	}
	iss, _ := c["iss"].(string)
	sub, _ := c["sub"].(string)
	clientID := p.conf().ClientID
	if iss != clientID {
		return bad("iss", "iss must be the client_id")
	}
	if sub != clientID {
		return bad("sub", "sub must be the client_id")
	}
	var auds []string
	switch a := c["aud"].(type) {
	case string:
		auds = []string{a}
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok {
				auds = append(auds, s)
			}
		}
	}
	if !slices.Contains(auds, p.TokenEndpoint()) {
		return bad("aud", "aud must be the token endpoint URL")
	}
	exp, okExp := unixClaim(c["exp"])
	iat, okIat := unixClaim(c["iat"])
	if !okExp {
		return bad("exp", "exp is missing or not a number")
	}
	jti, _ := c["jti"].(string)
	if jti == "" {
		return bad("jti", "jti is missing")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.tokens.clock()
	switch {
	case !now.Before(exp.Add(assertionSkew)):
		return bad("exp", "the client assertion has expired")
	case exp.After(now.Add(MaxAssertionLifetime + assertionSkew)):
		return bad("exp", "the client assertion's exp is too far in the future")
	case okIat && iat.After(now.Add(assertionSkew)):
		return bad("iat", "the client assertion's iat is in the future")
	case c["iat"] != nil && !okIat:
		return bad("iat", "iat is not a number")
	}
	if p.tokens.jtis == nil {
		p.tokens.jtis = make(map[string]time.Time)
	}
	for k, until := range p.tokens.jtis {
		if now.After(until) {
			delete(p.tokens.jtis, k)
		}
	}
	if _, seen := p.tokens.jtis[jti]; seen {
		return bad("jti", "the client assertion's jti was already used")
	}
	p.tokens.jtis[jti] = exp.Add(assertionSkew)
	return nil
}

// unixClaim reads a NumericDate decoded as json.Number.
func unixClaim(v any) (time.Time, bool) {
	n, ok := v.(interface{ Float64() (float64, error) })
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// toolKeySet returns the static tool key set, or fetches the tool's JWKS.
func (p *Platform) toolKeySet(ctx context.Context) (jwk.Set, error) {
	p.mu.Lock()
	set, url := p.tokens.keySet, p.tokens.jwksURL
	p.mu.Unlock()
	if set != nil {
		return set, nil
	}
	if url == "" {
		url = p.conf().ToolJWKSURL
	}
	if url == "" {
		return nil, errors.New("no tool key set is configured (Config.ToolJWKSURL or SetToolKeySet)")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, errors.New("fetching the tool key set failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the tool key set answered HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxToolJWKSBytes+1))
	if err != nil || len(b) > maxToolJWKSBytes {
		return nil, errors.New("the tool key set is unreadable or too large")
	}
	set, err = jwk.Parse(b)
	if err != nil {
		return nil, errors.New("the tool key set is not a JWK set")
	}
	return set, nil
}

// ToolKeySet returns the key set client assertions are verified with: the
// one given to [Platform.SetToolKeySet], or the tool's JWKS fetched now.
func (p *Platform) ToolKeySet(ctx context.Context) (jwk.Set, error) {
	s, err := p.toolKeySet(ctx)
	if err != nil {
		return nil, fmt.Errorf("ltitest: %w", err)
	}
	return s, nil
}
