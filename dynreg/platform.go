package dynreg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Claim names of LTI Dynamic Registration 1.0.
const (
	// PlatformConfigurationClaim is the member of the platform's OpenID
	// configuration that holds its LTI details (§3.4.1).
	PlatformConfigurationClaim = "https://purl.imsglobal.org/spec/lti-platform-configuration"
	// ToolConfigurationClaim is the member of the registration request and
	// answer that holds the tool's LTI details (§3.5.2, §3.6).
	ToolConfigurationClaim = "https://purl.imsglobal.org/spec/lti-tool-configuration"
)

// LTI message types a tool configuration offers.
const (
	MessageResourceLink = "LtiResourceLinkRequest"
	MessageDeepLinking  = "LtiDeepLinkingRequest"
)

// maxURLLength bounds every URL read from the request or the platform.
const maxURLLength = 2048

// PlatformConfiguration is a platform's OpenID configuration (OpenID
// Connect Discovery 1.0 §3 with the members LTI Dynamic Registration 1.0
// §3.4.1 adds). [ParseConfiguration] returns it validated.
type PlatformConfiguration struct {
	// Issuer is the platform's issuer identifier, the iss of its
	// id_tokens.
	Issuer string `json:"issuer"`
	// AuthorizationEndpoint is the OIDC authorization endpoint, where a
	// launch's login goes.
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	// TokenEndpoint is the OAuth 2 token endpoint of the LTI Advantage
	// services.
	TokenEndpoint string `json:"token_endpoint"`
	// TokenEndpointAuthMethodsSupported lists the client authentication
	// methods of the token endpoint; LTI requires private_key_jwt.
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	// TokenEndpointAuthSigningAlgValuesSupported lists the signature
	// algorithms of client assertions the token endpoint accepts.
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	// JWKSURI is the platform's public key set.
	JWKSURI string `json:"jwks_uri"`
	// RegistrationEndpoint is where the tool posts its configuration
	// (RFC 7591 §3).
	RegistrationEndpoint string `json:"registration_endpoint"`
	// ScopesSupported lists the scopes the platform knows: openid and the
	// LTI Advantage scopes it offers.
	ScopesSupported []string `json:"scopes_supported"`
	// ResponseTypesSupported must include id_token.
	ResponseTypesSupported []string `json:"response_types_supported"`
	// SubjectTypesSupported lists the subject identifier types.
	SubjectTypesSupported []string `json:"subject_types_supported,omitempty"`
	// IDTokenSigningAlgValuesSupported lists the id_token signature
	// algorithms; it must include one the tool accepts (RS256).
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	// ClaimsSupported lists the claims the platform may send.
	ClaimsSupported []string `json:"claims_supported,omitempty"`
	// AuthorizationServer is the audience of client assertions at the
	// token endpoint when it is not the token endpoint URL (§3.4.1).
	AuthorizationServer string `json:"authorization_server,omitempty"`
	// LTI is the lti-platform-configuration member.
	LTI *LTIPlatformConfiguration `json:"https://purl.imsglobal.org/spec/lti-platform-configuration"`
}

// LTIPlatformConfiguration is the lti-platform-configuration member of a
// platform's OpenID configuration (LTI Dynamic Registration 1.0 §3.4.1).
type LTIPlatformConfiguration struct {
	// ProductFamilyCode names the platform's product, e.g. "moodle" or
	// "canvas".
	ProductFamilyCode string `json:"product_family_code"`
	// Version is the platform's version.
	Version string `json:"version"`
	// MessagesSupported lists the LTI messages the platform can send.
	MessagesSupported []SupportedMessage `json:"messages_supported"`
	// Variables lists the custom parameter substitution variables the
	// platform supports. Optional.
	Variables []string `json:"variables,omitempty"`
}

// SupportedMessage is one LTI message type a platform supports, and the
// placements it offers for it.
type SupportedMessage struct {
	// Type is the message type, e.g. "LtiDeepLinkingRequest".
	Type string `json:"type"`
	// Placements lists where the platform can show the message, if it
	// says.
	Placements []string `json:"placements,omitempty"`
}

// Supports reports whether the platform lists messageType in
// messages_supported.
func (c *PlatformConfiguration) Supports(messageType string) bool {
	_, ok := c.message(messageType)
	return ok
}

func (c *PlatformConfiguration) message(messageType string) (SupportedMessage, bool) {
	if c == nil || c.LTI == nil {
		return SupportedMessage{}, false
	}
	for _, m := range c.LTI.MessagesSupported {
		if m.Type == messageType {
			return m, true
		}
	}
	return SupportedMessage{}, false
}

// TokenAudience returns the aud of client assertions at the token
// endpoint: authorization_server when the platform names one, else the
// token endpoint (LTI Dynamic Registration 1.0 §3.4.1).
func (c *PlatformConfiguration) TokenAudience() string {
	if c.AuthorizationServer != "" {
		return c.AuthorizationServer
	}
	return c.TokenEndpoint
}

// urlPolicy decides which URLs the tool accepts from a platform and
// fetches: https, or http on loopback hosts and hosts the host allowed.
type urlPolicy struct {
	insecureHosts map[string]bool // lower-case host names
}

// isLoopback reports whether host (no port) is localhost or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// check parses raw as an absolute URL the policy allows: https, or http on
// loopback and allowed hosts; a host; no user info, no fragment.
func (p urlPolicy) check(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("is missing")
	}
	if len(raw) > maxURLLength {
		return nil, fmt.Errorf("is longer than %d bytes", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("is not a URL")
	}
	if u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return nil, fmt.Errorf("is not an absolute URL")
	}
	if u.User != nil {
		return nil, fmt.Errorf("has user info")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("has a fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		h := strings.ToLower(u.Hostname())
		if !isLoopback(h) && !p.insecureHosts[h] {
			return nil, fmt.Errorf("must use https")
		}
	default:
		return nil, fmt.Errorf("must be an https URL")
	}
	return u, nil
}

// configError is an invalid_configuration error for field.
func configError(field, desc string) *Error {
	return ErrInvalidConfiguration.with("the platform's configuration "+desc, field, nil)
}

// ParseConfiguration parses and validates a platform's OpenID configuration
// fetched from configURL, the openid_configuration of the registration
// initiation request. Every refusal is an *[Error] with code
// invalid_configuration naming the member at fault. The rules:
//
//   - the document is a JSON object (OpenID Connect Discovery 1.0 §4.2);
//   - issuer is an https URL (http on loopback and on hosts allowed with
//     [WithInsecureHTTP]) without query or fragment, and configURL has the
//     issuer's scheme and host and starts with its path (LTI Dynamic
//     Registration 1.0 §3.5.1: a configuration served by one host cannot
//     speak for an issuer on another), except that an issuer named with
//     [WithIssuerException] (or [CanvasCloud]) may be served over https
//     from a host under the exception's host suffixes;
//   - authorization_endpoint, token_endpoint, jwks_uri and
//     registration_endpoint are such URLs too (§3.4.1);
//   - id_token_signing_alg_values_supported includes an algorithm the tool
//     accepts (RS256, see [WithAlgorithms]);
//   - scopes_supported includes openid and response_types_supported
//     includes id_token (OpenID Connect Discovery 1.0 §3; LTI launches are
//     id_token responses);
//   - token_endpoint_auth_methods_supported, when present, includes
//     private_key_jwt, and token_endpoint_auth_signing_alg_values_supported,
//     when present, includes RS256 (1EdTech Security Framework §4.1);
//   - authorization_server, when present, is a non-empty string;
//   - the lti-platform-configuration object is present with a non-empty
//     product_family_code, a version and a messages_supported array whose
//     entries have a type; variables is optional.
func ParseConfiguration(data []byte, configURL string, opts ...Option) (*PlatformConfiguration, error) {
	o := newOptions(opts)
	return o.parseConfiguration(data, configURL)
}

func (o *options) parseConfiguration(data []byte, configURL string) (*PlatformConfiguration, error) {
	cfgURL, err := o.policy.check(configURL)
	if err != nil {
		return nil, ErrInvalidRequest.with("the openid_configuration URL "+err.Error(), "openid_configuration", nil)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, configError("", "is not a JSON object")
	}
	var c PlatformConfiguration
	if err := json.Unmarshal(data, &c); err != nil {
		e := configError("", "is not valid JSON of the expected shape")
		e.cause = err
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// Go 1.27's encoding/json (on JSON v2) escapes "/" and "~"
			// in member names as in a JSON Pointer (RFC 6901 §3); Go 1.26
			// gives them as they are. Name the member the same way on both.
			e.field = strings.NewReplacer("~1", "/", "~0", "~").Replace(te.Field)
		}
		return nil, e
	}
	if err := o.validate(&c, cfgURL); err != nil {
		return nil, err
	}
	return &c, nil
}

func (o *options) validate(c *PlatformConfiguration, cfgURL *url.URL) error {
	iss, err := o.policy.check(c.Issuer)
	if err != nil {
		return configError("issuer", "issuer "+err.Error())
	}
	if iss.RawQuery != "" || iss.ForceQuery {
		return configError("issuer", "issuer has a query")
	}
	// LTI Dynamic Registration 1.0 §3.5.1: the issuer must match the
	// openid_configuration URL: same scheme and host, and the URL's path
	// starts with the issuer's path (on a segment boundary, so an issuer
	// https://lms.example/a does not cover https://lms.example/ab/...).
	// Only a WithIssuerException the host configured for this issuer
	// relaxes the host (https only; issuer.go).
	sameOrigin := iss.Scheme == cfgURL.Scheme && strings.EqualFold(iss.Host, cfgURL.Host)
	if !sameOrigin && !o.issuerExceptionFor(c.Issuer, iss, cfgURL) {
		return configError("issuer", "issuer does not match the scheme and host of the openid_configuration URL")
	}
	issPath := strings.TrimSuffix(iss.EscapedPath(), "/")
	cfgPath := cfgURL.EscapedPath()
	if issPath != "" && cfgPath != issPath && !strings.HasPrefix(cfgPath, issPath+"/") {
		return configError("issuer", "issuer's path is not a prefix of the openid_configuration URL's path")
	}
	for _, f := range []struct{ name, value string }{
		{"authorization_endpoint", c.AuthorizationEndpoint},
		{"token_endpoint", c.TokenEndpoint},
		{"jwks_uri", c.JWKSURI},
		{"registration_endpoint", c.RegistrationEndpoint},
	} {
		if _, err := o.policy.check(f.value); err != nil {
			return configError(f.name, f.name+" "+err.Error())
		}
	}
	if !slices.ContainsFunc(c.IDTokenSigningAlgValuesSupported, func(a string) bool { return o.algs[a] }) {
		return configError("id_token_signing_alg_values_supported", "offers no id_token signature algorithm the tool accepts")
	}
	if !slices.Contains(c.ScopesSupported, "openid") {
		return configError("scopes_supported", "scopes_supported does not include openid")
	}
	if !slices.Contains(c.ResponseTypesSupported, "id_token") {
		return configError("response_types_supported", "response_types_supported does not include id_token")
	}
	if c.TokenEndpointAuthMethodsSupported != nil && !slices.Contains(c.TokenEndpointAuthMethodsSupported, "private_key_jwt") {
		return configError("token_endpoint_auth_methods_supported", "token endpoint does not accept private_key_jwt")
	}
	if c.TokenEndpointAuthSigningAlgValuesSupported != nil && !slices.Contains(c.TokenEndpointAuthSigningAlgValuesSupported, "RS256") {
		return configError("token_endpoint_auth_signing_alg_values_supported", "token endpoint does not accept RS256 client assertions")
	}
	if len(c.AuthorizationServer) > maxURLLength {
		return configError("authorization_server", "authorization_server is too long")
	}
	l := c.LTI
	const p = PlatformConfigurationClaim
	switch {
	case l == nil:
		return configError(p, "has no lti-platform-configuration object")
	case l.ProductFamilyCode == "":
		return configError(p+".product_family_code", "has no product_family_code")
	case l.Version == "":
		return configError(p+".version", "has no version")
	case l.MessagesSupported == nil:
		return configError(p+".messages_supported", "has no messages_supported array")
	}
	for _, m := range l.MessagesSupported {
		if m.Type == "" {
			return configError(p+".messages_supported", "lists a message without a type")
		}
	}
	return nil
}
