package sqladapter_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/ltikit/ltikit/examples/sqladapter"
	"github.com/ltikit/ltikit/launch"
)

// A tool on the example adapter: open the pool, create the tables, add
// the LMS the tool is registered with and its deployment, and hand the
// Store to the launch. The launch page reads the host's own rows back.
// (It needs a PostgreSQL database, so it is compiled, not run.)
func ExampleNew() {
	ctx := context.Background()
	db, err := sqladapter.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := sqladapter.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}
	store, err := sqladapter.New(db)
	if err != nil {
		log.Fatal(err)
	}

	p, err := store.AddPlatform(ctx, sqladapter.Platform{
		Name:         "District Moodle",
		Issuer:       "https://moodle.example.edu",
		ClientID:     "abc123",
		AuthEndpoint: "https://moodle.example.edu/mod/lti/auth.php",
		KeySetURL:    "https://moodle.example.edu/mod/lti/certs.php",
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := store.AddInstall(ctx, p.ID, "1", "Riverside High"); err != nil {
		log.Fatal(err)
	}

	// Expired rows are refused anyway; purging keeps the tables small.
	go func() {
		for range time.Tick(5 * time.Minute) {
			if _, err := store.PurgeExpired(ctx); err != nil {
				log.Print(err)
			}
		}
	}()

	tool, err := launch.New(launch.Config{Storage: store, BaseURL: "https://tool.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/lti/login", tool.LoginHandler())
	http.Handle("/lti/launch", tool.LaunchHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, _ := launch.FromContext(r.Context())
		platform, _ := launch.RegistrationAs[*sqladapter.Platform](l)
		install, _ := launch.DeploymentAs[*sqladapter.Install](l)
		w.Write([]byte("Welcome from " + platform.Name + ", " + install.School))
	})))
	log.Fatal(http.ListenAndServe(":8080", nil))
}
