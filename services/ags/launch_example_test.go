package ags_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/services/ags"
	"github.com/ltikit/ltikit/services/nrps"
	"github.com/ltikit/ltikit/services/token"
	"github.com/ltikit/ltikit/toolkey"
)

// A whole tool: the launch pipeline, then, in the launch handler, a grade
// posted with AGS and the roster read with NRPS, against the test platform
// (its launch carries both service claims).
func Example() {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// The tool's key (for client assertions) and its token client.
	keyStore, _ := toolkey.NewMemoryStore(toolkey.StoreOptions{})
	keys, _ := toolkey.NewKeyring(keyStore)
	tokens, err := token.New(token.Config{Signer: keys})
	if err != nil {
		log.Fatal(err)
	}

	// The platform, which knows the tool's key set, and its registration.
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     srv.URL + "/lti/login",
		ToolRedirectURIs: []string{srv.URL + "/lti/launch"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer platform.Close()
	set, _ := keys.KeySet(context.Background())
	platform.SetToolKeySet(set)
	platform.AddMembers(2) // two learners; the learner who launches joins the course too
	store := memory.New()
	if err := store.AddRegistration(platform.Registration()); err != nil {
		log.Fatal(err)
	}
	if err := store.AddDeployment(platform.Registration().Key(), platform.Deployment()); err != nil {
		log.Fatal(err)
	}
	tool, err := launch.New(launch.Config{Storage: store, BaseURL: srv.URL})
	if err != nil {
		log.Fatal(err)
	}

	mux.Handle("/lti/login", tool.LoginHandler())
	mux.Handle("/lti/launch", tool.LaunchHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, _ := launch.FromContext(r.Context())
		grades, err := ags.FromLaunch(l, tokens, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		score := ags.Score{
			UserID:           l.Subject(),
			ActivityProgress: ags.ActivityCompleted,
			GradingProgress:  ags.GradingFullyGraded,
		}.WithScore(9, 10)
		if err := grades.PostScore(r.Context(), "", score); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		roster, err := nrps.FromLaunch(l, tokens, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		learners := 0
		for m, err := range roster.Members(r.Context(), nrps.Query{}).All() {
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			if m.Roles.IsLearner() {
				learners++
			}
		}
		fmt.Fprintf(w, "graded %s, %d learners", l.Subject(), learners)
	})))

	resp, err := platform.Launch(context.Background(), ltitest.NewBrowser(),
		ltitest.AsLearner(), platform.WithAGS(), platform.WithNRPS())
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	s := platform.Scores()[0]
	fmt.Println(s.UserID, *s.ScoreGiven, "token requests:", platform.TokenRequests())
	// Output:
	// 200 graded 1002, 3 learners
	// 1002 9 token requests: 2
}
