package ltitest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Frame names and storage targets of the framed launch page ([PathFrame]),
// for the 1EdTech LTI Client Side postMessages and Platform Storage specs.
const (
	// StorageTargetParent is the lti_storage_target that sends storage
	// messages to the window that frames the tool (or to its opener when
	// it is not framed): the framed launch page with storage=parent.
	StorageTargetParent = "_parent"
	// StorageFrameName is the name of the hidden platform storage frame
	// ([PathStorage]) in the framed launch page with storage=frame, and
	// the lti_storage_target it sends then.
	StorageFrameName = "lti_storage"
	// ToolFrameName is the name of the iframe the framed launch page runs
	// the launch in (its id is "tool-frame").
	ToolFrameName = "tool"
	// ForgerFrameName is the name of the iframe the framed launch page
	// adds for its forger query parameter (see [ForgerHandler]).
	ForgerFrameName = "forger"
)

// Bounds of the platform storage: put_data beyond them is answered with
// the error code "bad_request". Sizes are of the UTF-8 encoding.
const (
	// MaxStorageKeyBytes bounds a key.
	MaxStorageKeyBytes = 1 << 10
	// MaxStorageValueBytes bounds a value.
	MaxStorageValueBytes = 4 << 10
	// MaxStorageKeys bounds the number of keys one tool origin may store.
	MaxStorageKeys = 500
)

// storageScript answers the LTI Client Side postMessages of tools in the
// window it runs in: lti.capabilities, and lti.put_data and lti.get_data
// when it keeps data. Both the storage frame (PathStorage) and the framed
// launch page (PathFrame) run it; the data attributes of its script element
// configure it: data-storage-frame is the frame lti.capabilities names for
// put_data and get_data, data-store="1" makes this window keep data.
//
// Data is kept in memory per tool origin (event.origin), so one origin can
// never read or change another's. Answers go to event.source with
// targetOrigin event.origin. Messages from opaque origins ("null") and
// answers (subjects ending in ".response") are ignored, as are messages
// without a message_id.
var storageScript = fmt.Sprintf(`"use strict";
(function () {
  var config = document.currentScript.dataset;
  var storageFrame = config.storageFrame;
  var keepsData = config.store === "1";
  var MAX_KEY = %d, MAX_VALUE = %d, MAX_KEYS = %d;
  var data = new Map(); // tool origin -> Map(key -> value)
  var encoder = new TextEncoder();
  function bytes(s) { return encoder.encode(s).length; }
  function answer(event, reply) {
    if (event.source && typeof event.source.postMessage === "function") {
      event.source.postMessage(reply, event.origin);
    }
  }
  function fail(event, d, code, message) {
    var reply = { subject: d.subject + ".response", message_id: d.message_id, error: { code: code, message: message } };
    if (typeof d.key === "string") { reply.key = d.key; }
    answer(event, reply);
  }
  window.addEventListener("message", function (event) {
    var d = event.data;
    if (typeof d !== "object" || d === null || typeof d.subject !== "string") { return; }
    // Never answer an answer: two platform windows would play ping-pong.
    if (/\.response$/.test(d.subject)) { return; }
    if (d.message_id === undefined || d.message_id === null || d.message_id === "") { return; }
    // An opaque origin cannot be answered, nor its data kept apart.
    if (typeof event.origin !== "string" || event.origin === "null" || event.origin === "") { return; }
    if (typeof d.message_id !== "string") {
      fail(event, d, "bad_request", "message_id must be a string");
      return;
    }
    switch (d.subject) {
    case "lti.capabilities":
      answer(event, {
        subject: "lti.capabilities.response",
        message_id: d.message_id,
        supported_messages: [
          { subject: "lti.capabilities" },
          { subject: "lti.put_data", frame: storageFrame },
          { subject: "lti.get_data", frame: storageFrame }
        ]
      });
      return;
    case "lti.put_data":
    case "lti.get_data":
      break;
    default:
      fail(event, d, "unsupported_subject", "subject " + d.subject + " is not supported");
      return;
    }
    if (!keepsData) {
      fail(event, d, "unsupported_subject", "this window keeps no data: send " + d.subject + " to the frame " + storageFrame);
      return;
    }
    if (typeof d.key !== "string" || d.key === "") {
      fail(event, d, "bad_request", "key must be a non-empty string");
      return;
    }
    if (bytes(d.key) > MAX_KEY) {
      fail(event, d, "bad_request", "key is longer than " + MAX_KEY + " bytes");
      return;
    }
    var store = data.get(event.origin);
    if (d.subject === "lti.get_data") {
      if (!store || !store.has(d.key)) {
        fail(event, d, "bad_request", "no value is stored for this key");
        return;
      }
      answer(event, { subject: "lti.get_data.response", message_id: d.message_id, key: d.key, value: store.get(d.key) });
      return;
    }
    if (typeof d.value !== "string") {
      fail(event, d, "bad_request", "value must be a string");
      return;
    }
    if (bytes(d.value) > MAX_VALUE) {
      fail(event, d, "bad_request", "value is longer than " + MAX_VALUE + " bytes");
      return;
    }
    if (!store) {
      store = new Map();
      data.set(event.origin, store);
    }
    if (!store.has(d.key) && store.size >= MAX_KEYS) {
      fail(event, d, "bad_request", "this origin already stores " + MAX_KEYS + " keys");
      return;
    }
    store.set(d.key, d.value);
    answer(event, { subject: "lti.put_data.response", message_id: d.message_id, key: d.key, value: d.value });
  });
})();
`, MaxStorageKeyBytes, MaxStorageValueBytes, MaxStorageKeys)

// newNonce returns a fresh CSP nonce.
func newNonce() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// writePageHeaders sets the headers of a scripted platform page.
func writePageHeaders(w http.ResponseWriter, csp string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", csp)
}

var storageTemplate = template.Must(template.New("storage").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ltitest platform storage</title>
<script nonce="{{.Nonce}}" data-storage-frame="{{.Frame}}" data-store="1">{{.Script}}</script>
</head><body></body></html>
`))

// serveStorage serves the platform storage frame.
func (p *Platform) serveStorage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	nonce := newNonce()
	// Only the platform's own pages may frame its storage.
	writePageHeaders(w, "default-src 'none'; script-src 'nonce-"+nonce+"'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
	_ = storageTemplate.Execute(w, map[string]any{
		"Nonce":  nonce,
		"Frame":  StorageFrameName,
		"Script": template.JS(storageScript),
	})
}

var frameTemplate = template.Must(template.New("frame").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox LMS — framed launch</title>
<style nonce="{{.Nonce}}">
body { font-family: system-ui, sans-serif; margin: 1rem 2rem; }
#tool-frame { display: block; width: 100%; height: 900px; border: 1px solid #999; }
#forger-frame { display: block; width: 100%; height: 120px; border: 1px dashed #c00; margin-top: 1rem; }
.muted { color: #555; }
</style>
{{- if .Storage}}
<script nonce="{{.Nonce}}" data-storage-frame="{{.StorageFrame}}" data-store="{{.Store}}">{{.Script}}</script>
{{- end}}
</head><body>
<h1>Sandbox LMS — framed launch</h1>
<p id="frame-info" class="muted">The course page of an LMS with the tool in an iframe, as Canvas and Moodle show it.
{{if .Target}}Platform storage: <span id="storage-mode">{{.Mode}}</span>, lti_storage_target <code id="storage-target">{{.Target}}</code>.
{{else}}Platform storage: <span id="storage-mode">off</span>: no lti_storage_target and no postMessage answers.{{end}}
<a href="{{.Home}}">Platform home</a></p>
{{- if .StorageFrameURL}}
<iframe name="{{.StorageFrame}}" id="storage-frame" src="{{.StorageFrameURL}}" title="Platform storage" hidden></iframe>
{{- end}}
<iframe name="{{.ToolFrame}}" id="tool-frame" src="{{.LaunchURL}}" title="Tool" width="100%" height="900"></iframe>
{{- if .ForgerURL}}
<iframe name="{{.ForgerFrame}}" id="forger-frame" src="{{.ForgerURL}}" title="A page of another origin" width="100%" height="120"></iframe>
{{- end}}
</body></html>
`))

// Query parameters of PathLaunch for platform storage.
const (
	queryStorageTarget         = "storage_target"
	queryStorageTargetAtLaunch = "storage_target_at_launch"
)

// StorageLaunchOptions returns the launch options the platform storage query
// parameters of GET /launch ask for (see [Platform.ServeHTTP]):
// storage_target=<name> is [WithStorageTarget](name) and
// storage_target_at_launch=0 is [WithoutStorageTargetAtLaunch] ("1" or
// none is the default). A host that serves its own launch route in place
// of the platform's /launch, as the framed launch page ([PathFrame])
// frames {base}/launch, uses it to honour them.
func StorageLaunchOptions(query url.Values) ([]LaunchOption, error) {
	var opts []LaunchOption
	if t := query.Get(queryStorageTarget); t != "" {
		opts = append(opts, WithStorageTarget(t))
	}
	switch query.Get(queryStorageTargetAtLaunch) {
	case "", "1":
	case "0":
		opts = append(opts, WithoutStorageTargetAtLaunch())
	default:
		return nil, errors.New("ltitest: storage_target_at_launch must be 0 or 1")
	}
	return opts, nil
}

// serveFrame serves the framed launch page: an LMS course page whose iframe
// runs a launch, and which answers the tool's postMessages.
func (p *Platform) serveFrame(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if p.conf().ToolLoginURL == "" {
		http.Error(w, "ltitest: no tool login URL is configured", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	mode := q.Get("storage")
	if mode == "" {
		mode = "parent"
	}
	data := map[string]any{
		"Mode":      mode,
		"ToolFrame": ToolFrameName,
		"Home":      p.base + "/",
		"Script":    template.JS(storageScript),
	}
	switch mode {
	case "parent":
		data["Storage"], data["Target"], data["StorageFrame"], data["Store"] = true, StorageTargetParent, StorageTargetParent, "1"
	case "frame":
		data["Storage"], data["Target"], data["StorageFrame"], data["Store"] = true, StorageFrameName, StorageFrameName, "0"
		data["StorageFrameURL"] = p.base + PathStorage
	case "off":
	default:
		http.Error(w, "ltitest: storage must be parent, frame or off", http.StatusBadRequest)
		return
	}
	frameOrigins := p.toolOrigins()
	if f := q.Get("forger"); f != "" {
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			http.Error(w, "ltitest: forger must be an absolute http(s) URL", http.StatusBadRequest)
			return
		}
		data["ForgerURL"], data["ForgerFrame"] = u.String(), ForgerFrameName
		frameOrigins = appendOrigin(frameOrigins, u)
	}

	// The framed launch gets the same query, with the storage target.
	launch := cloneValues(q)
	launch.Del("storage")
	launch.Del("forger")
	launch.Del(queryStorageTarget)
	if t, _ := data["Target"].(string); t != "" {
		launch.Set(queryStorageTarget, t)
	} else {
		launch.Del(queryStorageTargetAtLaunch)
	}
	launchURL := p.base + PathLaunch
	if len(launch) > 0 {
		launchURL += "?" + launch.Encode()
	}
	data["LaunchURL"] = launchURL

	nonce := newNonce()
	data["Nonce"] = nonce
	writePageHeaders(w, "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+"'; frame-src "+
		frameSources(frameOrigins)+"; base-uri 'none'; form-action 'none'")
	_ = frameTemplate.Execute(w, data)
}

// toolOrigins returns the origins the framed launch page's iframes may
// show: the platform's and those of the tool's URLs.
func (p *Platform) toolOrigins() []string {
	out := appendOrigin([]string{"'self'"}, p.baseURL)
	cfg := p.conf()
	for _, raw := range append([]string{cfg.ToolLoginURL, cfg.TargetLinkURI}, cfg.ToolRedirectURIs...) {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			out = appendOrigin(out, u)
		}
	}
	return out
}

// frameSources is the frame-src source list of origins. CSP host sources
// cannot name an IPv6 address, so any IPv6 origin allows every http(s)
// origin instead.
func frameSources(origins []string) string {
	for _, o := range origins {
		if strings.Contains(o, "://[") {
			return "'self' http: https:"
		}
	}
	return strings.Join(origins, " ")
}

// appendOrigin adds u's origin (scheme://host[:port]) to origins unless it
// is there.
func appendOrigin(origins []string, u *url.URL) []string {
	o := strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
	if slices.Contains(origins, o) {
		return origins
	}
	return append(origins, o)
}
