package dynreg

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// ServeHTTP serves the registration initiation URL: a GET with
// openid_configuration (required) and registration_token (optional) in the
// query (LTI Dynamic Registration 1.0 §3.3). It always answers the
// administrator with the last page of the registration (see [Handler]);
// refusals have the status of their [Error] code.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, err := h.Register(r)
	if err != nil {
		e := asError(err, ErrServerError)
		h.o.logger.LogAttrs(r.Context(), slog.LevelWarn, "dynreg: registration refused",
			slog.String("code", string(e.Code())), slog.String("error", e.Error()))
		status := e.Status()
		if r.Method != http.MethodGet && e.Code() == lti.CodeInvalidRequest {
			w.Header().Set("Allow", "GET")
			status = http.StatusMethodNotAllowed
		}
		h.render(w, r, status, page{Error: e, ConfigurationURL: r.URL.Query().Get("openid_configuration")})
		return
	}
	h.o.logger.LogAttrs(r.Context(), slog.LevelInfo, "dynreg: registration accepted",
		slog.String("issuer", res.Registration.Issuer), slog.String("client_id", res.Registration.ClientID),
		slog.String("deployment_id", res.DeploymentID), slog.Bool("pending", res.Pending))
	h.render(w, r, http.StatusOK, page{Result: res, ConfigurationURL: r.URL.Query().Get("openid_configuration")})
}

// Register runs a registration for the initiation request r and returns
// what the platform registered, or an *[Error]. ServeHTTP is Register plus
// the last page; hosts that render their own page call Register directly.
func (h *Handler) Register(r *http.Request) (*Result, error) {
	ctx := r.Context()
	if r.Method != http.MethodGet {
		return nil, ErrInvalidRequest.with("the registration initiation request must be a GET", "", nil)
	}
	configURL, token, err := h.readQuery(r)
	if err != nil {
		return nil, err
	}
	if h.o.precheck != nil {
		if err := h.o.precheck(r); err != nil {
			return nil, asError(err, ErrNotAllowed)
		}
	}
	platform, err := h.fetchConfiguration(ctx, configURL)
	if err != nil {
		return nil, err
	}
	tool, missing := h.buildTool(platform)
	req := &Request{
		ConfigurationURL:     configURL,
		Platform:             platform,
		Tool:                 tool,
		MissingScopes:        missing,
		HasRegistrationToken: token != "",
		HTTPRequest:          r,
	}
	d, err := h.decide(ctx, req)
	if err != nil {
		return nil, err
	}
	answer, err := h.postRegistration(ctx, platform.RegistrationEndpoint, token, req.Tool)
	if err != nil {
		return nil, err
	}
	res := h.result(platform, req.Tool, answer)
	if d.Verdict == Pending {
		res.Pending = true
		if err := h.cfg.OnPending(ctx, res); err != nil {
			return nil, asError(err, ErrServerError)
		}
		return res, nil
	}
	if err := h.store(ctx, res); err != nil {
		return nil, err
	}
	if h.cfg.OnRegistered != nil {
		h.cfg.OnRegistered(ctx, res)
	}
	return res, nil
}

// readQuery reads openid_configuration and registration_token, each at
// most once.
func (h *Handler) readQuery(r *http.Request) (configURL, token string, err error) {
	q, perr := url.ParseQuery(r.URL.RawQuery)
	if perr != nil {
		return "", "", ErrInvalidRequest.with("the registration initiation request's query is malformed", "", perr)
	}
	if len(q["openid_configuration"]) > 1 || len(q["registration_token"]) > 1 {
		return "", "", ErrInvalidRequest.with("a parameter of the registration initiation request is given twice", "", nil)
	}
	configURL = q.Get("openid_configuration")
	if configURL == "" {
		return "", "", ErrInvalidRequest.with("the registration initiation request has no openid_configuration", "openid_configuration", nil)
	}
	if _, err := h.o.policy.check(configURL); err != nil {
		return "", "", ErrInvalidRequest.with("the openid_configuration URL "+err.Error(), "openid_configuration", nil)
	}
	token = q.Get("registration_token")
	if len(token) > maxTokenLength || strings.ContainsAny(token, " \t\r\n") {
		return "", "", ErrInvalidRequest.with("the registration_token is malformed", "registration_token", nil)
	}
	return configURL, token, nil
}

// decide asks the Approve hook, failing closed.
func (h *Handler) decide(ctx context.Context, req *Request) (Decision, error) {
	if h.cfg.Approve == nil {
		if h.o.allowAll {
			return Decision{Verdict: Approve}, nil
		}
		return Decision{}, ErrNotAllowed.with("this tool accepts no registrations: it has no approval configured", "", nil)
	}
	d, err := h.cfg.Approve(ctx, req)
	if err != nil {
		return Decision{}, asError(err, ErrServerError)
	}
	switch d.Verdict {
	case Approve:
		if h.cfg.Registrar == nil {
			return Decision{}, ErrServerError.with("the tool has no storage for registrations", "", nil)
		}
	case Pending:
		if h.cfg.OnPending == nil {
			return Decision{}, ErrServerError.with("the tool cannot keep registrations pending", "", nil)
		}
	default:
		return Decision{}, NotAllowed(d.Reason)
	}
	if req.Tool == nil {
		return Decision{}, ErrServerError.with("the approval removed the tool configuration", "", nil)
	}
	return d, nil
}

// result assembles the Result of an accepted registration.
func (h *Handler) result(p *PlatformConfiguration, tool, answer *ToolConfiguration) *Result {
	res := &Result{
		Registration: registration.Registration{
			Issuer:        p.Issuer,
			ClientID:      answer.ClientID,
			AuthEndpoint:  p.AuthorizationEndpoint,
			TokenEndpoint: p.TokenEndpoint,
			KeySetURL:     p.JWKSURI,
		},
		DeploymentID: answer.LTI.DeploymentID,
		Platform:     p,
		Tool:         tool,
		Answer:       answer,
		Scopes:       tool.Scopes(),
	}
	if p.AuthorizationServer != "" && p.AuthorizationServer != p.TokenEndpoint {
		res.Registration.TokenAudience = p.AuthorizationServer
	}
	if answer.Scope != "" {
		res.Scopes = answer.Scopes()
	}
	for _, s := range h.cfg.Scopes {
		if !slices.Contains(res.Scopes, s) {
			res.MissingScopes = append(res.MissingScopes, s)
		}
	}
	return res
}

// sameEndpoints reports whether a and b agree on everything the launch
// uses.
func sameEndpoints(a, b registration.Registration) bool {
	return a.Issuer == b.Issuer && a.ClientID == b.ClientID && a.AuthEndpoint == b.AuthEndpoint &&
		a.TokenEndpoint == b.TokenEndpoint && a.TokenAudience == b.TokenAudience &&
		a.KeySetURL == b.KeySetURL && b.KeySet == nil
}

// store saves an approved registration. A registration the Registrar
// already holds with the same issuer and client_id (a platform that issues
// the same client_id again) is accepted when its endpoints are identical:
// the new deployment is added to it. With different endpoints it is a
// registration_conflict, and nothing is written: an administrator decides
// which one is right.
func (h *Handler) store(ctx context.Context, res *Result) error {
	var deps []string
	if res.DeploymentID != "" {
		deps = []string{res.DeploymentID}
	}
	err := h.cfg.Registrar.CreateRegistration(ctx, res.Registration, deps...)
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrExists) {
		return asError(err, ErrStorageUnavailable)
	}
	entries, lerr := h.cfg.Registrar.Registrations(ctx)
	if lerr != nil {
		return ErrStorageUnavailable.with("", "", lerr)
	}
	key := res.Registration.Key()
	for _, e := range entries {
		if e.Registration.Key() != key {
			continue
		}
		if !sameEndpoints(res.Registration, e.Registration) {
			return ErrRegistrationConflict.with("", "", nil)
		}
		res.Existing = true
		if res.DeploymentID == "" || slices.Contains(e.Deployments, res.DeploymentID) {
			return nil
		}
		if err := h.cfg.Registrar.CreateDeployment(ctx, key, res.DeploymentID); err != nil && !errors.Is(err, storage.ErrExists) {
			return ErrStorageUnavailable.with("", "", err)
		}
		return nil
	}
	// Reported as existing, yet not listed: removed in between.
	return ErrStorageUnavailable.with("", "", err)
}
