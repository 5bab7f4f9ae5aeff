package launch_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// secrets are the values of one case that must never reach the log.
type secrets []string

func (s *secrets) add(vals ...string) {
	for _, v := range vals {
		if len(v) >= 8 {
			*s = append(*s, v)
		}
	}
}

// addAuth records what the platform's auth response and the browser hold:
// the state, the nonce, the id_token and its signature, the state cookie,
// the login hints.
func (s *secrets) addAuth(t *testing.T, e *env, b *http.Client, ar *ltitest.AuthResponse) {
	t.Helper()
	s.add(ar.State, ar.IDToken, ar.Login.Get("login_hint"), ar.Login.Get("lti_message_hint"))
	if parts := strings.Split(ar.IDToken, "."); len(parts) == 3 {
		s.add(parts[2])
	}
	if m := regexp.MustCompile(`ltitest\d+_[0-9a-f]+`).FindString(ar.Login.Get("lti_message_hint")); m != "" {
		s.add(m)
	}
	c, err := ar.Claims()
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := c["nonce"].(string); n != "" {
		s.add(n)
	}
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range b.Jar.Cookies(u) {
		s.add(ck.Value)
	}
}

// resign replaces the token's header and signs it again with the
// platform's active key.
func resign(t *testing.T, e *env, tok, header string) string {
	t.Helper()
	priv, ok := e.platform.PrivateKey(e.platform.ActiveKID())
	if !ok {
		t.Fatal("no active key")
	}
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + strings.Split(tok, ".")[1]
	signer, err := jws.NewSigner(jwa.RS256)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.Sign([]byte(input), priv)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// launchWith runs a launch with opts, token changed by mutate (when not
// nil), recording the secrets.
func launchWith(t *testing.T, e *env, s *secrets, mutate func(tok string) string, opts ...ltitest.LaunchOption) outcome {
	t.Helper()
	b, ar := e.authorize(opts...)
	s.addAuth(t, e, b, ar)
	if mutate != nil {
		ar.IDToken = mutate(ar.IDToken)
		ar.Form.Set("id_token", ar.IDToken)
		s.add(ar.IDToken, strings.Split(ar.IDToken, ".")[2])
	}
	return e.post(b, ar)
}

// loginWith sends a login initiation changed by f, with hints that must
// not be logged.
func loginWith(e *env, s *secrets, f func(v url.Values)) outcome {
	v := e.loginParams()
	v.Set("login_hint", "login-hint-7f3a9c2e1b")
	v.Set("lti_message_hint", `{"launch":"message-hint-5d8e0a4c"}`)
	s.add("login-hint-7f3a9c2e1b", "message-hint-5d8e0a4c")
	f(v)
	return e.login(http.MethodPost, v)
}

// any matches any present value.
const anyValue = "\x00any"

func TestRefusalLogs(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name  string
		do    func(t *testing.T, e *env, s *secrets) outcome
		login bool
		code  lti.Code
		want  map[string]any // attribute → value, or anyValue
	}{
		{
			name: "login unknown registration", login: true, code: lti.CodeUnknownRegistration,
			do: func(t *testing.T, e *env, s *secrets) outcome {
				return loginWith(e, s, func(v url.Values) { v.Set("iss", "https://lms.example/typo") })
			},
			want: map[string]any{"stage": "registration", "iss": "https://lms.example/typo", "client_id": anyValue, "target_link_uri": anyValue, "target_hosts": anyValue},
		},
		{
			name: "login wrong target host", login: true, code: lti.CodeInvalidRequest,
			do: func(t *testing.T, e *env, s *secrets) outcome {
				return loginWith(e, s, func(v url.Values) { v.Set("target_link_uri", "https://elsewhere.example/app") })
			},
			want: map[string]any{"stage": "target_link_uri", "target_link_uri": "https://elsewhere.example/app", "target_hosts": anyValue, "iss": anyValue},
		},
		{
			name: "login repeated parameter", login: true, code: lti.CodeInvalidRequest,
			do: func(t *testing.T, e *env, s *secrets) outcome {
				return loginWith(e, s, func(v url.Values) { v.Add("client_id", "again") })
			},
			want: map[string]any{"stage": "request", "iss": anyValue, "client_id": anyValue},
		},
		{
			name: "launch unknown deployment", code: lti.CodeUnknownDeployment,
			do: func(t *testing.T, e *env, s *secrets) outcome {
				return launchWith(t, e, s, nil, ltitest.WithDeploymentID("deployment-typo"))
			},
			want: map[string]any{"stage": "deployment", "deployment_id": "deployment-typo", "registration": anyValue,
				"iss": anyValue, "client_id": anyValue, "aud": anyValue, "message_type": lti.MessageResourceLink,
				"kid": anyValue, "alg": "RS256", "key_set_url": anyValue, "target_link_uri": anyValue, "now": anyValue, "exp": anyValue},
		},
		{
			name: "launch unknown kid", code: lti.CodeInvalidSignature,
			do: func(t *testing.T, e *env, s *secrets) outcome {
				return launchWith(t, e, s, func(tok string) string {
					return resign(t, e, tok, `{"alg":"RS256","typ":"JWT","kid":"kid-typo"}`)
				})
			},
			want: map[string]any{"stage": "signature", "kid": "kid-typo", "alg": "RS256", "key_set_url": anyValue,
				"iss": anyValue, "deployment_id": ltitest.DefaultDeploymentID, "registration": anyValue},
		},
		{
			name: "launch bad signature", code: lti.CodeInvalidSignature,
			do: func(t *testing.T, e *env, s *secrets) outcome {
				return launchWith(t, e, s, flipLastSigByte)
			},
			want: map[string]any{"stage": "signature", "kid": anyValue, "alg": "RS256"},
		},
		{
			name: "launch expired token", code: lti.CodeTokenExpired,
			do: func(t *testing.T, e *env, s *secrets) outcome {
				return launchWith(t, e, s, nil, ltitest.WithClaim("exp", now.Add(-time.Hour).Unix()),
					ltitest.WithClaim("iat", now.Add(-2*time.Hour).Unix()))
			},
			want: map[string]any{"stage": "claims", "now": anyValue,
				"exp": now.Add(-time.Hour).UTC().Format(time.RFC3339), "exp_in": anyValue,
				"iat": now.Add(-2 * time.Hour).UTC().Format(time.RFC3339), "iat_age": anyValue},
		},
		{
			name: "launch wrong aud", code: lti.CodeInvalidClaims,
			do: func(t *testing.T, e *env, s *secrets) outcome {
				return launchWith(t, e, s, nil, ltitest.WithClaim("aud", []string{"other-tool", "third"}), ltitest.WithClaim("azp", "other-tool"))
			},
			want: map[string]any{"stage": "claims", "aud": "other-tool,third", "azp": "other-tool", "client_id": anyValue},
		},
		{
			name: "launch target_link_uri differs", code: lti.CodeInvalidClaims,
			do: func(t *testing.T, e *env, s *secrets) outcome {
				return launchWith(t, e, s, nil, ltitest.WithClaim(lti.ClaimTargetLinkURI, e.srv.URL+"/other"))
			},
			want: map[string]any{"stage": "claims", "login_target_link_uri": anyValue, "target_hosts": anyValue},
		},
		{
			name: "launch registration removed", code: lti.CodeUnknownRegistration,
			do: func(t *testing.T, e *env, s *secrets) outcome {
				b, ar := e.authorize()
				s.addAuth(t, e, b, ar)
				if err := e.store.DeleteRegistration(context.Background(), e.platform.Registration().Key()); err != nil {
					t.Fatal(err)
				}
				return e.post(b, ar)
			},
			want: map[string]any{"stage": "registration", "iss": anyValue, "client_id": anyValue, "kid": anyValue},
		},
		{
			name: "launch key set answers 500", code: lti.CodeKeysetUnavailable,
			do: func(t *testing.T, e *env, s *secrets) outcome {
				down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Error(w, "down", http.StatusInternalServerError)
				}))
				t.Cleanup(down.Close)
				reg := e.platform.Registration()
				reg.KeySetURL = down.URL + "/?lti-platform&jwks"
				ctx := context.Background()
				if err := e.store.DeleteRegistration(ctx, reg.Key()); err != nil {
					t.Fatal(err)
				}
				if err := e.store.CreateRegistration(ctx, reg, ltitest.DefaultDeploymentID); err != nil {
					t.Fatal(err)
				}
				return launchWith(t, e, s, nil)
			},
			want: map[string]any{"stage": "signature", "key_set_status": float64(500), "kid": anyValue},
		},
		{
			name: "launch hostile kid", code: lti.CodeInvalidSignature,
			do: func(t *testing.T, e *env, s *secrets) outcome {
				return launchWith(t, e, s, func(tok string) string {
					return resign(t, e, tok, `{"alg":"RS256","kid":"a\u001b[2J\nb`+strings.Repeat("k", 1000)+`"}`)
				})
			},
			want: map[string]any{"stage": "signature", "kid": anyValue},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf syncBuffer
			e := newEnv(t, envOpts{toolOpts: []launch.Option{launch.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil)))}})
			var s secrets
			o := tc.do(t, e, &s)
			if o.code != string(tc.code) {
				t.Fatalf("got %d %s, want %s", o.status, o.code, tc.code)
			}
			out := buf.String()
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1:\n%s", len(lines), out)
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
				t.Fatal(err)
			}
			wantMsg := "lti launch refused"
			if tc.login {
				wantMsg = "lti login refused"
			}
			if rec["msg"] != wantMsg || rec["level"] != "INFO" || rec["code"] != string(tc.code) || rec["error"] == nil {
				t.Errorf("record %v: want msg %q, level INFO, code %s and error", rec, wantMsg, tc.code)
			}
			for k, v := range tc.want {
				got, ok := rec[k]
				switch {
				case !ok || got == "":
					t.Errorf("attribute %s missing", k)
				case v != anyValue && got != v:
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
			for k, v := range rec {
				if str, ok := v.(string); ok && k != "error" && (len(str) > 260 || strings.ContainsFunc(str, func(r rune) bool { return r < 0x20 || r == 0x7f })) {
					t.Errorf("attribute %s is not bounded and clean: %q", k, str)
				}
			}
			if len(s) == 0 {
				t.Fatal("no secrets recorded")
			}
			for _, secret := range s {
				for _, form := range []string{secret, url.QueryEscape(secret), jsonString(secret)} {
					if strings.Contains(out, form) {
						t.Errorf("the log holds a secret value %.40q", secret)
					}
				}
			}
			t.Log(out)
		})
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

// Without WithLogger, refusals go to slog.Default(); a discarding logger
// silences them.
func TestRefusalLogDefault(t *testing.T) {
	var buf syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	e := newEnv(t, envOpts{})
	if o := e.launch(ltitest.WithDeploymentID("nope")); o.code != cDep {
		t.Fatalf("got %s", o.code)
	}
	if !strings.Contains(buf.String(), `"msg":"lti launch refused"`) || !strings.Contains(buf.String(), `"deployment_id":"nope"`) {
		t.Fatalf("default logger got %q", buf.String())
	}

	quiet := newEnv(t, envOpts{toolOpts: []launch.Option{launch.WithLogger(slog.New(slog.DiscardHandler))}})
	before := buf.String()
	if o := quiet.launch(ltitest.WithDeploymentID("nope")); o.code != cDep {
		t.Fatalf("got %s", o.code)
	}
	if buf.String() != before {
		t.Fatalf("a discarding logger still logged: %q", strings.TrimPrefix(buf.String(), before))
	}
}
