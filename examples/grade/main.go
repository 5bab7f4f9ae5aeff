// Command grade is an LTI 1.3 tool that sends a grade back to the LMS: a
// learner launches a two-question quiz, submits it, and the tool posts the
// score to the LMS gradebook with the Assignment and Grade Services (AGS
// 2.0). It shows the three pieces a tool needs after the launch:
//
//   - a launch session (package session), so the quiz's form post still
//     knows the launch and the user, even in an iframe without cookies;
//   - the tool's own signing key (package toolkey), published at its JWKS
//     URL, which the LMS verifies the tool's token requests with;
//   - an access token (services/token) and the AGS client (services/ags).
//
// Register these URLs in the LMS (replace the base URL with yours), and
// enable the grade service (Moodle: "IMS LTI Assignment and Grade
// Services"; Canvas: the AGS scopes of the developer key):
//
//	OIDC login (initiate login) URL   https://tool.example.com/lti/login
//	Redirect (launch) URI             https://tool.example.com/lti/launch
//	Target link URI                   https://tool.example.com/lti/launch
//	Public keyset (JWKS) URL          https://tool.example.com/.well-known/jwks.json
//
// Run it with the values the LMS shows, the token URL included:
//
//	go run ./examples/grade -base-url https://tool.example.com \
//		-issuer https://lms.example.com -client-id 1234 \
//		-auth-url https://lms.example.com/auth -jwks-url https://lms.example.com/jwks \
//		-token-url https://lms.example.com/token -deployment-id 1
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/services/ags"
	"github.com/ltikit/ltikit/services/token"
	"github.com/ltikit/ltikit/session"
	"github.com/ltikit/ltikit/toolkey"
)

// config is what the tool needs to start.
type config struct {
	// BaseURL is the tool's public URL, as the browser sees it.
	BaseURL string
	// Platform is the registration the LMS gave the tool. Its
	// TokenEndpoint is required: AGS calls need an access token.
	Platform registration.Registration
	// DeploymentID is the deployment_id of the tool's install in the LMS.
	DeploymentID string
}

// pathJWKS is where the tool publishes its public keys.
const pathJWKS = "/.well-known/jwks.json"

// quiz is the activity. The tool grades it itself: a score is computed on
// the server, never taken from the browser.
var quiz = []struct{ Question, Answer string }{
	{"What is 6 × 7?", "42"},
	{"How many sides does a hexagon have?", "6"},
}

// app holds what the handlers share.
type app struct {
	tokens *token.Client
}

// newServer returns the tool's handler.
func newServer(cfg config) (http.Handler, error) {
	if err := cfg.Platform.Validate(); err != nil {
		return nil, err
	}
	if cfg.Platform.TokenEndpoint == "" || cfg.DeploymentID == "" {
		return nil, errors.New("the token URL and the deployment id are required")
	}
	// One memory store for registrations, login states and launch
	// sessions. For production, or several instances, use adapters/gorm,
	// which implements the same interfaces (see examples/echogorm).
	store := memory.New()
	if err := store.AddRegistration(cfg.Platform); err != nil {
		return nil, err
	}
	if err := store.AddDeployment(cfg.Platform.Key(), deployment.Deployment{DeploymentID: cfg.DeploymentID}); err != nil {
		return nil, err
	}
	tool, err := launch.New(launch.Config{Storage: store, BaseURL: cfg.BaseURL})
	if err != nil {
		return nil, err
	}
	sessions, err := session.New(session.Config{Store: store, Tool: tool, BaseURL: cfg.BaseURL})
	if err != nil {
		return nil, err
	}
	// The tool's signing key. A memory store makes a new key at every
	// start, which an LMS that cached the old key set may refuse for a
	// while; for production keep the key in a database shared by every
	// instance (gormadapter.ToolKeyStore).
	keyStore, err := toolkey.NewMemoryStore(toolkey.StoreOptions{})
	if err != nil {
		return nil, err
	}
	keyring, err := toolkey.NewKeyring(keyStore)
	if err != nil {
		return nil, err
	}
	// The token client signs its client assertions with the keyring, and
	// caches each access token until shortly before it expires.
	tokens, err := token.New(token.Config{Signer: keyring})
	if err != nil {
		return nil, err
	}
	a := &app{tokens: tokens}

	mux := http.NewServeMux()
	mux.Handle("/lti/login", tool.LoginHandler())
	// A valid launch starts a session, then shows the quiz.
	mux.Handle("POST /lti/launch", tool.LaunchHandler(sessions.Start(http.HandlerFunc(a.showQuiz))))
	// The quiz's answers come back here. Require finds the session (the
	// form's hidden fields or the cookie), checks its CSRF token, and puts
	// the launch back in the request context.
	mux.Handle("POST /grade", sessions.Require(http.HandlerFunc(a.grade)))
	mux.Handle("GET "+pathJWKS, keyring)
	return mux, nil
}

var quizPage = template.Must(template.New("quiz").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Quiz</title></head><body>
<h1>Quiz for {{with .Launch.Claims.Name}}{{.}}{{else}}you{{end}}</h1>
{{if .CanGrade}}<form method="post" action="/grade">
{{.Session.FormFields}}
{{range $i, $q := .Quiz}}<p><label>{{$q.Question}} <input name="q{{$i}}"></label></p>
{{end}}<button>Submit</button>
</form>{{else}}<p>This launch carries no grade service (or no user), so nothing can be graded.
Enable Assignment and Grade Services for the tool in the LMS.</p>{{end}}
</body></html>
`))

// showQuiz runs after a valid launch, inside the session Start created.
func (a *app) showQuiz(w http.ResponseWriter, r *http.Request) {
	s, _ := session.FromContext(r.Context())
	l := s.Launch()
	// The AGS claim says what the tool may do and where scores go: the
	// line item (gradebook column) of the launched link. A score needs the
	// score scope, that line item and a user to grade. (A tool whose links
	// come without a line item creates one, with the lineitem scope.)
	e := l.Claims.AGS
	canGrade := e != nil && slices.Contains(e.Scope, ags.ScopeScore) && e.LineItem != "" && !l.Anonymous()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := quizPage.Execute(w, map[string]any{"Session": s, "Launch": l, "Quiz": quiz, "CanGrade": canGrade}); err != nil {
		log.Printf("quiz page: %v", err)
	}
}

// grade scores the answers and posts the score to the LMS.
func (a *app) grade(w http.ResponseWriter, r *http.Request) {
	l, _ := launch.FromContext(r.Context())
	right := 0
	for i, q := range quiz {
		if strings.TrimSpace(r.PostFormValue(fmt.Sprintf("q%d", i))) == q.Answer {
			right++
		}
	}
	// The client for this launch's AGS claim: its line item (the
	// gradebook column of the resource link) and its scopes.
	grades, err := ags.FromLaunch(l, a.tokens, nil)
	if err == nil {
		err = grades.PostScore(r.Context(), "", ags.Score{
			UserID:           l.Subject(),
			ActivityProgress: ags.ActivityCompleted,
			GradingProgress:  ags.GradingFullyGraded,
		}.WithScore(float64(right), float64(len(quiz))))
	}
	if err != nil {
		// Every ltikit error has a stable code and a status; the error
		// text is for the log (it never holds a token).
		c := lti.Classify(err)
		log.Printf("grade: posting the score: %v", err)
		http.Error(w, "The score could not be sent to the LMS ("+string(c.Code)+").", c.Status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "You answered %d of %d questions right. Your score was sent to the gradebook.\n", right, len(quiz))
}

func main() {
	var cfg config
	addr := flag.String("addr", ":8080", "listen address")
	flag.StringVar(&cfg.BaseURL, "base-url", "http://localhost:8080", "the tool's public URL")
	flag.StringVar(&cfg.Platform.Issuer, "issuer", "", "the platform's issuer")
	flag.StringVar(&cfg.Platform.ClientID, "client-id", "", "the client_id the platform issued")
	flag.StringVar(&cfg.Platform.AuthEndpoint, "auth-url", "", "the platform's OIDC authorization endpoint")
	flag.StringVar(&cfg.Platform.KeySetURL, "jwks-url", "", "the platform's key set URL")
	flag.StringVar(&cfg.Platform.TokenEndpoint, "token-url", "", "the platform's OAuth 2 token endpoint")
	flag.StringVar(&cfg.DeploymentID, "deployment-id", "", "the deployment_id")
	flag.Parse()

	h, err := newServer(cfg)
	if err != nil {
		log.Fatalf("grade: %v (see -help)", err)
	}
	// In production, serve https (or sit behind a proxy that terminates
	// TLS) with -base-url set to the https URL.
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("grade: listening on %s, base URL %s", *addr, cfg.BaseURL)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
