// Command nethttp is a launch-only LTI 1.3 tool on plain net/http: the
// smallest complete tool to start from. It knows one platform registration
// and one deployment, given on the command line (or in the environment),
// keeps its login states in memory, and answers a launch with a page that
// shows who launched it and with which roles.
//
// Register these URLs in the LMS (replace the base URL with yours):
//
//	OIDC login (initiate login) URL   https://tool.example.com/lti/login
//	Redirect (launch) URI             https://tool.example.com/lti/launch
//	Target link URI                   https://tool.example.com/lti/launch
//
// A launch-only tool signs nothing, so it needs no key set of its own; an
// LMS that insists on a tool JWKS URL can be given any URL until the tool
// calls LTI Advantage services (see examples/grade).
//
// Run it with the values the LMS shows after you registered the tool:
//
//	go run ./examples/nethttp -base-url https://tool.example.com \
//		-issuer https://lms.example.com -client-id 1234 \
//		-auth-url https://lms.example.com/auth -jwks-url https://lms.example.com/jwks \
//		-deployment-id 1
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
	"strings"
	"time"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
)

// config is what the tool needs to start: where it is reachable, and the
// one platform it accepts launches from.
type config struct {
	// BaseURL is the tool's public URL, as the browser sees it. The
	// redirect URI (BaseURL + "/lti/launch") is derived from it, never
	// from a request's Host header.
	BaseURL string
	// Platform is the registration the LMS gave the tool: issuer,
	// client_id, authorization endpoint and key set URL.
	Platform registration.Registration
	// DeploymentID is the deployment_id of the tool's install in the LMS.
	DeploymentID string
}

// parseConfig reads the flags, each defaulting to an environment variable.
func parseConfig(args []string, getenv func(string) string) (addr string, cfg config, err error) {
	fs := flag.NewFlagSet("nethttp", flag.ContinueOnError)
	fs.StringVar(&addr, "addr", envOr(getenv, "ADDR", ":8080"), "listen address ($ADDR)")
	fs.StringVar(&cfg.BaseURL, "base-url", envOr(getenv, "BASE_URL", "http://localhost:8080"), "the tool's public URL ($BASE_URL)")
	fs.StringVar(&cfg.Platform.Issuer, "issuer", getenv("LTI_ISSUER"), "the platform's issuer ($LTI_ISSUER)")
	fs.StringVar(&cfg.Platform.ClientID, "client-id", getenv("LTI_CLIENT_ID"), "the client_id the platform issued ($LTI_CLIENT_ID)")
	fs.StringVar(&cfg.Platform.AuthEndpoint, "auth-url", getenv("LTI_AUTH_URL"), "the platform's OIDC authorization endpoint ($LTI_AUTH_URL)")
	fs.StringVar(&cfg.Platform.KeySetURL, "jwks-url", getenv("LTI_JWKS_URL"), "the platform's key set URL ($LTI_JWKS_URL)")
	fs.StringVar(&cfg.DeploymentID, "deployment-id", getenv("LTI_DEPLOYMENT_ID"), "the deployment_id ($LTI_DEPLOYMENT_ID)")
	if err := fs.Parse(args); err != nil {
		return "", config{}, err
	}
	return addr, cfg, nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// newServer returns the tool's handler: the two LTI endpoints, the page a
// launch shows, and a home page listing the URLs to register.
func newServer(cfg config) (http.Handler, error) {
	if err := cfg.Platform.Validate(); err != nil {
		return nil, err
	}
	if cfg.DeploymentID == "" {
		return nil, errors.New("the deployment id is empty")
	}
	// The memory store holds registrations, deployments and the single-use
	// login states. It is lost on restart and not shared between
	// processes: for production, or more than one instance, use
	// adapters/gorm (see examples/echogorm) or another shared store.
	store := memory.New()
	if err := store.AddRegistration(cfg.Platform); err != nil {
		return nil, err
	}
	if err := store.AddDeployment(cfg.Platform.Key(), deployment.Deployment{DeploymentID: cfg.DeploymentID}); err != nil {
		return nil, err
	}
	tool, err := launch.New(launch.Config{Storage: store, BaseURL: cfg.BaseURL},
		launch.WithErrorHandler(errorPage))
	if err != nil {
		return nil, err
	}

	base := strings.TrimRight(cfg.BaseURL, "/")
	mux := http.NewServeMux()
	// The LMS starts every launch here, with a GET or a POST (LTI 1.3
	// Core §4.1); the tool answers with a redirect to the platform.
	mux.Handle("/lti/login", tool.LoginHandler())
	// The platform posts the signed id_token here. LaunchHandler validates
	// it and calls the next handler only for a valid launch.
	mux.Handle("POST /lti/launch", tool.LaunchHandler(http.HandlerFunc(showLaunch)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "LTI 1.3 tool. Register in the LMS:\n  login URL     %s/lti/login\n  redirect URI  %s\n  target link   %s/lti/launch\n",
			base, tool.RedirectURI(), base)
	})
	return mux, nil
}

var launchPage = template.Must(template.New("launch").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Launched</title></head><body>
<h1>Hello, {{with .Claims.Name}}{{.}}{{else}}anonymous user{{end}}</h1>
<p>User id (sub): <code>{{.Subject}}</code></p>
{{with .Claims.Context}}<p>Course: {{.Title}} ({{.Label}})</p>{{end}}
<p>You are {{if .Roles.IsInstructor}}an instructor{{else if .Roles.IsLearner}}a learner{{else}}neither instructor nor learner{{end}}.</p>
<ul>{{range .Roles}}<li><code>{{.}}</code></li>{{end}}</ul>
<p>Deployment: <code>{{.DeploymentID}}</code></p>
</body></html>
`))

// showLaunch is the tool's page after a valid launch. html/template
// escapes every value: claims come from the platform, not from the tool.
func showLaunch(w http.ResponseWriter, r *http.Request) {
	l, ok := launch.FromContext(r.Context())
	if !ok { // only reached through LaunchHandler, which always sets it
		http.Error(w, "no launch", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := launchPage.Execute(w, l); err != nil {
		log.Printf("launch page: %v", err)
	}
}

var refusedPage = template.Must(template.New("refused").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Launch refused</title></head><body>
<h1>This launch was refused</h1>
<p>{{.Description}}</p>
<p>Error code: <code>{{.Code}}</code></p>
</body></html>
`))

// errorPage renders a refused login or launch with the error's own HTTP
// status. Only the code and the description are safe to show; the cause
// (err.Error()) is for logs, and LaunchHandler already logged it through
// slog.Default().
func errorPage(w http.ResponseWriter, r *http.Request, err *lti.Error) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(err.Status())
	_ = refusedPage.Execute(w, err)
}

func main() {
	addr, cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		os.Exit(2)
	}
	h, err := newServer(cfg)
	if err != nil {
		log.Fatalf("nethttp: %v (see -help)", err)
	}
	// In production, serve https (here, or behind a proxy that terminates
	// TLS) and set -base-url to the https URL: browsers keep the tool's
	// cookies inside the LMS's iframe only over https.
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("nethttp: listening on %s, base URL %s", addr, cfg.BaseURL)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
