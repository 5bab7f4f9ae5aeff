package deeplink

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/toolkey"
)

// Claim names of the deep linking response (Deep Linking 2.0 §4.5).
const (
	// ClaimContentItems is the array of returned content items.
	ClaimContentItems = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
	// ClaimData echoes the request's data value.
	ClaimData = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
	// ClaimMsg is a message the platform may show the user.
	ClaimMsg = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
	// ClaimLog is a message the platform may log.
	ClaimLog = "https://purl.imsglobal.org/spec/lti-dl/claim/log"
	// ClaimErrorMsg is an error message the platform may show the user.
	ClaimErrorMsg = "https://purl.imsglobal.org/spec/lti-dl/claim/errormsg"
	// ClaimErrorLog is an error message the platform may log.
	ClaimErrorLog = "https://purl.imsglobal.org/spec/lti-dl/claim/errorlog"
)

// MessageTypeResponse is the message_type of a deep linking response.
const MessageTypeResponse = "LtiDeepLinkingResponse"

// Lifetimes of a response JWT (exp - iat). The JWT travels straight from
// the tool's page to the platform, so it lives minutes, not hours
// (1EdTech Security Framework §5.2).
const (
	// DefaultLifetime is the lifetime unless WithLifetime says otherwise.
	DefaultLifetime = 5 * time.Minute
	// MaxLifetime is the longest lifetime New accepts.
	MaxLifetime = 5 * time.Minute
)

// Response is the answer to a deep linking request: the content items the
// user picked and optional messages for the platform. Sign it with a
// [Responder].
type Response struct {
	// Request is the request answered. Required.
	Request *Request
	// Items are the content items, in order. None is a valid answer (the
	// user picked nothing).
	Items []Item
	// Message is shown to the user by the platform (msg).
	Message string
	// Log is logged by the platform (log).
	Log string
	// ErrorMessage is an error shown to the user by the platform (errormsg).
	ErrorMessage string
	// ErrorLog is an error logged by the platform (errorlog).
	ErrorLog string
}

// Validate checks the response against its request without signing
// anything: the request has an absolute http(s) return URL, an issuer, a
// client_id and a deployment_id; there is at most one item unless
// accept_multiple is true; every item's type is in accept_types; no
// lineItem when accept_lineitem is false; every window, iframe and embed
// is an accepted presentation target; every file's mediaType matches
// accept_media_types; every URL is an absolute http(s) URL without user
// info; required properties are present (a link's url, an html item's
// html, a lineItem's positive scoreMaximum, …).
//
// The first problem found is returned as an *[Error] with its [Reason];
// see the package documentation's Errors section.
func (r *Response) Validate() error {
	_, err := r.validate()
	return err
}

// validate checks the response and returns the content_items JSON array.
func (r *Response) validate() (json.RawMessage, error) {
	if r == nil || r.Request == nil {
		return nil, refusal(ReasonInvalidRequest, -1, "", "the response has no request", specResponse)
	}
	req := r.Request
	if err := req.check(); err != nil {
		return nil, err
	}
	if req.Issuer == "" || req.ClientID == "" || req.DeploymentID == "" {
		return nil, refusal(ReasonInvalidRequest, -1, "", "the request has no issuer, client_id or deployment_id", specResponse)
	}
	if req.Data != nil {
		var s string
		if json.Unmarshal(req.Data, &s) != nil {
			return nil, refusal(ReasonInvalidRequest, -1, "data", "the request's data is not a JSON string", specResponse)
		}
	}
	if len(r.Items) > 1 && !req.AcceptMultiple {
		return nil, refusal(ReasonMultipleNotAccepted, -1, "", "the platform accepts one item only", specSettings)
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, it := range r.Items {
		b, err := checkItem(req, i, it)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// checkItem validates one item and returns its JSON.
func checkItem(req *Request, i int, it Item) ([]byte, error) {
	if it == nil {
		return nil, refusal(ReasonInvalidItem, i, "", "the item is nil", specItems)
	}
	if v := reflect.ValueOf(it); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, refusal(ReasonInvalidItem, i, "", "the item is a nil pointer", specItems)
	}
	typ := it.ItemType()
	if !req.AcceptsType(typ) {
		return nil, refusal(ReasonTypeNotAccepted, i, "type", "the platform does not accept items of this type", specSettings)
	}
	if c, ok := it.(checker); ok {
		v := &validator{req: req, index: i}
		c.check(v)
		if v.err != nil {
			return nil, v.err
		}
	}
	b, err := json.Marshal(it)
	if err != nil {
		return nil, refusal(ReasonInvalidItem, i, "", "the item does not marshal to JSON: "+err.Error(), specItems)
	}
	if _, ours := it.(checker); !ours {
		// An extension item: its JSON must be an object of its own type.
		var head struct {
			Type *string `json:"type"`
		}
		if json.Unmarshal(b, &head) != nil || head.Type == nil || *head.Type != typ || b[0] != '{' {
			return nil, refusal(ReasonInvalidItem, i, "type", "the item's JSON is not an object whose type is its ItemType", specItems)
		}
	}
	return b, nil
}

// Config holds the required dependencies of a Responder.
type Config struct {
	// Signer signs responses with the tool's active key (RS256, kid in the
	// header). Required; usually the tool's toolkey keyring.
	Signer toolkey.Signer
}

// Option tunes a Responder.
type Option func(*options)

type options struct {
	now      func() time.Time
	lifetime time.Duration
	// meters, tracers: the OpenTelemetry options (telemetry.go); nil uses
	// the global ones.
	meters  metric.MeterProvider
	tracers trace.TracerProvider
}

// WithClock sets the clock that stamps iat and exp (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLifetime sets exp - iat of response JWTs, from one second up to
// [MaxLifetime] (default [DefaultLifetime]).
func WithLifetime(d time.Duration) Option { return func(o *options) { o.lifetime = d } }

// Responder builds and signs deep linking responses. It is safe for
// concurrent use; make one per tool with [New].
type Responder struct {
	signer toolkey.Signer
	opt    options
	tel    *telemetry.Service
}

// New returns a Responder. It fails when cfg.Signer is nil or an option
// is out of range.
func New(cfg Config, opts ...Option) (*Responder, error) {
	if cfg.Signer == nil {
		return nil, errors.New("deeplink: Config.Signer is required")
	}
	o := options{now: time.Now, lifetime: DefaultLifetime}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		return nil, errors.New("deeplink: WithClock(nil)")
	}
	if o.lifetime < time.Second || o.lifetime > MaxLifetime {
		return nil, fmt.Errorf("deeplink: lifetime %v is outside 1s…%v", o.lifetime, MaxLifetime)
	}
	return &Responder{signer: cfg.Signer, opt: o, tel: telemetry.NewService(scope, o.meters, o.tracers, nil)}, nil
}

// Claims validates resp (see [Response.Validate]) and returns the claims
// of its JWT (Deep Linking 2.0 §4.5, 1EdTech Security Framework §5.2):
//
//	iss            the tool's client_id
//	aud            the platform's issuer
//	iat, exp       now, now + the lifetime
//	nonce          fresh, 128 bits from crypto/rand
//	message_type   LtiDeepLinkingResponse
//	version        1.3.0
//	deployment_id  the request's
//	data           the request's data as the platform wrote it; absent when it had none
//	content_items  the items (always present, [] when there are none)
//	msg, log, errormsg, errorlog  when not empty
//
// content_items and data are json.RawMessage values, so a JSON encoder
// writes them as built: data keeps the platform's own escapes (even an
// escaped lone surrogate, which decoding would replace). encoding/json
// still escapes <, >, &, U+2028 and U+2029 in them; the decoded value is
// the same. Each call makes a new nonce.
func (d *Responder) Claims(resp *Response) (map[string]any, error) {
	items, err := resp.validate()
	if err != nil {
		return nil, err
	}
	req := resp.Request
	now := d.opt.now()
	c := map[string]any{
		"iss":                 req.ClientID,
		"aud":                 req.Issuer,
		"iat":                 now.Unix(),
		"exp":                 now.Add(d.opt.lifetime).Unix(),
		"nonce":               rand.Text(),
		lti.ClaimMessageType:  MessageTypeResponse,
		lti.ClaimVersion:      lti.Version,
		lti.ClaimDeploymentID: req.DeploymentID,
		ClaimContentItems:     items,
	}
	if req.Data != nil {
		c[ClaimData] = json.RawMessage(bytes.Clone(req.Data))
	}
	for name, v := range map[string]string{
		ClaimMsg: resp.Message, ClaimLog: resp.Log, ClaimErrorMsg: resp.ErrorMessage, ClaimErrorLog: resp.ErrorLog,
	} {
		if v != "" {
			c[name] = v
		}
	}
	return c, nil
}

// Sign validates resp and signs its claims (see [Responder.Claims]) with
// the tool's key: the compact JWT to post to the return URL. Nothing is
// signed when the response is refused.
//
// A refused response is an *[Error]. A signer failure is returned wrapped
// as it is when it carries a code (lti.Coded, e.g. the signer's *lti.Error),
// otherwise as an lti storage_unavailable error wrapping it: the tool's
// keys are unavailable, the response is not at fault.
//
// Each call is counted and timed as the service operation
// deeplink.response.sign, by result, in a span of its own.
func (d *Responder) Sign(ctx context.Context, resp *Response) (string, error) {
	ctx, call := d.tel.Start(ctx, telemetry.OpDeepLinkResponse, "", "")
	jwt, err := d.sign(ctx, resp)
	call.End(ctx, 0, err)
	return jwt, err
}

// sign is Sign's work.
func (d *Responder) sign(ctx context.Context, resp *Response) (string, error) {
	claims, err := d.Claims(resp)
	if err != nil {
		return "", err
	}
	jwt, err := d.signer.SignJWT(ctx, claims)
	if err != nil {
		var coded lti.Coded
		if errors.As(err, &coded) {
			return "", fmt.Errorf("deeplink: signing the response: %w", err)
		}
		return "", lti.ErrStorageUnavailable.WithDescription("the tool's signing key is unavailable").WithCause(err)
	}
	return jwt, nil
}

// Respond signs resp and writes the auto-submitting form that posts it to
// the request's return URL (see [Response.WriteForm]). Nothing is written
// when it fails.
func (d *Responder) Respond(ctx context.Context, w http.ResponseWriter, resp *Response) error {
	jwt, err := d.Sign(ctx, resp)
	if err != nil {
		return err
	}
	return resp.WriteForm(w, jwt)
}
