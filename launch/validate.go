package launch

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
)

// maxSubjectLen is the longest sub LTI 1.3 Core §5.3.6 allows.
const maxSubjectLen = 255

// ValidateLaunch validates the launch request r (the platform's form post
// to the redirect URI) and returns the validated [Launch]. It takes the login
// state (single use), verifies the id_token's signature, validates every
// claim, consumes the nonce and finds the deployment. It does not write a
// response; LaunchHandler does, and also clears the state cookie.
//
// The checks run in the order of 1EdTech Security Framework §5.1.3: the
// signature is verified before any claim is trusted, so a token that is
// both expired and badly signed is invalid_signature.
//
// ValidateLaunch does not log; LaunchHandler logs each refusal with what
// locates it (see the package documentation).
func (t *Tool) ValidateLaunch(ctx context.Context, r *http.Request) (*Launch, error) {
	var f facts
	return t.validateLaunch(ctx, r, &f)
}

// validateLaunch is ValidateLaunch, recording in f how far it got and the
// values that locate a refusal, in a span of its own, and counting and
// timing the launch (telemetry.go).
func (t *Tool) validateLaunch(ctx context.Context, r *http.Request, f *facts) (*Launch, error) {
	in := t.tel
	on := in.launchOn(ctx)
	var start time.Time
	if on {
		start = time.Now()
		f.timer = stageTimer{on: in.stageDur.Enabled(ctx), cur: tsForm, last: start}
	}
	ctx, span := in.tracer.Start(ctx, in.launchSpan)
	l, err := t.validate(ctx, r, f)
	in.endLaunch(ctx, span, on, start, l, err, f)
	return l, err
}

// validate runs the launch pipeline (see ValidateLaunch).
func (t *Tool) validate(ctx context.Context, r *http.Request, f *facts) (*Launch, error) {
	f.stage = stageRequest
	if r.Method != http.MethodPost {
		return nil, errMethod
	}
	if r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		if q.Has("id_token") || q.Has("state") {
			// An id_token in the query would leak into logs and Referer headers.
			return nil, lti.ErrInvalidRequest.WithDescription("id_token and state must be posted as a form, not sent in the URL").
				WithSpec("OpenID Connect Form Post Response Mode §2")
		}
	}
	if err := parsePostForm(r, t.opt.maxBody); err != nil {
		return nil, err
	}
	form := r.PostForm
	stateVals := form["state"]
	if code := form.Get("error"); code != "" {
		return nil, platformError(code)
	}
	if len(stateVals) != 1 || stateVals[0] == "" {
		return nil, lti.ErrInvalidState.WithDescription("the state is missing")
	}
	state := stateVals[0]
	tokens := form["id_token"]
	if len(tokens) != 1 || tokens[0] == "" {
		return nil, lti.ErrInvalidRequest.WithDescription("the id_token is missing")
	}

	// The signing input, header and signature live in pooled buffers
	// until the signature is verified; only the payload is kept.
	bufs := tokenPool.Get().(*tokenBuffers)
	defer bufs.release()
	var tok token
	f.stage = stageToken
	if perr := splitTokenInto(tokens[0], &tok, bufs); perr != nil {
		return nil, perr
	}
	f.kid, f.alg, f.payload = tok.header.Kid, tok.header.Alg, tok.payload
	t.tel.next(ctx, f, tsState)

	// The state must come with the secret this browser was given at login
	// (login CSRF protection, OIDC Core §15.5.2 and Security Framework
	// §7.3.1): from the state cookie, or from the platform's storage.
	f.stage = stageState
	secret, binding, err := t.browserSecret(ctx, r, form, state, &tok)
	if err != nil {
		return nil, err
	}
	key := stateKey(state, secret)

	login, err := t.states.TakeState(ctx, key)
	if err != nil {
		if errors.Is(err, nonce.ErrNotFound) || errors.Is(err, nonce.ErrExpired) || errors.Is(err, nonce.ErrConsumed) {
			return nil, lti.ErrInvalidState.WithCause(err)
		}
		return nil, storageErr(err)
	}
	if login.State != key || login.Binding != login.Bind() {
		// The stored record is not the one written at login.
		return nil, lti.ErrInvalidState.WithDescription("the state record does not match its binding")
	}
	f.iss, f.clientID, f.deploymentID, f.targetLinkURI = login.Issuer, login.ClientID, login.DeploymentID, login.TargetLinkURI
	if !t.opt.now().Before(login.ExpiresAt) {
		return nil, lti.ErrInvalidState.WithCause(nonce.ErrExpired)
	}

	f.stage = stageRegistration
	t.tel.next(ctx, f, tsRegistration)
	host, reg, lerr := t.findRegistration(ctx, login.Issuer, login.ClientID)
	if lerr != nil {
		return nil, lerr
	}
	f.regFound, f.regIssuer, f.regClientID = true, reg.Issuer, reg.ClientID
	f.keySetURL, f.staticKeys = reg.KeySetURL, reg.KeySet != nil

	f.stage = stageSignature
	t.tel.next(ctx, f, tsKey)
	vctx, vspan := telemetry.Child(ctx, t.tel.tracer, "ltikit.verify")
	err = t.verify(vctx, reg, &tok, f)
	telemetry.End(vspan, t.tel.code(err))
	if err != nil {
		return nil, err
	}
	f.stage = stageClaims
	t.tel.next(ctx, f, tsClaims)
	claims, derr := decodePayload(tok.payload)
	if derr != nil {
		return nil, derr
	}
	f.claims = claims
	if err := t.checkClaims(claims, reg.Issuer, reg.ClientID, login); err != nil {
		return nil, err
	}

	// Nonce (OIDC Core §3.1.3.7 step 11, Security Framework §5.1.3 step 9).
	f.stage = stageNonce
	t.tel.next(ctx, f, tsNonce)
	if claims.Nonce == "" {
		return nil, lti.ErrInvalidNonce.WithDescription("the id_token has no nonce")
	}
	if !constantEqual(claims.Nonce, login.Nonce) {
		return nil, lti.ErrInvalidNonce.WithDescription("the nonce is not the one sent with this state")
	}
	if !t.carrier {
		// The state store does not consume the nonce with the state: consume
		// it on its own, exactly once.
		if err := t.nonces.ConsumeNonce(ctx, claims.Nonce, reg.Issuer, reg.ClientID); err != nil {
			if errors.Is(err, nonce.ErrNotFound) || errors.Is(err, nonce.ErrExpired) || errors.Is(err, nonce.ErrConsumed) {
				return nil, lti.ErrInvalidNonce.WithCause(err)
			}
			return nil, storageErr(err)
		}
	}

	f.stage = stageDeployment
	t.tel.next(ctx, f, tsDeployment)
	dep, err := t.deployments.FindDeployment(ctx, host, claims.DeploymentID)
	if errors.Is(err, deployment.ErrNotFound) && t.opt.deploymentPolicy != nil {
		// A deployment of a known platform the tool has not seen: the
		// host's policy decides (LTI 1.3 Core §5.3.3). Everything about the
		// launch has been verified by now.
		f.stage = stagePolicy
		if dep, err = t.applyPolicy(ctx, host, claims); err != nil {
			return nil, err
		}
	}
	switch {
	case errors.Is(err, deployment.ErrNotFound):
		return nil, lti.ErrUnknownDeployment.WithCause(err).WithSpec("LTI 1.3 Core §5.3.3")
	case err != nil:
		return nil, storageErr(err)
	}
	if dep == nil {
		return nil, storageErr(errors.New("deployment store returned nil without an error"))
	}
	d := dep.LTIDeployment()
	if d.DeploymentID != claims.DeploymentID {
		return nil, storageErr(errors.New("deployment store returned a deployment that does not match the lookup"))
	}
	return &Launch{
		Claims:       claims,
		Registration: reg,
		Deployment:   d,
		hostReg:      host,
		hostDep:      dep,
		payload:      tok.payload,
		binding:      binding,
	}, nil
}

// browserSecret returns the secret that binds the posted state to this
// browser, and where it came from: the state cookie, or, for a post by the
// tool's own platform storage page, the platform's storage. A launch
// without either, for a login that used platform storage, is a
// *StorageLaunch (nothing taken); otherwise invalid_state.
func (t *Tool) browserSecret(ctx context.Context, r *http.Request, form url.Values, state string, tok *token) (string, Binding, error) {
	if c, err := r.Cookie(t.cookieName(state)); err == nil {
		secret, ok := cookieSecret(c.Value)
		if !ok {
			return "", "", lti.ErrInvalidState.WithDescription("the state cookie is malformed")
		}
		return secret, BindingCookie, nil
	}
	if vals, ok := form[fieldSecret]; ok {
		// Only the tool's own launch page posts the secret. A page of
		// another site could otherwise post, from the victim's browser, the
		// secret of a login of its own (login CSRF).
		if !t.opt.storage || len(vals) != 1 || len(vals[0]) != secretLen || !t.sameOrigin(r) {
			return "", "", lti.ErrInvalidState.WithDescription("the platform storage secret was not posted by the tool's own page").
				WithSpec("LTI Client Side postMessages, Platform Storage")
		}
		return vals[0], BindingPlatformStorage, nil
	}
	if reason, ok := form[fieldStorageError]; ok {
		return "", "", storageFailure(reason[0])
	}
	target, ok := stateTarget(state)
	if !ok || !t.opt.storage {
		return "", "", errCookieBlocked
	}
	// The page needs the platform's origin: the auth endpoint of the
	// registration the (still unverified) id_token names. Nothing is
	// trusted from the token: a wrong registration only sends the page's
	// question to a frame that cannot answer it, and the state is taken
	// only with the right secret.
	reg, err := t.unverifiedRegistration(ctx, tok)
	if err != nil {
		return "", "", err
	}
	platformOrigin, ok := origin(reg.AuthEndpoint)
	if !ok {
		return "", "", storageErr(errors.New("registration has no usable auth endpoint"))
	}
	var targets []string
	if posted := form[fieldStorageTgt]; len(posted) == 1 && usableTarget(posted[0]) && posted[0] != target {
		targets = append(targets, posted[0])
	}
	targets = append(targets, target)
	return "", "", &StorageLaunch{cfg: storagePage{
		Mode:       "launch",
		Origin:     platformOrigin,
		Targets:    targets,
		Key:        t.storageKey(state),
		Action:     t.redirectURI,
		IDToken:    form.Get("id_token"),
		State:      state,
		Timeout:    t.opt.storageWait.Milliseconds(),
		CapTimeout: capTimeout(t.opt.storageWait).Milliseconds(),
	}}
}

// unverifiedRegistration finds the registration an unverified id_token
// names: iss, and azp or the one audience.
func (t *Tool) unverifiedRegistration(ctx context.Context, tok *token) (registrationView, error) {
	var c struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		Azp string          `json:"azp"`
	}
	if err := json.Unmarshal(tok.payload, &c); err != nil || c.Iss == "" {
		return registrationView{}, lti.ErrInvalidToken.WithDescription("the id_token payload is not a JSON object")
	}
	clientID := c.Azp
	if clientID == "" {
		var one string
		var many []string
		switch {
		case json.Unmarshal(c.Aud, &one) == nil:
			clientID = one
		case json.Unmarshal(c.Aud, &many) == nil && len(many) == 1:
			clientID = many[0]
		}
	}
	_, reg, lerr := t.findRegistration(ctx, c.Iss, clientID)
	if lerr != nil {
		return registrationView{}, lerr
	}
	return reg, nil
}

// platformError turns the platform's authentication error response (OIDC
// Core §3.1.2.6) into platform_error. The code is echoed only when it is
// one of the codes the specification defines; anything else the platform
// sent is not shown.
func platformError(code string) *lti.Error {
	switch code {
	case "invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type",
		"invalid_scope", "server_error", "temporarily_unavailable", "interaction_required",
		"login_required", "account_selection_required", "consent_required", "invalid_request_uri",
		"invalid_request_object", "request_not_supported", "request_uri_not_supported",
		"registration_not_supported", "launch_no_longer_valid", "unverified_idp_session":
		return lti.ErrPlatformError.WithDescription("the platform refused the launch: " + code).
			WithSpec("OpenID Connect Core §3.1.2.6")
	}
	return lti.ErrPlatformError.WithSpec("OpenID Connect Core §3.1.2.6")
}

// token is a compact JWS split into its parts.
type token struct {
	header       joseHeader
	signingInput []byte
	signature    []byte
	payload      []byte
}

// joseHeader holds the header parameters the pipeline looks at. jku, x5u,
// jwk and x5c are deliberately not read: keys come only from the
// registration's key set (Security Framework §6.3).
type joseHeader struct {
	Alg  string   `json:"alg"`
	Kid  string   `json:"kid"`
	Crit []string `json:"crit"`
	B64  *bool    `json:"b64"`
}

var b64 = base64.RawURLEncoding

// tokenBuffers are the scratch buffers of one token's split: the token's
// bytes (the signing input is a prefix), the decoded header and the
// decoded signature.
type tokenBuffers struct {
	raw, header, signature []byte
}

var tokenPool = sync.Pool{New: func() any { return new(tokenBuffers) }}

// maxPooledToken bounds the buffers kept in tokenPool.
const maxPooledToken = 64 << 10

func (b *tokenBuffers) release() {
	if cap(b.raw) > maxPooledToken || cap(b.header) > maxPooledToken || cap(b.signature) > maxPooledToken {
		return
	}
	tokenPool.Put(b)
}

// splitToken parses a compact JWS (RFC 7515 §7.1): three base64url parts.
func splitToken(raw string) (*token, error) {
	var tok token
	if err := splitTokenInto(raw, &tok, new(tokenBuffers)); err != nil {
		return nil, err
	}
	return &tok, nil
}

// splitTokenInto is splitToken into tok, with the signing input, header
// and signature in bufs; the payload gets its own slice.
func splitTokenInto(raw string, tok *token, bufs *tokenBuffers) error {
	bad := lti.ErrInvalidToken
	first := indexByte(raw, '.', 0)
	if first < 0 {
		return bad.WithDescription("the id_token is not a compact JWS")
	}
	second := indexByte(raw, '.', first+1)
	if second < 0 || indexByte(raw, '.', second+1) >= 0 {
		return bad.WithDescription("the id_token does not have three parts")
	}
	if first == 0 || second == first+1 {
		return bad.WithDescription("the id_token has an empty part")
	}
	// One copy of the token's bytes serves as the signing input and as
	// the source of the three decodings.
	bufs.raw = append(bufs.raw[:0], raw...)
	b := bufs.raw
	var err error
	if bufs.header, err = b64.AppendDecode(bufs.header[:0], b[:first]); err != nil {
		return bad.WithDescription("the id_token header is not base64url").WithCause(err)
	}
	var hdr joseHeader
	if err := parseHeader(bufs.header, &hdr); err != nil {
		return err
	}
	tok.header = hdr
	payload := make([]byte, b64.DecodedLen(second-first-1))
	n, err := b64.Decode(payload, b[first+1:second])
	if err != nil {
		return bad.WithDescription("the id_token payload is not base64url").WithCause(err)
	}
	tok.payload = payload[:n]
	if bufs.signature, err = b64.AppendDecode(bufs.signature[:0], b[second+1:]); err != nil {
		return bad.WithDescription("the id_token signature is not base64url").WithCause(err)
	}
	tok.signature = bufs.signature
	tok.signingInput = b[:second]
	return nil
}

// parseHeader decodes the JOSE header b into h. Header parameter names
// are case-sensitive (RFC 7515 §4): only "alg", "kid", "crit" and "b64",
// exactly (after JSON unescaping), are read; "KID" or "Alg" are other,
// ignored, parameters, not a kid or an alg (encoding/json would match them
// case-insensitively). RFC 7515 §4 lets a parser reject a header with a
// repeated name or take the last one; a repeated name is refused, so no
// two parsers can read two different headers from one token.
func parseHeader(b []byte, h *joseHeader) error {
	bad := lti.ErrInvalidToken.WithSpec("RFC 7515 §4")
	// json.Valid checks the syntax, so the walk below can assume it.
	if !json.Valid(b) {
		return bad.WithDescription("the id_token header is not a JSON object")
	}
	i := skipWS(b, 0)
	if b[i] != '{' {
		return bad.WithDescription("the id_token header is not a JSON object")
	}
	var seen headerNames
	i = skipWS(b, i+1)
	for b[i] != '}' {
		kEnd, escaped := skipString(b, i)
		name := b[i+1 : kEnd-1]
		if escaped {
			var n string
			if err := json.Unmarshal(b[i:kEnd], &n); err != nil {
				return bad.WithDescription("the id_token header is not a JSON object").WithCause(err)
			}
			name = []byte(n)
		}
		if !seen.add(name) {
			return bad.WithDescription("the id_token header repeats a parameter name")
		}
		i = skipWS(b, kEnd)    // at ':'
		i = skipWS(b, i+1)     // at the value
		vEnd := skipJSON(b, i) // just past the value
		v := b[i:vEnd]
		var err error
		switch string(name) { // no allocation: the conversion is only compared
		case "alg":
			err = headerString(v, &h.Alg)
		case "kid":
			err = headerString(v, &h.Kid)
		case "crit":
			err = json.Unmarshal(v, &h.Crit)
		case "b64":
			err = json.Unmarshal(v, &h.B64)
		}
		if err != nil {
			return bad.WithDescription("a parameter of the id_token header has the wrong type").WithCause(err)
		}
		i = skipWS(b, vEnd)
		if b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	return nil
}

// headerString decodes the JSON string v into dst; null leaves dst as it
// is, as encoding/json does.
func headerString(v []byte, dst *string) error {
	if len(v) >= 2 && v[0] == '"' {
		if end, escaped := skipString(v, 0); end == len(v) && !escaped && utf8.Valid(v[1:end-1]) {
			*dst = string(v[1 : end-1])
			return nil
		}
	}
	return json.Unmarshal(v, dst)
}

// headerNames is the set of names seen in one header: a short list, then
// a map for the rare header with many names, so a header of n names costs
// O(n), not O(n²).
type headerNames struct {
	list [8]string
	n    int
	many map[string]struct{}
}

// add adds name and reports whether it was new.
func (s *headerNames) add(name []byte) bool {
	if s.many != nil {
		if _, dup := s.many[string(name)]; dup {
			return false
		}
		s.many[string(name)] = struct{}{}
		return true
	}
	for _, n := range s.list[:s.n] {
		if n == string(name) {
			return false
		}
	}
	if s.n < len(s.list) {
		s.list[s.n] = string(name)
		s.n++
		return true
	}
	s.many = make(map[string]struct{}, 2*len(s.list))
	for _, n := range s.list {
		s.many[n] = struct{}{}
	}
	s.many[string(name)] = struct{}{}
	return true
}

// skipWS, skipString and skipJSON walk JSON that json.Valid accepted.
func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts (with its
// quote) at i, and whether it has escapes.
func skipString(b []byte, i int) (end int, escaped bool) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return i + 1, escaped
		}
	}
	return len(b), escaped
}

// skipJSON returns the index just past the value that starts at i.
func skipJSON(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := skipString(b, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i, _ = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}

func indexByte(s string, c byte, from int) int {
	for i := from; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// verifiers caches one jws.Verifier per algorithm; they are stateless.
var verifiers sync.Map // jwa.SignatureAlgorithm → jws.Verifier

func verifierFor(alg jwa.SignatureAlgorithm) (jws.Verifier, error) {
	if v, ok := verifiers.Load(alg); ok {
		return v.(jws.Verifier), nil
	}
	v, err := jws.NewVerifier(alg)
	if err != nil {
		return nil, err
	}
	verifiers.Store(alg, v)
	return v, nil
}

// keyTypeFor is the JWK key type each asymmetric algorithm needs.
func keyTypeFor(alg jwa.SignatureAlgorithm) jwa.KeyType {
	switch alg {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512:
		return jwa.RSA
	case jwa.ES256, jwa.ES384, jwa.ES512, jwa.ES256K:
		return jwa.EC
	case jwa.EdDSA:
		return jwa.OKP
	}
	return jwa.InvalidKeyType
}

// verify checks the token's signature with the registration's key
// (Security Framework §5.1.3 step 1, §6).
func (t *Tool) verify(ctx context.Context, reg registrationView, tok *token, f *facts) error {
	bad := lti.ErrInvalidSignature.WithSpec("1EdTech Security Framework §5.1.3")
	alg := jwa.SignatureAlgorithm(tok.header.Alg)
	if forbiddenAlg(alg) || !t.opt.algs[alg] {
		return bad.WithDescription("the id_token is signed with an algorithm the tool does not accept")
	}
	if len(tok.header.Crit) > 0 || tok.header.B64 != nil {
		// RFC 7515 §4.1.11: critical extensions we do not understand.
		return bad.WithDescription("the id_token uses JWS extensions the tool does not support")
	}
	if tok.header.Kid == "" {
		return bad.WithDescription("the id_token header has no kid")
	}
	key, err := t.keys.Key(ctx, reg, tok.header.Kid)
	t.tel.next(ctx, f, tsVerify)
	switch {
	case errors.Is(err, keys.ErrKeyNotFound):
		return bad.WithDescription("the id_token is signed with a key the platform does not publish").WithCause(err)
	case err != nil:
		return lti.ErrKeysetUnavailable.WithCause(err)
	}
	if key == nil || key.KeyType != keyTypeFor(alg) || (key.Alg != "" && key.Alg != alg) {
		return bad.WithDescription("the platform key does not match the id_token algorithm")
	}
	if r, ok := key.Raw.(*rsa.PublicKey); ok && (r.N == nil || r.N.BitLen() < keys.MinRSABits) {
		// RFC 7518 §3.3: RSA keys of at least 2048 bits. keys.Cache
		// leaves smaller keys out; this covers any other Provider.
		return bad.WithDescription("the platform key is too small")
	}
	v, err := verifierFor(alg)
	if err != nil {
		return bad.WithCause(err)
	}
	if err := v.Verify(tok.signingInput, tok.signature, key.Raw); err != nil {
		return bad.WithCause(err)
	}
	return nil
}

// decodePayload decodes the verified payload. A payload that is not a JSON
// object is invalid_token; one whose claims have wrong types is
// invalid_claims.
func decodePayload(p []byte) (*lti.Claims, error) {
	c, err := lti.DecodeClaims(p)
	if err != nil {
		// DecodeClaims validates the whole payload before it judges a
		// claim's type: malformed JSON anywhere is invalid_token.
		if errors.Is(err, lti.ErrInvalidClaims) {
			return nil, lti.ErrInvalidClaims.WithDescription("an id_token claim has the wrong type").WithCause(err)
		}
		return nil, lti.ErrInvalidToken.WithDescription("the id_token payload is not a JSON object").WithCause(err)
	}
	return c, nil
}

// checkClaims validates the verified claims (Security Framework §5.1.3,
// OIDC Core §3.1.3.7, LTI 1.3 Core §5.3–5.4).
func (t *Tool) checkClaims(c *lti.Claims, issuer, clientID string, login nonce.Login) error {
	claimsErr := func(desc, spec string) error {
		return lti.ErrInvalidClaims.WithDescription(desc).WithSpec(spec)
	}
	// Step 2: iss exactly equal to the registration's issuer.
	if c.Issuer != issuer {
		return claimsErr("the id_token issuer is not the platform's", "1EdTech Security Framework §5.1.3 step 2")
	}
	// Steps 3–5: aud contains client_id; several audiences need azp; azp,
	// when present, is the client_id; no audience the tool does not trust.
	if !c.Audience.Contains(clientID) {
		return claimsErr("the id_token is not addressed to this tool", "1EdTech Security Framework §5.1.3 step 3")
	}
	if len(c.Audience) > 1 {
		if c.AuthorizedParty == "" {
			return claimsErr("a multi-audience id_token has no azp", "OpenID Connect Core §3.1.3.7 step 4")
		}
		for _, a := range c.Audience {
			if a != clientID && !t.opt.audiences[a] {
				return claimsErr("the id_token names an audience the tool does not trust", "OpenID Connect Core §3.1.3.7 step 3")
			}
		}
	}
	if c.AuthorizedParty != "" && c.AuthorizedParty != clientID {
		return claimsErr("the id_token azp is not this tool", "OpenID Connect Core §3.1.3.7 step 5")
	}
	// Steps 7–8: exp in the future, iat not in the future and not too old,
	// both within the clock skew.
	now := t.opt.now()
	expired := lti.ErrTokenExpired.WithSpec("1EdTech Security Framework §5.1.3 steps 7–8")
	if !c.ExpiresAt.Set || !c.IssuedAt.Set {
		return claimsErr("the id_token has no exp or iat", "OpenID Connect Core §2")
	}
	if !now.Before(c.ExpiresAt.Time().Add(t.opt.skew)) {
		return expired.WithDescription("the id_token has expired")
	}
	iat := c.IssuedAt.Time()
	if iat.After(now.Add(t.opt.skew)) {
		return expired.WithDescription("the id_token was issued in the future")
	}
	if t.opt.maxAge > 0 && now.Sub(iat) > t.opt.maxAge+t.opt.skew {
		return expired.WithDescription("the id_token is too old")
	}
	// nbf is optional; when present the token must not be used before it,
	// with the same leeway as iat (RFC 7519 §4.1.5). A non-number nbf is
	// refused by the decoder (invalid_claims).
	if c.NotBefore.Set && c.NotBefore.Time().After(now.Add(t.opt.skew)) {
		return lti.ErrTokenExpired.WithSpec("RFC 7519 §4.1.5").WithDescription("the id_token is not valid yet")
	}

	// LTI 1.3 Core §5.3 required message claims.
	if c.Version != lti.Version {
		return claimsErr("the LTI version is not 1.3.0", "LTI 1.3 Core §5.3.2")
	}
	if c.MessageType == "" || !t.opt.messageTypes[c.MessageType] {
		return claimsErr("the message type is missing or not supported", "LTI 1.3 Core §5.3.1")
	}
	if c.DeploymentID == "" || len(c.DeploymentID) > deployment.MaxIDLength {
		return claimsErr("the deployment_id is missing or too long", "LTI 1.3 Core §5.3.3")
	}
	if login.DeploymentID != "" && c.DeploymentID != login.DeploymentID {
		return claimsErr("the deployment_id differs from the login's lti_deployment_id", "LTI 1.3 Core §4.1.2")
	}
	if c.Subject != nil && (*c.Subject == "" || len(*c.Subject) > maxSubjectLen) {
		return claimsErr("the sub claim is empty or too long", "LTI 1.3 Core §5.3.6")
	}
	if c.Roles == nil {
		return claimsErr("the roles claim is missing", "LTI 1.3 Core §5.3.7")
	}
	if c.TargetLinkURI != login.TargetLinkURI {
		return claimsErr("the target_link_uri differs from the login's", "LTI 1.3 Core §5.3.4, §4.1")
	}
	switch c.MessageType {
	case lti.MessageResourceLink:
		if c.ResourceLink == nil || c.ResourceLink.ID == "" || len(c.ResourceLink.ID) > 255 {
			return claimsErr("the resource_link id is missing", "LTI 1.3 Core §5.3.5")
		}
	case lti.MessageDeepLinking:
		dl := c.DeepLinking
		if dl == nil || !webURL(dl.DeepLinkReturnURL) {
			return claimsErr("the deep linking settings or their return URL are missing", "LTI Deep Linking 2.0 §4.4.1")
		}
		if len(dl.AcceptTypes) == 0 || len(dl.AcceptPresentationDocumentTargets) == 0 {
			return claimsErr("the deep linking settings lack accept_types or presentation targets", "LTI Deep Linking 2.0 §4.4.1")
		}
	case lti.MessageSubmissionReview:
		if c.ForUser == nil || c.ForUser.UserID == "" {
			return claimsErr("the submission review has no for_user", "LTI AGS 2.0 §6 (submission review)")
		}
	}
	return nil
}

type registrationView = registration.Registration

// webURL reports whether s is an absolute http(s) URL.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
