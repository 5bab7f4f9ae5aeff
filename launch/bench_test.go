package launch_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/internal/cputime"
	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/nonce"
)

// benchSetup builds a tool on the memory adapter with the platform's key
// set already cached, and one valid id_token whose nonce is shared by n
// pre-stored login states (one per iteration: every iteration takes a
// state, exactly as a real launch does).
type benchSetup struct {
	tool     *launch.Tool
	platform *ltitest.Platform
	store    *memory.Store
	token    string
	nonce    string
	target   string
}

func newBenchSetup(b *testing.B) *benchSetup {
	b.Helper()
	const base = "https://tool.example"
	s := &benchSetup{store: memory.New(), target: base + "/app"}
	var err error
	s.platform, err = ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL: base + "/lti/login", ToolRedirectURIs: []string{base + "/lti/launch"}, TargetLinkURI: s.target,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.platform.Close)
	if err := s.store.AddRegistration(s.platform.Registration()); err != nil {
		b.Fatal(err)
	}
	if err := s.store.AddDeployment(s.platform.Registration().Key(), s.platform.Deployment()); err != nil {
		b.Fatal(err)
	}
	s.tool, err = launch.New(launch.Config{Storage: s.store, BaseURL: base, Keys: keys.NewCache()},
		launch.WithMaxTokenAge(0))
	if err != nil {
		b.Fatal(err)
	}
	s.nonce = nonce.NewValue()
	claims := s.platform.DefaultClaims(s.nonce)
	claims["exp"] = time.Now().Add(time.Hour).Unix()
	claims[lti.ClaimTargetLinkURI] = s.target
	if s.token, err = s.platform.MintIDToken(claims); err != nil {
		b.Fatal(err)
	}
	// Warm the key cache with one launch.
	s.storeStates(b, 1)
	if _, err := s.tool.ValidateLaunch(context.Background(), s.request(0)); err != nil {
		b.Fatal(err)
	}
	return s
}

func stateName(i int) string { return fmt.Sprintf("bench-state-%012d", i) }

// benchSecret is the browser secret of every benchmark login (43
// characters, as a minted one).
var benchSecret = strings.Repeat("s", 43)

func (s *benchSetup) storeStates(b *testing.B, n int) {
	reg := s.platform.Registration()
	for i := 0; i < n; i++ {
		l := nonce.Login{State: launch.StateKey(stateName(i), benchSecret), Nonce: s.nonce, Issuer: reg.Issuer, ClientID: reg.ClientID,
			TargetLinkURI: s.target, ExpiresAt: time.Now().Add(time.Hour)}
		l.Binding = l.Bind()
		if err := s.store.PutState(context.Background(), l); err != nil {
			b.Fatal(err)
		}
	}
}

func (s *benchSetup) request(i int) *http.Request {
	state := stateName(i)
	body := "id_token=" + s.token + "&state=" + state
	req := httptest.NewRequest(http.MethodPost, "https://tool.example/lti/launch", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: cookieName(state), Value: launch.StateCookieValue(benchSecret)})
	return req
}

// cookieName mirrors the pipeline's state cookie name (https: __Host-).
func cookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return "__Host-" + launch.DefaultCookiePrefix + fmt.Sprintf("%x", sum[:8])
}

// BenchmarkValidateLaunch is a full launch validation: form parse, state
// take, registration lookup, signature verification with cached keys,
// claim decoding and validation, deployment lookup.
func BenchmarkValidateLaunch(b *testing.B) {
	s := newBenchSetup(b)
	s.store = memory.New() // fresh store holding exactly b.N states
	_ = s.store.AddRegistration(s.platform.Registration())
	_ = s.store.AddDeployment(s.platform.Registration().Key(), s.platform.Deployment())
	tool, err := launch.New(launch.Config{Storage: s.store, BaseURL: "https://tool.example", Keys: keys.NewCache()}, launch.WithMaxTokenAge(0))
	if err != nil {
		b.Fatal(err)
	}
	s.storeStates(b, b.N+1)
	if _, err := tool.ValidateLaunch(context.Background(), s.request(b.N)); err != nil { // warm the key cache
		b.Fatal(err)
	}
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = s.request(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer cputime.PerOp(b)()
	for i := 0; i < b.N; i++ {
		if _, err := tool.ValidateLaunch(context.Background(), reqs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRSAVerify is the floor: the RSA-2048 PKCS#1 v1.5 verification of
// the same id_token with crypto/rsa, which no launch can avoid.
func BenchmarkRSAVerify(b *testing.B) {
	s := newBenchSetup(b)
	parts := strings.Split(s.token, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		b.Fatal(err)
	}
	key, ok := s.platform.PrivateKey(s.platform.ActiveKID())
	if !ok {
		b.Fatal("no platform key")
	}
	pub := &key.PublicKey
	input := []byte(parts[0] + "." + parts[1])
	b.ReportAllocs()
	b.ResetTimer()
	defer cputime.PerOp(b)()
	for i := 0; i < b.N; i++ {
		h := sha256.Sum256(input)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInitiateLogin is a login initiation: parse, registration lookup,
// state and nonce minting, one PutState, the redirect.
func BenchmarkInitiateLogin(b *testing.B) {
	s := newBenchSetup(b)
	h := s.tool.LoginHandler()
	q := url.Values{
		"iss": {s.platform.Issuer()}, "login_hint": {"user-1"}, "target_link_uri": {s.target},
		"lti_message_hint": {`{"cmid":1}`}, "client_id": {s.platform.ClientID()},
	}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	defer cputime.PerOp(b)()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://tool.example/lti/login?"+q, nil))
		if rec.Code != http.StatusFound {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
