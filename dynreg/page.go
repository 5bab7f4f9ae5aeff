package dynreg

import (
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// CloseSubject is the subject of the message that tells the platform the
// registration is over and its dialog can close (LTI Dynamic Registration
// 1.0 §3.7: (window.opener || window.parent).postMessage({subject:
// "org.imsglobal.lti.close"}, targetOrigin)).
const CloseSubject = "org.imsglobal.lti.close"

// page is what the last page shows: a Result or an Error.
type page struct {
	Result           *Result
	Error            *Error
	ConfigurationURL string
}

type pageData struct {
	Nonce        string
	Title        string
	Outcome      string // "registered", "pending" or "refused"
	Message      string
	Details      [][2]string
	Error        *Error
	PlatformSays string
	// PlatformStatus is the platform's HTTP status, e.g. "401 Unauthorized".
	PlatformStatus string
	TargetOrigin   string
	AutoClose      bool
}

var pageTemplate = template.Must(template.New("dynreg").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style nonce="{{.Nonce}}">
body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:42rem;color:#222}
h1{font-size:1.3rem}.refused h1{color:#a40000}.registered h1{color:#1f6f2a}
dt{font-weight:600;margin-top:.4rem}dd{margin-left:1rem;word-break:break-all}
code{background:#f3f3f3;padding:0 .2rem}button{margin-top:1rem;font-size:1rem}
</style></head>
<body class="{{.Outcome}}">
<h1 id="outcome" data-outcome="{{.Outcome}}">{{.Title}}</h1>
<p id="message">{{.Message}}</p>
{{with .Error}}<dl>
<dt>Error code</dt><dd><code id="error-code">{{.Code}}</code></dd>
{{with .Field}}<dt>Field</dt><dd><code>{{.}}</code></dd>{{end}}
</dl>{{end}}
{{with .PlatformStatus}}<dl><dt>Platform answered</dt><dd id="platform-status">{{.}}</dd></dl>{{end}}
{{with .PlatformSays}}<p>The platform says: <q id="platform-error">{{.}}</q></p>{{end}}
{{with .Details}}<dl>{{range .}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>{{end}}</dl>{{end}}
{{if .TargetOrigin}}<button type="button" id="close">Close</button>{{end}}
<script nonce="{{.Nonce}}">
(function () {
  var targetOrigin = {{.TargetOrigin}};
  function close() {
    var w = window.opener || (window.parent !== window ? window.parent : null);
    if (w && targetOrigin) { w.postMessage({subject: "org.imsglobal.lti.close"}, targetOrigin); }
  }
  var b = document.getElementById("close");
  if (b) { b.addEventListener("click", close); }
  if ({{.AutoClose}}) { close(); }
})();
</script>
</body></html>
`))

// closeOrigin is the targetOrigin of the close message: the host's, or
// the origin of the openid_configuration URL when it is acceptable, or ""
// (no message) when there is none.
func (h *Handler) closeOrigin(configURL string) string {
	if h.o.closeOrigin != "" {
		return h.o.closeOrigin
	}
	u, err := h.o.policy.check(configURL)
	if err != nil {
		return ""
	}
	return origin(u)
}

func newNonce() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// render writes the last page. Success and pending pages post the close
// message as soon as they load; an error page waits for the Close button,
// so the administrator can read it.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, p page) {
	d := pageData{Nonce: newNonce(), TargetOrigin: h.closeOrigin(p.ConfigurationURL)}
	switch {
	case p.Error != nil:
		d.Title, d.Outcome, d.Error = "Registration failed", "refused", p.Error
		d.Message = sentence(p.Error.Description())
		if st := p.Error.PlatformStatus(); st != 0 {
			d.PlatformStatus = strings.TrimSpace(strconv.Itoa(st) + " " + http.StatusText(st))
		}
		if p.Error.PlatformError() != "" {
			d.PlatformSays = strings.TrimSpace(p.Error.PlatformError() + " " + p.Error.PlatformErrorDescription())
		}
	case p.Result.Pending:
		d.Title, d.Outcome, d.AutoClose = "Registration pending approval", "pending", true
		d.Message = "The platform accepted the registration. An administrator of the tool must activate it before the first launch."
	default:
		d.Title, d.Outcome, d.AutoClose = "Registration complete", "registered", true
		d.Message = "The tool is registered with the platform and ready to launch."
	}
	if res := p.Result; res != nil {
		product := ""
		if res.Platform != nil && res.Platform.LTI != nil {
			product = res.Platform.LTI.ProductFamilyCode + " " + res.Platform.LTI.Version
		}
		d.Details = [][2]string{
			{"Platform", strings.TrimSpace(product)},
			{"Issuer", res.Registration.Issuer},
			{"Client ID", res.Registration.ClientID},
			{"Deployment ID", orNone(res.DeploymentID)},
			{"Scopes granted", orNone(strings.Join(res.Scopes, " "))},
		}
		if len(res.MissingScopes) > 0 {
			d.Details = append(d.Details, [2]string{"Scopes not granted", strings.Join(res.MissingScopes, " ")})
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	// The initiation URL carries the registration token: never send it
	// on as a Referer.
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+d.Nonce+"'; style-src 'nonce-"+d.Nonce+
		"'; base-uri 'none'; form-action 'none'")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = pageTemplate.Execute(w, d)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// sentence capitalizes s and ends it with a period.
func sentence(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
