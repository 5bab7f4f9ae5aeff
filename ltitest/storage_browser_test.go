package ltitest

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ltikit/ltikit/internal/browsertest"
)

// browser is the headless Chromium the package's browser tests share,
// each in a browser context of its own (see internal/browsertest.Shared).
var browser = browsertest.NewShared(1280, 1200, 2)

// TestMain stops the shared browser once the tests have run.
func TestMain(m *testing.M) {
	code := m.Run()
	browser.Close()
	os.Exit(code)
}

// newChromium returns a context for a fresh browser context of the shared
// browser, for the test.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	return browser.Context(t, 120*time.Second)
}

// pageStep is one step of a test page's script (pageRunnerScript).
type pageStep struct {
	// Name names the answer in the report.
	Name string `json:"name,omitempty"`
	// To is where the message goes: "parent", "target" (the
	// lti_storage_target window), or "peer" (the peer frame, with
	// targetOrigin "*").
	To string `json:"to,omitempty"`
	// Msg is the message; the page adds a fresh message_id unless NoID,
	// when it keeps Msg's message_id (or sends none).
	Msg  map[string]any `json:"msg,omitempty"`
	NoID bool           `json:"no_id,omitempty"`
	// WaitMS bounds the wait for the answer (default 3000).
	WaitMS int `json:"wait_ms,omitempty"`
	// Repeat sends Msg that many times, its key suffixed with 0, 1, …;
	// the answer is the first error, or the last answer.
	Repeat int `json:"repeat,omitempty"`
	// Signal posts {subject: "ltitest.signal", name: Signal} to the peer
	// frame; Await waits for the peer's signal.
	Signal string `json:"signal,omitempty"`
	Await  string `json:"await,omitempty"`
	// AwaitForeign waits for a first message from an origin other than
	// the platform's (a forger's frame that runs).
	AwaitForeign bool `json:"await_foreign,omitempty"`
	// SleepMS waits that long.
	SleepMS int `json:"sleep_ms,omitempty"`
}

// pageConfig configures a test page.
type pageConfig struct {
	PlatformOrigin string     `json:"platform_origin"`
	Target         string     `json:"target"`
	PeerFrame      string     `json:"peer_frame"`
	PeerOrigin     string     `json:"peer_origin"`
	Steps          []pageStep `json:"steps"`
	Report         string     `json:"report"`
}

// pageReport is what a test page reports.
type pageReport struct {
	Page   string `json:"page"`
	Frame  string `json:"frame"`  // the page's window.name
	Target string `json:"target"` // the storage target it used
	// Answers holds the platform's answer to each step by name, without
	// its message_id (which matched), or nil.
	Answers map[string]map[string]any `json:"answers"`
	// Unmatched holds answers of the platform's origin that matched no
	// message the page sent.
	Unmatched []map[string]any `json:"unmatched"`
	// Foreign holds messages from origins other than the platform's, each
	// once.
	Foreign []map[string]any `json:"foreign"`
	Error   string           `json:"error"`
}

// pageRunnerScript runs a pageConfig's steps and posts a pageReport to its
// report URL. It accepts answers only from the platform's origin, as a
// tool must.
const pageRunnerScript = `"use strict";
(async function () {
  var cfg = JSON.parse(document.getElementById("config").textContent);
  var report = { page: cfg.page, frame: window.name, target: cfg.target, answers: {}, unmatched: [], foreign: [], error: "" };
  var pending = new Map();
  var foreignSeen = new Set();
  var signals = new Set();
  var wakers = [];
  window.addEventListener("message", function (event) {
    var d = event.data;
    if (typeof d !== "object" || d === null || typeof d.subject !== "string") { return; }
    if (event.origin === cfg.peer_origin && d.subject === "ltitest.signal" && typeof d.name === "string") {
      signals.add(d.name);
      wakers.splice(0).forEach(function (f) { f(); });
      return;
    }
    if (event.origin !== cfg.platform_origin) {
      var f = { origin: event.origin, subject: d.subject, key: d.key === undefined ? null : d.key, value: d.value === undefined ? null : d.value };
      var id = JSON.stringify(f);
      if (!foreignSeen.has(id) && foreignSeen.size < 200) {
        foreignSeen.add(id);
        report.foreign.push(f);
      }
      wakers.splice(0).forEach(function (w) { w(); });
      return;
    }
    var resolve = pending.get(d.message_id);
    if (!resolve) { report.unmatched.push(d); return; }
    pending.delete(d.message_id);
    var answer = Object.assign({}, d);
    delete answer.message_id;
    resolve(answer);
  });
  function target(to) {
    if (to === "peer") { return window.parent.frames[cfg.peer_frame]; }
    if (to === "parent" || cfg.target === "_parent") { return window.parent; }
    return window.parent.frames[cfg.target];
  }
  function send(step, n) {
    return new Promise(function (resolve) {
      var msg = Object.assign({}, step.msg);
      // With no_id the message keeps its own message_id, if any, and an
      // answer without one resolves it.
      var id = step.no_id ? msg.message_id : "ltitest-" + n + "-" + Math.random().toString(36).slice(2);
      msg.message_id = id;
      if (id === undefined) { delete msg.message_id; }
      pending.set(id, resolve);
      setTimeout(function () { if (pending.delete(id)) { resolve(null); } }, step.wait_ms || 3000);
      target(step.to).postMessage(msg, step.to === "peer" ? "*" : cfg.platform_origin);
    });
  }
  function awaitSignal(name) {
    return awaitUntil(function () { return signals.has(name); }, "no signal " + name);
  }
  function awaitUntil(done, failure) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { reject(new Error(failure)); }, 15000);
      (function check() {
        if (done()) { clearTimeout(timer); resolve(); } else { wakers.push(check); }
      })();
    });
  }
  try {
    for (var i = 0; i < cfg.steps.length; i++) {
      var step = cfg.steps[i];
      if (step.signal) {
        window.parent.frames[cfg.peer_frame].postMessage({ subject: "ltitest.signal", name: step.signal }, cfg.peer_origin);
      } else if (step.await) {
        await awaitSignal(step.await);
      } else if (step.await_foreign) {
        await awaitUntil(function () { return report.foreign.length > 0; }, "no message from another origin");
      } else if (step.sleep_ms) {
        await new Promise(function (r) { setTimeout(r, step.sleep_ms); });
      } else if (step.repeat) {
        var answer = null;
        for (var j = 0; j < step.repeat; j++) {
          var msg = Object.assign({}, step.msg, { key: step.msg.key + j });
          answer = await send(Object.assign({}, step, { msg: msg }), i + "-" + j);
          if (!answer || answer.error) { break; }
        }
        report.answers[step.name] = answer;
      } else {
        report.answers[step.name] = await send(step, i);
      }
    }
  } catch (e) {
    report.error = String(e);
  }
  document.getElementById("status").textContent = "done: " + JSON.stringify(report);
  await fetch(cfg.report, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(report) });
})();
`

var testPageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p id="status">running</p>
<script type="application/json" id="config">{{.Config}}</script>
<script>{{.Script}}</script>
</body></html>
`))

// storageRig is the browser test's three origins: the platform on
// 127.0.0.1, the tool on localhost, and another origin on 127.0.0.2 (or
// [::1]) that serves a spy page and the forger.
type storageRig struct {
	platform   *Platform
	toolOrigin string
	other      string // the other origin

	mu      sync.Mutex
	toolCfg pageConfig // Target: the lti_storage_target the login must send
	spyCfg  pageConfig
	reports chan pageReport
	logins  []url.Values
}

func newStorageRig(t *testing.T) *storageRig {
	rig := &storageRig{reports: make(chan pageReport, 8)}

	toolMux := http.NewServeMux()
	toolMux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rig.mu.Lock()
		rig.logins = append(rig.logins, cloneValues(r.Form))
		cfg := rig.toolCfg
		rig.mu.Unlock()
		cfg.Target = r.Form.Get("lti_storage_target")
		rig.servePage(w, "Fake tool", "tool", cfg)
	})
	toolMux.HandleFunc("POST /report", rig.receive)
	tool := httptest.NewServer(toolMux)
	t.Cleanup(tool.Close)
	rig.toolOrigin = "http://localhost:" + fmt.Sprint(tool.Listener.Addr().(*net.TCPAddr).Port)

	otherMux := http.NewServeMux()
	otherMux.HandleFunc("GET /spy", func(w http.ResponseWriter, r *http.Request) {
		rig.mu.Lock()
		cfg := rig.spyCfg
		rig.mu.Unlock()
		rig.servePage(w, "Spy of another origin", "spy", cfg)
	})
	otherMux.Handle("GET /forger", ForgerHandler())
	otherMux.HandleFunc("POST /report", rig.receive)
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		if ln, err = net.Listen("tcp", "[::1]:0"); err != nil {
			t.Skipf("no third loopback address for another origin: %v", err)
		}
	}
	other := httptest.NewUnstartedServer(otherMux)
	other.Listener.Close()
	other.Listener = ln
	other.Start()
	t.Cleanup(other.Close)
	rig.other = other.URL

	p, err := NewPlatform(Config{
		ToolLoginURL:     rig.toolOrigin + "/login",
		ToolRedirectURIs: []string{rig.toolOrigin + "/launch"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	rig.platform = p
	return rig
}

func (rig *storageRig) servePage(w http.ResponseWriter, title, name string, cfg pageConfig) {
	cfg.PlatformOrigin = rig.platform.URL()
	cfg.Report = "/report"
	b, err := json.Marshal(struct {
		pageConfig
		Page string `json:"page"`
	}{cfg, name})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = testPageTemplate.Execute(w, map[string]any{"Title": title, "Config": template.JS(b), "Script": template.JS(pageRunnerScript)})
}

func (rig *storageRig) receive(w http.ResponseWriter, r *http.Request) {
	var rep pageReport
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&rep); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case rig.reports <- rep:
	default:
	}
}

// run opens the framed launch page at path and returns the reports of the
// pages named in want, keyed by name.
func (rig *storageRig) run(ctx context.Context, t *testing.T, path string, tool, spy pageConfig, want ...string) map[string]pageReport {
	t.Helper()
	rig.mu.Lock()
	rig.toolCfg, rig.spyCfg, rig.logins = tool, spy, nil
	rig.mu.Unlock()
	defer func() {
		// The framed launch sent one login initiation, with the page's
		// storage target.
		rig.mu.Lock()
		defer rig.mu.Unlock()
		if len(rig.logins) != 1 {
			t.Errorf("%s: %d login initiations", path, len(rig.logins))
		} else if got := rig.logins[0].Get("lti_storage_target"); got != tool.Target {
			t.Errorf("%s: login initiation with lti_storage_target %q, want %q", path, got, tool.Target)
		}
	}()
	for len(rig.reports) > 0 {
		<-rig.reports
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(rig.platform.URL()+path)); err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	got := map[string]pageReport{}
	timeout := time.After(45 * time.Second)
	for len(got) < len(want) {
		select {
		case rep := <-rig.reports:
			got[rep.Page] = rep
		case <-timeout:
			text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: reports %v of %v after 45 s; the page shows:\n%s", path, got, want, text)
		}
	}
	for _, name := range want {
		if rep, ok := got[name]; !ok || rep.Error != "" {
			t.Fatalf("%s: the %s page failed: %+v", path, name, rep)
		}
	}
	if dir := os.Getenv("LTIKIT_TEST_SCREENSHOT_DIR"); dir != "" {
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil && os.MkdirAll(dir, 0o755) == nil {
			name := strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "-", ":", "", "%", "").Replace(path)
			_ = os.WriteFile(filepath.Join(dir, "ltitest"+name+".png"), png, 0o644)
		}
	}
	return got
}

// answerJSON is an expected answer, as JSON.
func answerJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	if s == "null" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

// checkAnswers compares a page's answers with want (JSON by step name); an
// error's message must be a non-empty string, and is not compared.
func checkAnswers(t *testing.T, page string, rep pageReport, want map[string]string) {
	t.Helper()
	for name, w := range want {
		got, ok := rep.Answers[name]
		if !ok {
			t.Errorf("%s: no step %s", page, name)
			continue
		}
		if e, ok := got["error"].(map[string]any); ok {
			if msg, _ := e["message"].(string); msg == "" {
				t.Errorf("%s: %s: error without a message: %v", page, name, got)
			}
			delete(e, "message")
		}
		if exp := answerJSON(t, w); !reflect.DeepEqual(got, exp) {
			gb, _ := json.Marshal(got)
			t.Errorf("%s: %s answered\n%s\nwant\n%s", page, name, gb, w)
		}
	}
	if len(rep.Unmatched) > 0 {
		t.Errorf("%s: answers that match no message: %v", page, rep.Unmatched)
	}
}

// TestBrowserPlatformStorage runs the LTI Client Side postMessages and
// Platform Storage protocol in headless Chromium: the platform's framed
// launch page on http://127.0.0.1:PORT frames a launch whose login
// initiation lands on a fake tool page on http://localhost:PORT2, which
// talks to the platform's storage as a tool would; a page of a third
// origin, framed beside it, checks that storage is kept per origin.
func TestBrowserPlatformStorage(t *testing.T) {
	ctx := newChromium(t)
	rig := newStorageRig(t)
	const key = "lti-state-abc"

	capabilities := func(frame string) string {
		return `{"subject":"lti.capabilities.response","supported_messages":[{"subject":"lti.capabilities"},` +
			`{"subject":"lti.put_data","frame":"` + frame + `"},{"subject":"lti.get_data","frame":"` + frame + `"}]}`
	}
	put := func(k, v string) map[string]any {
		return map[string]any{"subject": "lti.put_data", "key": k, "value": v}
	}
	get := func(k string) map[string]any { return map[string]any{"subject": "lti.get_data", "key": k} }
	toolSteps := []pageStep{
		{Name: "capabilities", To: "parent", Msg: map[string]any{"subject": "lti.capabilities"}},
		{Name: "get before put", To: "target", Msg: get(key)},
		{Name: "put", To: "target", Msg: put(key, "tool-value")},
		{Name: "get", To: "target", Msg: get(key)},
		{Name: "get missing", To: "target", Msg: get("no-such-key")},
		{Name: "overwrite", To: "target", Msg: put("other", "1")},
		{Name: "overwritten", To: "target", Msg: put("other", "2")},
		{Name: "get overwritten", To: "target", Msg: get("other")},
		{Name: "unknown subject", To: "target", Msg: map[string]any{"subject": "lti.bogus"}},
		{Name: "no message_id", To: "target", Msg: get(key), NoID: true, WaitMS: 500},
		{Name: "numeric message_id", To: "target", Msg: map[string]any{"subject": "lti.get_data", "key": key, "message_id": 7}, NoID: true},
		{Name: "value too long", To: "target", Msg: put("big", strings.Repeat("é", MaxStorageValueBytes/2+1))},
		{Name: "value just fits", To: "target", Msg: put("fits", strings.Repeat("v", MaxStorageValueBytes))},
		{Name: "key too long", To: "target", Msg: put(strings.Repeat("k", MaxStorageKeyBytes+1), "x")},
		{Name: "value not a string", To: "target", Msg: map[string]any{"subject": "lti.put_data", "key": "n", "value": 5}},
		{Name: "no key", To: "target", Msg: map[string]any{"subject": "lti.get_data"}},
		// The tool stores 3 keys so far: key, other and fits.
		{Name: "fill to the limit", To: "target", Msg: put("fill-", "x"), Repeat: MaxStorageKeys - 3},
		{Name: "one key too many", To: "target", Msg: put("one-more", "x")},
		{Name: "overwrite at the limit", To: "target", Msg: put(key, "tool-value")},
		{Signal: "put-done"},
		{Await: "spy-done"},
		{Name: "get after the spy", To: "target", Msg: get(key)},
	}
	spySteps := []pageStep{
		{Await: "put-done"},
		{Name: "get the tool's key", To: "target", Msg: get(key)},
		// The tool's origin is at its key limit, the spy's is not.
		{Name: "put", To: "target", Msg: put(key, "spy-value")},
		{Name: "get", To: "target", Msg: get(key)},
		{Signal: "spy-done"},
	}
	toolWant := func(frame string) map[string]string {
		return map[string]string{
			"capabilities":           capabilities(frame),
			"get before put":         `{"subject":"lti.get_data.response","key":"` + key + `","error":{"code":"bad_request"}}`,
			"put":                    `{"subject":"lti.put_data.response","key":"` + key + `","value":"tool-value"}`,
			"get":                    `{"subject":"lti.get_data.response","key":"` + key + `","value":"tool-value"}`,
			"get missing":            `{"subject":"lti.get_data.response","key":"no-such-key","error":{"code":"bad_request"}}`,
			"overwrite":              `{"subject":"lti.put_data.response","key":"other","value":"1"}`,
			"overwritten":            `{"subject":"lti.put_data.response","key":"other","value":"2"}`,
			"get overwritten":        `{"subject":"lti.get_data.response","key":"other","value":"2"}`,
			"unknown subject":        `{"subject":"lti.bogus.response","error":{"code":"unsupported_subject"}}`,
			"no message_id":          `null`,
			"numeric message_id":     `{"subject":"lti.get_data.response","key":"` + key + `","error":{"code":"bad_request"}}`,
			"value too long":         `{"subject":"lti.put_data.response","key":"big","error":{"code":"bad_request"}}`,
			"value just fits":        `{"subject":"lti.put_data.response","key":"fits","value":"` + strings.Repeat("v", MaxStorageValueBytes) + `"}`,
			"key too long":           `{"subject":"lti.put_data.response","key":"` + strings.Repeat("k", MaxStorageKeyBytes+1) + `","error":{"code":"bad_request"}}`,
			"value not a string":     `{"subject":"lti.put_data.response","key":"n","error":{"code":"bad_request"}}`,
			"no key":                 `{"subject":"lti.get_data.response","error":{"code":"bad_request"}}`,
			"get after the spy":      `{"subject":"lti.get_data.response","key":"` + key + `","value":"tool-value"}`,
			"fill to the limit":      fmt.Sprintf(`{"subject":"lti.put_data.response","key":"fill-%d","value":"x"}`, MaxStorageKeys-4),
			"one key too many":       `{"subject":"lti.put_data.response","key":"one-more","error":{"code":"bad_request"}}`,
			"overwrite at the limit": `{"subject":"lti.put_data.response","key":"` + key + `","value":"tool-value"}`,
		}
	}
	spyWant := map[string]string{
		"get the tool's key": `{"subject":"lti.get_data.response","key":"` + key + `","error":{"code":"bad_request"}}`,
		"put":                `{"subject":"lti.put_data.response","key":"` + key + `","value":"spy-value"}`,
		"get":                `{"subject":"lti.get_data.response","key":"` + key + `","value":"spy-value"}`,
	}
	spyURL := url.QueryEscape(rig.other + "/spy")

	for _, tc := range []struct {
		storage, target, frame string
	}{
		{"parent", StorageTargetParent, StorageTargetParent},
		{"frame", StorageFrameName, StorageFrameName},
	} {
		t.Run("storage="+tc.storage, func(t *testing.T) {
			steps := toolSteps
			if tc.storage == "frame" {
				// The framing page answers lti.capabilities but keeps no data.
				steps = append(steps[:1:1], append([]pageStep{{Name: "put to the parent", To: "parent", Msg: put(key, "x")}}, steps[1:]...)...)
			}
			got := rig.run(ctx, t, PathFrame+"?role=learner&storage="+tc.storage+"&forger="+spyURL,
				pageConfig{Target: tc.target, Steps: steps, PeerFrame: ForgerFrameName, PeerOrigin: rig.other},
				pageConfig{Target: tc.target, Steps: spySteps, PeerFrame: ToolFrameName, PeerOrigin: rig.toolOrigin},
				"tool", "spy")
			tool, spy := got["tool"], got["spy"]
			if tool.Frame != ToolFrameName || tool.Target != tc.target || spy.Frame != ForgerFrameName {
				t.Errorf("the tool page ran in frame %q with lti_storage_target %q, the spy in %q", tool.Frame, tool.Target, spy.Frame)
			}
			want := toolWant(tc.frame)
			if tc.storage == "frame" {
				want["put to the parent"] = `{"subject":"lti.put_data.response","key":"` + key + `","error":{"code":"unsupported_subject"}}`
			}
			checkAnswers(t, "tool", tool, want)
			checkAnswers(t, "spy", spy, spyWant)
			if len(tool.Foreign) > 0 || len(spy.Foreign) > 0 {
				t.Errorf("messages from other origins: tool %v, spy %v", tool.Foreign, spy.Foreign)
			}
		})
	}

	t.Run("storage=off", func(t *testing.T) {
		got := rig.run(ctx, t, PathFrame+"?storage=off",
			pageConfig{Steps: []pageStep{{Name: "capabilities", To: "parent", Msg: map[string]any{"subject": "lti.capabilities"}, WaitMS: 1000}}},
			pageConfig{}, "tool")
		if tool := got["tool"]; tool.Target != "" || tool.Frame != ToolFrameName {
			t.Errorf("the tool page ran in frame %q with lti_storage_target %q", tool.Frame, tool.Target)
		}
		checkAnswers(t, "tool", got["tool"], map[string]string{"capabilities": "null"})
	})

	t.Run("forger", func(t *testing.T) {
		got := rig.run(ctx, t, PathFrame+"?storage=frame&forger="+url.QueryEscape(rig.other+"/forger"),
			pageConfig{Target: StorageFrameName, PeerFrame: ForgerFrameName, Steps: []pageStep{
				{Name: "capabilities", To: "parent", Msg: map[string]any{"subject": "lti.capabilities"}},
				{Name: "put", To: "target", Msg: put("state", "tool-value")},
				// The forger's frame loads beside the tool's, in a process
				// of its own: a message posted before its script runs is
				// lost. Its first forgery shows it listens (it listens
				// before it forges).
				{AwaitForeign: true},
				// A tool fooled into asking the forger gets forged answers,
				// and the forger forges answers for the key from then on.
				{Name: "ask the forger", To: "peer", Msg: get("secret-key"), WaitMS: 300},
				{SleepMS: 300},
				{Name: "get", To: "target", Msg: get("state")},
			}},
			pageConfig{}, "tool")
		tool := got["tool"]
		checkAnswers(t, "tool", tool, map[string]string{
			"capabilities":   capabilities(StorageFrameName),
			"put":            `{"subject":"lti.put_data.response","key":"state","value":"tool-value"}`,
			"get":            `{"subject":"lti.get_data.response","key":"state","value":"tool-value"}`,
			"ask the forger": `null`,
		})
		// The forger did post its forgeries, from its own origin.
		forged := map[string]bool{}
		for _, m := range tool.Foreign {
			if m["origin"] != rig.other {
				t.Errorf("a message from %v: %v", m["origin"], m)
			}
			if m["subject"] == "lti.capabilities.response" || m["value"] == ForgedValue {
				forged[m["subject"].(string)] = true
			}
			if m["key"] == "secret-key" && m["value"] == ForgedValue {
				forged["secret-key"] = true
			}
		}
		for _, s := range []string{"lti.get_data.response", "lti.put_data.response", "lti.capabilities.response", "secret-key"} {
			if !forged[s] {
				t.Errorf("the forger posted no forged %s: %v", s, tool.Foreign)
			}
		}
	})

}
