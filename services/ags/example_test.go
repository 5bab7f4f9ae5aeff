package ags_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/services/ags"
	"github.com/ltikit/ltikit/services/token"
	"github.com/ltikit/ltikit/toolkey"
)

// exampleSetup starts an ltitest platform, a token client it trusts, and a
// launch with the AGS claim. In a tool, the launch comes from
// launch.FromContext(r.Context()) and the token client lives as long as
// the tool.
func exampleSetup() (*ltitest.Platform, *token.Client, *launch.Launch) {
	platform, err := ltitest.NewPlatform(ltitest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	store, _ := toolkey.NewMemoryStore(toolkey.StoreOptions{})
	keys, _ := toolkey.NewKeyring(store)
	set, _ := keys.KeySet(context.Background())
	platform.SetToolKeySet(set) // the platform knows the tool's key set
	tokens, err := token.New(token.Config{Signer: keys})
	if err != nil {
		log.Fatal(err)
	}
	claims := platform.DefaultClaims("nonce")
	claims[lti.ClaimAGSEndpoint] = platform.AGSClaim(ltitest.DefaultResourceLinkID)
	payload, _ := json.Marshal(claims)
	c, err := lti.DecodeClaims(payload)
	if err != nil {
		log.Fatal(err)
	}
	return platform, tokens, &launch.Launch{Claims: c, Registration: platform.Registration()}
}

// A tool posts a learner's score to the line item of the launch's resource
// link.
func ExampleClient_PostScore() {
	platform, tokens, l := exampleSetup()
	defer platform.Close()
	ctx := context.Background()

	grades, err := ags.FromLaunch(l, tokens, nil)
	if err != nil {
		log.Fatal(err) // ags.ErrNoAGS: the platform offers no grade passback here
	}
	score := ags.Score{
		UserID:           "1002", // the learner's sub
		ActivityProgress: ags.ActivityCompleted,
		GradingProgress:  ags.GradingFullyGraded,
		Comment:          "Well done",
	}.WithScore(8, 10)
	// "" is the claim's line item; the score goes to its path + "/scores".
	if err := grades.PostScore(ctx, "", score); err != nil {
		log.Fatal(err)
	}
	for _, s := range platform.Scores() {
		fmt.Println(s.UserID, *s.ScoreGiven, *s.ScoreMaximum, s.ActivityProgress, s.GradingProgress)
	}
	// Output: 1002 8 10 Completed FullyGraded
}

// A tool manages its own line items and reads them back page by page.
func ExampleClient_LineItems() {
	platform, tokens, l := exampleSetup()
	defer platform.Close()
	ctx := context.Background()

	grades, err := ags.FromLaunch(l, tokens, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, label := range []string{"Quiz 1", "Quiz 2"} {
		if _, err := grades.CreateLineItem(ctx, ags.LineItem{Label: label, ScoreMaximum: 20, Tag: "quiz"}); err != nil {
			log.Fatal(err)
		}
	}
	for li, err := range grades.LineItems(ctx, ags.LineItemsQuery{Tag: "quiz", Limit: 1}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(li.Label, li.ScoreMaximum)
	}
	// Output:
	// Quiz 1 20
	// Quiz 2 20
}

// A tool reads the platform's current grades of a line item.
func ExampleClient_Results() {
	platform, tokens, l := exampleSetup()
	defer platform.Close()
	ctx := context.Background()

	grades, err := ags.FromLaunch(l, tokens, nil)
	if err != nil {
		log.Fatal(err)
	}
	score := ags.Score{UserID: "1002", ActivityProgress: ags.ActivityCompleted, GradingProgress: ags.GradingFullyGraded}.WithScore(4, 5)
	if err := grades.PostScore(ctx, "", score); err != nil {
		log.Fatal(err)
	}
	for r, err := range grades.Results(ctx, "", ags.ResultsQuery{UserID: "1002"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.UserID, *r.ResultScore, *r.ResultMaximum) // scaled to the line item's maximum
	}
	// Output: 1002 80 100
}
