package dynreg

import (
	"slices"
	"strings"
)

// DefaultClaims are the id_token claims a tool asks for when Config.Claims
// is empty.
var DefaultClaims = []string{"iss", "sub", "name", "given_name", "family_name", "email"}

// ToolConfiguration is the tool's registration request: RFC 7591 §2 client
// metadata with the members LTI Dynamic Registration 1.0 §3.5.2 requires,
// and the lti-tool-configuration object. The platform's answer (§3.6) has
// the same shape plus ClientID and LTI.DeploymentID.
type ToolConfiguration struct {
	// ClientID is set by the platform in its answer.
	ClientID string `json:"client_id,omitempty"`
	// ApplicationType is "web".
	ApplicationType string `json:"application_type"`
	// ResponseTypes is ["id_token"].
	ResponseTypes []string `json:"response_types"`
	// GrantTypes is ["implicit", "client_credentials"].
	GrantTypes []string `json:"grant_types"`
	// InitiateLoginURI is the tool's OIDC login initiation URL.
	InitiateLoginURI string `json:"initiate_login_uri"`
	// RedirectURIs are the tool's launch URLs.
	RedirectURIs []string `json:"redirect_uris"`
	// ClientName is the tool's name as the platform shows it.
	ClientName string `json:"client_name"`
	// JWKSURI is the tool's public key set.
	JWKSURI string `json:"jwks_uri"`
	// LogoURI is the tool's logo. Optional.
	LogoURI string `json:"logo_uri,omitempty"`
	// ClientURI, PolicyURI and TOSURI are the tool's home page, privacy
	// policy and terms of service. Optional.
	ClientURI string `json:"client_uri,omitempty"`
	PolicyURI string `json:"policy_uri,omitempty"`
	TOSURI    string `json:"tos_uri,omitempty"`
	// Contacts are e-mail addresses of the tool's administrators.
	Contacts []string `json:"contacts,omitempty"`
	// TokenEndpointAuthMethod is "private_key_jwt".
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method"`
	// Scope is the space-separated list of LTI Advantage scopes asked
	// for, or, in the answer, granted.
	Scope string `json:"scope,omitempty"`
	// LTI is the lti-tool-configuration member.
	LTI LTIToolConfiguration `json:"https://purl.imsglobal.org/spec/lti-tool-configuration"`
}

// LTIToolConfiguration is the lti-tool-configuration member of a
// registration request or answer (LTI Dynamic Registration 1.0 §3.5.2).
type LTIToolConfiguration struct {
	// Domain is the tool's host (with its port when not the default).
	Domain string `json:"domain"`
	// SecondaryDomains are further hosts of the tool's URLs. Optional.
	SecondaryDomains []string `json:"secondary_domains,omitempty"`
	// DeploymentID is set by the platform in its answer when it created a
	// deployment with the registration (§3.6).
	DeploymentID string `json:"deployment_id,omitempty"`
	// TargetLinkURI is the default launch URL.
	TargetLinkURI string `json:"target_link_uri"`
	// CustomParameters are sent with every launch. Optional.
	CustomParameters map[string]string `json:"custom_parameters,omitempty"`
	// Description says what the tool does. Optional.
	Description string `json:"description,omitempty"`
	// Messages are the LTI messages the tool accepts.
	Messages []ToolMessage `json:"messages,omitempty"`
	// Claims are the id_token claims the tool asks for.
	Claims []string `json:"claims,omitempty"`
}

// ToolMessage is one LTI message a tool accepts (LTI Dynamic Registration
// 1.0 §3.5.2).
type ToolMessage struct {
	// Type is the message type, e.g. "LtiDeepLinkingRequest".
	Type string `json:"type"`
	// TargetLinkURI is where this message launches, when not the default.
	TargetLinkURI string `json:"target_link_uri,omitempty"`
	// Label is the message's name in the platform's menus.
	Label string `json:"label,omitempty"`
	// IconURI is the message's icon.
	IconURI string `json:"icon_uri,omitempty"`
	// CustomParameters are sent with this message.
	CustomParameters map[string]string `json:"custom_parameters,omitempty"`
	// Placements are where the platform shows the message.
	Placements []string `json:"placements,omitempty"`
	// Roles restrict the message to users with these roles.
	Roles []string `json:"roles,omitempty"`
}

// Scopes returns the configuration's scope as a list.
func (t *ToolConfiguration) Scopes() []string { return strings.Fields(t.Scope) }

// buildTool makes the registration request for a platform: the Config's
// values, the scopes the platform lists in scopes_supported, and the deep
// linking message when the platform supports it. It also returns the
// asked-for scopes the platform does not list.
func (h *Handler) buildTool(p *PlatformConfiguration) (*ToolConfiguration, []string) {
	c := &h.cfg
	var scopes, missing []string
	for _, s := range c.Scopes {
		if slices.Contains(p.ScopesSupported, s) {
			scopes = append(scopes, s)
		} else {
			missing = append(missing, s)
		}
	}
	t := &ToolConfiguration{
		ApplicationType:         "web",
		ResponseTypes:           []string{"id_token"},
		GrantTypes:              []string{"implicit", "client_credentials"},
		InitiateLoginURI:        c.LoginURL,
		RedirectURIs:            slices.Clone(c.RedirectURIs),
		ClientName:              c.ClientName,
		JWKSURI:                 c.JWKSURL,
		LogoURI:                 c.LogoURL,
		TokenEndpointAuthMethod: "private_key_jwt",
		Scope:                   strings.Join(scopes, " "),
		LTI: LTIToolConfiguration{
			Domain:           h.domain,
			TargetLinkURI:    c.TargetLinkURI,
			CustomParameters: cloneMap(c.CustomParameters),
			Description:      c.Description,
			Claims:           slices.Clone(c.Claims),
			Messages: []ToolMessage{{
				Type:          MessageResourceLink,
				TargetLinkURI: c.TargetLinkURI,
				Label:         c.ClientName,
			}},
		},
	}
	if c.DeepLinkingURL != "" {
		if sm, ok := p.message(MessageDeepLinking); ok {
			m := ToolMessage{Type: MessageDeepLinking, TargetLinkURI: c.DeepLinkingURL, Label: c.ClientName}
			// Ask only for placements the platform offers, when it lists
			// any; with none left, the platform picks its default.
			for _, pl := range c.DeepLinkingPlacements {
				if len(sm.Placements) == 0 || slices.Contains(sm.Placements, pl) {
					m.Placements = append(m.Placements, pl)
				}
			}
			t.LTI.Messages = append(t.LTI.Messages, m)
		}
	}
	return t, missing
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
