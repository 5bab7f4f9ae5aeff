package launch

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/lti"
)

// Log messages of refused requests. They never change; the attributes are
// listed in the package documentation.
const (
	msgLaunchRefused = "lti launch refused"
	msgLoginRefused  = "lti login refused"
)

// Stages of the pipeline, the value of the "stage" attribute: how far a
// refused request got.
const (
	stageRequest      = "request"           // method, body, form, parameters
	stageTarget       = "target_link_uri"   // login: target_link_uri check
	stageRegistration = "registration"      // registration lookup
	stageAuthEndpoint = "auth_endpoint"     // login: the registered auth endpoint
	stageLoginStore   = "login_store"       // login: storing the state and nonce
	stageToken        = "token"             // launch: splitting the id_token
	stageState        = "state"             // launch: browser secret and state record
	stageSignature    = "signature"         // launch: algorithm, key, signature
	stageClaims       = "claims"            // launch: decoding and checking the claims
	stageNonce        = "nonce"             // launch: nonce check and consumption
	stageDeployment   = "deployment"        // launch: deployment lookup
	stagePolicy       = "deployment_policy" // launch: the new-deployment policy
)

// maxLogValue bounds each logged value, in bytes; a longer one is cut and
// ends with "…".
const maxLogValue = 256

// maxLogError bounds the logged error text (code, description, causes).
const maxLogError = 1024

// maxLoggedPayload bounds the unverified payload decoded for a refusal's
// log line: a real id_token is far smaller, and a refusal must stay cheap.
const maxLoggedPayload = 64 << 10

// facts collect, as the pipeline goes, the non-secret values that locate
// a refusal. Filling them costs a few word stores per request; the slog
// attributes are built only when a request is refused. They never hold a
// state, nonce, browser secret, hint, cookie, id_token or signature.
type facts struct {
	stage string
	// login: from the request; launch: from the login record (what the
	// tool asked the platform for).
	iss, clientID, deploymentID, targetLinkURI string
	// regFound: a registration was found; its identity, key set URL and
	// auth endpoint follow.
	regFound                bool
	regIssuer, regClientID  string
	keySetURL, authEndpoint string
	staticKeys              bool
	kid, alg                string // the JOSE header
	payload                 []byte // the id_token payload, unverified
	claims                  *lti.Claims
	// timer measures the launch's stages (telemetry.go).
	timer stageTimer
}

// logRefusal logs a refused login (launch false) or launch with the code,
// the error (with its cause) and what f collected.
func (t *Tool) logRefusal(ctx context.Context, launch bool, e *lti.Error, f *facts, r *http.Request) {
	msg := msgLoginRefused
	if launch {
		msg = msgLaunchRefused
	}
	logger := t.opt.logger
	if logger == nil {
		logger = slog.Default()
	}
	if !logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 24)
	attrs = append(attrs,
		slog.String("code", string(e.Code())),
		slog.String("error", cleanN(e.Error(), maxLogError)),
		slog.String("stage", f.stage))
	str := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, clean(v)))
		}
	}
	if launch {
		t.launchAttrs(f, str, &attrs)
	} else {
		if f.stage == stageRequest && r != nil {
			// The parameters did not parse as a whole; log the ones that
			// locate the platform, as sent.
			f.iss, f.clientID = firstParam(r, "iss"), firstParam(r, "client_id")
			f.deploymentID, f.targetLinkURI = firstParam(r, "lti_deployment_id"), firstParam(r, "target_link_uri")
		}
		str("iss", f.iss)
		str("client_id", f.clientID)
		str("deployment_id", f.deploymentID)
		str("target_link_uri", f.targetLinkURI)
	}
	attrs = append(attrs, slog.String("target_hosts", t.targetHostList()))
	if f.regFound {
		str("registration", f.regIssuer+"|"+f.regClientID)
		if !launch {
			str("auth_endpoint", f.authEndpoint)
		}
	}
	str("key_set_url", f.keySetURL)
	var fe *keys.FetchError
	if errors.As(e, &fe) {
		if f.keySetURL == "" {
			str("key_set_url", fe.URL)
		}
		if fe.Status != 0 {
			attrs = append(attrs, slog.Int("key_set_status", fe.Status))
		}
	}
	logger.LogAttrs(ctx, slog.LevelInfo, msg, attrs...)
}

// launchAttrs adds what a launch refusal knows of the id_token and of the
// login it answers.
func (t *Tool) launchAttrs(f *facts, str func(k, v string), attrs *[]slog.Attr) {
	str("kid", f.kid)
	str("alg", f.alg)
	var tc tokenFacts
	switch {
	case f.claims != nil:
		tc = verifiedFacts(f.claims)
	case f.payload != nil:
		tc = unverifiedFacts(f.payload)
	}
	str("iss", tc.iss)
	str("client_id", f.clientID)
	str("aud", tc.aud)
	str("azp", tc.azp)
	str("deployment_id", tc.deploymentID)
	if f.deploymentID != "" && f.deploymentID != tc.deploymentID {
		str("login_deployment_id", f.deploymentID)
	}
	str("message_type", tc.messageType)
	str("target_link_uri", tc.targetLinkURI)
	if f.targetLinkURI != "" && f.targetLinkURI != tc.targetLinkURI {
		str("login_target_link_uri", f.targetLinkURI)
	}
	if f.iss != "" && f.iss != tc.iss {
		str("login_iss", f.iss)
	}
	if tc.exp != nil || tc.iat != nil || tc.nbf != nil {
		now := t.opt.now()
		*attrs = append(*attrs, slog.String("now", now.UTC().Format(time.RFC3339)))
		if tc.exp != nil {
			*attrs = append(*attrs, slog.String("exp", tc.exp.UTC().Format(time.RFC3339)),
				slog.String("exp_in", tc.exp.Sub(now).Round(time.Second).String()))
		}
		if tc.iat != nil {
			*attrs = append(*attrs, slog.String("iat", tc.iat.UTC().Format(time.RFC3339)),
				slog.String("iat_age", now.Sub(*tc.iat).Round(time.Second).String()))
		}
		if tc.nbf != nil {
			*attrs = append(*attrs, slog.String("nbf", tc.nbf.UTC().Format(time.RFC3339)),
				slog.String("nbf_in", tc.nbf.Sub(now).Round(time.Second).String()))
		}
	}
	if f.staticKeys {
		str("key_set", "static")
	}
}

// tokenFacts are the id_token values a refusal logs.
type tokenFacts struct {
	iss, aud, azp, deploymentID, messageType, targetLinkURI string
	exp, iat, nbf                                           *time.Time
}

func verifiedFacts(c *lti.Claims) tokenFacts {
	tc := tokenFacts{iss: c.Issuer, aud: joinAud(c.Audience), azp: c.AuthorizedParty,
		deploymentID: c.DeploymentID, messageType: c.MessageType, targetLinkURI: c.TargetLinkURI}
	at := func(d lti.NumericDate) *time.Time {
		if !d.Set {
			return nil
		}
		x := d.Time()
		return &x
	}
	tc.exp, tc.iat, tc.nbf = at(c.ExpiresAt), at(c.IssuedAt), at(c.NotBefore)
	return tc
}

// unverifiedFacts reads the values a refusal logs from a payload whose
// signature was not (or not successfully) verified. Each member is read
// on its own: one of the wrong type leaves only that one out.
func unverifiedFacts(p []byte) tokenFacts {
	var tc tokenFacts
	if len(p) > maxLoggedPayload {
		return tc
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(p, &m) != nil {
		return tc
	}
	s := func(name string) string {
		var v string
		_ = json.Unmarshal(m[name], &v)
		return v
	}
	tc.iss, tc.azp = s("iss"), s("azp")
	tc.deploymentID, tc.messageType, tc.targetLinkURI = s(lti.ClaimDeploymentID), s(lti.ClaimMessageType), s(lti.ClaimTargetLinkURI)
	var aud lti.Audience
	if json.Unmarshal(m["aud"], &aud) == nil {
		tc.aud = joinAud(aud)
	}
	at := func(name string) *time.Time {
		var n json.Number
		if json.Unmarshal(m[name], &n) != nil {
			return nil
		}
		f, err := n.Float64()
		if err != nil || math.IsNaN(f) || math.Abs(f) > 1e11 {
			return nil
		}
		x := time.Unix(int64(f), 0)
		return &x
	}
	tc.exp, tc.iat, tc.nbf = at("exp"), at("iat"), at("nbf")
	return tc
}

// joinAud joins at most 8 audiences with ",".
func joinAud(a lti.Audience) string {
	if len(a) > 8 {
		return strings.Join(a[:8], ",") + ",…"
	}
	return strings.Join(a, ",")
}

func (t *Tool) targetHostList() string {
	hosts := make([]string, 0, len(t.opt.targetHosts))
	for h := range t.opt.targetHosts {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	return strings.Join(hosts, ",")
}

// firstParam is the first value of a login parameter in the query or the
// form ParseLoginRequest already parsed (the body is never read again).
func firstParam(r *http.Request, name string) string {
	if v := r.PostForm[name]; len(v) > 0 {
		return v[0]
	}
	if r.URL == nil {
		return ""
	}
	return r.URL.Query().Get(name)
}

// clean makes an untrusted value safe for a log line: control characters
// dropped, invalid UTF-8 replaced, at most maxLogValue bytes.
func clean(s string) string { return cleanN(s, maxLogValue) }

// cleanN is clean with a bound of n bytes.
func cleanN(s string, n int) string {
	ok := len(s) <= n
	for i := 0; ok && i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			ok = false
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), n+4))
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > n {
			b.WriteString("…")
			break
		}
		b.WriteRune(r) // invalid UTF-8 arrives as U+FFFD
	}
	return b.String()
}
