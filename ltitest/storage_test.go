package ltitest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// page is a fetched platform page.
type page struct {
	status int
	header http.Header
	body   string
}

func getPage(t *testing.T, method, u string) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{resp.StatusCode, resp.Header, string(b)}
}

var (
	cspNonceRe  = regexp.MustCompile(`^default-src 'none'; script-src 'nonce-([A-Za-z0-9_-]{16,})'`)
	scriptTagRe = regexp.MustCompile(`(?is)<(script|style)\b([^>]*)>`)
	tagRe       = regexp.MustCompile(`(?is)<([a-z]+)\b([^>]*)>`)
)

// checkScriptedPage checks a page's Content-Security-Policy and markup: a
// fresh nonce that every script and style element carries, no external
// script, and no resource but iframes. It returns the nonce.
func checkScriptedPage(t *testing.T, pg page) string {
	t.Helper()
	if ct := pg.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := pg.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	csp := pg.header.Get("Content-Security-Policy")
	m := cspNonceRe.FindStringSubmatch(csp)
	if m == nil {
		t.Fatalf("Content-Security-Policy %q: no default-src 'none' and script nonce", csp)
	}
	nonce := m[1]
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "strict-dynamic", "data:"} {
		if strings.Contains(csp, bad) {
			t.Errorf("Content-Security-Policy %q allows %s", csp, bad)
		}
	}
	scripts := 0
	for _, m := range scriptTagRe.FindAllStringSubmatch(pg.body, -1) {
		a := parseAttrs(m[2])
		if a["nonce"] != nonce {
			t.Errorf("<%s%s> has nonce %q, the policy %q", m[1], m[2], a["nonce"], nonce)
		}
		if _, ok := a["src"]; ok {
			t.Errorf("<%s%s> loads an external script", m[1], m[2])
		}
		if strings.EqualFold(m[1], "script") {
			scripts++
		}
	}
	if scripts > 0 && !strings.Contains(pg.body, `"use strict";`) {
		t.Errorf("the page's script is not strict:\n%s", pg.body)
	}
	for _, m := range tagRe.FindAllStringSubmatch(pg.body, -1) {
		a := parseAttrs(m[2])
		_, src := a["src"]
		_, href := a["href"]
		switch tag := strings.ToLower(m[1]); {
		case tag == "link", tag == "img", tag == "object", tag == "embed", tag == "base":
			t.Errorf("the page has a <%s> element: %s", tag, m[0])
		case src && tag != "iframe":
			t.Errorf("<%s> loads %q", tag, a["src"])
		case href && tag != "a":
			t.Errorf("<%s> refers to %q", tag, a["href"])
		}
	}
	return nonce
}

// iframes returns the page's iframes' attributes by name.
func iframes(body string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, m := range tagRe.FindAllStringSubmatch(body, -1) {
		if strings.EqualFold(m[1], "iframe") {
			a := parseAttrs(m[2])
			out[a["name"]] = a
		}
	}
	return out
}

func TestStoragePages(t *testing.T) {
	const forger = "http://127.0.0.2:9/forger?x=1"
	_, p := newToolAndPlatform(t, Config{})
	loginURL := p.Config().ToolLoginURL
	toolOrigin := loginURL[:strings.Index(loginURL, "/lti/")]
	tests := []struct {
		name, path string
		// script is the data-storage-frame of the page's storage script
		// ("" for none), store its data-store.
		script, store string
		// launch is the query of the tool frame's /launch ("" for no tool
		// frame); storageFrame and forger say which other frames it has.
		launch       url.Values
		storageFrame bool
		forger       bool
		frameSrc     []string // more origins frame-src must allow
	}{
		{name: "storage frame", path: PathStorage, script: StorageFrameName, store: "1"},
		{name: "framed launch, default storage", path: PathFrame + "?role=learner",
			script: StorageTargetParent, store: "1",
			launch: url.Values{"role": {"learner"}, "storage_target": {"_parent"}}},
		{name: "framed launch, storage=parent", path: PathFrame + "?role=instructor&message=deep_linking&storage=parent",
			script: StorageTargetParent, store: "1",
			launch: url.Values{"role": {"instructor"}, "message": {"deep_linking"}, "storage_target": {"_parent"}}},
		{name: "framed launch, storage=frame", path: PathFrame + "?storage=frame&storage_target_at_launch=0",
			script: StorageFrameName, store: "0", storageFrame: true,
			launch: url.Values{"storage_target": {"lti_storage"}, "storage_target_at_launch": {"0"}}},
		{name: "framed launch, storage=off", path: PathFrame + "?storage=off&storage_target_at_launch=0&storage_target=x",
			launch: url.Values{}},
		{name: "framed launch with a forger", path: PathFrame + "?storage=parent&forger=" + url.QueryEscape(forger),
			script: StorageTargetParent, store: "1", forger: true, frameSrc: []string{"http://127.0.0.2:9"},
			launch: url.Values{"storage_target": {"_parent"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pg := getPage(t, http.MethodGet, p.URL()+tc.path)
			if pg.status != http.StatusOK {
				t.Fatalf("%d %s", pg.status, pg.body)
			}
			nonce := checkScriptedPage(t, pg)
			if again := checkScriptedPage(t, getPage(t, http.MethodGet, p.URL()+tc.path)); again == nonce {
				t.Errorf("two responses share the nonce %q", nonce)
			}

			scripts := scriptTagRe.FindAllStringSubmatch(pg.body, -1)
			var storageScripts int
			for _, m := range scripts {
				a := parseAttrs(m[2])
				if strings.EqualFold(m[1], "script") {
					storageScripts++
					if a["data-storage-frame"] != tc.script || a["data-store"] != tc.store {
						t.Errorf("script %s: want data-storage-frame %q data-store %q", m[0], tc.script, tc.store)
					}
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tc.script != ""]; storageScripts != want {
				t.Errorf("%d scripts, want %d", storageScripts, want)
			}
			if tc.script != "" && !strings.Contains(pg.body, storageScript) {
				t.Error("the page does not run storageScript")
			}
			if tc.path == PathStorage {
				if csp := pg.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self'") {
					t.Errorf("Content-Security-Policy %q lets other origins frame the storage", csp)
				}
				return
			}

			if !strings.Contains(pg.body, "<h1>Sandbox LMS — framed launch</h1>") {
				t.Errorf("no heading:\n%s", pg.body)
			}
			frames := iframes(pg.body)
			tool := frames[ToolFrameName]
			if tool == nil || tool["id"] != "tool-frame" || tool["width"] != "100%" || tool["height"] != "900" {
				t.Fatalf("tool frame %v", tool)
			}
			if _, ok := tool["sandbox"]; ok {
				t.Errorf("the tool frame is sandboxed: %v", tool)
			}
			src, err := url.Parse(tool["src"])
			if err != nil || src.Scheme+"://"+src.Host+src.Path != p.URL()+PathLaunch {
				t.Fatalf("tool frame src %q", tool["src"])
			}
			if got := src.Query(); got.Encode() != tc.launch.Encode() {
				t.Errorf("tool frame query %v, want %v", got, tc.launch)
			}
			if sf := frames[StorageFrameName]; (sf != nil) != tc.storageFrame {
				t.Errorf("storage frame %v, want one: %v", sf, tc.storageFrame)
			} else if sf != nil {
				if _, hidden := sf["hidden"]; !hidden || sf["src"] != p.URL()+PathStorage || sf["id"] != "storage-frame" {
					t.Errorf("storage frame %v", sf)
				}
			}
			if ff := frames[ForgerFrameName]; (ff != nil) != tc.forger {
				t.Errorf("forger frame %v, want one: %v", ff, tc.forger)
			} else if ff != nil && ff["src"] != forger {
				t.Errorf("forger frame src %q", ff["src"])
			}
			if n := len(frames); n != 1+map[bool]int{true: 1}[tc.storageFrame]+map[bool]int{true: 1}[tc.forger] {
				t.Errorf("%d iframes: %v", n, frames)
			}
			csp := pg.header.Get("Content-Security-Policy")
			for _, o := range append([]string{"'self'", p.URL(), toolOrigin, "style-src 'nonce-" + nonce + "'"}, tc.frameSrc...) {
				if !strings.Contains(csp, o) {
					t.Errorf("Content-Security-Policy %q lacks %s", csp, o)
				}
			}
		})
	}
}

func TestStoragePageErrors(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	noTool, err := NewPlatform(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer noTool.Close()
	tests := []struct {
		name, method, url string
		status            int
	}{
		{"bad storage", http.MethodGet, p.URL() + PathFrame + "?storage=cookies", http.StatusBadRequest},
		{"javascript forger", http.MethodGet, p.URL() + PathFrame + "?forger=javascript:alert(1)", http.StatusBadRequest},
		{"relative forger", http.MethodGet, p.URL() + PathFrame + "?forger=/x", http.StatusBadRequest},
		{"POST frame", http.MethodPost, p.URL() + PathFrame, http.StatusMethodNotAllowed},
		{"POST storage", http.MethodPost, p.URL() + PathStorage, http.StatusMethodNotAllowed},
		{"no tool", http.MethodGet, noTool.URL() + PathFrame, http.StatusNotFound},
		{"storage without a tool", http.MethodGet, noTool.URL() + PathStorage, http.StatusOK},
		{"HEAD frame", http.MethodHead, p.URL() + PathFrame, http.StatusOK},
		{"bad storage_target_at_launch", http.MethodGet, p.URL() + PathLaunch + "?storage_target=_parent&storage_target_at_launch=no", http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if pg := getPage(t, tc.method, tc.url); pg.status != tc.status {
				t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.url, pg.status, tc.status, pg.body)
			}
		})
	}
}

func TestForgerPage(t *testing.T) {
	srv := httpTestServer(t, ForgerHandler())
	pg := getPage(t, http.MethodGet, srv)
	if pg.status != http.StatusOK {
		t.Fatalf("%d %s", pg.status, pg.body)
	}
	checkScriptedPage(t, pg)
	for _, s := range []string{ForgedValue, `"lti.get_data.response"`, `"lti.put_data.response"`, `"lti.capabilities.response"`,
		`window.parent.frames[TOOL_FRAME]`, `TOOL_FRAME = "tool"`, `FORGER_FRAME = "forger"`, `}, 50);`, `>= 10000`} {
		if !strings.Contains(pg.body, s) {
			t.Errorf("the forger page lacks %s", s)
		}
	}
	if pg := getPage(t, http.MethodPost, srv); pg.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", pg.status)
	}
}

// TestStorageTargetInLaunch checks lti_storage_target in the login
// initiation and in the auth endpoint's form post, for launch options.
func TestStorageTargetInLaunch(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	tests := []struct {
		name              string
		opts              []LaunchOption
		wantLogin, wantAt string // "" for none
	}{
		{"none", nil, "", ""},
		{"_parent", []LaunchOption{WithStorageTarget(StorageTargetParent)}, "_parent", "_parent"},
		{"frame", []LaunchOption{WithStorageTarget(StorageFrameName)}, "lti_storage", "lti_storage"},
		{"Blackboard", []LaunchOption{WithStorageTarget(StorageFrameName), WithoutStorageTargetAtLaunch()}, "lti_storage", ""},
		{"empty", []LaunchOption{WithStorageTarget("")}, "", ""},
		{"changed at login", []LaunchOption{WithStorageTarget("a"), WithLoginParams(func(v url.Values) { v.Set("lti_storage_target", "b") })}, "b", "b"},
		{"deleted at login", []LaunchOption{WithStorageTarget("a"), WithLoginParams(func(v url.Values) { v.Del("lti_storage_target") })}, "", ""},
		{"platform error", []LaunchOption{WithStorageTarget("_parent"), WithPlatformError("access_denied", "no")}, "_parent", "_parent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			browser := NewBrowser()
			ar, err := p.Authorize(t.Context(), browser, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := ar.Login["lti_storage_target"]; (tc.wantLogin == "") == ok || (ok && (len(got) != 1 || got[0] != tc.wantLogin)) {
				t.Errorf("login lti_storage_target %q, want %q", got, tc.wantLogin)
			}
			if got, ok := ar.Form["lti_storage_target"]; (tc.wantAt == "") == ok || (ok && (len(got) != 1 || got[0] != tc.wantAt)) {
				t.Errorf("form post lti_storage_target %q, want %q", got, tc.wantAt)
			}
			if want := 3; tc.wantAt != "" && ar.IDToken != "" && len(ar.Form) != want {
				t.Errorf("form post %v has %d fields, want %d", ar.Form, len(ar.Form), want)
			}
			// The test tool ignores the extra field.
			resp, err := p.Post(t.Context(), browser, ar)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if ar.IDToken != "" && resp.StatusCode != http.StatusOK {
				t.Errorf("the launch: %s", resp.Status)
			}
		})
	}
}

// TestStorageTargetQuery runs browser launches from /launch's query
// parameters, as the framed launch page's iframe does: the login form and
// the auth endpoint's form post.
func TestStorageTargetQuery(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	tests := []struct {
		query             string
		wantLogin, wantAt string
	}{
		{"role=learner", "", ""},
		{"storage_target=_parent", "_parent", "_parent"},
		{"storage_target=lti_storage&storage_target_at_launch=1", "lti_storage", "lti_storage"},
		{"storage_target=lti_storage&storage_target_at_launch=0", "lti_storage", ""},
		{"storage_target=lti_storage&login_method=get", "lti_storage", "lti_storage"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			browser := noFollow(&http.Client{Jar: jar})
			resp, err := browser.Get(p.URL() + PathLaunch + "?" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var login url.Values
			var req *http.Request
			if loc := resp.Header.Get("Location"); loc != "" {
				u, _ := url.Parse(loc)
				login = u.Query()
				req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, loc, nil)
			} else {
				f, ok := parseForm(body, resp.Request.URL)
				if !ok {
					t.Fatalf("no login form: %s", body)
				}
				login = f.values
				if tc.wantLogin != "" && !strings.Contains(string(body), `<input type="hidden" name="lti_storage_target" value="`+tc.wantLogin+`">`) {
					t.Errorf("the login form has no lti_storage_target field:\n%s", body)
				}
				req, _ = p.formRequest(t.Context(), http.MethodPost, f.action.String(), f.values)
			}
			if got := login.Get("lti_storage_target"); got != tc.wantLogin {
				t.Errorf("login lti_storage_target %q, want %q", got, tc.wantLogin)
			}
			// The tool redirects to the auth endpoint, which answers the
			// form post to the tool.
			resp, err = browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			auth, err := browser.Get(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(auth.Body)
			auth.Body.Close()
			f, ok := parseForm(body, auth.Request.URL)
			if auth.StatusCode != http.StatusOK || !ok || f.values.Get("id_token") == "" {
				t.Fatalf("auth endpoint: %d %s", auth.StatusCode, body)
			}
			if got, ok := f.values["lti_storage_target"]; (tc.wantAt == "") == ok || (ok && got[0] != tc.wantAt) {
				t.Errorf("form post lti_storage_target %q, want %q", got, tc.wantAt)
			}
		})
	}
}

func TestIndexLinksFramedLaunches(t *testing.T) {
	_, p := newToolAndPlatform(t, Config{})
	pg := getPage(t, http.MethodGet, p.URL()+"/")
	for _, s := range []string{"parent", "frame", "off"} {
		if want := `href="` + p.URL() + PathFrame + `?role=instructor&amp;storage=` + s + `"`; !strings.Contains(pg.body, want) {
			t.Errorf("the index page has no link %s:\n%s", want, pg.body)
		}
	}
}

// httpTestServer serves h on a test server closed with the test and
// returns its URL.
func httpTestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
