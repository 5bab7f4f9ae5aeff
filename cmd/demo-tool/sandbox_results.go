package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ltikit/ltikit/ltitest"
)

// What the sandbox platform recorded of the tool's LTI Advantage calls:
// the scores posted to its gradebook and the content items returned by
// deep linking, on the sandbox page, as JSON (GET /sandbox/scores) and on
// the deep linking return page. All of it is sandbox-only.

// maxSandboxRows bounds the scores and items the sandbox page lists.
const maxSandboxRows = 20

// sandboxScore is a recorded score as GET /sandbox/scores answers it: the
// score as posted, with its line item's URL and label.
type sandboxScore struct {
	LineItem string `json:"lineItem"`
	Label    string `json:"label"`
	ltitest.Score
}

// sandboxScoreList is every score the sandbox accepted, oldest first.
func (a *app) sandboxScoreList() []sandboxScore {
	labels := map[string]string{}
	for _, li := range a.sandbox.LineItems() {
		labels[li.ID] = li.Label
	}
	scores := a.sandbox.Scores()
	out := make([]sandboxScore, 0, len(scores))
	for _, s := range scores {
		out = append(out, sandboxScore{LineItem: s.LineItemID, Label: labels[s.LineItemID], Score: s})
	}
	return out
}

// maxGradebookRows bounds the scores the gradebook page lists.
const maxGradebookRows = 1000

// sandboxScores answers the recorded scores: the gradebook page to a
// browser (an Accept with text/html), otherwise, and with ?format=json,
// the JSON {"scores": [...]}, oldest first.
func (a *app) sandboxScores(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	r := c.Request()
	if r.URL.Query().Get("format") != "json" && !prefersJSON(r) && strings.Contains(r.Header.Get("Accept"), "text/html") {
		return a.renderPage(c, http.StatusOK, "scores", map[string]any{
			"Scores":     a.sandboxGradebook(maxGradebookRows),
			"Total":      len(a.sandbox.Scores()),
			"SandboxURL": a.cfg.SandboxURL + "/",
			"JSONURL":    a.cfg.SandboxURL + "/scores?format=json",
		})
	}
	return c.JSON(http.StatusOK, map[string]any{"scores": a.sandboxScoreList()})
}

// gradebookRow is a score on the sandbox's gradebook: the learner by name
// (UserName, empty when the course has no such member) and id, the time
// readable and exact.
type gradebookRow struct {
	Label, UserName, UserID, Score, Activity, Grading, Comment string
	Time                                                       stamp
}

// sandboxGradebook is the last n scores, newest first.
func (a *app) sandboxGradebook(n int) []gradebookRow {
	names := map[string]string{}
	for _, m := range a.sandbox.Members() {
		names[m.UserID] = m.Name
	}
	num := func(x *float64) string { return strconv.FormatFloat(*x, 'f', -1, 64) }
	var out []gradebookRow
	for _, s := range slices.Backward(a.sandboxScoreList()) {
		row := gradebookRow{Label: s.Label, UserName: names[s.UserID], UserID: s.UserID, Activity: s.ActivityProgress,
			Grading: s.GradingProgress, Comment: s.Comment, Time: newStamp(s.Timestamp)}
		switch {
		case s.ScoreGiven != nil && s.ScoreMaximum != nil:
			row.Score = num(s.ScoreGiven) + " / " + num(s.ScoreMaximum)
		case s.ScoreGiven != nil:
			row.Score = num(s.ScoreGiven)
		default:
			row.Score = "—"
		}
		out = append(out, row)
		if len(out) == n {
			break
		}
	}
	return out
}

// contentItemRow is a returned content item as the sandbox shows it,
// with how to open it: an ltiResourceLink launches the tool
// (LaunchInstructor, LaunchLearner: the sandbox's /sandbox/item links), a
// link opens its URL (Open); an HTML fragment is only shown.
type contentItemRow struct {
	N                               int
	Type, Title, URL                string
	Details                         []string
	LaunchInstructor, LaunchLearner string
	Open                            string
}

// itemTable is the data of the content items table: the items, with
// their details column when Details.
type itemTable struct {
	Items   []contentItemRow
	Details bool
}

// newContentItemRow is the item it, number n, of the response whose
// items sandboxItemKey(jwt, …) names.
func (a *app) newContentItemRow(n int, jwt string, index int, it ltitest.DeepLinkingItem) contentItemRow {
	row := contentItemRow{N: n, Type: it.Type, Title: it.Title, URL: it.URL}
	switch it.Type {
	case "ltiResourceLink":
		launch := a.cfg.SandboxURL + "/item?item=" + url.QueryEscape(sandboxItemKey(jwt, index))
		row.LaunchInstructor, row.LaunchLearner = launch+"&role=instructor", launch+"&role=learner"
	case "link":
		if u, err := url.Parse(it.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			row.Open = it.URL
		}
	}
	var item struct {
		Text     string            `json:"text"`
		HTML     string            `json:"html"`
		Custom   map[string]string `json:"custom"`
		LineItem *struct {
			Label        string  `json:"label"`
			ScoreMaximum float64 `json:"scoreMaximum"`
		} `json:"lineItem"`
	}
	_ = it.Decode(&item)
	if item.Text != "" {
		row.Details = append(row.Details, item.Text)
	}
	if item.HTML != "" {
		row.Details = append(row.Details, "HTML: "+item.HTML)
	}
	if li := item.LineItem; li != nil {
		row.Details = append(row.Details, fmt.Sprintf("gradebook column %q, maximum %s", li.Label,
			strconv.FormatFloat(li.ScoreMaximum, 'f', -1, 64)))
	}
	if len(item.Custom) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(item.Custom)) {
			kv = append(kv, k+"="+item.Custom[k])
		}
		row.Details = append(row.Details, "custom: "+strings.Join(kv, ", "))
	}
	return row
}

// sandboxContentItems is the items of the last accepted deep linking
// responses, newest response first, at most n.
func (a *app) sandboxContentItems(n int) []contentItemRow {
	var out []contentItemRow
	for _, res := range slices.Backward(a.sandbox.DeepLinkingResults()) {
		if res.Err != nil {
			continue
		}
		for i, it := range res.Items {
			out = append(out, a.newContentItemRow(len(out)+1, res.JWT, i, it))
			if len(out) == n {
				return out
			}
		}
	}
	return out
}

// sandboxDeepLinks is the sandbox's deep_link_return_url: the platform
// verifies and records the tool's response (ltitest's /deep_links), and
// this page shows the outcome: the items when verified, the refused claim
// and the reason otherwise.
func (a *app) sandboxDeepLinks(c echo.Context) error {
	r := c.Request()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
	}
	fwd := r.Clone(r.Context())
	fwd.Body, fwd.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	rec := httptest.NewRecorder()
	a.sandbox.ServeHTTP(rec, fwd)

	// The platform's record of this JWT: the newest with it (a replayed
	// JWT is recorded again, refused).
	var res *ltitest.DeepLinkingResult
	if form, err := url.ParseQuery(string(body)); err == nil {
		if jwt := form.Get("JWT"); jwt != "" {
			results := a.sandbox.DeepLinkingResults()
			for i := len(results) - 1; i >= 0; i-- {
				if results[i].JWT == jwt {
					res = &results[i]
					break
				}
			}
		}
	}
	if res == nil {
		// Not even recorded (no JWT field): the platform's own answer.
		maps.Copy(c.Response().Header(), rec.Header())
		c.Response().WriteHeader(rec.Code)
		_, _ = c.Response().Write(rec.Body.Bytes())
		return nil
	}
	view := map[string]any{"OK": res.Err == nil, "SandboxURL": a.cfg.SandboxURL + "/", "JWKSURL": a.toolURL(pathJWKS)}
	if res.Err == nil {
		kid, _ := res.Header["kid"].(string)
		items := make([]contentItemRow, 0, len(res.Items))
		for i, it := range res.Items {
			items = append(items, a.newContentItemRow(i+1, res.JWT, i, it))
		}
		view["KID"], view["Message"], view["Items"] = kid, res.Message, itemTable{Items: items, Details: true}
	} else if de, ok := res.Err.(*ltitest.DeepLinkingError); ok {
		view["Claim"], view["Reason"] = de.Claim, de.Reason
	}
	return a.renderPage(c, rec.Code, "deeplinks", view)
}

// sandboxItemKey names item index of the accepted deep linking response
// jwt in the sandbox's item launch links: a digest of the response and
// the item's number, stable while the sandbox keeps the response. The
// item's resource link id is "dl-" and the key.
func sandboxItemKey(jwt string, index int) string {
	sum := sha256.Sum256([]byte(jwt))
	return hex.EncodeToString(sum[:8]) + "-" + strconv.Itoa(index+1)
}

// sandboxItem finds the item that key names among the accepted deep
// linking responses.
func (a *app) sandboxItem(key string) (ltitest.DeepLinkingItem, bool) {
	digest, n, ok := strings.Cut(key, "-")
	index, err := strconv.Atoi(n)
	if !ok || err != nil || index < 1 || len(digest) != 16 {
		return ltitest.DeepLinkingItem{}, false
	}
	for _, res := range slices.Backward(a.sandbox.DeepLinkingResults()) {
		if res.Err != nil || index > len(res.Items) || sandboxItemKey(res.JWT, index-1) != key {
			continue
		}
		return res.Items[index-1], true
	}
	return ltitest.DeepLinkingItem{}, false
}
