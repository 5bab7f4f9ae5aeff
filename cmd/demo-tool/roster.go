package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/services/nrps"
)

// rosterFlushEvery is how many rows the roster page writes between
// flushes.
const rosterFlushEvery = 50

// rosterProblem says why the launch cannot see the roster, or "".
func rosterProblem(l *launch.Launch) string {
	switch {
	case l.Claims.NRPS == nil:
		return "not available: the launch has no Names and Role Provisioning Services claim"
	case !staff(l):
		return "not available: only instructors, teaching assistants and administrators see the roster"
	}
	return ""
}

// rosterView is the data of the roster page's parts.
type rosterView struct {
	Nav          launchServices // the links to the other pages, with the session
	ContextTitle string
	Count        int
	Instructors  int
	Learners     int
	Inactive     int
	Error        string
}

// rosterRow is one member as the page shows it.
type rosterRow struct {
	N                              int
	UserID, Name, Email, Status    string
	Roles                          []role
	You                            bool
	Instructor, Learner, NotActive bool
}

// rosterPage lists the context's members as the platform's NRPS sends
// them: page by page and member by member, each row written as it is read
// (flushed every rosterFlushEvery rows), so a large roster is never held in
// memory, neither here nor in the NRPS client. It runs behind
// sessions.Require.
func (a *app) rosterPage(c echo.Context) error {
	l, s, err := current(c)
	if err != nil {
		return err
	}
	if p := rosterProblem(l); p != "" {
		status := http.StatusConflict
		if l.Claims.NRPS != nil {
			status = http.StatusForbidden
		}
		a.writeSessionErrorPage(c.Response(), c.Request(), "No roster", status, "roster_unavailable", "the roster is "+p, "")
		return nil
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), serviceCallTimeout)
	defer cancel()
	client, err := a.nrpsClient(l)
	if err != nil {
		return a.writeServiceError(c, "Reading the roster", err)
	}
	ms := client.Members(ctx, nrps.Query{})
	defer ms.Close()
	// The first member (or the error) before anything is written: a failure
	// here still gets a proper error page and status.
	more := ms.Next()
	if !more && ms.Err() != nil {
		return a.writeServiceError(c, "Reading the roster", ms.Err())
	}

	res := c.Response()
	setPageHeadersCSP(res.Header(), pageCSP)
	res.WriteHeader(http.StatusOK)
	tmpl := pages()["roster"]
	v := &rosterView{Nav: a.launchServices(l, s), ContextTitle: ms.Context().Title}
	if v.ContextTitle == "" {
		v.ContextTitle = viewerOf(l).ContextTitle
	}
	if err := tmpl.ExecuteTemplate(res, "page-head", v); err != nil {
		return nil // the client went away; the status is sent
	}
	if err := tmpl.ExecuteTemplate(res, "roster-start", v); err != nil {
		return nil
	}
	for ; more; more = ms.Next() {
		m := ms.Member()
		v.Count++
		row := rosterRow{N: v.Count, UserID: m.UserID, Name: m.Name, Email: m.Email, Status: m.Status,
			You: l.Subject() != "" && m.UserID == l.Subject(), Instructor: m.Roles.IsInstructor(), Learner: m.Roles.IsLearner(),
			NotActive: !m.Active()}
		if row.Status == "" {
			row.Status = nrps.StatusActive
		}
		for _, r := range m.Roles {
			row.Roles = append(row.Roles, role{URI: r, Name: shortRole(r)})
		}
		switch {
		case row.NotActive:
			v.Inactive++
		case row.Instructor:
			v.Instructors++
		case row.Learner:
			v.Learners++
		}
		if err := tmpl.ExecuteTemplate(res, "roster-row", row); err != nil {
			return nil
		}
		if v.Count%rosterFlushEvery == 0 {
			res.Flush()
		}
	}
	if err := ms.Err(); err != nil {
		v.Error = "The roster could not be read to the end: " + a.describeServiceError(ctx, "Reading the roster", err).Description + "."
	} else {
		a.log.LogAttrs(ctx, slog.LevelInfo, "roster read", slog.String("iss", l.Registration.Issuer), slog.Int("members", v.Count))
	}
	_ = tmpl.ExecuteTemplate(res, "roster-end", v)
	_ = tmpl.ExecuteTemplate(res, "page-foot", v)
	return nil
}
