package ltitest

import (
	"fmt"
	"html/template"
	"net/http"
)

// ForgedValue is the value the forger page ([ForgerHandler]) puts in every
// storage answer it forges. A tool that shows it, or acts on it, took a
// message from another origin for the platform's.
const ForgedValue = "forged-by-another-origin"

// forgerScript forges platform storage answers to the tool's frame.
var forgerScript = fmt.Sprintf(`"use strict";
(function () {
  var FORGED = %q;
  var TOOL_FRAME = %q, FORGER_FRAME = %q;
  // Message ids and keys to forge answers for: guesses, then every one
  // this page receives.
  var ids = ["0", "1", "2", "3", "ltitest", "message_id"];
  var keys = ["state", "nonce", "lti_state", "lti-state", "key"];
  var sent = 0;
  var status = document.getElementById("forger-status");
  function remember(list, v, max) {
    if (typeof v === "string" && v !== "" && list.indexOf(v) < 0 && list.length < max) { list.push(v); }
  }
  function capabilities(id) {
    return {
      subject: "lti.capabilities.response",
      message_id: id,
      supported_messages: [
        { subject: "lti.capabilities" },
        { subject: "lti.put_data", frame: FORGER_FRAME },
        { subject: "lti.get_data", frame: FORGER_FRAME }
      ]
    };
  }
  function tool() {
    try { return window.parent !== window ? window.parent.frames[TOOL_FRAME] || null : null; } catch (e) { return null; }
  }
  function post(w, msg) {
    try { w.postMessage(msg, "*"); sent++; } catch (e) { /* the frame went away */ }
  }
  function forge() {
    var w = tool();
    if (!w) { return; }
    ids.forEach(function (id) {
      keys.forEach(function (key) {
        post(w, { subject: "lti.get_data.response", message_id: id, key: key, value: FORGED });
        post(w, { subject: "lti.put_data.response", message_id: id, key: key, value: FORGED });
      });
      post(w, capabilities(id));
    });
    status.textContent = sent + " forged messages posted to the frame \"" + TOOL_FRAME + "\"";
  }
  window.addEventListener("message", function (event) {
    var d = event.data;
    if (typeof d !== "object" || d === null || typeof d.subject !== "string") { return; }
    remember(ids, d.message_id, 20);
    remember(keys, d.key, 10);
    var reply;
    switch (d.subject) {
    case "lti.get_data":
    case "lti.put_data":
      reply = { subject: d.subject + ".response", message_id: d.message_id, key: d.key, value: FORGED };
      break;
    case "lti.capabilities":
      reply = capabilities(d.message_id);
      break;
    default:
      return;
    }
    if (event.source) { post(event.source, reply); }
  });
  var started = Date.now();
  forge();
  var timer = setInterval(function () {
    if (Date.now() - started >= 10000) { clearInterval(timer); return; }
    forge();
  }, 50);
})();
`, ForgedValue, ToolFrameName, ForgerFrameName)

var forgerTemplate = template.Must(template.New("forger").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ltitest: a page of another origin</title></head>
<body>
<p><strong>Another origin</strong> forging platform storage answers: <span id="forger-status">starting</span></p>
<script nonce="{{.Nonce}}">{{.Script}}</script>
</body></html>
`))

// ForgerHandler returns a handler for tests of a tool's LTI Client Side
// postMessages: serve it from an origin that is neither the platform's
// nor the tool's and pass its URL as the forger query parameter of the
// framed launch page ([PathFrame]), which frames it beside the tool as
// [ForgerFrameName].
//
// Its page attacks the tool's frame (window.parent.frames["tool"]) for 10
// seconds: every 50 ms it posts, with targetOrigin "*", forged
// lti.get_data.response and lti.put_data.response messages whose value is
// [ForgedValue], for guessed message ids and keys and for every
// message_id and key it receives, and lti.capabilities.response messages
// that point put_data and get_data at its own frame. It answers any
// lti.get_data or lti.put_data it receives with ForgedValue, and any
// lti.capabilities likewise. A tool that checks event.origin ignores all
// of it.
func ForgerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		nonce := newNonce()
		writePageHeaders(w, "default-src 'none'; script-src 'nonce-"+nonce+"'; base-uri 'none'; form-action 'none'")
		_ = forgerTemplate.Execute(w, map[string]any{"Nonce": nonce, "Script": template.JS(forgerScript)})
	})
}
