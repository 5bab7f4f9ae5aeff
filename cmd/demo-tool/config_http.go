package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/lti"
)

// mountConfig serves the /config page and Canvas's configuration JSON.
func (a *app) mountConfig(e *echo.Echo) {
	e.GET(pathConfig, a.configPage)
	e.GET(pathCanvasJSON, a.canvasJSON)
}

// configLink is one LMS in the page's list.
type configLink struct {
	// ID is the ?lms= value and Name the LMS's name.
	ID, Name string
	// Current marks the LMS the page shows.
	Current bool
}

// configPage shows what to enter in the LMS named by ?lms= (default:
// generic). An unknown name is a 400.
func (a *app) configPage(c echo.Context) error {
	id := strings.ToLower(c.QueryParam("lms"))
	if id == "" {
		id = "generic"
	}
	cfg, ok := newLMSConfig(id, a.cfg.BaseURL)
	if !ok {
		writeErrorPageFull(c.Response(), c.Request(), "Request failed", http.StatusBadRequest,
			"invalid_request", "unknown LMS: want one of "+strings.Join(lmsIDs, ", "), "")
		return nil
	}
	links := make([]configLink, 0, len(lmsIDs))
	for _, l := range lmsIDs {
		other, _ := newLMSConfig(l, a.cfg.BaseURL)
		links = append(links, configLink{ID: l, Name: other.Name, Current: l == id})
	}
	var buf bytes.Buffer
	if err := pages()["config"].ExecuteTemplate(&buf, "layout", map[string]any{
		"C": cfg, "Links": links, "Text": configText(cfg), "ConfigPath": pathConfig,
	}); err != nil {
		return err
	}
	setPageHeaders(c.Response().Header())
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// canvasToolConfig is Canvas's LTI 1.3 developer key configuration JSON
// (Canvas's "Configuring LTI Advantage Tools": the JSON a developer key
// made with the method "Enter URL" or "Paste JSON" reads).
type canvasToolConfig struct {
	// Title is the tool's name in Canvas (required).
	Title string `json:"title"`
	// Description describes the tool (required).
	Description string `json:"description"`
	// OIDCInitiationURL is the login initiation URL (required).
	OIDCInitiationURL string `json:"oidc_initiation_url"`
	// TargetLinkURI is the default target link URI (required).
	TargetLinkURI string `json:"target_link_uri"`
	// PublicJWKURL is the tool's key set URL (required without public_jwk).
	PublicJWKURL string `json:"public_jwk_url"`
	// Scopes are the LTI Advantage service scopes the key grants.
	Scopes []string `json:"scopes"`
	// Extensions hold the Canvas extension: placements and privacy.
	Extensions []canvasExtension `json:"extensions"`
	// CustomFields are sent in every launch's custom claim.
	CustomFields map[string]string `json:"custom_fields"`
}

// canvasExtension is the Canvas extension of the configuration.
type canvasExtension struct {
	// Domain is the tool's host, which Canvas matches links against.
	Domain string `json:"domain"`
	// ToolID identifies the tool.
	ToolID string `json:"tool_id"`
	// Platform is always canvas.instructure.com.
	Platform string `json:"platform"`
	// PrivacyLevel is what Canvas sends about the user: public sends
	// name and email.
	PrivacyLevel string `json:"privacy_level"`
	// Settings hold the placements.
	Settings canvasSettings `json:"settings"`
}

// canvasSettings are the extension's settings: the placements.
type canvasSettings struct {
	// Text is the tool's default link text.
	Text string `json:"text"`
	// Placements are where the tool appears (required).
	Placements []canvasPlacement `json:"placements"`
}

// canvasPlacement is where in Canvas the tool appears, and which message
// a launch from there sends.
type canvasPlacement struct {
	// Placement is Canvas's name of the place (required).
	Placement string `json:"placement"`
	// MessageType is LtiResourceLinkRequest or LtiDeepLinkingRequest.
	MessageType string `json:"message_type"`
	// TargetLinkURI is where the launch goes.
	TargetLinkURI string `json:"target_link_uri"`
	// Text is the link's text.
	Text string `json:"text"`
}

// newCanvasToolConfig is the configuration of the tool at base.
func newCanvasToolConfig(base string) canvasToolConfig {
	u := newToolURLs(base)
	return canvasToolConfig{
		Title:             toolTitle,
		Description:       toolDescription,
		OIDCInitiationURL: u.Login,
		TargetLinkURI:     u.TargetLink,
		PublicJWKURL:      u.JWKS,
		Scopes:            toolScopes,
		Extensions: []canvasExtension{{
			Domain:       u.Host,
			ToolID:       "ltikit-demo-tool",
			Platform:     "canvas.instructure.com",
			PrivacyLevel: "public",
			Settings: canvasSettings{
				Text: toolTitle,
				Placements: []canvasPlacement{
					{Placement: "course_navigation", MessageType: lti.MessageResourceLink, TargetLinkURI: u.TargetLink, Text: toolTitle},
					{Placement: "link_selection", MessageType: lti.MessageDeepLinking, TargetLinkURI: u.DeepLinking, Text: toolTitle + ": add a link"},
					{Placement: "assignment_selection", MessageType: lti.MessageDeepLinking, TargetLinkURI: u.DeepLinking, Text: toolTitle + ": add an assignment"},
				},
			},
		}},
		CustomFields: map[string]string{
			"canvas_course_id": "$Canvas.course.id",
			"canvas_user_id":   "$Canvas.user.id",
		},
	}
}

// canvasJSON serves the Canvas configuration JSON.
func (a *app) canvasJSON(c echo.Context) error {
	body, err := json.MarshalIndent(newCanvasToolConfig(a.cfg.BaseURL), "", "  ")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.JSONBlob(http.StatusOK, append(body, '\n'))
}
