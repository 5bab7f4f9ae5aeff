package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/ltikit/ltikit/lti"
)

// The tool's LTI endpoints and its configuration pages. Every URL the
// /config page, the config command and the Canvas configuration JSON show
// is one of these below --base-url, so what an administrator enters in an
// LMS is what the server serves.
const (
	// pathLogin is the OIDC login initiation URL (LTI 1.3 Core §4.1).
	pathLogin = "/lti/login"
	// pathLaunch is the redirect URI, and the target link URI of resource
	// link and deep linking launches alike: the launch handler tells them
	// apart by the message type.
	pathLaunch = "/lti/launch"
	// pathConfig is the page that shows what to enter in each LMS.
	pathConfig = "/config"
	// pathCanvasJSON is Canvas's LTI 1.3 developer key configuration, for
	// a developer key made with the method "Enter URL".
	pathCanvasJSON = "/lti/canvas.json"
)

// toolTitle is the tool's name in the LMS.
const toolTitle = "ltikit demo-tool"

// toolDescription describes the tool in the LMS.
const toolDescription = "An LTI 1.3 tool built on ltikit: shows what the LMS sends at launch, " +
	"sends grades (AGS), reads the roster (NRPS) and answers deep linking requests."

// toolURLs are the tool's URLs below one base URL.
type toolURLs struct {
	// Base is the base URL, without a trailing slash.
	Base string `json:"base_url"`
	// Host is the base URL's host (and port): the tool's domain.
	Host string `json:"domain"`
	// Login is the OIDC login initiation URL.
	Login string `json:"login_url"`
	// Redirect is the redirect URI.
	Redirect string `json:"redirect_uri"`
	// TargetLink is the target link URI of resource link launches.
	TargetLink string `json:"target_link_uri"`
	// DeepLinking is the target link URI of deep linking requests.
	DeepLinking string `json:"deep_linking_url"`
	// JWKS is the tool's public key set URL.
	JWKS string `json:"jwks_url"`
	// Register is the Dynamic Registration initiation URL.
	Register string `json:"dynamic_registration_url"`
	// CanvasJSON is Canvas's developer key configuration URL.
	CanvasJSON string `json:"canvas_config_url"`
}

// newToolURLs derives the tool's URLs from base, a checked base URL
// without a trailing slash.
func newToolURLs(base string) toolURLs {
	host := base
	if u, err := url.Parse(base); err == nil {
		host = u.Host
	}
	return toolURLs{
		Base:        base,
		Host:        host,
		Login:       base + pathLogin,
		Redirect:    base + pathLaunch,
		TargetLink:  base + pathLaunch,
		DeepLinking: base + pathLaunch,
		JWKS:        base + pathJWKS,
		Register:    base + pathRegister,
		CanvasJSON:  base + pathCanvasJSON,
	}
}

// lmsField is one value to enter in an LMS, under the label the LMS
// gives its field.
type lmsField struct {
	// Label is the LMS's label of the field.
	Label string `json:"label"`
	// Value is what to enter or choose.
	Value string `json:"value"`
}

// lmsSection is a group of fields of an LMS's form.
type lmsSection struct {
	// Title names the group (and where it is, when not on the main form).
	Title string `json:"title"`
	// Fields are the group's fields, in the form's order.
	Fields []lmsField `json:"fields"`
}

// lmsReturn is a value the LMS shows once the tool is registered, and the
// 'demo-tool platform add' flag that takes it.
type lmsReturn struct {
	// Label is the LMS's name for the value.
	Label string `json:"label"`
	// Flag is the platform add flag, e.g. "--issuer".
	Flag string `json:"flag"`
	// Value is the value when it is the same for every installation
	// (Canvas's issuer); empty: read it from the LMS.
	Value string `json:"value,omitempty"`
}

// lmsConfig is everything an administrator enters in one LMS to register
// the tool, and what to bring back to the tool.
type lmsConfig struct {
	// ID is the --lms value: moodle, canvas, …
	ID string `json:"lms"`
	// Name is the LMS's name.
	Name string `json:"name"`
	// Where says where the registration form is.
	Where string `json:"where"`
	// Sections are the form's fields, its placements, services, privacy
	// settings and custom parameters.
	Sections []lmsSection `json:"sections"`
	// ReturnsWhere says where the LMS shows the values to bring back.
	ReturnsWhere string `json:"from_lms_where"`
	// Returns are the values the tool needs from the LMS.
	Returns []lmsReturn `json:"from_lms"`
	// Command is the platform add command line that enters them.
	Command string `json:"platform_add"`
	// DynamicRegistration is the Dynamic Registration URL and how to use it.
	DynamicRegistration dynamicRegistration `json:"dynamic_registration"`
	// Notes are the LMS's quirks.
	Notes []string `json:"notes,omitempty"`
	// URLs are the tool's URLs, for programs reading the JSON.
	URLs toolURLs `json:"urls"`
}

// dynamicRegistration is the tool's LTI Dynamic Registration 1.0 initiation
// URL, for an LMS that can register a tool from it.
type dynamicRegistration struct {
	// URL is the initiation URL without a token.
	URL string `json:"url"`
	// Where says where the LMS takes it; empty when unknown.
	Where string `json:"where,omitempty"`
	// Note says what the URL needs to work.
	Note string `json:"note"`
}

// lmsIDs are the LMSs config knows, in the order they are listed.
var lmsIDs = []string{"moodle", "canvas", "blackboard", "brightspace", "sakai", "generic"}

// Well-known platform values of cloud-hosted LMSs.
const (
	canvasIssuer   = "https://canvas.instructure.com"
	canvasAuthURL  = "https://sso.canvaslms.com/api/lti/authorize_redirect"
	canvasTokenURL = "https://sso.canvaslms.com/login/oauth2/token"
	canvasJWKSURL  = "https://sso.canvaslms.com/api/lti/security/jwks"

	blackboardIssuer   = "https://blackboard.com"
	blackboardAuthURL  = "https://developer.blackboard.com/api/v1/gateway/oidcauth"
	blackboardTokenURL = "https://developer.blackboard.com/api/v1/gateway/oauth2/jwttoken"
	blackboardJWKSURL  = "https://developer.blackboard.com/api/v1/management/applications/<Application ID>/jwks.json"
)

// The scopes of the services the tool uses: AGS 2.0 §3.1 and NRPS 2.0 §3.6.1.1.
var toolScopes = []string{
	lti.ScopeAGSLineItem,
	lti.ScopeAGSLineItemReadOnly,
	lti.ScopeAGSResultReadOnly,
	lti.ScopeAGSScore,
	lti.ScopeNRPSMembership,
}

// dynRegNote says what the Dynamic Registration URL needs: the bare URL is
// refused unless the server runs with --open-registration.
const dynRegNote = "It needs a one-time link: 'demo-tool registration link --base-url <base-url>' prints one " +
	"(this URL followed by /<token>). Or start the server with --open-registration to accept this URL as it is."

// newLMSConfig returns what to enter in the LMS id for the tool at base
// (a checked base URL without a trailing slash), or false for an unknown
// id.
func newLMSConfig(id, base string) (*lmsConfig, bool) {
	u := newToolURLs(base)
	var c *lmsConfig
	switch id {
	case "moodle":
		c = moodleConfig(u)
	case "canvas":
		c = canvasConfig(u)
	case "blackboard":
		c = blackboardConfig(u)
	case "brightspace":
		c = brightspaceConfig(u)
	case "sakai":
		c = sakaiConfig(u)
	case "generic":
		c = genericConfig(u)
	default:
		return nil, false
	}
	c.ID, c.URLs = id, u
	c.Command = platformAddCommand(c.Returns)
	c.DynamicRegistration.URL = u.Register
	c.DynamicRegistration.Note = strings.Replace(dynRegNote, "<base-url>", base, 1)
	return c, true
}

// platformAddCommand is the platform add command line for the returned
// values: a known value as it is, any other as '<label>' to replace.
func platformAddCommand(returns []lmsReturn) string {
	var b strings.Builder
	b.WriteString("demo-tool platform add")
	for _, r := range returns {
		v := r.Value
		switch {
		case v == "":
			v = "'<" + r.Label + ">'"
		case strings.ContainsAny(v, "<>"):
			v = "'" + v + "'" // a placeholder inside: quoted for the shell
		}
		fmt.Fprintf(&b, " \\\n    %s %s", r.Flag, v)
	}
	return b.String()
}

// standardReturns are the six values every platform registration needs,
// under the LMS's labels.
func standardReturns(issuer, clientID, auth, token, jwks, deployment lmsReturn) []lmsReturn {
	issuer.Flag, clientID.Flag, auth.Flag = "--issuer", "--client-id", "--auth-url"
	token.Flag, jwks.Flag, deployment.Flag = "--token-url", "--jwks-url", "--deployment-id"
	return []lmsReturn{issuer, clientID, auth, token, jwks, deployment}
}

func moodleConfig(u toolURLs) *lmsConfig {
	return &lmsConfig{
		Name:  "Moodle",
		Where: "Site administration > Plugins > Activity modules > External tool > Manage tools > configure a tool manually",
		Sections: []lmsSection{
			{Title: "Tool settings", Fields: []lmsField{
				{"Tool name", toolTitle},
				{"Tool URL", u.TargetLink},
				{"LTI version", "LTI 1.3"},
				{"Public key type", "Keyset URL"},
				{"Public keyset", u.JWKS},
				{"Initiate login URL", u.Login},
				{"Redirection URI(s)", u.Redirect},
				{"Custom parameters", "(none needed; any you add are shown on the launch page)"},
				{"Tool configuration usage", "Show in activity chooser and as a preconfigured tool"},
				{"Supports Deep Linking (Content-Item Message)", "ticked"},
				{"Content Selection URL", u.DeepLinking},
			}},
			{Title: "Services", Fields: []lmsField{
				{"IMS LTI Assignment and Grade Services", "Use this service for grade sync and column management"},
				{"IMS LTI Names and Role Provisioning", "Use this service to retrieve members' information as per privacy settings"},
				{"Tool Settings", "Do not use this service"},
			}},
			{Title: "Privacy", Fields: []lmsField{
				{"Share launcher's name with tool", "Always"},
				{"Share launcher's email with tool", "Always"},
				{"Accept grades from the tool", "Always"},
			}},
		},
		ReturnsWhere: "Manage tools > the tool's card > View configuration details",
		Returns: standardReturns(
			lmsReturn{Label: "Platform ID"},
			lmsReturn{Label: "Client ID"},
			lmsReturn{Label: "Authentication request URL"},
			lmsReturn{Label: "Access token URL"},
			lmsReturn{Label: "Public keyset URL"},
			lmsReturn{Label: "Deployment ID"},
		),
		DynamicRegistration: dynamicRegistration{Where: "Manage tools: paste it in the Tool URL box, then Add LTI Advantage"},
		Notes: []string{
			"Public key type must be Keyset URL: with RSA key Moodle keeps one pasted key, and 'demo-tool keys rotate' breaks grades, rosters and deep linking until it is pasted again.",
			"The Platform ID is the site's URL (wwwroot) and the Deployment ID is the tool's id in Moodle, the same in every course.",
			"Moodle starts the login with a form POST; the login URL answers GET and POST.",
		},
	}
}

func canvasConfig(u toolURLs) *lmsConfig {
	return &lmsConfig{
		Name:  "Canvas",
		Where: "Admin > (root account) > Developer Keys > + Developer Key > + LTI Key",
		Sections: []lmsSection{
			{Title: "Key settings (Method: Manual Entry)", Fields: []lmsField{
				{"Key Name", toolTitle},
				{"Redirect URIs", u.Redirect},
				{"Title", toolTitle},
				{"Description", "shows what the LMS sends; grades, roster, deep linking"},
				{"Target Link URI", u.TargetLink},
				{"OpenID Connect Initiation Url", u.Login},
				{"JWK Method: Public JWK URL", u.JWKS},
				{"Domain", u.Host},
			}},
			{Title: "Or Method: Enter URL", Fields: []lmsField{
				{"JSON URL", u.CanvasJSON},
				{"Redirect URIs", u.Redirect},
			}},
			{Title: "Placements", Fields: []lmsField{
				{"Course Navigation", "LtiResourceLinkRequest, " + u.TargetLink},
				{"Link Selection", "LtiDeepLinkingRequest, " + u.DeepLinking},
				{"Assignment Selection", "LtiDeepLinkingRequest, " + u.DeepLinking},
			}},
			{Title: "LTI Advantage Services (enable)", Fields: []lmsField{
				{"Line items (AGS)", toolScopes[0]},
				{"Line items, read only (AGS)", toolScopes[1]},
				{"Results (AGS)", toolScopes[2]},
				{"Scores (AGS)", toolScopes[3]},
				{"Course memberships (NRPS)", toolScopes[4]},
			}},
			{Title: "Privacy and custom fields", Fields: []lmsField{
				{"Privacy Level", "Public"},
				{"Custom Fields", "canvas_course_id=$Canvas.course.id (optional)"},
			}},
		},
		ReturnsWhere: "Developer Keys (the key's Details column: Client ID; turn the key ON), then " +
			"Settings > Apps > + App > Configuration Type: By Client ID, and the app's gear > Deployment Id",
		Returns: standardReturns(
			lmsReturn{Label: "Issuer", Value: canvasIssuer},
			lmsReturn{Label: "Client ID"},
			lmsReturn{Label: "Authorization endpoint", Value: canvasAuthURL},
			lmsReturn{Label: "Token endpoint", Value: canvasTokenURL},
			lmsReturn{Label: "Public JWKs", Value: canvasJWKSURL},
			lmsReturn{Label: "Deployment Id"},
		),
		Notes: []string{
			"Every Instructure-hosted Canvas signs as " + canvasIssuer + ", and its login and key set are at sso.canvaslms.com: beta and test use canvas.beta/canvas.test.instructure.com with sso.beta/sso.test.canvaslms.com. A self-hosted Canvas uses its own URL (config/security.yml).",
			"Each install of the developer key (an account, sub-account or course) has its own Deployment Id: add each with 'demo-tool deployment add'.",
			"Canvas sends the placement of a launch in the claim https://www.instructure.com/placement.",
		},
	}
}

func blackboardConfig(u toolURLs) *lmsConfig {
	return &lmsConfig{
		Name:  "Blackboard Learn",
		Where: "the Anthology (Blackboard) Developer Portal > My Applications > Register a REST or LTI application, with My integration supports LTI 1.3",
		Sections: []lmsSection{
			{Title: "Application (Developer Portal)", Fields: []lmsField{
				{"Application Name", toolTitle},
				{"Description", "shows what the LMS sends; grades, roster, deep linking"},
				{"Domain(s)", u.Host},
				{"Login Initiation URL", u.Login},
				{"Tool Redirect URL(s)", u.Redirect},
				{"Tool JWKS URL", u.JWKS},
				{"Signing Algorithm", "RS256"},
				{"Custom Parameters", "(none needed)"},
			}},
			{Title: "Deployment (Learn: System Admin > LTI Tool Providers)", Fields: []lmsField{
				{"Register LTI 1.3/Advantage Tool: Client ID", "the Application ID"},
				{"Tool Status", "Approved"},
				{"User fields to send", "Role in Course, Name, Email Address"},
				{"Allow grade service access", "Yes"},
				{"Allow Membership Service Access", "Yes"},
			}},
			{Title: "Placements (the tool's menu > Manage Placements > Create Placement)", Fields: []lmsField{
				{"Course content tool", "Target Link URI " + u.TargetLink},
				{"Deep Linking content tool", "Target Link URI " + u.DeepLinking},
			}},
		},
		ReturnsWhere: "the Developer Portal after registering the application, and Learn's LTI Tool Providers for the Deployment ID",
		Returns: standardReturns(
			lmsReturn{Label: "Issuer", Value: blackboardIssuer},
			lmsReturn{Label: "Application ID"},
			lmsReturn{Label: "OIDC auth request endpoint", Value: blackboardAuthURL},
			lmsReturn{Label: "Auth token endpoint", Value: blackboardTokenURL},
			lmsReturn{Label: "Public keyset URL", Value: blackboardJWKSURL},
			lmsReturn{Label: "Deployment ID"},
		),
		Notes: []string{
			"The tool is registered once in the Developer Portal; each Learn institution deploys it with the same Application ID and gets its own Deployment ID: add each with 'demo-tool deployment add'.",
			"The Public keyset URL contains the Application ID.",
		},
	}
}

func brightspaceConfig(u toolURLs) *lmsConfig {
	return &lmsConfig{
		Name:  "D2L Brightspace",
		Where: "Admin Tools > Manage Extensibility > LTI Advantage > Register Tool > Standard",
		Sections: []lmsSection{
			{Title: "Registration", Fields: []lmsField{
				{"Name", toolTitle},
				{"Domain", u.Base},
				{"Redirect URLs", u.Redirect},
				{"OpenID Connect Login URL", u.Login},
				{"Target Link URI", u.TargetLink},
				{"Keyset URL", u.JWKS},
				{"Extensions", "Assignment and Grade Services, Deep Linking, Names and Role Provisioning Services"},
				{"Roles", "Send Institution Role (optional)"},
			}},
			{Title: "Deployment (View Deployments > New Deployment)", Fields: []lmsField{
				{"Extensions", "Assignment and Grade Services, Deep Linking, Names and Role Provisioning Services"},
				{"Security Settings", "Org Unit Information, User Information (name, email), Link Information"},
				{"Add Org Units", "the org units (courses) that may use the tool"},
			}},
			{Title: "Links (the deployment > View Links > New Link)", Fields: []lmsField{
				{"Basic Launch", u.TargetLink},
				{"Deep Linking Quicklink", u.DeepLinking},
			}},
		},
		ReturnsWhere: "the registration's page after Register, and the deployment's page for the Deployment Id",
		Returns: append(standardReturns(
			lmsReturn{Label: "Issuer"},
			lmsReturn{Label: "Client Id"},
			lmsReturn{Label: "OpenID Connect Authentication Endpoint"},
			lmsReturn{Label: "Brightspace OAuth2 Access Token URL"},
			lmsReturn{Label: "Brightspace Keyset URL"},
			lmsReturn{Label: "Deployment Id"},
		), lmsReturn{Label: "Brightspace OAuth2 Audience", Flag: "--token-audience"}),
		DynamicRegistration: dynamicRegistration{Where: "Register Tool > Dynamic"},
		Notes: []string{
			"The Issuer is the Brightspace site's URL.",
			"Access token requests are addressed to the Brightspace OAuth2 Audience, not to the token URL: give it with --token-audience.",
			"A domain may be used by one enabled registration at a time.",
		},
	}
}

func sakaiConfig(u toolURLs) *lmsConfig {
	return &lmsConfig{
		Name:  "Sakai",
		Where: "Administration Workspace > External Tools > install a new tool",
		Sections: []lmsSection{
			{Title: "Tool", Fields: []lmsField{
				{"Tool Title", toolTitle},
				{"Launch URL (1.1) / Target Link URI (1.3)", u.TargetLink},
				{"LTI Version", "Tool supports LTI 1.3"},
				{"LTI 1.3 Tool OpenID Connect/Initialization Endpoint", u.Login},
				{"LTI 1.3 Tool Redirect Endpoint(s)", u.Redirect},
				{"LTI 1.3 Tool Keyset / JWK URL", u.JWKS},
				{"Custom Parameters", "(none needed)"},
			}},
			{Title: "Launch types and placements", Fields: []lmsField{
				{"The tool URL supports a single LTI tool (Resource Link launch)", "ticked"},
				{`The tool URL supports a "resource picker" experience (Deep Link launch)`, "ticked"},
				{"Allow the tool to be selected from Lessons", "ticked"},
				{"Allow the tool to be one of the assignment types", "ticked"},
			}},
			{Title: "Services", Fields: []lmsField{
				{"Allow External Tool to return grades", "ticked"},
				{"Allow External Tool to create grade columns", "ticked"},
				{"Provide Roster to External Tool", "ticked"},
			}},
			{Title: "Privacy Settings", Fields: []lmsField{
				{"Send User Names to External Tool", "ticked"},
				{"Send Email Addresses to External Tool", "ticked"},
			}},
		},
		ReturnsWhere: "External Tools > the tool (values marked 'provide to the tool')",
		Returns: standardReturns(
			lmsReturn{Label: "LTI 1.3 Platform Issuer"},
			lmsReturn{Label: "LTI 1.3 Client ID"},
			lmsReturn{Label: "LTI 1.3 LMS OIDC Endpoint URL"},
			lmsReturn{Label: "LTI 1.3 LMS OAuth Token URL"},
			lmsReturn{Label: "LTI 1.3 LMS Keyset URL"},
			lmsReturn{Label: "LTI 1.3 Deployment Id"},
		),
		Notes: []string{
			"The Issuer is the Sakai server's URL.",
			"Sakai sends its own extension claim https://www.sakailms.org/spec/lti/claim/extension (sakai_role, sakai_server, ...).",
		},
	}
}

func genericConfig(u toolURLs) *lmsConfig {
	return &lmsConfig{
		Name:  "any LTI 1.3 platform",
		Where: "the LMS's LTI 1.3 (LTI Advantage) tool registration form",
		Sections: []lmsSection{
			{Title: "Tool registration", Fields: []lmsField{
				{"OpenID Connect login initiation URL", u.Login},
				{"Redirect URI(s)", u.Redirect},
				{"Target link URI (launch URL)", u.TargetLink},
				{"Deep linking (content selection) URL", u.DeepLinking},
				{"Public key set (JWKS) URL", u.JWKS},
				{"Signing algorithm", "RS256"},
				{"Domain", u.Host},
			}},
			{Title: "Message types", Fields: []lmsField{
				{"LtiResourceLinkRequest", u.TargetLink},
				{"LtiDeepLinkingRequest", u.DeepLinking},
			}},
			{Title: "Services", Fields: []lmsField{
				{"Assignment and Grade Services", "line items, scores, results"},
				{"Names and Role Provisioning Services", "course memberships"},
				{"Deep Linking", "enabled"},
			}},
			{Title: "Privacy and custom parameters", Fields: []lmsField{
				{"Name, email", "share (shown on the launch page; the tool works without them)"},
				{"Roles", "share (LTI requires them)"},
				{"Custom parameters", "(none needed; any you add are shown on the launch page)"},
			}},
		},
		ReturnsWhere: "the LMS, once the tool is registered and deployed",
		Returns: standardReturns(
			lmsReturn{Label: "Issuer (platform ID)"},
			lmsReturn{Label: "Client ID"},
			lmsReturn{Label: "OIDC authorization endpoint"},
			lmsReturn{Label: "OAuth 2 access token URL"},
			lmsReturn{Label: "Platform key set (JWKS) URL"},
			lmsReturn{Label: "Deployment ID"},
		),
	}
}
