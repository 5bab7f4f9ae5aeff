package launch

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"html"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
)

// Platform storage (1EdTech LTI Client Side postMessages, "Platform
// Storage"): when the browser keeps no cookie of the tool in the
// platform's frame, the platform keeps a value for the tool instead, in a
// frame of its own that the tool's pages reach with window.postMessage.
//
// Every login mints a browser secret besides the state and the nonce. The
// login record is stored under stateKey(state, secret), so only a launch
// that presents both takes it: the state comes with the platform's form
// post; the secret comes from the state cookie or, when the browser sent
// none, from platform storage. A wrong secret finds no record and takes
// nothing, and the store never holds a state or secret a reader of the
// database could present.
//
// The login. With lti_storage_target, the login answers a page instead of
// a redirect. Its script asks the platform for lti.capabilities, stores
// the secret with lti.put_data in the target frame (targetOrigin: the
// origin of the registration's OIDC auth endpoint), waits for the answer
// with the same message_id from that origin, and goes on to the auth
// endpoint; on a timeout or an error answer it goes on with the cookie
// alone. The state cookie is set either way. A login that used platform
// storage says so in its state: "<random>.<base64url target>", so the
// launch knows the frame without reading the record (Blackboard Learn does
// not repeat lti_storage_target in its form post). The target cannot be
// altered: the record is found by a digest of the whole state.
//
// The launch. A post with the state cookie proceeds as always. A post
// without it, for a login that used platform storage, consumes nothing and
// is answered with a page whose script reads the secret back with
// lti.get_data (the posted lti_storage_target first, then the login's
// target, then the frame lti.capabilities names), ignoring every message
// that is not from the platform's origin or does not answer its own
// message_id, and posts id_token, state and secret to the redirect URI.
// That post is accepted only from the tool's own origin (Origin, and
// Sec-Fetch-Site when sent), so a page of another site cannot post a
// secret it learnt from its own login into the victim's browser (login
// CSRF); only then is the state taken, exactly once.

// Form fields of the platform storage launch page's post.
const (
	fieldSecret       = "ltikit_storage_secret"
	fieldStorageError = "ltikit_storage_error"
	fieldStorageTgt   = "lti_storage_target"
)

// maxStorageTarget bounds the storage target a state carries.
const maxStorageTarget = 128

// secretLen is the length of a browser secret: nonce.NewValue's 43.
const secretLen = 43

// stateKey is the key the login record of state is stored under: a
// digest of the state and the browser secret, length-prefixed so no two
// pairs share a key.
func stateKey(state, secret string) string {
	const domain = "ltikit login state v1"
	var stack [256]byte
	b := append(stack[:0], domain...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(state)))
	b = append(b, state...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(secret)))
	b = append(b, secret...)
	sum := sha256.Sum256(b)
	return b64.EncodeToString(sum[:])
}

// newState mints a state; a login that uses platform storage carries its
// target in it.
func newState(target string) string {
	s := nonce.NewValue()
	if target == "" {
		return s
	}
	return s + "." + b64.EncodeToString([]byte(target))
}

// stateTarget returns the platform storage target a state carries.
func stateTarget(state string) (string, bool) {
	_, enc, ok := strings.Cut(state, ".")
	if !ok {
		return "", false
	}
	t, err := b64.DecodeString(enc)
	if err != nil || len(t) == 0 || len(t) > maxStorageTarget {
		return "", false
	}
	return string(t), true
}

// usableTarget reports whether a login's lti_storage_target can be used.
func usableTarget(t string) bool {
	return t != "" && len(t) <= maxStorageTarget && !strings.ContainsAny(t, "\x00")
}

// storageKey is the platform storage key of a login's secret.
func (t *Tool) storageKey(state string) string {
	return "ltikit_state_" + strings.TrimPrefix(t.cookieName(state), t.opt.cookiePrefix)
}

// Binding says how a launch's state was bound to the browser.
type Binding string

const (
	// BindingCookie: the state cookie came with the launch.
	BindingCookie Binding = "cookie"
	// BindingPlatformStorage: the browser sent no cookie, and the secret
	// came back from the platform's storage.
	BindingPlatformStorage Binding = "platform_storage"
)

// StorageLaunch is the error ValidateLaunch returns when a launch arrives
// without its state cookie for a login that stored its secret in platform
// storage. It is not a verdict: nothing was taken or consumed. Its
// ServeHTTP answers the page that reads the secret back and posts the
// launch again; [Tool.LaunchHandler] does that itself. It unwraps to an
// invalid_state *lti.Error, so a host that calls ValidateLaunch and does
// not know it refuses the launch, failing closed.
type StorageLaunch struct {
	cfg storagePage
}

// Error implements error.
func (s *StorageLaunch) Error() string {
	return "launch: the state cookie is missing; the launch continues through platform storage"
}

// Unwrap returns the invalid_state error a host that does not serve the
// page should answer.
func (s *StorageLaunch) Unwrap() error { return errNoCookieStorage }

// Code is invalid_state, the code of the error it unwraps to.
func (s *StorageLaunch) Code() lti.Code { return lti.CodeInvalidState }

// ServeHTTP writes the platform storage launch page.
func (s *StorageLaunch) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	writeStoragePage(w, "Continuing the launch", "Reading this launch's key from the platform…", s.cfg)
}

var errNoCookieStorage = lti.ErrInvalidState.WithDescription(
	"the browser did not send the tool's cookie; the launch must continue through the platform's storage")

// storagePage is the configuration the pages' script reads.
type storagePage struct {
	Mode       string   `json:"mode"`             // "login" or "launch"
	Origin     string   `json:"origin"`           // the platform's origin
	Targets    []string `json:"targets"`          // frames to try, in order
	Key        string   `json:"key"`              // the storage key
	Value      string   `json:"value,omitempty"`  // login: the secret
	Next       string   `json:"next,omitempty"`   // login: the auth request URL
	Action     string   `json:"action,omitempty"` // launch: the redirect URI
	IDToken    string   `json:"id_token,omitempty"`
	State      string   `json:"state,omitempty"`
	Timeout    int64    `json:"timeout"`     // ms per answer
	CapTimeout int64    `json:"cap_timeout"` // ms for lti.capabilities
}

// origin returns the scheme://host of an absolute URL.
func origin(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", false
	}
	return u.Scheme + "://" + u.Host, true
}

// writeStoragePage writes one of the two platform storage pages: the
// script with its configuration, under a CSP that allows only that script
// (by nonce) and form posts to the tool itself. No frame-ancestors: both
// pages must run inside the platform's frame.
func writeStoragePage(w http.ResponseWriter, title, text string, cfg storagePage) {
	var nb [18]byte
	_, _ = rand.Read(nb[:])
	cspNonce := base64.StdEncoding.EncodeToString(nb[:])
	conf, _ := json.Marshal(cfg) // escapes <, > and & for the script element
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// Same-origin referrers: the launch page's own post must carry its
	// origin (a no-referrer policy would make the Origin header "null").
	h.Set("Referrer-Policy", "same-origin")
	formAction := "'self'" // the launch page posts to the tool
	if cfg.Mode == "login" {
		formAction = cfg.Origin // the no-script form goes to the platform
	}
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+cspNonce+"'; form-action "+formAction+"; base-uri 'none'")
	w.WriteHeader(http.StatusOK)
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><meta charset=\"utf-8\"><title>")
	b.WriteString(html.EscapeString(title))
	b.WriteString("</title></head><body><p id=\"ltikit-status\">")
	b.WriteString(html.EscapeString(text))
	b.WriteString("</p>")
	if cfg.Mode == "login" {
		// Without JavaScript the login goes on with the cookie alone.
		writeContinueForm(&b, cfg.Next)
	} else {
		b.WriteString("<noscript><p>Your browser did not send the tool's cookie with this launch; it continues through the platform's storage, which needs JavaScript.</p></noscript>")
	}
	b.WriteString("<script nonce=\"")
	b.WriteString(cspNonce)
	b.WriteString("\">var ltikitStorage = ")
	b.Write(conf)
	b.WriteString(";\n")
	b.WriteString(storageScript)
	b.WriteString("</script></body></html>\n")
	_, _ = w.Write([]byte(b.String()))
}

// writeContinueForm writes a form that sends the auth request without
// JavaScript: a GET form whose fields are the URL's query parameters.
func writeContinueForm(b *strings.Builder, next string) {
	u, err := url.Parse(next)
	if err != nil {
		return
	}
	q := u.Query()
	u.RawQuery = ""
	b.WriteString("<noscript><form method=\"get\" action=\"")
	b.WriteString(html.EscapeString(u.String()))
	b.WriteString("\">")
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[k] {
			b.WriteString("<input type=\"hidden\" name=\"")
			b.WriteString(html.EscapeString(k))
			b.WriteString("\" value=\"")
			b.WriteString(html.EscapeString(v))
			b.WriteString("\">")
		}
	}
	b.WriteString("<button type=\"submit\">Continue to the platform</button></form></noscript>")
}

// storageScript runs both pages. It trusts only messages from cfg.origin
// that answer a message_id it sent, with the matching subject.
const storageScript = `(function () {
  "use strict";
  var cfg = ltikitStorage;
  var base = window.parent !== window ? window.parent : window.opener;
  var pending = {};
  window.addEventListener("message", function (e) {
    if (e.origin !== cfg.origin) { return; }
    var d = e.data;
    if (!d || typeof d !== "object" || typeof d.message_id !== "string" || typeof d.subject !== "string") { return; }
    var p = pending[d.message_id];
    if (!p || d.subject !== p.subject + ".response") { return; }
    delete pending[d.message_id];
    clearTimeout(p.timer);
    p.done(d);
  });
  function randomID() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return "ltikit-" + Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }
  function send(win, msg, ms, done) {
    var id = randomID();
    msg.message_id = id;
    var p = { subject: msg.subject, done: done };
    p.timer = setTimeout(function () { delete pending[id]; done(null); }, ms);
    pending[id] = p;
    try {
      win.postMessage(msg, cfg.origin);
    } catch (err) {
      clearTimeout(p.timer);
      delete pending[id];
      done(null);
    }
  }
  function frame(name) {
    if (!base || typeof name !== "string" || name === "") { return null; }
    if (name === "_parent") { return base; }
    try { return base.frames[name] || null; } catch (err) { return null; }
  }
  function supported(r, subject) {
    if (!r || r.error || !Array.isArray(r.supported_messages)) { return null; }
    for (var i = 0; i < r.supported_messages.length; i++) {
      var m = r.supported_messages[i];
      if (m && m.subject === subject) { return m; }
    }
    return false;
  }
  // storageFrame finds the frame for subject: the first target that
  // names a frame, else the frame lti.capabilities names.
  function storageFrame(subject, done) {
    for (var i = 0; i < cfg.targets.length; i++) {
      var w = frame(cfg.targets[i]);
      if (w) { return done(w); }
    }
    if (!base) { return done(null); }
    send(base, { subject: "lti.capabilities" }, cfg.cap_timeout, function (r) {
      var m = supported(r, subject);
      done(m ? frame(typeof m.frame === "string" && m.frame !== "" ? m.frame : "_parent") : null);
    });
  }
  function status(text) {
    var el = document.getElementById("ltikit-status");
    if (el) { el.textContent = text; }
  }
  if (cfg.mode === "login") {
    var go = function () { window.location.replace(cfg.next); };
    if (!base) { return go(); }
    // lti.capabilities first: a platform that answers it says whether it
    // keeps data and in which frame.
    send(base, { subject: "lti.capabilities" }, cfg.cap_timeout, function (r) {
      var m = supported(r, "lti.put_data");
      if (m === false) { return go(); }
      var w = null;
      for (var i = 0; i < cfg.targets.length && !w; i++) { w = frame(cfg.targets[i]); }
      if (!w && m) { w = frame(typeof m.frame === "string" && m.frame !== "" ? m.frame : "_parent"); }
      if (!w) { return go(); }
      send(w, { subject: "lti.put_data", key: cfg.key, value: cfg.value }, cfg.timeout, go);
    });
    return;
  }
  function post(fields) {
    var f = document.createElement("form");
    f.method = "POST";
    f.action = cfg.action;
    Object.keys(fields).forEach(function (k) {
      var i = document.createElement("input");
      i.type = "hidden";
      i.name = k;
      i.value = fields[k];
      f.appendChild(i);
    });
    document.body.appendChild(f);
    f.submit();
  }
  function fail(reason) {
    status("The launch could not be completed.");
    post({ id_token: cfg.id_token, state: cfg.state, ltikit_storage_error: reason });
  }
  storageFrame("lti.get_data", function (w) {
    if (!w) { return fail("no_frame"); }
    send(w, { subject: "lti.get_data", key: cfg.key }, cfg.timeout, function (r) {
      if (!r) { return fail("timeout"); }
      if (r.error || r.key !== cfg.key || typeof r.value !== "string" || r.value === "") { return fail("no_value"); }
      post({ id_token: cfg.id_token, state: cfg.state, ltikit_storage_secret: r.value });
    });
  });
})();
`

// storageFailure describes a launch the platform storage page could not
// complete; reason is what its script posted, matched against the values
// it sends so nothing else is echoed.
func storageFailure(reason string) *lti.Error {
	why := "the platform's storage did not answer"
	switch reason {
	case "no_frame":
		why = "the platform's storage frame was not found"
	case "no_value":
		why = "the platform's storage holds no key for this launch"
	case "timeout":
		why = "the platform's storage did not answer in time"
	}
	return lti.ErrInvalidState.WithDescription("the browser did not send the tool's cookie with this launch (it blocks " +
		"cookies of a tool framed by another site), and " + why + ". Open the tool in a new window, " +
		"or allow cookies for the tool's site.").WithSpec("LTI Client Side postMessages, Platform Storage")
}

// errCookieBlocked is a launch without its state cookie whose login did not
// use platform storage.
var errCookieBlocked = lti.ErrInvalidState.WithDescription("the browser did not send the tool's cookie with this " +
	"launch: it blocks cookies of a tool framed by another site, and the platform offered no platform storage " +
	"(lti_storage_target). Open the tool in a new window or allow cookies for the tool's site; the platform's " +
	"administrator can enable LTI platform storage.")

// sameOrigin reports whether r was sent by a page of the tool's own origin:
// the platform storage launch page's post. Browsers send Origin with every
// POST; Sec-Fetch-Site, where sent, must agree.
func (t *Tool) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	o := r.Header.Values("Origin")
	return len(o) == 1 && o[0] == t.redirectOrigin
}
