package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

// site is a running tool the generator launches: where its login URL is,
// what target_link_uri to launch, and how to read its costs.
type site struct {
	target string // in-process, own-process, own-process-2, demo-tool or ltijs
	store  string // memory, sqlite, postgres or redis

	loginURL   string
	targetLink string
	// follow makes a launch follow the redirect the tool answers the
	// launch post with (ltijs redirects to its app route with an ltik).
	follow bool

	// pids are the server processes, none when the server runs in this
	// process; one per node.
	pids []int
	// nodes are the base URLs the nodes of a scale-out target listen on,
	// behind front, the base URL all of them are configured with (as
	// behind a load balancer): loginURL and targetLink are on front, and
	// each launch sends its login to one node and its launch post to
	// another. Empty for a single server.
	nodes []string
	front string
	// writes counts the rows the launches wrote so far, nil when unknown.
	writes func(ctx context.Context) (int64, error)
	// fill stores registrations and login states (see fill), nil when the
	// store cannot be filled.
	fill  func(ctx context.Context, regs, states int) error
	sqlDB *sql.DB
	// stats reads the server process's allocation counters, nil when
	// they cannot be read (in process they come from the allocs profile).
	stats func(ctx context.Context) (memStats, error)
	// pgApp and pgDB tell the PostgreSQL backends serving the site (see
	// pgBackends): the application_name of its connections, or its
	// database; both empty when it keeps nothing in PostgreSQL.
	pgApp, pgDB string
	// logTail returns the end of the server's log, for errors.
	logTail func() string
	close   func() error
}

func (s *site) name() string { return s.target + "/" + s.store }

// generator drives complete launches: the login initiation a platform's
// page posts, the tool's redirect to the platform's auth endpoint read from
// its Location, an id_token minted by the in-process platform, and the form
// post of id_token and state back to the tool, with the state cookie. Each
// launch is one fresh browser (cookie jar); connections are kept alive.
type generator struct {
	platform  *ltitest.Platform
	transport *http.Transport
	origin    string
}

func newGenerator(p *ltitest.Platform, clients int) *generator {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4 * clients
	t.MaxIdleConnsPerHost = 2 * clients
	t.DisableCompression = true
	u, _ := url.Parse(p.URL())
	return &generator{platform: p, transport: t, origin: u.Scheme + "://" + u.Host}
}

// posted is a launch post as sent, kept to replay it.
type posted struct {
	// action is where the replay goes: where the launch was posted, or,
	// on a scale-out target, the node that did not take the post (the
	// one the login went to).
	action  string
	form    url.Values
	cookies []*http.Cookie
	// loginNode and postNode are the nodes the login and the launch post
	// went to (both 0 for a single server).
	loginNode, postNode int
}

// onNode rewrites a URL on the site's front base URL to the same path on
// node i.
func (s *site) onNode(u string, i int) (string, error) {
	rest, ok := strings.CutPrefix(u, s.front)
	if !ok || rest != "" && rest[0] != '/' {
		return "", fmt.Errorf("%.100s is not under the nodes' base URL %s", u, s.front)
	}
	return s.nodes[i] + rest, nil
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// launch runs one launch as user n and returns the tool's time for it: the
// login round trip plus the launch post round trip (and, with follow, the
// redirect it answers), without the platform's signing in between.
func (g *generator) launch(ctx context.Context, s *site, n int) (time.Duration, *posted, error) {
	lt, rp, err := g.launchTimed(ctx, s, n)
	return lt.login + lt.post, rp, err
}

// launchTimed is launch with the two round trips apart.
func (g *generator) launchTimed(ctx context.Context, s *site, n int) (launchTiming, *posted, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Transport: g.transport, Jar: jar, CheckRedirect: noRedirect, Timeout: 30 * time.Second}
	p := g.platform
	sub := strconv.Itoa(10000 + n%1000)
	hint := `{"cmid":1,"launchid":"ltibench` + strconv.Itoa(n) + `"}`
	login := url.Values{
		"iss":               {p.Issuer()},
		"login_hint":        {sub},
		"target_link_uri":   {s.targetLink},
		"lti_message_hint":  {hint},
		"client_id":         {p.ClientID()},
		"lti_deployment_id": {p.DeploymentID()},
	}
	loginURL, node := s.loginURL, 0
	if len(s.nodes) > 1 {
		node = rand.IntN(len(s.nodes))
		var err error
		if loginURL, err = s.onNode(s.loginURL, node); err != nil {
			return launchTiming{}, nil, err
		}
	}
	t0 := time.Now()
	resp, body, err := g.post(ctx, client, loginURL, login)
	d1 := time.Since(t0)
	if err != nil {
		return launchTiming{}, nil, fmt.Errorf("login: %w", err)
	}
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return launchTiming{}, nil, fmt.Errorf("login: status %d: %.200s", resp.StatusCode, body)
	}
	loc, err := resp.Location()
	if err != nil {
		return launchTiming{}, nil, fmt.Errorf("login: %w", err)
	}
	auth, err := g.readAuthRequest(loc, sub, hint)
	if err != nil {
		return launchTiming{}, nil, err
	}

	claims := p.DefaultClaims(auth.Get("nonce"))
	claims["sub"] = sub
	claims[lti.ClaimTargetLinkURI] = s.targetLink
	claims[lti.ClaimDeploymentID] = p.DeploymentID()
	token, err := p.MintIDToken(claims)
	if err != nil {
		return launchTiming{}, nil, fmt.Errorf("minting: %w", err)
	}
	action := auth.Get("redirect_uri")
	form := url.Values{"id_token": {token}, "state": {auth.Get("state")}}
	replayTo, other := action, 0
	if len(s.nodes) > 1 {
		// The launch post goes to another node than the login. Both are on
		// 127.0.0.1, and cookies are scoped by host, not port (RFC 6265
		// §8.5; net/http/cookiejar keys them so), so the state cookie node
		// login set travels with it, as it would behind a load balancer.
		// The replay goes to the login's node.
		other = (node + 1 + rand.IntN(len(s.nodes)-1)) % len(s.nodes)
		front := action
		if action, err = s.onNode(front, other); err != nil {
			return launchTiming{}, nil, fmt.Errorf("redirect_uri: %w", err)
		}
		if replayTo, err = s.onNode(front, node); err != nil {
			return launchTiming{}, nil, fmt.Errorf("redirect_uri: %w", err)
		}
	}
	au, err := url.Parse(action)
	if err != nil {
		return launchTiming{}, nil, fmt.Errorf("redirect_uri: %w", err)
	}
	rp := &posted{action: replayTo, form: form, cookies: jar.Cookies(au), loginNode: node, postNode: other}

	t1 := time.Now()
	resp, body, err = g.post(ctx, client, action, form)
	if err == nil && s.follow && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		var next *url.URL
		if next, err = resp.Location(); err == nil {
			resp, body, err = g.get(ctx, client, next.String())
		}
	}
	d2 := time.Since(t1)
	if err != nil {
		return launchTiming{}, nil, fmt.Errorf("launch: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return launchTiming{}, nil, fmt.Errorf("launch: status %d: %.200s", resp.StatusCode, body)
	}
	return launchTiming{login: d1, post: d2}, rp, nil
}

// readAuthRequest checks the tool's auth request (1EdTech Security
// Framework §5.1.1.2) as far as the launch needs and returns its
// parameters.
func (g *generator) readAuthRequest(loc *url.URL, sub, hint string) (url.Values, error) {
	p := g.platform
	if !strings.HasPrefix(loc.String(), p.AuthEndpoint()+"?") {
		return nil, fmt.Errorf("login: redirected to %.100s, not to the platform's auth endpoint", loc)
	}
	q := loc.Query()
	for k, want := range map[string]string{
		"response_type": "id_token", "response_mode": "form_post", "prompt": "none",
		"client_id": p.ClientID(), "login_hint": sub, "lti_message_hint": hint,
	} {
		if got := q.Get(k); got != want {
			return nil, fmt.Errorf("auth request: %s = %q, want %q", k, got, want)
		}
	}
	if !slices.Contains(strings.Fields(q.Get("scope")), "openid") {
		return nil, fmt.Errorf("auth request: scope %q lacks openid", q.Get("scope"))
	}
	for _, k := range []string{"state", "nonce", "redirect_uri"} {
		if q.Get(k) == "" {
			return nil, fmt.Errorf("auth request: no %s", k)
		}
	}
	return q, nil
}

func (g *generator) post(ctx context.Context, c *http.Client, target string, form url.Values) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", g.origin)
	req.Header.Set("Accept", "text/html")
	return do(c, req)
}

func (g *generator) get(ctx context.Context, c *http.Client, target string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "text/html")
	return do(c, req)
}

func do(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, body, err
}

// replay posts a launch again, with its state cookie attached as an
// attacker who captured both would, and reports whether the tool refused
// it (a 4xx answer).
func (g *generator) replay(ctx context.Context, rp *posted) (refused bool, status int, err error) {
	client := &http.Client{Transport: g.transport, CheckRedirect: noRedirect, Timeout: 30 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rp.action, strings.NewReader(rp.form.Encode()))
	if err != nil {
		return false, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", g.origin)
	for _, c := range rp.cookies {
		req.AddCookie(c)
	}
	resp, _, err := do(client, req)
	if err != nil {
		return false, 0, err
	}
	return resp.StatusCode >= 400 && resp.StatusCode < 500, resp.StatusCode, nil
}

// runStats is what one measured phase produced.
type runStats struct {
	launches  int
	errors    int
	errorMsgs []string
	wall      time.Duration
	latencies []time.Duration // sorted
	last      *posted
}

// run drives launches with clients concurrent browsers: count of them, or
// as many as fit in dur when count is 0. progress, when not nil, gets a
// progress line every second.
func (g *generator) run(ctx context.Context, s *site, clients, count int, dur time.Duration, label string, progress io.Writer) runStats {
	var (
		next     atomic.Int64
		done     atomic.Int64
		failed   atomic.Int64
		mu       sync.Mutex
		st       runStats
		wg       sync.WaitGroup
		deadline time.Time
	)
	if count <= 0 {
		deadline = time.Now().Add(dur)
	}
	start := time.Now()
	stop := make(chan struct{})
	// reported is closed when the progress goroutine has written its last
	// line, so no line races with what the caller writes next.
	reported := make(chan struct{})
	if progress != nil {
		go func() {
			defer close(reported)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					d := done.Load()
					of := ""
					if count > 0 {
						of = "/" + strconv.Itoa(count)
					}
					fmt.Fprintf(progress, "  %-22s %-8s %6d%s launches  %6.0f/s  errors %d\n", s.name(), label, d, of,
						float64(d)/time.Since(start).Seconds(), failed.Load())
				}
			}
		}()
	} else {
		close(reported)
	}
	// The label tells the generator's CPU profile samples (the platform's
	// signing, the HTTP client) from the server's in-process.
	labels := pprof.Labels("role", "client")
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go pprof.Do(ctx, labels, func(ctx context.Context) {
			defer wg.Done()
			var lats []time.Duration
			var errs []string
			var last *posted
			nerr := 0
			for ctx.Err() == nil {
				i := int(next.Add(1))
				if count > 0 && i > count || count <= 0 && time.Now().After(deadline) {
					break
				}
				lat, rp, err := g.launch(ctx, s, i)
				if err != nil {
					nerr++
					failed.Add(1)
					if len(errs) < 3 {
						errs = append(errs, err.Error())
					}
				} else {
					lats = append(lats, lat)
					last = rp
				}
				done.Add(1)
			}
			mu.Lock()
			st.latencies = append(st.latencies, lats...)
			st.errors += nerr
			for _, e := range errs {
				if len(st.errorMsgs) < 5 {
					st.errorMsgs = append(st.errorMsgs, e)
				}
			}
			if last != nil {
				st.last = last
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	close(stop)
	<-reported
	st.wall = time.Since(start)
	st.launches = len(st.latencies) + st.errors
	slices.Sort(st.latencies)
	if ctx.Err() != nil {
		st.errorMsgs = append(st.errorMsgs, ctx.Err().Error())
		st.errors++
	}
	return st
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted values,
// nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

var errNoLaunch = errors.New("no launch succeeded")
