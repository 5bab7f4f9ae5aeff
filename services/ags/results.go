package ags

import (
	"context"
	"encoding/json"
	"iter"
	"strconv"

	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/services/internal/svchttp"
)

// Result is the platform's current grade of a user for a line item (AGS
// 2.0 §3.3).
type Result struct {
	// ID is the result's URL.
	ID string `json:"id"`
	// ScoreOf is the URL of the line item the result belongs to.
	ScoreOf string `json:"scoreOf"`
	// UserID is the user the result is for.
	UserID string `json:"userId"`
	// ResultScore is the current score; nil when there is none.
	ResultScore *float64 `json:"resultScore,omitempty"`
	// ResultMaximum is the score's scale; nil means the line item's
	// scoreMaximum (the platform may leave it out).
	ResultMaximum *float64 `json:"resultMaximum,omitempty"`
	// ScoringUserID is who gave the score, when the platform says.
	ScoringUserID string `json:"scoringUserId,omitempty"`
	// Comment is the score's comment.
	Comment string `json:"comment,omitempty"`
	// Extensions holds the members no field claims, as sent (Moodle adds
	// "timestamp").
	Extensions map[string]json.RawMessage `json:"-"`
}

type resultFields Result

var resultKnown = svchttp.KnownNames[resultFields]()

// UnmarshalJSON decodes a result, keeping unknown members in Extensions.
func (r *Result) UnmarshalJSON(b []byte) error {
	var f resultFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	f.Extensions = resultKnown.Extensions(b)
	*r = Result(f)
	return nil
}

// MarshalJSON encodes a result with its Extensions.
func (r Result) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(resultFields(r))
	if err != nil {
		return nil, err
	}
	return resultKnown.AppendExtensions(b, r.Extensions)
}

// ResultsQuery filters a result list (AGS 2.0 §3.3.4).
type ResultsQuery struct {
	// UserID keeps the result of this user only (user_id).
	UserID string
	// Limit asks for at most this many results per page (limit); 0 leaves
	// the page size to the platform.
	Limit int
}

// Results lists a line item's results: GET on the line item URL's path
// plus "/results" (before any query, as for scores) with Accept
// application/vnd.ims.lis.v2.resultcontainer+json, following Link
// rel="next" (AGS 2.0 §3.3). lineItemURL empty means the claim's lineitem
// URL. It needs the result.readonly scope.
//
// The sequence is lazy and stops at the first error, as for
// [Client.LineItems].
func (c *Client) Results(ctx context.Context, lineItemURL string, q ResultsQuery) iter.Seq2[Result, error] {
	return func(yield func(Result, error) bool) {
		first, err := c.resultsURL(lineItemURL, q)
		if err != nil {
			yield(Result{}, err)
			return
		}
		for r, err := range svchttp.ArrayPages[Result](ctx, c.caller, first, MediaTypeResultContainer, telemetry.OpResultsList) {
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}

func (c *Client) resultsURL(lineItemURL string, q ResultsQuery) (string, error) {
	if err := c.need("reading results", ScopeResultReadOnly); err != nil {
		return "", err
	}
	li, err := c.lineItemURL(lineItemURL)
	if err != nil {
		return "", err
	}
	target, err := c.subURL(li, "results")
	if err != nil {
		return "", err
	}
	limit := ""
	if q.Limit > 0 {
		limit = strconv.Itoa(q.Limit)
	}
	return withQuery(target, "user_id", q.UserID, "limit", limit)
}
