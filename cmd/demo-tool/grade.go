package main

import (
	"context"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/services/ags"
	"github.com/ltikit/ltikit/services/nrps"
	"github.com/ltikit/ltikit/session"
)

// The send-a-grade page posts a score for the launch's resource link
// through the Assignment and Grade Services: a learner for themselves, an
// instructor (teaching assistant, administrator) for any learner of the
// roster.

const (
	// maxGradeUsers bounds the learners the page offers to an instructor.
	maxGradeUsers = 500
	// maxCommentLen bounds a score's comment.
	maxCommentLen = 1000
	// maxUserIDLen bounds a user id typed by an instructor.
	maxUserIDLen = 255
)

var (
	activityChoices = []ags.ActivityProgress{ags.ActivityInitialized, ags.ActivityStarted, ags.ActivityInProgress,
		ags.ActivitySubmitted, ags.ActivityCompleted}
	gradingChoices = []ags.GradingProgress{ags.GradingFullyGraded, ags.GradingPending, ags.GradingPendingManual,
		ags.GradingFailed, ags.GradingNotReady}
)

// gradeProblem says why the launch cannot send a grade, or "".
func gradeProblem(l *launch.Launch) string {
	claim := l.Claims.AGS
	switch {
	case claim == nil:
		return "not available: the launch has no Assignment and Grade Services claim"
	case !slices.Contains(claim.Scope, ags.ScopeScore):
		return "not available: the platform did not grant the score scope"
	case claim.LineItem == "":
		return "not available: the platform sent no line item (gradebook column) for this link"
	case staff(l):
		return ""
	case l.Roles().IsLearner() && l.Subject() == "":
		return "not available: an anonymous launch has no user to grade"
	case l.Roles().IsLearner():
		return ""
	}
	return "not available: only learners and instructors send grades"
}

// gradeForm is the form's values, as typed.
type gradeForm struct {
	UserID, ScoreGiven, ScoreMaximum, Comment, Activity, Grading string
}

type gradeUser struct{ ID, Name string }

// gradeResult is a posted score and what the platform reports back.
type gradeResult struct {
	Score       gradeForm
	UserName    string // the graded user's name, when the page knows it
	Sent        stamp  // the score's timestamp
	Results     []resultRow
	ResultsNote string
}

type resultRow struct {
	UserID, Name, Score, Maximum, Comment string
}

// nameUsers fills in the names of the graded user and of the results'
// users from the learners the page offers and the launch's own user.
func (res *gradeResult) nameUsers(v *gradeView) {
	names := map[string]string{}
	for _, u := range v.Users {
		names[u.ID] = u.Name
	}
	if v.Who.Sub != "" && v.Who.Name != "" {
		names[v.Who.Sub] = v.Who.Name
	}
	res.UserName = names[res.Score.UserID]
	for i := range res.Results {
		res.Results[i].Name = names[res.Results[i].UserID]
	}
}

// gradeView is the data of the grade page.
type gradeView struct {
	Who          viewer
	Nav          launchServices // the links to the other pages, with the session
	Action       string
	Session      template.HTML // the launch session's hidden form fields
	Staff        bool
	LineItemURL  string
	LineItem     *ags.LineItem
	LineItemNote string
	Users        []gradeUser // an instructor's choice; empty: a text field
	UsersNote    string
	Form         gradeForm
	Activities   []ags.ActivityProgress
	Gradings     []ags.GradingProgress
	Error        string
	Result       *gradeResult
}

// newGradeView builds the page: the line item and, for an instructor, the
// learners to choose from, read from the platform.
func (a *app) newGradeView(ctx context.Context, l *launch.Launch, s *session.Session, client *ags.Client) *gradeView {
	v := &gradeView{Who: viewerOf(l), Nav: a.launchServices(l, s), Action: a.toolURL(pathGrade), Session: s.FormFields(),
		Staff: staff(l), LineItemURL: client.LineItemURL(),
		Activities: activityChoices, Gradings: gradingChoices,
		Form: gradeForm{ScoreMaximum: "100", Activity: string(ags.ActivityCompleted), Grading: string(ags.GradingFullyGraded)}}
	if client.Granted(ags.ScopeLineItem) || client.Granted(ags.ScopeLineItemReadOnly) {
		li, err := client.LineItem(ctx, "")
		if err != nil {
			v.LineItemNote = "The line item could not be read: " + a.describeServiceError(ctx, "Reading the line item", err).Description + "."
		} else {
			v.LineItem = li
			v.Form.ScoreMaximum = strconv.FormatFloat(li.ScoreMaximum, 'f', -1, 64)
		}
	} else {
		v.LineItemNote = "The platform did not grant a line item scope, so its label and maximum are unknown."
	}
	if !v.Staff {
		v.Form.UserID = l.Subject()
		return v
	}
	if l.Claims.NRPS == nil {
		v.UsersNote = "The launch has no roster claim: type the learner's user id."
		return v
	}
	roster, err := a.nrpsClient(l)
	if err == nil {
		for m, err2 := range roster.Members(ctx, nrps.Query{Role: lti.RoleContextLearner}).All() {
			if err2 != nil {
				err = err2
				break
			}
			if m.Active() && m.Roles.IsLearner() {
				v.Users = append(v.Users, gradeUser{ID: m.UserID, Name: m.Name})
			}
			if len(v.Users) == maxGradeUsers {
				break
			}
		}
	}
	if err != nil {
		v.Users = nil
		v.UsersNote = "The roster could not be read (" + a.describeServiceError(ctx, "Reading the roster", err).Description +
			"): type the learner's user id."
	}
	return v
}

// gradePage is the send-a-grade page. It runs behind sessions.Require.
func (a *app) gradePage(c echo.Context) error {
	l, s, err := current(c)
	if err != nil {
		return err
	}
	if p := gradeProblem(l); p != "" {
		a.writeSessionErrorPage(c.Response(), c.Request(), "No grading", http.StatusConflict, "grading_unavailable",
			"sending a grade is "+p, "")
		return nil
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), serviceCallTimeout)
	defer cancel()
	client, err := a.agsClient(l)
	if err != nil {
		return a.writeServiceError(c, "Grading", err)
	}
	return a.renderPageCSP(c, http.StatusOK, "grade", formCSP, a.newGradeView(ctx, l, s, client))
}

// parseScore reads the form into a score for the launch's user or, for an
// instructor, the chosen one. msg says what is wrong with the form.
func parseScore(l *launch.Launch, f gradeForm) (score ags.Score, msg string) {
	score = ags.Score{UserID: l.Subject(), Comment: f.Comment,
		ActivityProgress: ags.ActivityProgress(f.Activity), GradingProgress: ags.GradingProgress(f.Grading)}
	if staff(l) {
		score.UserID, score.ScoringUserID = f.UserID, l.Subject()
	}
	number := func(v string) (*float64, bool) {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return &x, true
	}
	var ok bool
	switch {
	case score.UserID == "" || len(score.UserID) > maxUserIDLen:
		return score, "Choose the learner to grade."
	case len(f.Comment) > maxCommentLen:
		return score, "The comment is too long."
	case !score.ActivityProgress.Valid():
		return score, "Choose an activity progress."
	case !score.GradingProgress.Valid():
		return score, "Choose a grading progress."
	}
	if f.ScoreGiven != "" {
		if score.ScoreGiven, ok = number(f.ScoreGiven); !ok || *score.ScoreGiven < 0 {
			return score, "The score must be a number of 0 or more."
		}
	} else if score.GradingProgress == ags.GradingFullyGraded {
		// AGS 2.0 §3.4.7: scoreGiven is optional, but FullyGraded says the
		// score, if any, is the final grade: without one the platform may
		// clear the learner's grade. A score without scoreGiven is for
		// progress only (Pending, PendingManual, NotReady, Failed).
		return score, "Enter a score: a grade marked FullyGraded needs one. To report progress without a score, choose another grading progress (such as Pending)."
	}
	if f.ScoreMaximum != "" {
		if score.ScoreMaximum, ok = number(f.ScoreMaximum); !ok || *score.ScoreMaximum <= 0 {
			return score, "The maximum must be a number greater than 0."
		}
	}
	if score.ScoreGiven != nil && score.ScoreMaximum == nil {
		return score, "A score needs a maximum."
	}
	if err := score.Validate(); err != nil {
		return score, "The score is not valid."
	}
	return score, ""
}

// postGrade sends the form's score to the platform and shows the outcome.
// It runs behind sessions.Require, which also checked the form's CSRF
// token when only the session cookie named the session.
func (a *app) postGrade(c echo.Context) error {
	l, s, err := current(c)
	if err != nil {
		return err
	}
	if p := gradeProblem(l); p != "" {
		a.writeSessionErrorPage(c.Response(), c.Request(), "No grading", http.StatusConflict, "grading_unavailable",
			"sending a grade is "+p, "")
		return nil
	}
	f := gradeForm{UserID: strings.TrimSpace(c.FormValue("user_id")), ScoreGiven: strings.TrimSpace(c.FormValue("score_given")),
		ScoreMaximum: strings.TrimSpace(c.FormValue("score_maximum")), Comment: strings.TrimSpace(c.FormValue("comment")),
		Activity: c.FormValue("activity_progress"), Grading: c.FormValue("grading_progress")}
	ctx, cancel := context.WithTimeout(c.Request().Context(), serviceCallTimeout)
	defer cancel()
	client, err := a.agsClient(l)
	if err != nil {
		return a.writeServiceError(c, "Grading", err)
	}
	score, msg := parseScore(l, f)
	status := http.StatusOK
	var result *gradeResult
	if msg == "" {
		score.Timestamp = time.Now()
		if err := client.PostScore(ctx, "", score); err != nil {
			fail := a.describeServiceError(ctx, "Posting the score", err)
			status, msg = fail.Status, "The platform did not take the score: "+fail.Description+"."
		} else {
			a.log.LogAttrs(ctx, slog.LevelInfo, "score posted", slog.String("iss", l.Registration.Issuer),
				slog.String("activity_progress", f.Activity), slog.String("grading_progress", f.Grading))
			f.UserID = score.UserID
			result = a.readResults(ctx, client, f)
		}
	} else {
		status = http.StatusBadRequest
	}
	v := a.newGradeView(ctx, l, s, client)
	if result != nil {
		result.Sent = stampOf(score.Timestamp)
		result.nameUsers(v)
	}
	v.Error, v.Result = msg, result
	if msg != "" {
		if !v.Staff {
			f.UserID = l.Subject()
		}
		v.Form = f
	} else if v.Staff {
		v.Form.UserID = f.UserID
	}
	return a.renderPageCSP(c, status, "grade", formCSP, v)
}

// readResults reads the user's result back from the platform, when the
// launch grants the result scope.
func (a *app) readResults(ctx context.Context, client *ags.Client, f gradeForm) *gradeResult {
	res := &gradeResult{Score: f}
	if !client.Granted(ags.ScopeResultReadOnly) {
		res.ResultsNote = "The platform did not grant the result scope: the result cannot be read back."
		return res
	}
	num := func(x *float64) string {
		if x == nil {
			return ""
		}
		return strconv.FormatFloat(*x, 'f', -1, 64)
	}
	for r, err := range client.Results(ctx, "", ags.ResultsQuery{UserID: f.UserID}) {
		if err != nil {
			res.ResultsNote = "The result could not be read back: " + a.describeServiceError(ctx, "Reading the results", err).Description + "."
			break
		}
		res.Results = append(res.Results, resultRow{UserID: r.UserID, Score: num(r.ResultScore), Maximum: num(r.ResultMaximum), Comment: r.Comment})
		if len(res.Results) == 10 {
			break
		}
	}
	return res
}
