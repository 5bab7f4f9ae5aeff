package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/internal/jsonv2"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/session"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages returns the HTML pages, each parsed with the shared layout.
// html/template escapes every value by context, so nothing a platform sends
// is echoed unescaped. The launch page is not among them: launchpage.go
// writes it, escaping as html/template does. The pages are parsed on first
// use, not at start: a command line that shows no page (every command but
// serve) skips the parse, about a quarter of the CPU of demo-tool help.
// TestTemplatesParse parses them all.
var pages = sync.OnceValue(func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, name := range []string{"sandbox", "error", "index", "picker", "grade", "roster", "deeplinks", "scores", "config"} {
		m[name] = template.Must(template.New("layout.html").
			ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html"))
	}
	return m
})

// breakable escapes s and lets the browser break the line after each
// underscore (<wbr>): a claim member name such as
// accept_presentation_document_targets then wraps between its words in a
// narrow column, never inside one.
func breakable(s string) template.HTML {
	parts := strings.Split(s, "_")
	for i, p := range parts {
		parts[i] = template.HTMLEscapeString(p)
	}
	return template.HTML(strings.Join(parts, "_<wbr>"))
}

// timeLayout is how pages show a time: day, month and year, and the time
// of day in UTC, the same for every reader ("4 Dec 2026, 10:41 UTC"); the
// exact value goes in the datetime attribute of a <time> element.
const timeLayout = "2 Jan 2006, 15:04 MST"

// stamp is a time as pages show it: Text for people, ISO (RFC 3339, UTC)
// for the <time datetime> attribute. ISO is empty when the value was not
// an RFC 3339 time, and Text is then the value as it came.
type stamp struct{ ISO, Text string }

// newStamp reads an RFC 3339 timestamp (as AGS scores carry them).
func newStamp(raw string) stamp {
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return stamp{Text: raw}
	}
	return stampOf(t)
}

// stampOf is t as pages show it.
func stampOf(t time.Time) stamp {
	t = t.UTC()
	return stamp{ISO: t.Format(time.RFC3339), Text: t.Format(timeLayout)}
}

// pageCSP is the Content-Security-Policy of demo-tool's own pages: no
// script, no requests, inline style only. (The sandbox platform's
// auto-submitting pages are ltitest's and set none.)
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

// formCSP is pageCSP for pages with a form: it may post to the tool only.
const formCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'"

// renderPage renders the page name with data.
func (a *app) renderPage(c echo.Context, status int, name string, data any) error {
	return a.renderPageCSP(c, status, name, pageCSP, data)
}

// pageBuffers hold rendered pages between requests: a sandbox launch page is
// 8.5 KB, and growing a fresh buffer to that size for every launch was
// about 31 KiB of garbage per launch.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledPage is the largest buffer put back in pageBuffers; a rare huge
// page (a long roster) is left to the garbage collector.
const maxPooledPage = 64 << 10

// renderPageCSP renders the page name with data and the policy csp.
func (a *app) renderPageCSP(c echo.Context, status int, name, csp string, data any) error {
	return writePage(c, status, csp, func(buf *bytes.Buffer) error {
		return pages()[name].ExecuteTemplate(buf, "layout", data)
	})
}

// writePage answers the page that write writes into a pooled buffer, with
// the policy csp.
func writePage(c echo.Context, status int, csp string, write func(*bytes.Buffer) error) error {
	buf := getBuffer()
	defer putBuffer(buf)
	if err := write(buf); err != nil {
		return err
	}
	h := c.Response().Header()
	setPageHeadersCSP(h, csp)
	// With its length known the page goes out as it is, not in chunks, in
	// one write fewer.
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	// HTMLBlob writes the bytes before it returns; the buffer is reused after.
	return c.HTMLBlob(status, buf.Bytes())
}

// getBuffer takes an empty buffer from pageBuffers.
func getBuffer() *bytes.Buffer { return pageBuffers.Get().(*bytes.Buffer) }

// putBuffer returns buf to pageBuffers, unless it grew too large.
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledPage {
		buf.Reset()
		pageBuffers.Put(buf)
	}
}

func setPageHeaders(h http.Header) { setPageHeadersCSP(h, pageCSP) }

func setPageHeadersCSP(h http.Header, csp string) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// prefersJSON reports whether the Accept header names JSON (as
// launch.WriteError decides).
func prefersJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	if !strings.Contains(strings.ToLower(accept), "json") {
		// No media type in it can be JSON (a browser's Accept): skip
		// parsing each one.
		return false
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return true
		}
	}
	return false
}

// launchJSON is the JSON answer to a successful launch. context,
// resource_link, custom, roles and deep_linking_settings are the claims as
// the platform sent them (keys and JSON types kept); claims is every claim.
type launchJSON struct {
	MessageType   string          `json:"message_type"`
	Version       string          `json:"version"`
	DeploymentID  string          `json:"deployment_id"`
	TargetLinkURI string          `json:"target_link_uri"`
	Sub           string          `json:"sub,omitempty"`
	Anonymous     bool            `json:"anonymous"`
	Name          string          `json:"name,omitempty"`
	Email         string          `json:"email,omitempty"`
	Roles         json.RawMessage `json:"roles"`
	Context       json.RawMessage `json:"context,omitempty"`
	ResourceLink  json.RawMessage `json:"resource_link,omitempty"`
	Custom        json.RawMessage `json:"custom,omitempty"`
	DeepLinking   json.RawMessage `json:"deep_linking_settings,omitempty"`
	Registration  registrationRef `json:"registration"`
	Claims        json.RawMessage `json:"claims"`
}

type registrationRef struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
}

func newLaunchJSON(l *launch.Launch) (*launchJSON, error) {
	c := l.Claims
	v := &launchJSON{
		MessageType:   c.MessageType,
		Version:       c.Version,
		DeploymentID:  c.DeploymentID,
		TargetLinkURI: c.TargetLinkURI,
		Sub:           l.Subject(),
		Anonymous:     l.Anonymous(),
		Name:          c.Name,
		Email:         c.Email,
		Registration:  registrationRef{Issuer: l.Registration.Issuer, ClientID: l.Registration.ClientID},
		Claims:        l.RawClaims(),
	}
	// The claims as sent, found in one pass (as l.RawClaim finds each).
	var cs launchClaims
	if err := jsonv2.Unmarshal(v.Claims, &cs); err != nil {
		return nil, lti.ErrInvalidToken.WithCause(err)
	}
	v.Roles, v.Context, v.ResourceLink, v.Custom, v.DeepLinking = cs.roles, cs.context, cs.resourceLink, cs.custom, cs.deepLinking
	if v.Roles == nil {
		v.Roles = json.RawMessage("[]")
	}
	return v, nil
}

// showLaunch is the application behind the redirect URI: it shows the
// validated launch. It runs behind sessions.Start, which stored the
// launch's session: the page's links and forms carry it.
func (a *app) showLaunch(c echo.Context) error {
	l, s, err := current(c)
	if err != nil {
		// LaunchMiddleware and Start only call this after a valid launch.
		return err
	}
	r := c.Request()
	logAttrs(r.Context(), a.log, slog.LevelInfo, "launch accepted",
		slog.String("iss", l.Registration.Issuer),
		slog.String("client_id", l.Registration.ClientID),
		slog.String("deployment_id", l.DeploymentID()),
		slog.String("message_type", l.MessageType()),
		slog.Bool("anonymous", l.Anonymous()),
		slog.String("state_binding", string(l.StateBinding())))
	return a.renderLaunch(c, l, s)
}

// launchPage shows the launch page again, for the launch the session
// restores: the grade, roster and error pages link back to it with the
// session (Session.URL), since the launch itself was a one-time form post.
// It runs behind sessions.Require.
func (a *app) launchPage(c echo.Context) error {
	l, s, err := current(c)
	if err != nil {
		return err
	}
	return a.renderLaunch(c, l, s)
}

// renderLaunch answers the launch page (or its JSON) of l, whose links and
// forms carry the session s.
func (a *app) renderLaunch(c echo.Context, l *launch.Launch, s *session.Session) error {
	r := c.Request()
	v, err := newLaunchJSON(l)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	if prefersJSON(r) {
		body, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return c.JSONBlob(http.StatusOK, body)
	}
	pretty := getBuffer() // the claims, indented, until the page is written
	defer putBuffer(pretty)
	page, err := newLaunchPage(l, v, pretty)
	if err != nil {
		return err
	}
	page.Services = a.launchServices(l, s)
	csp := pageCSP
	if l.IsDeepLinking() {
		page.Picker, page.PickerError = a.newDeepLinking(r.Context(), l, s)
		csp = formCSP
	}
	return writePage(c, http.StatusOK, csp, func(buf *bytes.Buffer) error { return writeLaunchPage(buf, page) })
}

// launchServices are the links to the LTI Advantage pages, each with the
// launch session's token (Session.URL), or why each is not available for
// this launch. The launch page shows them, and the grade and roster pages
// link to each other with them.
type launchServices struct {
	LaunchURL             string // the launch page again (pathLaunchPage)
	GradeURL, GradeNote   string // GradeURL empty: not available
	RosterURL, RosterNote string
	JWKSURL               string
}

func (a *app) launchServices(l *launch.Launch, s *session.Session) launchServices {
	ls := launchServices{JWKSURL: a.toolURL(pathJWKS), LaunchURL: s.URL(a.toolURL(pathLaunchPage))}
	if note := gradeProblem(l); note != "" {
		ls.GradeNote = note
	} else {
		ls.GradeURL = s.URL(a.toolURL(pathGrade))
		ls.GradeNote = "post a score to this link's gradebook column (Assignment and Grade Services)"
		if !staff(l) {
			ls.GradeNote = "post your own score to this link's gradebook column (Assignment and Grade Services)"
		}
	}
	if note := rosterProblem(l); note != "" {
		ls.RosterNote = note
	} else {
		ls.RosterURL = s.URL(a.toolURL(pathRoster))
		ls.RosterNote = "the course members and their roles (Names and Role Provisioning Services)"
	}
	return ls
}

// field is one key and value of a claim object as shown on a page. JSON is
// set when the value is not a string: it is shown as JSON text.
type field struct {
	Key, Value string
	JSON       bool
}

// fields lists a JSON object's members in key order; a value that is not
// an object is one field with an empty key.
func fields(raw json.RawMessage) []field {
	if len(raw) == 0 {
		return nil
	}
	if fs, ok := fastFields(raw); ok {
		return fs
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return []field{{Value: compactJSON(raw), JSON: true}}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]field, 0, len(keys))
	for _, k := range keys {
		var s string
		if err := json.Unmarshal(obj[k], &s); err == nil {
			out = append(out, field{Key: k, Value: s})
			continue
		}
		out = append(out, field{Key: k, Value: compactJSON(obj[k]), JSON: true})
	}
	return out
}

func compactJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}

// role is one role URI with its short name.
type role struct{ URI, Name string }

func shortRole(uri string) string {
	if i := strings.LastIndexAny(uri, "#/"); i >= 0 && i < len(uri)-1 {
		return uri[i+1:]
	}
	return uri
}

// launchPage is the data of the launch page.
type launchPage struct {
	L            *launchJSON
	GivenName    string
	FamilyName   string
	Locale       string
	Roles        []role
	Kinds        []string // Instructor, Learner, … as the role helpers read them
	Context      []field
	ContextTitle string
	ResourceLink []field
	Custom       []field
	DeepLinking  []field
	ClaimsJSON   []byte // every claim, indented
	ClaimCount   int
	Services     launchServices
	Picker       *picker // deep linking launches
	PickerError  string  // why a deep linking request cannot be answered
	// Binding says how the browser proved the launch was its own: the
	// state cookie, or the platform's storage when it sent no cookie.
	Binding string
}

// bindingText describes a launch's state binding for the launch page.
func bindingText(b launch.Binding) string {
	switch b {
	case launch.BindingCookie:
		return "the state cookie"
	case launch.BindingPlatformStorage:
		return "platform storage (the browser sent no cookie)"
	}
	return string(b)
}

// newLaunchPage is the data of the launch page of l; the claims are
// indented into pretty, which must outlive the page.
func newLaunchPage(l *launch.Launch, v *launchJSON, pretty *bytes.Buffer) (*launchPage, error) {
	c := l.Claims
	p := &launchPage{
		L:            v,
		GivenName:    c.GivenName,
		FamilyName:   c.FamilyName,
		Locale:       c.Locale,
		Context:      fields(v.Context),
		ResourceLink: fields(v.ResourceLink),
		Custom:       fields(v.Custom),
		DeepLinking:  fields(v.DeepLinking),
		Binding:      bindingText(l.StateBinding()),
	}
	if c.Context != nil {
		p.ContextTitle = c.Context.Title
	}
	roles := l.Roles()
	for _, r := range roles {
		p.Roles = append(p.Roles, role{URI: r, Name: shortRole(r)})
	}
	for _, k := range []struct {
		name string
		is   func() bool
	}{
		{"Administrator", roles.IsAdmin},
		{"Instructor", roles.IsInstructor},
		{"Teaching assistant", roles.IsTeachingAssistant},
		{"Learner", roles.IsLearner},
		{"Mentor", roles.IsMentor},
		{"Content developer", roles.IsContentDeveloper},
	} {
		if k.is() {
			p.Kinds = append(p.Kinds, k.name)
		}
	}
	pretty.Grow(len(v.Claims) + len(v.Claims)/2)
	if err := json.Indent(pretty, v.Claims, "", "  "); err != nil {
		return nil, err
	}
	p.ClaimsJSON = pretty.Bytes()
	p.ClaimCount = countMembers(p.ClaimsJSON)
	return p, nil
}

// countMembers counts the members of the top-level object in JSON text
// that json.Indent wrote with a two-space indent: each starts a line with
// exactly two spaces and a quote. Deeper members are indented further, and
// a JSON string cannot hold a raw newline, so nothing else matches. Every
// member is counted, as the platform signed them, a repeated name too.
func countMembers(indented []byte) int {
	return bytes.Count(indented, []byte("\n  \""))
}

// errorHints say what to do about a refused launch; keyed by code.
var errorHints = map[lti.Code]string{
	lti.CodeInvalidState: "A launch must finish in the browser that started it, within a few minutes, and works only once: " +
		"reloading the launch page, a browser that blocks the tool's cookie, or a replayed post end here. Start the launch again from the platform.",
	lti.CodeUnknownRegistration: "The platform (issuer and client_id) is not registered with this tool: add it with 'demo-tool platform add'.",
	lti.CodeUnknownDeployment:   "The deployment is not registered with this tool: add it with 'demo-tool deployment add'.",
	lti.CodeInvalidSignature:    "The id_token's signature does not verify with the platform's published keys (its JWKS URL).",
	lti.CodeTokenExpired:        "The id_token is too old or not yet valid: check the clocks of the platform and of the tool.",
	lti.CodeKeysetUnavailable:   "The tool could not fetch the platform's key set; try again shortly.",
	lti.CodeStorageUnavailable:  "The tool's database is unavailable; try again shortly.",
}

// renderLTIError renders a refused login or launch: the library's JSON
// when asked for JSON, otherwise an HTML page headed by the stage that
// refused (refusalHeading). Only the code and the safe description are
// shown, escaped.
func (a *app) renderLTIError(w http.ResponseWriter, r *http.Request, e *lti.Error) {
	if prefersJSON(r) {
		launch.WriteError(w, r, e)
		return
	}
	writeErrorPageFull(w, r, refusalHeading(r), e.Status(), string(e.Code()), e.Description(), errorHints[e.Code()])
}

// refusalHeading names what was refused, by the route the request came
// to: the OIDC login initiation (LTI 1.3 Core §4.1, pathLogin) is "Login
// refused", the id_token post to the redirect URI (pathLaunch) "Launch
// refused", any other request "Request refused". The launch handlers
// share one error handler, so the route is what tells the stage.
func refusalHeading(r *http.Request) string {
	switch r.URL.Path {
	case pathLogin:
		return "Login refused"
	case pathLaunch:
		return "Launch refused"
	}
	return "Request refused"
}

// errorView is the data of the error page.
type errorView struct {
	Heading     string // the page's title and heading (a 404 is always "Not found")
	Status      int
	StatusText  string
	Code        string
	Description string
	Hint        string
	RequestID   string
	// LaunchURL links back to the launch page with the launch session,
	// on the error pages of the pages after a launch; empty elsewhere.
	LaunchURL string
}

// writeErrorPageFull answers any error in the launch errors' shape, the
// HTML page under heading (a 404 is always "Not found").
func writeErrorPageFull(w http.ResponseWriter, r *http.Request, heading string, status int, code, desc, hint string) {
	writeErrorPage(w, r, errorView{Heading: heading, Status: status, Code: code, Description: desc, Hint: hint})
}

// writeSessionErrorPage is writeErrorPageFull for the pages after a
// launch (behind sessions.Require): the page links back to the launch
// page, carrying the session as the other pages' links do.
func (a *app) writeSessionErrorPage(w http.ResponseWriter, r *http.Request, heading string, status int, code, desc, hint string) {
	v := errorView{Heading: heading, Status: status, Code: code, Description: desc, Hint: hint}
	if s, ok := session.FromContext(r.Context()); ok {
		v.LaunchURL = s.URL(a.toolURL(pathLaunchPage))
	}
	writeErrorPage(w, r, v)
}

// writeErrorPage answers v: {"error": code, "error_description": desc}
// for JSON clients, otherwise the error page.
func writeErrorPage(w http.ResponseWriter, r *http.Request, v errorView) {
	h := w.Header()
	if prefersJSON(r) {
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(v.Status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": v.Code, "error_description": v.Description})
		return
	}
	if v.Status == http.StatusNotFound {
		v.Heading = "Not found"
	}
	v.StatusText, v.RequestID = http.StatusText(v.Status), requestIDFrom(r.Context())
	status := v.Status
	var buf bytes.Buffer
	err := pages()["error"].ExecuteTemplate(&buf, "layout", v)
	setPageHeaders(h)
	w.WriteHeader(status)
	if err != nil {
		_, _ = w.Write([]byte("<!doctype html><title>Error</title><p>error</p>\n"))
		return
	}
	_, _ = w.Write(buf.Bytes())
}

func (a *app) index(c echo.Context) error {
	if isRegistrationRequest(c.Request()) {
		// The LMS was given the tool's base URL as its registration URL:
		// answer as the registration URL does (without a link, that is a
		// page saying Dynamic Registration needs one), not with the index.
		c.Response().Header().Set("Cache-Control", "no-store")
		a.dynreg.ServeHTTP(c.Response(), c.Request())
		return nil
	}
	data := map[string]any{
		"BaseURL":     a.cfg.BaseURL,
		"LoginURL":    a.toolURL(pathLogin),
		"RedirectURI": a.toolURL(pathLaunch),
		"JWKSURL":     a.toolURL(pathJWKS),
		"SandboxURL":  "",
	}
	if a.sandbox != nil {
		data["SandboxURL"] = a.cfg.SandboxURL + "/"
	}
	return a.renderPage(c, http.StatusOK, "index", data)
}
