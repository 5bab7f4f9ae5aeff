package ags

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/services/internal/svchttp"
)

// ActivityProgress is the learner's progress in the activity (AGS 2.0
// §3.4.6).
type ActivityProgress string

// The activityProgress values.
const (
	// ActivityInitialized: the user has not started the activity, or the
	// activity has been reset.
	ActivityInitialized ActivityProgress = "Initialized"
	// ActivityStarted: the activity was started but no submission made.
	ActivityStarted ActivityProgress = "Started"
	// ActivityInProgress: the activity is being worked on.
	ActivityInProgress ActivityProgress = "InProgress"
	// ActivitySubmitted: a submission was made, more may follow.
	ActivitySubmitted ActivityProgress = "Submitted"
	// ActivityCompleted: the activity is complete.
	ActivityCompleted ActivityProgress = "Completed"
)

// Valid reports whether a is one of the five values of AGS 2.0 §3.4.6.
func (a ActivityProgress) Valid() bool {
	switch a {
	case ActivityInitialized, ActivityStarted, ActivityInProgress, ActivitySubmitted, ActivityCompleted:
		return true
	}
	return false
}

// GradingProgress is the state of the grading (AGS 2.0 §3.4.7).
type GradingProgress string

// The gradingProgress values.
const (
	// GradingFullyGraded: the grading is final; the platform may show it.
	GradingFullyGraded GradingProgress = "FullyGraded"
	// GradingPending: final grading is pending, it does not need a human.
	GradingPending GradingProgress = "Pending"
	// GradingPendingManual: final grading is pending and needs a human.
	GradingPendingManual GradingProgress = "PendingManual"
	// GradingFailed: the grading could not be done.
	GradingFailed GradingProgress = "Failed"
	// GradingNotReady: there is no grading process under way.
	GradingNotReady GradingProgress = "NotReady"
)

// Valid reports whether g is one of the five values of AGS 2.0 §3.4.7.
func (g GradingProgress) Valid() bool {
	switch g {
	case GradingFullyGraded, GradingPending, GradingPendingManual, GradingFailed, GradingNotReady:
		return true
	}
	return false
}

// TimestampFormat is how scores' timestamps are written: RFC 3339 with
// millisecond precision, as AGS 2.0 §3.4.5 asks for sub-second precision.
const TimestampFormat = "2006-01-02T15:04:05.000Z07:00"

// Score is a learner's score for a line item (AGS 2.0 §3.4).
type Score struct {
	// UserID is the learner's user id (the launch's sub). Required.
	UserID string
	// ScoreGiven is the score; nil sends none (e.g. with
	// ActivityInitialized). When set it must be ≥ 0 and ScoreMaximum must
	// be set. See [Score.WithScore].
	ScoreGiven *float64
	// ScoreMaximum is the score's scale, > 0; required with ScoreGiven.
	ScoreMaximum *float64
	// Comment is shown to the learner and instructor.
	Comment string
	// ActivityProgress is required.
	ActivityProgress ActivityProgress
	// GradingProgress is required.
	GradingProgress GradingProgress
	// Timestamp is when the score changed; the zero time means now (the
	// client's clock). Platforms ignore a score older than the last one
	// they kept for the user. Sent with millisecond precision.
	Timestamp time.Time
	// ScoringUserID is the user id of whoever gave the score, if any.
	ScoringUserID string
	// Submission holds when the learner started and submitted the work.
	Submission *Submission
	// Extensions are sent as extra members of the score, e.g. Canvas's
	// "https://canvas.instructure.com/lti/submission". Names the fields
	// above claim are ignored.
	Extensions map[string]json.RawMessage
}

// Submission is the submission member of a score.
type Submission struct {
	// StartedAt and SubmittedAt are sent when not zero.
	StartedAt, SubmittedAt time.Time
}

// WithScore returns s with ScoreGiven and ScoreMaximum set.
func (s Score) WithScore(given, maximum float64) Score {
	s.ScoreGiven, s.ScoreMaximum = &given, &maximum
	return s
}

// Validate checks s against AGS 2.0 §3.4: a user id, valid activity and
// grading progress values, a finite scoreGiven ≥ 0 that comes with a
// finite scoreMaximum > 0. The errors wrap [ErrInvalidScore].
func (s Score) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidScore}, a...)...)
	}
	switch {
	case s.UserID == "":
		return bad("userId is empty")
	case !s.ActivityProgress.Valid():
		return bad("activityProgress %q is not Initialized, Started, InProgress, Submitted or Completed", s.ActivityProgress)
	case !s.GradingProgress.Valid():
		return bad("gradingProgress %q is not FullyGraded, Pending, PendingManual, Failed or NotReady", s.GradingProgress)
	}
	if s.ScoreMaximum != nil {
		if m := *s.ScoreMaximum; !(m > 0) || math.IsInf(m, 0) {
			return bad("scoreMaximum must be a number > 0")
		}
	}
	if s.ScoreGiven != nil {
		if g := *s.ScoreGiven; !(g >= 0) || math.IsInf(g, 0) {
			return bad("scoreGiven must be a number ≥ 0")
		}
		if s.ScoreMaximum == nil {
			return bad("scoreGiven needs scoreMaximum")
		}
	}
	return nil
}

type scoreJSON struct {
	UserID           string          `json:"userId"`
	ScoreGiven       *float64        `json:"scoreGiven,omitempty"`
	ScoreMaximum     *float64        `json:"scoreMaximum,omitempty"`
	Comment          string          `json:"comment,omitempty"`
	Timestamp        string          `json:"timestamp"`
	ActivityProgress string          `json:"activityProgress"`
	GradingProgress  string          `json:"gradingProgress"`
	ScoringUserID    string          `json:"scoringUserId,omitempty"`
	Submission       *submissionJSON `json:"submission,omitempty"`
}

type submissionJSON struct {
	StartedAt   string `json:"startedAt,omitempty"`
	SubmittedAt string `json:"submittedAt,omitempty"`
}

var scoreKnown = svchttp.KnownNames[scoreJSON]()

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(TimestampFormat)
}

// MarshalJSON writes the score as application/vnd.ims.lis.v1.score+json,
// timestamps with millisecond precision. A zero Timestamp is written as
// is; [Client.PostScore] fills it in first.
func (s Score) MarshalJSON() ([]byte, error) {
	j := scoreJSON{
		UserID:           s.UserID,
		ScoreGiven:       s.ScoreGiven,
		ScoreMaximum:     s.ScoreMaximum,
		Comment:          s.Comment,
		Timestamp:        s.Timestamp.Format(TimestampFormat),
		ActivityProgress: string(s.ActivityProgress),
		GradingProgress:  string(s.GradingProgress),
		ScoringUserID:    s.ScoringUserID,
	}
	if sub := s.Submission; sub != nil && (!sub.StartedAt.IsZero() || !sub.SubmittedAt.IsZero()) {
		j.Submission = &submissionJSON{StartedAt: stamp(sub.StartedAt), SubmittedAt: stamp(sub.SubmittedAt)}
	}
	b, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	return scoreKnown.AppendExtensions(b, s.Extensions)
}

// PostScore sends a score: POST to the line item URL's path plus "/scores"
// (before any query, so Moodle's ".../lineitem?type_id=1" becomes
// ".../lineitem/scores?type_id=1") with Content-Type
// application/vnd.ims.lis.v1.score+json (AGS 2.0 §3.4). lineItemURL empty
// means the claim's lineitem URL. It needs the score scope.
//
// The score is validated first ([Score.Validate]); a zero Timestamp
// becomes the client clock's now. 200, 201, 202 and 204 are success, with
// or without a body (Moodle answers 200 with an empty one).
func (c *Client) PostScore(ctx context.Context, lineItemURL string, s Score) error {
	if err := c.need("posting a score", ScopeScore); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	li, err := c.lineItemURL(lineItemURL)
	if err != nil {
		return err
	}
	target, err := c.subURL(li, "scores")
	if err != nil {
		return err
	}
	if s.Timestamp.IsZero() {
		s.Timestamp = c.now()
	}
	body, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidScore, err)
	}
	resp, err := c.caller.Do(ctx, svchttp.Request{
		Method: http.MethodPost, URL: target, Body: body, ContentType: MediaTypeScore,
		Operation: telemetry.OpScorePost,
	}, http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent)
	if err != nil {
		return err
	}
	drainClose(resp)
	return nil
}
