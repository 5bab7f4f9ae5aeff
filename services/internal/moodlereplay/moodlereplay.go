package moodlereplay

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
)

// Origin is the origin of the recorded Moodle; the server rewrites it to
// its own everywhere.
const Origin = "http://127.0.0.1:8080"

// Call is one recorded exchange.
type Call struct {
	Method string          `json:"method"`
	URL    string          `json:"url"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// Request is a request the server received.
type Request struct {
	Method, URI                        string
	Accept, ContentType, Authorization string
	Body                               []byte
}

// Server replays the calls.
type Server struct {
	*httptest.Server
	calls []Call
	token string

	mu   sync.Mutex
	reqs []Request
}

// Start serves the calls of file (the project's copy of
// ags_nrps_calls.json) on a new test server, closed when the test ends.
// A request that matches no recorded call (method, path and query exactly)
// is answered 404; a service call without the recorded access token 401.
func Start(tb testing.TB, file string) *Server {
	tb.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	if err := json.Unmarshal([]byte(s.Rewrite(string(raw))), &s.calls); err != nil {
		tb.Fatal(err)
	}
	for _, c := range s.calls {
		if strings.HasSuffix(c.URL, "/token.php") {
			var t struct {
				AccessToken string `json:"access_token"`
			}
			_ = json.Unmarshal(c.Body, &t)
			s.token = t.AccessToken
		}
	}
	return s
}

// Rewrite replaces the recorded origin with the server's.
func (s *Server) Rewrite(text string) string { return strings.ReplaceAll(text, Origin, s.URL) }

// Unrewrite replaces the server's origin with the recorded one, so golden
// files do not depend on the test server's port.
func (s *Server) Unrewrite(text string) string { return strings.ReplaceAll(text, s.URL, Origin) }

// Calls returns the recorded calls, rewritten to the server's origin.
func (s *Server) Calls() []Call { return s.calls }

// AccessToken returns the access token of the recorded token answer.
func (s *Server) AccessToken() string { return s.token }

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Registration returns Moodle's registration, on the server's origin.
func (s *Server) Registration() registration.Registration {
	return registration.Registration{
		Issuer:        s.URL,
		ClientID:      "vipJ1zTUp7MTlNF",
		AuthEndpoint:  s.URL + "/mod/lti/auth.php",
		TokenEndpoint: s.URL + "/mod/lti/token.php",
		KeySetURL:     s.URL + "/mod/lti/certs.php",
	}
}

// Claims decodes the claims of a recorded id_token file (its "claims"
// member), rewritten to the server's origin.
func (s *Server) Claims(tb testing.TB, file string) *lti.Claims {
	tb.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	var f struct {
		Claims json.RawMessage `json:"claims"`
	}
	if err := json.Unmarshal([]byte(s.Rewrite(string(raw))), &f); err != nil {
		tb.Fatal(err)
	}
	c, err := lti.DecodeClaims(f.Claims)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{
		Method: r.Method, URI: r.URL.RequestURI(),
		Accept: r.Header.Get("Accept"), ContentType: r.Header.Get("Content-Type"),
		Authorization: r.Header.Get("Authorization"), Body: body,
	})
	s.mu.Unlock()
	for _, c := range s.calls {
		if c.Method != r.Method || c.URL != s.URL+r.URL.RequestURI() {
			continue
		}
		if !strings.HasSuffix(r.URL.Path, "/token.php") && r.Header.Get("Authorization") != "Bearer "+s.token {
			http.Error(w, "bad bearer token", http.StatusUnauthorized)
			return
		}
		var empty string
		if json.Unmarshal(c.Body, &empty) == nil && empty == "" {
			w.WriteHeader(c.Status) // Moodle's empty answer
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(c.Status)
		_, _ = w.Write(c.Body)
		return
	}
	http.Error(w, "moodlereplay: no recorded call for "+r.Method+" "+r.URL.RequestURI(), http.StatusNotFound)
}
