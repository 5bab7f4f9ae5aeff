package nrps_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/services/nrps"
	"github.com/ltikit/ltikit/services/token"
	"github.com/ltikit/ltikit/toolkey"
)

// exampleSetup starts an ltitest platform with a few members, a token
// client it trusts, and a launch with the NRPS claim. In a tool, the launch
// comes from launch.FromContext(r.Context()).
func exampleSetup() (*ltitest.Platform, *token.Client, *launch.Launch) {
	platform, err := ltitest.NewPlatform(ltitest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	platform.AddMember(ltitest.Member{UserID: "t1", Name: "Tea Cher", Roles: []string{"Instructor"}})
	platform.AddMembers(3)
	store, _ := toolkey.NewMemoryStore(toolkey.StoreOptions{})
	keys, _ := toolkey.NewKeyring(store)
	set, _ := keys.KeySet(context.Background())
	platform.SetToolKeySet(set)
	tokens, err := token.New(token.Config{Signer: keys})
	if err != nil {
		log.Fatal(err)
	}
	claims := platform.DefaultClaims("nonce")
	claims[lti.ClaimNRPS] = platform.NRPSClaim()
	payload, _ := json.Marshal(claims)
	c, err := lti.DecodeClaims(payload)
	if err != nil {
		log.Fatal(err)
	}
	return platform, tokens, &launch.Launch{Claims: c, Registration: platform.Registration()}
}

// A tool reads the course roster, two members per page, with range.
func ExampleMembers_All() {
	platform, tokens, l := exampleSetup()
	defer platform.Close()

	roster, err := nrps.FromLaunch(l, tokens, nil)
	if err != nil {
		log.Fatal(err) // nrps.ErrNoNRPS: the platform offers no roster here
	}
	members := roster.Members(context.Background(), nrps.Query{Limit: 2})
	for m, err := range members.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(m.UserID, m.Name, m.Roles.IsInstructor())
	}
	fmt.Println("pages:", members.Pages())
	// Output:
	// t1 Tea Cher true
	// ltitest-user-1 Learner 1 false
	// ltitest-user-2 Learner 2 false
	// ltitest-user-3 Learner 3 false
	// pages: 2
}

// A tool streams the learners with Next, and keeps the differences link
// to sync changes later.
func ExampleClient_Members() {
	platform, tokens, l := exampleSetup()
	defer platform.Close()
	ctx := context.Background()

	roster, err := nrps.FromLaunch(l, tokens, nil)
	if err != nil {
		log.Fatal(err)
	}
	ms := roster.Members(ctx, nrps.Query{Role: lti.RoleContextLearner})
	defer ms.Close()
	n := 0
	for ms.Next() {
		n++
	}
	if err := ms.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("learners:", n, "in", ms.Context().Title)

	// Later: what changed since.
	platform.RemoveMember("ltitest-user-2")
	for m, err := range roster.Differences(ctx, ms.DifferencesURL()).All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(m.UserID, m.Status)
	}
	// Output:
	// learners: 3 in LTI Test Course
	// ltitest-user-2 Deleted
}
