// Command echogorm is an LTI 1.3 tool on Echo that keeps its platforms in
// its own GORM models on PostgreSQL: a Platform row per LMS it is
// registered with, an Install row per deployment, each with the tool's own
// fields (the platform's display name, the school that installed it). The
// launch page reads those fields from the launch itself, with no second
// query.
//
// Register these URLs in the LMS (replace the base URL with yours):
//
//	OIDC login (initiate login) URL   https://tool.example.com/lti/login
//	Redirect (launch) URI             https://tool.example.com/lti/launch
//	Target link URI                   https://tool.example.com/lti/launch
//
// Run it against a database; with -issuer and the other platform flags it
// first adds (or keeps) that platform and install:
//
//	go run ./examples/echogorm -db 'postgres://postgres@127.0.0.1:5432/tool?sslmode=disable' \
//		-base-url https://tool.example.com -name 'Moodle' -issuer https://lms.example.com \
//		-client-id 1234 -auth-url https://lms.example.com/auth -jwks-url https://lms.example.com/jwks \
//		-deployment-id 1 -school 'Riverside High'
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"html/template"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormpostgres "github.com/ltikit/ltikit/adapters/gorm/postgres"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/echolti"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/registration"
)

// Platform is the tool's own model of an LMS it is registered with. The
// library needs five of its fields (see LTIRegistration); Name is the
// tool's own.
type Platform struct {
	// ID is the row's primary key; Install.PlatformID refers to it.
	ID uint `gorm:"primaryKey"`
	// Name is the tool's own display name for the LMS.
	Name string `gorm:"not null"`
	// Issuer and ClientID identify the registration: the unique index
	// makes concurrent inserts of the same one fail.
	Issuer   string `gorm:"not null;uniqueIndex:platform_issuer_client_id"`
	ClientID string `gorm:"not null;uniqueIndex:platform_issuer_client_id"`
	// AuthURL is the LMS's OIDC authorization endpoint.
	AuthURL string `gorm:"not null"`
	// JWKSURL is the LMS's key set URL, where its id_token keys are.
	JWKSURL string `gorm:"column:jwks_url;not null"`
	// TokenURL is the LMS's OAuth 2 token endpoint, for LTI Advantage
	// services; it may be empty for a launch-only tool.
	TokenURL string
}

// LTIRegistration tells the library which fields are the registration. It
// runs on every launch: no I/O here.
func (p *Platform) LTIRegistration() registration.Registration {
	return registration.Registration{Issuer: p.Issuer, ClientID: p.ClientID,
		AuthEndpoint: p.AuthURL, KeySetURL: p.JWKSURL, TokenEndpoint: p.TokenURL}
}

// Install is the tool's own model of a deployment: one install of the tool
// in an LMS (an account, a course), with the school it belongs to.
type Install struct {
	// ID is the row's primary key.
	ID uint `gorm:"primaryKey"`
	// PlatformID is the Platform the install belongs to.
	PlatformID uint `gorm:"not null;uniqueIndex:install_platform_deployment"`
	// DeploymentID is the LMS's deployment_id, unique per platform.
	DeploymentID string `gorm:"not null;uniqueIndex:install_platform_deployment"`
	// School is the tool's own field: who installed the tool.
	School string
}

// LTIDeployment tells the library which field is the deployment_id.
func (i *Install) LTIDeployment() deployment.Deployment {
	return deployment.Deployment{DeploymentID: i.DeploymentID}
}

// models tells the adapter how to find a registration (by issuer and
// client_id) and its deployments (by platform_id and deployment_id) in
// the tables of Platform and Install.
var models = gormadapter.Models[*Platform, *Install]{
	IssuerColumn:       "issuer",
	ClientIDColumn:     "client_id",
	RegistrationColumn: "platform_id",
	DeploymentIDColumn: "deployment_id",
	RegistrationKey:    func(p *Platform) any { return p.ID },
}

// newServer migrates the database, and returns the Echo application and a
// function that stops its background work. The *gorm.DB stays the
// caller's.
func newServer(ctx context.Context, db *gorm.DB, baseURL string) (*echo.Echo, func(), error) {
	// The tool's own tables, migrated its own way (AutoMigrate here), and
	// the adapter's login tables (states, nonces, sessions). Teams with a
	// migration tool apply gormadapter.PostgresLoginSQL and
	// PostgresSessionsSQL instead.
	if err := db.WithContext(ctx).AutoMigrate(&Platform{}, &Install{}); err != nil {
		return nil, nil, err
	}
	if err := gormadapter.MigrateLoginTables(ctx, db); err != nil {
		return nil, nil, err
	}
	store, err := gormadapter.NewWithModels(ctx, db, models)
	if err != nil {
		return nil, nil, err
	}
	// Login states are single use and expire after minutes; the sweeper
	// deletes the expired rows. Every instance of the tool may run one.
	stop := store.StartSweeper(time.Minute)
	tool, err := launch.New(launch.Config{Storage: store, BaseURL: baseURL})
	if err != nil {
		stop()
		return nil, nil, err
	}

	e := echo.New()
	e.HideBanner = true
	e.Match([]string{http.MethodGet, http.MethodPost}, "/lti/login", echolti.LoginHandler(tool))
	// A refused launch is answered by the library (launch.WriteError, with
	// its status and code); showLaunch runs only for a valid one.
	e.POST("/lti/launch", showLaunch, echolti.LaunchMiddleware(tool))
	return e, stop, nil
}

var launchPage = template.Must(template.New("launch").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Launched</title></head><body>
<h1>Welcome, {{with .User}}{{.}}{{else}}anonymous user{{end}}</h1>
<p>School: <strong>{{.Install.School}}</strong></p>
<p>Platform: {{.Platform.Name}} (install #{{.Install.ID}}, deployment <code>{{.Install.DeploymentID}}</code>)</p>
</body></html>
`))

// showLaunch greets the user with the school of the install they came
// through. launch.RegistrationAs and DeploymentAs return the rows the
// adapter read during the launch, as the tool's own types.
func showLaunch(c echo.Context) error {
	l, ok := echolti.Launch(c)
	if !ok {
		return echo.ErrUnauthorized
	}
	platform, ok1 := launch.RegistrationAs[*Platform](l)
	install, ok2 := launch.DeploymentAs[*Install](l)
	if !ok1 || !ok2 { // cannot happen with the adapter above
		return echo.ErrInternalServerError
	}
	var page bytes.Buffer
	if err := launchPage.Execute(&page, map[string]any{
		"User": l.Claims.Name, "Platform": platform, "Install": install,
	}); err != nil {
		return err
	}
	return c.HTMLBlob(http.StatusOK, page.Bytes())
}

// addPlatform adds a platform and one install of it, or keeps those that
// exist (matched by issuer and client_id, and by deployment_id).
func addPlatform(ctx context.Context, db *gorm.DB, p Platform, in Install) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where(Platform{Issuer: p.Issuer, ClientID: p.ClientID}).Attrs(p).FirstOrCreate(&p).Error; err != nil {
			return err
		}
		return tx.Where(Install{PlatformID: p.ID, DeploymentID: in.DeploymentID}).Attrs(in).FirstOrCreate(&in).Error
	})
}

func main() {
	var (
		addr, dsn, baseURL string
		p                  Platform
		in                 Install
	)
	flag.StringVar(&addr, "addr", ":8080", "listen address")
	flag.StringVar(&dsn, "db", os.Getenv("DATABASE_URL"), "PostgreSQL URL ($DATABASE_URL)")
	flag.StringVar(&baseURL, "base-url", "http://localhost:8080", "the tool's public URL")
	flag.StringVar(&p.Name, "name", "", "platform to add: display name")
	flag.StringVar(&p.Issuer, "issuer", "", "platform to add: issuer")
	flag.StringVar(&p.ClientID, "client-id", "", "platform to add: client_id")
	flag.StringVar(&p.AuthURL, "auth-url", "", "platform to add: OIDC authorization endpoint")
	flag.StringVar(&p.JWKSURL, "jwks-url", "", "platform to add: key set URL")
	flag.StringVar(&p.TokenURL, "token-url", "", "platform to add: token endpoint (LTI Advantage services)")
	flag.StringVar(&in.DeploymentID, "deployment-id", "", "platform to add: deployment_id")
	flag.StringVar(&in.School, "school", "", "platform to add: the install's school")
	flag.Parse()

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stopSignals()
	db, err := gormpostgres.Open(dsn)
	if err != nil {
		log.Fatalf("echogorm: %v", err)
	}
	e, stop, err := newServer(ctx, db, baseURL)
	if err != nil {
		log.Fatalf("echogorm: %v", err)
	}
	defer stop()
	if p.Issuer != "" {
		// An admin page or a CLI would do this in a real tool; LTI Dynamic
		// Registration (package dynreg) can do it without copying values.
		if err := p.LTIRegistration().Validate(); err != nil {
			log.Fatalf("echogorm: %v", err)
		}
		if in.DeploymentID == "" {
			log.Fatal("echogorm: -issuer needs -deployment-id")
		}
		if err := addPlatform(ctx, db, p, in); err != nil {
			log.Fatalf("echogorm: adding the platform: %v", err)
		}
	}
	// In production, serve https (or sit behind a proxy that terminates
	// TLS) with -base-url set to the https URL.
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Shutdown(shutdown)
	}()
	e.Server.ReadHeaderTimeout = 10 * time.Second
	if err := e.Start(addr); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
