package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
)

// Launch is a validated launch: the typed claims, the registration and
// deployment it came through (the library's view and the host's own
// values), and the raw claims for anything vendor-specific.
type Launch struct {
	// Claims are the id_token's claims, decoded into typed fields.
	Claims *lti.Claims
	// Registration is the library's view of the platform registration.
	Registration registration.Registration
	// Deployment is the library's view of the deployment.
	Deployment deployment.Deployment

	hostReg registration.Registerable
	hostDep deployment.Deployable
	payload []byte
	binding Binding
}

// StateBinding says how the launch's state was bound to the browser: the
// state cookie, or platform storage when the browser sent no cookie. It is
// empty for a Launch from [Tool.Resume].
func (l *Launch) StateBinding() Binding { return l.binding }

// HostRegistration returns the value the registration store returned: the
// host's own struct when the host stores its own type.
func (l *Launch) HostRegistration() registration.Registerable { return l.hostReg }

// HostDeployment returns the value the deployment store returned.
func (l *Launch) HostDeployment() deployment.Deployable { return l.hostDep }

// RegistrationAs returns the host's registration value as T, without
// another query: launch.RegistrationAs[*MyPlatform](l).
func RegistrationAs[T any](l *Launch) (T, bool) {
	v, ok := l.hostReg.(T)
	return v, ok
}

// DeploymentAs returns the host's deployment value as T.
func DeploymentAs[T any](l *Launch) (T, bool) {
	v, ok := l.hostDep.(T)
	return v, ok
}

// MessageType is the LTI message type.
func (l *Launch) MessageType() string { return l.Claims.MessageType }

// DeploymentID is the platform's deployment_id.
func (l *Launch) DeploymentID() string { return l.Claims.DeploymentID }

// Subject is the user's sub, empty for an anonymous launch.
func (l *Launch) Subject() string {
	if l.Claims.Subject == nil {
		return ""
	}
	return *l.Claims.Subject
}

// Anonymous reports whether the launch carries no user (no sub claim; LTI
// 1.3 Core §5.3.6).
func (l *Launch) Anonymous() bool { return l.Claims.Subject == nil }

// Roles returns the roles claim with the role helpers.
func (l *Launch) Roles() lti.Roles {
	if l.Claims.Roles == nil {
		return nil
	}
	return lti.Roles(*l.Claims.Roles)
}

// IsDeepLinking reports whether this is an LtiDeepLinkingRequest.
func (l *Launch) IsDeepLinking() bool { return l.Claims.MessageType == lti.MessageDeepLinking }

// RawClaims returns the id_token payload exactly as the platform signed it:
// every claim, vendor extensions included, with its JSON types. The slice
// is a copy.
func (l *Launch) RawClaims() json.RawMessage { return bytes.Clone(l.payload) }

// Claim decodes the claim named name into v and reports whether it was
// present, for vendor claims the typed Claims do not cover (Canvas, D2L,
// Moodle "ext" claims). Only that claim's value is decoded.
func (l *Launch) Claim(name string, v any) (bool, error) {
	raw, ok, err := l.RawClaim(name)
	if err != nil || !ok {
		return false, err
	}
	return true, json.Unmarshal(raw, v)
}

// RawClaim returns the claim named name exactly as the platform sent it,
// and whether it was present. Names match exactly; a payload with a name
// sent twice never gets here ([lti.DecodeClaims] refuses it). The slice is
// the caller's.
func (l *Launch) RawClaim(name string) (json.RawMessage, bool, error) {
	return lti.ClaimValue(l.payload, name)
}

// ClaimsMap decodes every claim into a map; numbers are json.Number, so
// their text is kept exactly.
func (l *Launch) ClaimsMap() (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(l.payload))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

type ctxKey struct{}

// NewContext returns ctx carrying the launch.
func NewContext(ctx context.Context, l *Launch) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// FromContext returns the launch stored by LaunchHandler.
func FromContext(ctx context.Context) (*Launch, bool) {
	l, ok := ctx.Value(ctxKey{}).(*Launch)
	return l, ok && l != nil
}

// Resume rebuilds the [Launch] this tool validated earlier, from
// the payload that launch verified ([Launch.RawClaims]) and the key of the
// registration it came through. It is what a launch session (package
// session) uses on the pages after the launch: the claims are decoded
// again, and the registration and deployment are looked up through the
// tool's storage, so the host's own structs come back as they would in the
// launch itself (with [storage.CacheLookups], from memory).
//
// Resume verifies nothing about the payload's origin: pass only a payload
// the tool validated and kept on its own side, never one a client sent.
// A payload whose issuer or deployment does not match the registration, or
// that does not decode, is invalid_claims; a registration or deployment
// removed since the launch is unknown_registration or unknown_deployment;
// a storage failure is storage_unavailable.
func (t *Tool) Resume(ctx context.Context, reg registration.Key, payload []byte) (*Launch, error) {
	claims, err := decodePayload(payload)
	if err != nil {
		return nil, err
	}
	if claims.Issuer != reg.Issuer || !claims.Audience.Contains(reg.ClientID) || claims.DeploymentID == "" {
		return nil, lti.ErrInvalidClaims.WithDescription("the stored launch does not belong to its registration")
	}
	host, r, lerr := t.findRegistration(ctx, reg.Issuer, reg.ClientID)
	if lerr != nil {
		return nil, lerr
	}
	dep, err := t.deployments.FindDeployment(ctx, host, claims.DeploymentID)
	if err != nil {
		if errors.Is(err, deployment.ErrNotFound) {
			return nil, lti.ErrUnknownDeployment.WithCause(err).WithSpec("LTI 1.3 Core §5.3.3")
		}
		return nil, storageErr(err)
	}
	if dep == nil || dep.LTIDeployment().DeploymentID != claims.DeploymentID {
		return nil, storageErr(errors.New("deployment store returned a deployment that does not match the lookup"))
	}
	return &Launch{
		Claims:       claims,
		Registration: r,
		Deployment:   dep.LTIDeployment(),
		hostReg:      host,
		hostDep:      dep,
		payload:      bytes.Clone(payload),
	}, nil
}
