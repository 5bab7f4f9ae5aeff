package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// updateConfig rewrites the golden files of the config command and the
// config blocks of docs/lms/*.md: go test -run 'Config|Guide' ./cmd/demo-tool/ -update-config
var updateConfig = flag.Bool("update-config", false, "rewrite testdata/config/* and the docs/lms guides' config blocks")

// guideBaseURL is the base URL of the config output in the guides and the
// golden files.
const guideBaseURL = "https://tool.example.com"

// runConfig runs demo-tool config with args and returns its exit code and
// output.
func runConfig(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), append([]string{"config"}, args...), func(k string) string { return env[k] }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// checkGolden compares got with testdata/config/name, or rewrites it with
// -update-config.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "config", name)
	if *updateConfig {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-config to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestConfigCommandGolden(t *testing.T) {
	t.Parallel()
	for _, id := range lmsIDs {
		t.Run(id, func(t *testing.T) {
			code, out, errOut := runConfig(t, nil, "--lms", id, "--base-url", guideBaseURL)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			checkGolden(t, id+".txt", out)

			code, out, errOut = runConfig(t, nil, "--lms", id, "--base-url", guideBaseURL+"/", "--json")
			if code != exitOK || errOut != "" {
				t.Fatalf("--json: exit %d: %s", code, errOut)
			}
			var c lmsConfig
			if err := json.Unmarshal([]byte(out), &c); err != nil {
				t.Fatalf("--json is not JSON: %v", err)
			}
			if c.ID != id || c.URLs.Login != guideBaseURL+pathLogin || len(c.Returns) < 6 || c.Command == "" {
				t.Errorf("--json: %+v", c)
			}
			checkGolden(t, id+".json", out)
		})
	}
}

func TestConfigCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		out  string // stdout contains
		err  string // stderr contains
	}{
		{name: "default: generic LMS, local base URL", out: "http://" + defaultAddr + pathLogin},
		{name: "generic", args: []string{"--lms", "generic"}, out: "Register ltikit demo-tool in any LTI 1.3 platform"},
		{name: "name in capitals", args: []string{"--lms", "Moodle"}, out: "Initiate login URL"},
		{name: "base URL from the environment", env: map[string]string{"LTIKIT_BASE_URL": "https://env.example.com/tool/"},
			args: []string{"--lms", "canvas"}, out: "https://env.example.com/tool" + pathCanvasJSON},
		{name: "flag wins over the environment", env: map[string]string{"LTIKIT_BASE_URL": "https://env.example.com"},
			args: []string{"--base-url", "https://flag.example.com"}, out: "https://flag.example.com" + pathLaunch},
		{name: "unknown LMS", args: []string{"--lms", "webct"}, code: exitUsage, err: `config: unknown --lms "webct"`},
		{name: "base URL not http(s)", args: []string{"--base-url", "ftp://tool.example.com"}, code: exitUsage,
			err: `--base-url "ftp://tool.example.com" must be an absolute http:// or https:// URL`},
		{name: "base URL with a query", args: []string{"--base-url", "https://tool.example.com/?x=1"}, code: exitUsage,
			err: "must not contain a query"},
		{name: "stray argument", args: []string{"moodle"}, code: exitUsage, err: `unexpected argument "moodle"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runConfig(t, tc.env, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			if !strings.Contains(out, tc.out) {
				t.Errorf("stdout does not contain %q:\n%s", tc.out, out)
			}
			if !strings.Contains(errOut, tc.err) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.err)
			}
		})
	}
}

// TestConfigPage checks the /config page of every LMS: each label and
// value of the config command appears, with the server's base URL.
func TestConfigPage(t *testing.T) {
	t.Parallel()
	a, srv := newTestApp(t)
	get := func(path string) response {
		resp, err := http.Get(srv.URL + path)
		return readResponse(t, resp, err)
	}
	for _, id := range append([]string{""}, lmsIDs...) {
		t.Run("lms="+id, func(t *testing.T) {
			r := get(pathConfig + "?lms=" + id)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" || r.header.Get("Content-Security-Policy") == "" {
				t.Errorf("Content-Type %q, CSP %q", ct, r.header.Get("Content-Security-Policy"))
			}
			want := id
			if want == "" {
				want = "generic"
			}
			c, _ := newLMSConfig(want, a.cfg.BaseURL)
			body := html.UnescapeString(string(r.body))
			must := []string{c.Name, c.Where, c.URLs.Login, c.URLs.Redirect, c.URLs.JWKS, c.URLs.Register, c.Command,
				"Dynamic Registration URL (if your LMS supports it)", configText(c)}
			for _, s := range c.Sections {
				for _, f := range s.Fields {
					must = append(must, f.Label, f.Value)
				}
			}
			for _, ret := range c.Returns {
				must = append(must, ret.Label, ret.Flag)
			}
			for _, s := range must {
				if !strings.Contains(body, s) {
					t.Errorf("the page does not show %q", s)
				}
			}
			for _, other := range lmsIDs {
				if other != want && !strings.Contains(body, `href="`+pathConfig+`?lms=`+other+`"`) {
					t.Errorf("no link to %s", other)
				}
			}
		})
	}
	r := get(pathConfig + "?lms=%3Cscript%3E")
	if r.status != http.StatusBadRequest || strings.Contains(string(r.body), "<script>") {
		t.Errorf("unknown LMS: status %d\n%s", r.status, r.body)
	}
}

// TestConfigURLsAreServed checks that every URL the config output and the
// Canvas JSON name is a route of the server: none answers 404 or 405.
func TestConfigURLsAreServed(t *testing.T) {
	t.Parallel()
	a, srv := newTestApp(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	served := func(t *testing.T, raw string) {
		t.Helper()
		if !strings.HasPrefix(raw, a.cfg.BaseURL+"/") {
			t.Errorf("%s is not below the base URL %s", raw, a.cfg.BaseURL)
			return
		}
		status := 0
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			req, _ := http.NewRequest(method, raw, nil)
			resp, err := noFollow.Do(req)
			r := readResponse(t, resp, err)
			if status = r.status; status != http.StatusMethodNotAllowed {
				break
			}
		}
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want a route of the server", raw, status)
		}
	}
	for _, id := range lmsIDs {
		c, _ := newLMSConfig(id, a.cfg.BaseURL)
		u := c.URLs
		if u.Register != srv.URL+pathRegister {
			t.Errorf("%s: registration URL %s", id, u.Register)
		}
		for _, raw := range []string{u.Login, u.Redirect, u.TargetLink, u.DeepLinking, u.JWKS, u.Register, u.CanvasJSON, srv.URL + pathConfig} {
			served(t, raw)
		}
		// Every URL a field shows is one of those.
		known := []string{u.Login, u.Redirect, u.JWKS, u.CanvasJSON, u.Base}
		for _, s := range c.Sections {
			for _, f := range s.Fields {
				for word := range strings.FieldsSeq(f.Value) {
					word = strings.TrimRight(word, ",")
					if strings.HasPrefix(word, srv.URL) && !slices.Contains(known, word) {
						t.Errorf("%s: %s: %s is not one of the tool's URLs", id, f.Label, word)
					}
				}
			}
		}
	}
	cj := newCanvasToolConfig(a.cfg.BaseURL)
	served(t, cj.OIDCInitiationURL)
	served(t, cj.TargetLinkURI)
	served(t, cj.PublicJWKURL)
	for _, p := range cj.Extensions[0].Settings.Placements {
		served(t, p.TargetLinkURI)
	}
}

// canvasPlacements are the placements Canvas's configuration schema
// accepts (lib/schemas/lti/tool_configuration.rb in canvas-lms).
var canvasPlacements = []string{"account_navigation", "similarity_detection", "assignment_edit", "assignment_group_menu",
	"assignment_index_menu", "assignment_menu", "assignment_selection", "assignment_view", "collaboration",
	"conference_selection", "course_assignments_menu", "course_home_sub_navigation", "course_navigation",
	"course_settings_sub_navigation", "discussion_topic_menu", "discussion_topic_index_menu", "editor_button",
	"file_menu", "file_index_menu", "global_navigation", "homework_submission", "link_selection",
	"migration_selection", "module_group_menu", "module_index_menu", "module_menu", "post_grades", "quiz_index_menu",
	"quiz_menu", "resource_selection", "submission_type_selection", "student_context_card", "tool_configuration",
	"user_navigation", "wiki_index_menu", "wiki_page_menu"}

// TestCanvasJSON checks the configuration JSON the server serves against
// what Canvas requires of it: title, description, oidc_initiation_url,
// target_link_uri, a public key, the Canvas extension with its settings
// and placements, a privacy level and scopes Canvas knows.
func TestCanvasJSON(t *testing.T) {
	t.Parallel()
	a, srv := newTestApp(t)
	resp, err := http.Get(srv.URL + pathCanvasJSON)
	r := readResponse(t, resp, err)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, Content-Type %q", r.status, r.header.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.body)
	}
	u := newToolURLs(a.cfg.BaseURL)
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	for _, k := range []string{"title", "description"} {
		if str(doc, k) == "" {
			t.Errorf("%s is missing", k)
		}
	}
	if str(doc, "oidc_initiation_url") != u.Login || str(doc, "target_link_uri") != u.TargetLink || str(doc, "public_jwk_url") != u.JWKS {
		t.Errorf("URLs: %s %s %s", doc["oidc_initiation_url"], doc["target_link_uri"], doc["public_jwk_url"])
	}
	scopes, _ := doc["scopes"].([]any)
	if len(scopes) != len(toolScopes) {
		t.Errorf("scopes %v", scopes)
	}
	for _, s := range scopes {
		if !slices.Contains(toolScopes, s.(string)) {
			t.Errorf("scope %v is not one Canvas grants", s)
		}
	}
	if _, ok := doc["custom_fields"].(map[string]any); !ok {
		t.Errorf("custom_fields %v", doc["custom_fields"])
	}
	exts, _ := doc["extensions"].([]any)
	if len(exts) != 1 {
		t.Fatalf("extensions %v", doc["extensions"])
	}
	ext := exts[0].(map[string]any)
	if str(ext, "platform") != "canvas.instructure.com" || str(ext, "domain") != u.Host ||
		!slices.Contains([]string{"public", "email_only", "name_only", "anonymous"}, str(ext, "privacy_level")) {
		t.Errorf("extension %v", ext)
	}
	settings, _ := ext["settings"].(map[string]any)
	placements, _ := settings["placements"].([]any)
	got := map[string]string{}
	for _, p := range placements {
		pm := p.(map[string]any)
		name := str(pm, "placement")
		if !slices.Contains(canvasPlacements, name) {
			t.Errorf("placement %q is not one Canvas knows", name)
		}
		if str(pm, "target_link_uri") != u.TargetLink {
			t.Errorf("%s: target_link_uri %v", name, pm["target_link_uri"])
		}
		got[name] = str(pm, "message_type")
	}
	want := map[string]string{"course_navigation": "LtiResourceLinkRequest", "link_selection": "LtiDeepLinkingRequest",
		"assignment_selection": "LtiDeepLinkingRequest"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("placements (-want +got):\n%s", diff)
	}
}

// guideBlock finds the config output embedded in a guide: the fenced
// block that starts with the command line, as "$ demo-tool config …". It
// returns the output and its offsets in the guide.
func guideBlock(guide, cmdline string) (out string, start, end int, ok bool) {
	open := "```console\n$ " + cmdline + "\n"
	i := strings.Index(guide, open)
	if i < 0 {
		return "", 0, 0, false
	}
	start = i + len(open)
	j := strings.Index(guide[start:], "```\n")
	if j < 0 {
		return "", 0, 0, false
	}
	end = start + j
	return guide[start:end], start, end, true
}

// TestGuidesMatchConfig checks that every docs/lms guide embeds exactly
// what 'demo-tool config --lms <name> --base-url https://tool.example.com'
// prints, so a guide never disagrees with the command.
func TestGuidesMatchConfig(t *testing.T) {
	t.Parallel()
	for _, id := range lmsIDs {
		t.Run(id, func(t *testing.T) {
			path := filepath.Join("..", "..", "docs", "lms", id+".md")
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cmdline := "demo-tool config --lms " + id + " --base-url " + guideBaseURL
			block, start, end, ok := guideBlock(string(raw), cmdline)
			if !ok {
				t.Fatalf("%s has no block starting with \"```console\\n$ %s\"", path, cmdline)
			}
			code, out, errOut := runConfig(t, nil, "--lms", id, "--base-url", guideBaseURL)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if *updateConfig {
				updated := string(raw[:start]) + out + string(raw[end:])
				if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(out, block); diff != "" {
				t.Errorf("%s disagrees with '%s' (-command +guide); run with -update-config:\n%s", path, cmdline, diff)
			}
		})
	}
}

// shellWords splits a command line as a POSIX shell would for the subset
// the config output uses: words separated by blanks, single quotes,
// backslash-newline continuations.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quoted && ch == '\'':
			quoted = false
		case quoted:
			cur.WriteByte(ch)
		case ch == '\'':
			quoted, inWord = true, true
		case ch == '\\' && i+1 < len(line) && line[i+1] == '\n':
			i++
		case ch == ' ' || ch == '\n' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestConfigPlatformAddCommandRuns runs the platform add command line each
// LMS's config prints, its placeholders filled in, against a database: the
// flags it names are the command's.
func TestConfigPlatformAddCommandRuns(t *testing.T) {
	t.Parallel()
	fill := map[string]string{"--client-id": "client-1", "--deployment-id": "deployment-1"}
	for _, id := range lmsIDs {
		t.Run(id, func(t *testing.T) {
			c, _ := newLMSConfig(id, guideBaseURL)
			args := shellWords(c.Command)
			if len(args) < 3 || !slices.Equal(args[:3], []string{"demo-tool", "platform", "add"}) {
				t.Fatalf("command %q", c.Command)
			}
			args = args[1:]
			for j := 3; j < len(args); j++ {
				v := args[j]
				if !strings.Contains(v, "<") {
					continue
				}
				switch f, ok := fill[args[j-1]]; {
				case ok:
					v = f
				case strings.HasPrefix(v, "https://"):
					v = strings.NewReplacer("<", "", ">", "", " ", "-").Replace(v)
				default:
					v = "https://lms.example.edu/" + strings.TrimPrefix(args[j-1], "--")
				}
				args[j] = v
			}
			db := filepath.Join(t.TempDir(), "config.db")
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), append(args, "--db", db), func(string) string { return "" }, &stdout, &stderr)
			if code != exitOK {
				t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
			}
		})
	}
}
